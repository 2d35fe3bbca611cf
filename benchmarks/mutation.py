"""Mutation testing of the study's core: do the tests fail when the code is wrong?

A *mutant* is the library with one small, plausible bug planted: ``<`` for ``<=``,
``max`` for ``min``, ``a - b`` for ``a + b``, a constant off by one, an argument
dropped. A mutant is *killed* when at least one test fails on it, and *survives*
when every test still passes: then some behaviour of the code is pinned by
nothing. This script plants them and counts, per module of the core:

* **mutmut** (``[tool.mutmut]`` in ``pyproject.toml``) mutates the code inside
  functions and runs, for each mutant, the tests that reach that function. Each
  module runs in its own copy of the project (``.mutation/<module>/``) with its own
  tests (:data:`TARGETS`), so that a mutant of the header does not wait for the
  training tests, which reach it too;
* **module-level constants**, which mutmut leaves alone (the JPEG quantisation
  tables, the RGB/YCbCr matrix, the bitstream's limits): each number ``n``
  becomes ``n + 1`` and each string gains ``XX..XX``, mutmut's own number and
  string mutations, and the module's tests run on a copy of the package.

A survivor that no test *can* kill, because the changed program behaves the same
(``astype(None)`` on ``uint8`` data is ``float64``; an argument equal to its
default dropped), is an *equivalent* mutant; one that behaves the same on a CPU
tensor only is *GPU only*. ``benchmarks/mutation_equivalents.yaml`` names each one
with the reason, matched by function and mutated line. Writes
``reports/tables/mutation.{csv,json,md}`` (one row per module) and
``reports/tables/mutation_survivors.{csv,json,md}`` (each survivor and its diff).

Usage: ``python benchmarks/mutation.py [--only MODULE ...] [--merge] [--survivors]
[--no-constants]`` (``make mutation``). ``--only rd --merge`` runs one module again and
keeps the other modules' rows of the committed tables, each row naming the commit it
was measured at. A full run takes tens of minutes on two cores; it is not
part of CI, but the tests that kill the mutants are.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EQUIVALENTS = Path(__file__).with_name("mutation_equivalents.yaml")

#: What a mutant run's exit code means (mutmut's own table, folded to four outcomes).
OUTCOMES = {1: "killed", 3: "killed", 0: "survived", 33: "no tests", 5: "no tests"}
TIMEOUTS = {-24, 24, 152, 255, 36}
#: The study's target: at most this share of a module's mutants survive.
TARGET = 0.10


@dataclass(frozen=True)
class Target:
    """One row of the table: a module, or one function of a module."""

    label: str
    path: str  # the file, relative to the repository
    pattern: str  # mutmut mutant names (fnmatch)
    what: str
    tests: tuple[str, ...]  # the test files that guard it (mutmut runs those reaching a mutant)
    constants: bool = True  # sweep the module's own constants too (not for one function)


TARGETS = (
    Target("coding/bitstream", "comp_lib/coding/bitstream.py", "comp_lib.coding.bitstream.*",
           "bitstream header: pack, parse, limits, input checks",
           ("tests/test_coding_bitstream.py", "tests/test_golden.py")),
    Target("jpeg", "comp_lib/jpeg.py", "comp_lib.jpeg.*",
           "JPEG layer: quantisation tables, quality scaling, YCbCr, DiffJPEG",
           ("tests/test_jpeg.py", "tests/test_golden.py", "tests/test_coding_colour.py")),
    Target("metrics", "comp_lib/metrics.py", "comp_lib.metrics.*",
           "PSNR, SSIM, bits per pixel", ("tests/test_metrics.py",)),
    Target("rd", "comp_lib/rd.py", "comp_lib.rd.*",
           "BD-rate, BD-PSNR, PSNR at a rate, envelopes, common range, BD-rate per image, "
           "crossings", ("tests/test_rd.py", "tests/test_rd_per_image.py")),
    Target("coding/ladder", "comp_lib/coding/ladder.py", "comp_lib.coding.ladder.*",
           "rate budgets: compress_at_bpp, ladder rungs", ("tests/test_coding_ladder.py",)),
    Target("train/validation", "comp_lib/train/validation.py", "comp_lib.train.validation.*",
           "training's validation and gain over JPEG", ("tests/test_train_validation.py",)),
    Target("train/loop: Loop.save", "comp_lib/train/loop.py",
           "comp_lib.train.loop.x\u01c1Loop\u01c1save__mutmut_*",
           "the best-checkpoint choice (best.pt)", ("tests/test_train_loop.py",), constants=False),
)  # fmt: skip


def test_env() -> dict:
    """Environment for the test runs: one thread per process (mutmut forks one per core)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    env.setdefault("COMP_LIB_DATA", str(ROOT.parent / "shared" / "data"))
    env.setdefault("COMP_LIB_REPORTS", str(ROOT / ".test-reports"))
    return env


def outcome(exit_code) -> str:
    if exit_code is None:
        return "not run"
    if exit_code in TIMEOUTS:
        return "timeout"
    return OUTCOMES.get(exit_code, "suspicious")


# --------------------------------------------------------------------------- mutmut


def workdir(target: Target) -> Path:
    """Where ``target``'s mutmut run lives: a copy of the project whose ``[tool.mutmut]``
    mutates only its module and selects only its tests (so that a mutant of the header does
    not wait for the training tests, which reach it too)."""
    return ROOT / ".mutation" / target.label.split(":")[0].replace("/", "_")


def copy_project(dest: Path) -> None:
    """Copy what a test run needs into ``dest``: the package, the tests, what they read
    (``also_copy``) and ``pyproject.toml``."""
    dest.mkdir(parents=True)
    for part in ("comp_lib", "tests", *also_copy()):
        shutil.copytree(ROOT / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest)


def prepare(target: Target) -> Path:
    """A fresh copy of the package, the tests and what they read, for ``target``'s run."""
    import tomllib

    work = workdir(target)
    shutil.rmtree(work, ignore_errors=True)
    copy_project(work)
    text = (ROOT / "pyproject.toml").read_text()
    config = tomllib.loads(text)["tool"]["mutmut"]
    deselect = [a for a in config["pytest_add_cli_args_test_selection"] if a.startswith("--")]
    config |= {"only_mutate": [target.path],
               "pytest_add_cli_args_test_selection": [*target.tests, *deselect]}  # fmt: skip
    table = "\n".join(f"{k} = {json.dumps(v)}" for k, v in config.items())
    (work / "pyproject.toml").write_text(text[: text.index("[tool.mutmut]")] + "[tool.mutmut]\n"
                                         + table + "\n")  # fmt: skip
    return work


def run_mutmut(target: Target, patterns: list[str] | None = None) -> None:
    """``mutmut run`` of ``target`` in a fresh copy, or, given ``patterns``, of those mutants
    again in the existing one (after adding tests); its output in ``<copy>/mutants.log``."""
    work = workdir(target) if patterns else prepare(target)
    if patterns:
        # The tests as they are now. mutmut's map of which tests reach which function is made
        # anew: it is kept otherwise, and an old test that gained a call would not be in it.
        for tests in (work / "tests", work / "mutants" / "tests"):
            shutil.rmtree(tests, ignore_errors=True)
            shutil.copytree(ROOT / "tests", tests)
        (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    cmd = [str(BIN / "mutmut"), "run", *(patterns or [target.pattern])]
    with open(work / "mutants.log", "w") as f:
        subprocess.run(cmd, cwd=work, env=test_env(), stdout=f, stderr=subprocess.STDOUT)


def mutmut_results(target: Target) -> dict[str, str]:
    """Each mutant of ``target`` and its outcome, from mutmut's ``.meta`` file."""
    import fnmatch

    meta = workdir(target) / "mutants" / f"{target.path}.meta"
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {k: outcome(v) for k, v in codes.items() if fnmatch.fnmatch(k, target.pattern)}


def mutmut_diff(target: Target, name: str) -> tuple[str, str, str]:
    """``(function, original line, mutated line)`` of one mutmut mutant."""
    out = subprocess.run([str(BIN / "mutmut"), "show", name], cwd=workdir(target), env=test_env(),
                         capture_output=True, text=True).stdout  # fmt: skip
    minus = [ln[1:].strip() for ln in out.splitlines() if ln.startswith("-") and ln[1:2] != "-"]
    plus = [ln[1:].strip() for ln in out.splitlines() if ln.startswith("+") and ln[1:2] != "+"]
    function = name.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[-1]
    function = function.removeprefix("x_").replace("x\u01c1", "").replace("\u01c1", ".")
    return function, " / ".join(minus), " / ".join(plus)


# --------------------------------------------------------------------------- constants


@dataclass(frozen=True)
class ConstantMutant:
    name: str  # e.g. CHROMA_TABLE[17]
    line: int
    col: int
    end_col: int
    old: str
    new: str


def constant_mutants(source: str) -> list[ConstantMutant]:
    """mutmut's number and string mutations of every module-level assignment.

    Docstrings, ``__all__`` and dunder names are left alone; so is anything inside a
    function or class (mutmut covers those).
    """
    lines = source.splitlines()
    out = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if not names or any(n.startswith("__") for n in names):
            continue
        k = 0
        for sub in ast.walk(node.value):
            if not isinstance(sub, ast.Constant) or isinstance(sub.value, bool):
                continue
            if sub.lineno != sub.end_lineno:
                continue
            old = lines[sub.lineno - 1][sub.col_offset : sub.end_col_offset]
            if isinstance(sub.value, int | float):
                new = [repr(sub.value + 1)]
            elif isinstance(sub.value, str | bytes) and old[-1] in "'\"":
                prefix = old[: len(old) - len(old.lstrip("bBrRuU"))]
                quote, body = old[len(prefix)], old[len(prefix) + 1 : -1]
                new = [f"{prefix}{quote}XX{body}XX{quote}"]
            else:
                continue
            for n in new:
                out.append(ConstantMutant(f"{names[0]}[{k}]", sub.lineno, sub.col_offset,
                                          sub.end_col_offset, old, n))  # fmt: skip
            k += 1
    return out


def also_copy() -> list[str]:
    """What mutmut copies beside the package and the tests (``[tool.mutmut] also_copy``)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return [p.rstrip("/") for p in config.get("also_copy", [])]


def tests_of(target: Target) -> list[str]:
    """The test files that reach ``target``'s functions (mutmut's own test map), the module's
    own test file first, then the fastest: ``pytest -x`` stops at the first failure."""
    stats = json.loads((workdir(target) / "mutants" / "mutmut-stats.json").read_text())
    module = target.pattern.split(".x", 1)[0].rstrip("*").rstrip(".")
    seconds: dict[str, float] = {}
    for key, tests in stats["tests_by_mangled_function_name"].items():
        if key.startswith(module + "."):
            for test in tests:
                file = test.split("::")[0]
                seconds[file] = seconds.get(file, 0.0) + stats["duration_by_test"].get(test, 0.0)
    stem = Path(target.path).stem
    return sorted(seconds, key=lambda f: (stem not in Path(f).stem, seconds[f]))


def run_constant(mutant: ConstantMutant, path: str, tests: list[str], workdir: Path) -> str:
    """Plant one constant mutant in ``workdir``'s copy of the package and run ``tests``."""
    file = workdir / path
    original = file.read_text()
    lines = original.splitlines(keepends=True)
    ln = lines[mutant.line - 1]
    lines[mutant.line - 1] = ln[: mutant.col] + mutant.new + ln[mutant.end_col :]
    file.write_text("".join(lines))
    try:
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
        env = dict(test_env(), PYTHONPATH=str(workdir))
        try:
            rc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True,
                                timeout=600).returncode  # fmt: skip
        except subprocess.TimeoutExpired:
            return "timeout"
        # pytest's 2 and 4 here: collection or conftest failed, the mutated module does not
        # even import (the command line itself is fixed and valid)
        return "killed" if rc in (2, 4) else outcome(rc)
    finally:
        file.write_text(original)


def sweep_constants(target: Target, workers: int) -> list[dict]:
    """Every constant mutant of ``target``, each run on a private copy of the package."""
    mutants = constant_mutants((ROOT / target.path).read_text())
    if not mutants:
        return []
    tests = tests_of(target)
    with tempfile.TemporaryDirectory() as tmp:
        dirs = []
        for i in range(workers):
            d = Path(tmp) / str(i)
            copy_project(d)
            dirs.append(d)
        check = subprocess.run([sys.executable, "-c", "import comp_lib; print(comp_lib.__file__)"],
                               cwd=dirs[0], env=dict(test_env(), PYTHONPATH=str(dirs[0])),
                               capture_output=True, text=True).stdout  # fmt: skip
        if not check.startswith(str(dirs[0])):
            raise RuntimeError(f"the copy of comp_lib is not the one imported: {check}")

        def one(i: int) -> dict:
            m = mutants[i]
            return dict(target=target.label, mutant=f"{m.name} (line {m.line})",
                        function="<module>", original=m.old, mutated=m.new,
                        outcome=run_constant(m, target.path, tests, dirs[i % workers]))  # fmt: skip

        # one worker per copy: mutant i runs in copy i % workers, never two at once
        with ThreadPoolExecutor(workers) as pool:
            rows = []
            futures = [pool.submit(lambda w=w: [one(i) for i in range(w, len(mutants), workers)])
                       for w in range(workers)]  # fmt: skip
            for f in futures:
                rows += f.result()
    return rows


def constants_of(target: Target, rerun: bool) -> list[dict]:
    """The constant sweep of ``target``: run (and kept in ``.mutation/<module>/``), or the
    kept one when ``rerun`` is false and neither the module nor the tests changed since."""
    import hashlib

    digest = hashlib.sha256((ROOT / target.path).read_bytes())
    for test in sorted((ROOT / "tests").glob("*.py")):
        digest.update(test.read_bytes())
    kept = workdir(target) / "constants.json"
    if not rerun and kept.exists():
        saved = json.loads(kept.read_text())
        if saved["sha256"] == digest.hexdigest():
            return saved["rows"]
    print(f"{target.label}: constants of {target.path} ...", flush=True)
    rows = sweep_constants(target, workers=os.cpu_count() or 1)
    kept.write_text(json.dumps({"sha256": digest.hexdigest(), "rows": rows}, indent=1))
    return rows


# --------------------------------------------------------------------------- report


def explanation(row: dict, known: list[dict]) -> tuple[str, str]:
    """``(kind, why)`` of a survivor listed in mutation_equivalents.yaml, else ``("", "")``."""
    for e in known:
        if (e["target"] == row["target"] and e["function"] == row["function"]
                and e["mutated"].strip() == row["mutated"].strip()):  # fmt: skip
            return e["kind"], e["why"]
    return "", ""


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per target: killed, timed out, and survived (every test passed, or no test
    reaches the mutated function: both mean nothing pins that behaviour)."""
    out = []
    for t in TARGETS:
        r = rows[rows.target == t.label]
        if r.empty:
            continue
        n = len(r)
        alive = r.outcome.isin(["survived", "no tests", "suspicious", "not run"])
        survived = int(alive.sum())
        out.append({
            "module": t.label, "what": t.what, "mutants": n,
            "in functions": int((r.function != "<module>").sum()),
            "constants": int((r.function == "<module>").sum()),
            "killed": int((r.outcome == "killed").sum()),
            "timeout": int((r.outcome == "timeout").sum()),
            "survived": survived,
            "of which no test reaches it": int((r.outcome == "no tests").sum()),
            "of which equivalent": int((alive & (r.kind == "equivalent")).sum()),
            "of which GPU only": int((alive & (r.kind == "gpu")).sum()),
            "survived %": round(100.0 * survived / n, 1),
            "target met (<= 10 %)": "yes" if survived <= TARGET * n else "no",
        })  # fmt: skip
    return pd.DataFrame(out)


MEASURED_AT = "measured at"


def merged(
    table: pd.DataFrame, survivors: pd.DataFrame, commit: str, tables_dir: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """This run's rows beside the committed tables' rows of the modules it did not run.

    Each module's row names the commit it was measured at (:data:`MEASURED_AT`): this
    run's ``commit``, or the one the committed row carries (its table's provenance
    commit when the column is missing, as in tables written before it existed).
    """
    old_path = tables_dir / "mutation.csv"
    if not old_path.is_file():
        raise SystemExit(f"--merge: no committed table {old_path} to merge into")
    old = pd.read_csv(old_path)
    if MEASURED_AT not in old.columns:
        sidecar = json.loads(old_path.with_suffix(".json").read_text())
        old[MEASURED_AT] = sidecar.get("commit", "unknown")
    old_survivors = pd.read_csv(tables_dir / "mutation_survivors.csv", keep_default_na=False)
    ran = set(table.module)
    table = pd.concat([old[~old.module.isin(ran)], table.assign(**{MEASURED_AT: commit})])
    order = {t.label: i for i, t in enumerate(TARGETS)}
    table = table.sort_values("module", key=lambda m: m.map(order)).reset_index(drop=True)
    survivors = pd.concat([old_survivors[~old_survivors.target.isin(ran)], survivors])
    survivors = survivors.sort_values("target", key=lambda m: m.map(order), kind="stable")
    return table, survivors.reset_index(drop=True)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import write_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", metavar="MODULE", help="modules (labels) to run, in this order"
    )
    parser.add_argument(
        "--no-constants", action="store_true", help="skip the sweep of module-level constants"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="read mutmut's last results (.mutation/) instead of running it",
    )
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run again only the mutants the last run did not kill, with the tests as they are now",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the committed tables' rows of the modules not run (with --only)",
    )
    parser.add_argument("--no-table", action="store_true", help="print, write no table")
    args = parser.parse_args()  # fmt: skip
    by_label = {t.label: t for t in TARGETS}
    targets = [by_label[m] for m in args.only if m in by_label] if args.only else list(TARGETS)
    if not targets or len(targets) < len(args.only or []):
        parser.error(f"--only: no such module; choose from {[t.label for t in TARGETS]}")

    start = time.perf_counter()
    known = yaml.safe_load(EQUIVALENTS.read_text()) or []
    rows = []
    for t in targets:
        if args.survivors:
            names = [k for k, v in mutmut_results(t).items() if v != "killed"]
            print(f"{t.label}: mutmut run of the {len(names)} mutants not killed ...", flush=True)
            if names:
                run_mutmut(t, names)
        elif not args.reuse:
            print(f"{t.label}: mutmut run (log: {workdir(t) / 'mutants.log'}) ...", flush=True)
            run_mutmut(t)
        results = mutmut_results(t)
        if not results:
            raise SystemExit(f"mutmut produced no results for {t.label}; see its mutants.log")
        for name, result in sorted(results.items()):
            row = dict(target=t.label, mutant=name.rsplit(".", 1)[-1], function="",
                       original="", mutated="", outcome=result)  # fmt: skip
            if result != "killed":
                row["function"], row["original"], row["mutated"] = mutmut_diff(t, name)
            rows.append(row)
        if t.constants and not args.no_constants:
            rows += constants_of(t, rerun=not args.reuse)
    df = pd.DataFrame(rows)
    explained = [explanation(r, known) if r["outcome"] != "killed" else ("", "")
                 for r in df.to_dict("records")]  # fmt: skip
    df["kind"], df["why"] = [k for k, _ in explained], [w for _, w in explained]
    table = summarise(df)
    survivors = df[df.outcome != "killed"].drop(columns=["mutant"])
    if args.merge:
        from comp_lib.config import git_commit, tables_dir

        table, survivors = merged(table, survivors, git_commit(), tables_dir())
    minutes = (time.perf_counter() - start) / 60
    print(table.to_string(index=False))
    print(survivors.to_string(index=False, max_colwidth=70))
    if args.no_table:
        return
    params = {"modules": [t.label for t in targets], "constants": not args.no_constants,
              "mutmut": mutmut_version()}  # fmt: skip
    if args.merge:
        params["merged"] = "the other modules' rows from the committed tables (measured at)"
    ran = ", ".join(params["modules"])
    notes = f"""
Each mutant is the library with one small bug planted: mutmut {mutmut_version()} inside
functions, each module's mutants against its own test files (`TARGETS` in
`benchmarks/mutation.py`), and the script's own sweep of module-level constants
(n -> n + 1, "XX..XX"). *Killed*: some test failed. *Timeout*: the tests ran past 3x their
usual time (plus 10 s), a hang, counted apart. *Survived*: every test passed, or no test
reaches the function. *Equivalent* survivors change nothing a caller can observe; *GPU
only* ones change nothing on a CPU tensor (CI has no GPU); each is explained in
`benchmarks/mutation_equivalents.yaml`, and [the survivors](mutation_survivors.md) lists
every mutant not killed with its diff. The target: at most 10 % of each module's mutants
survive.{"" if args.reuse else f" Running {ran} took {minutes:.0f} min on this machine."}
"""
    write_table(table, "mutation", "Mutation testing of the core", notes, params)
    write_table(survivors, "mutation_survivors", "Mutants that no test killed",
                "Each mutant that survived or timed out: the line it changed and, for an "
                "equivalent or GPU-only mutant, why no test here can kill it.", params)  # fmt: skip


def mutmut_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


if __name__ == "__main__":
    main()
