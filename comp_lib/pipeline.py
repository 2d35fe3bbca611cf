"""Regenerate the report: run every numbered notebook in order with papermill.

``python -m comp_lib.pipeline --profile default`` (what ``make report`` runs) reads
``params/<profile>.yaml``, whose top-level keys are notebook names
(``00_preprocessing``, ...) mapping to that notebook's parameters, and executes
``notebooks/NN_*.ipynb`` one after the other, each with its parameters plus
``profile``, writing the executed copies to ``reports/notebooks/``. The notebooks
write their own figures and tables under ``reports/``. Before the first notebook starts,
every dataset the chosen notebooks read (:func:`needed_datasets`) is checked against its
manifest and fetched when missing (:func:`comp_lib.data.preflight.ensure`); when that
fails, the run stops at once with one message and exit status 1. A failing notebook stops the
run with its name; the executed copy up to the failing cell is kept for reading.
A full run records how long each notebook took, and on what machine, in
``reports/tables/pipeline_<profile>.{csv,json,md}``; the report states it.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import yaml

from comp_lib.config import PROJECT_ROOT, reports_dir
from comp_lib.data.corpus import CORPUS_DATASETS
from comp_lib.data.preflight import DataUnavailable, ensure
from comp_lib.data.registry import DATASETS
from comp_lib.files import atomic_write

__all__ = [
    "CHECK_MARKER",
    "NOTEBOOK_DATASETS",
    "NotebookFailed",
    "load_profile",
    "main",
    "needed_datasets",
    "notebook_parameters",
    "notebooks",
    "run",
    "store_summaries",
    "write_times",
]

#: Cells whose output nbval compares (``pytest --nbval-lax``); the only outputs committed.
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"

KERNEL = "comp-study"

#: The datasets each notebook reads besides those its ``datasets`` and ``sources``
#: parameters name (tests/test_pipeline_data.py reads the notebooks to keep this true)
NOTEBOOK_DATASETS = {
    "00_preprocessing": ("bsds300_test", "raw"),
    "01_method": ("bsds300_test",),
    "02_training": CORPUS_DATASETS,
    "03_evaluation": CORPUS_DATASETS,
    "04_ablations": CORPUS_DATASETS,
    "05_post_filter": ("bsds300_test",),
}


class NotebookFailed(RuntimeError):
    """A notebook raised: the message names it, the cell and the error."""


def notebooks() -> list[Path]:
    """The numbered notebooks, in order."""
    return sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def load_profile(profile: str) -> dict[str, dict]:
    """Per-notebook parameters of ``params/<profile>.yaml`` (with ``profile`` added)."""
    path = PROJECT_ROOT / "params" / f"{profile}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (PROJECT_ROOT / "params").glob("*.yaml"))
        raise FileNotFoundError(f"no profile {profile!r} ({path}); known: {', '.join(known)}")
    raw = yaml.safe_load(path.read_text()) or {}
    names = {nb.stem for nb in notebooks()}
    unknown = set(raw) - names
    if unknown:
        raise ValueError(f"{path}: sections for unknown notebooks: {sorted(unknown)}")
    return {name: dict(raw.get(name) or {}, profile=profile) for name in sorted(names)}


def notebook_parameters(notebook: Path) -> dict:
    """The defaults of a notebook's ``parameters`` cell (literals), by name."""
    import papermill as pm

    out = {}
    for name, spec in pm.inspect_notebook(str(notebook)).items():
        try:
            out[name] = ast.literal_eval(spec["default"])
        except (ValueError, SyntaxError):  # not a literal: not a dataset list either
            continue
    return out


def needed_datasets(params: dict[str, dict], only: list[str] | None = None) -> list[str]:
    """Every dataset the notebooks (all, or ``only`` these) read under ``params``.

    Parameters
    ----------
    params : dict
        :func:`load_profile`'s output: notebook name -> the profile's parameters, which
        override the notebook's own defaults (:func:`notebook_parameters`).
    only : list of str, optional
        Notebook names to run (default: all).

    Returns
    -------
    list of str
        Keys of :data:`comp_lib.data.registry.DATASETS`, each once: those of
        :data:`NOTEBOOK_DATASETS`, and those named by a ``datasets`` or ``sources``
        parameter (a folder path there is not a dataset and is left to the notebook).
    """
    names: list[str] = []
    for nb in notebooks():
        if only and nb.stem not in only:
            continue
        merged = {**notebook_parameters(nb), **params.get(nb.stem, {})}
        names += NOTEBOOK_DATASETS.get(nb.stem, ())
        for key in ("datasets", "sources"):
            names += [v for v in merged.get(key) or () if isinstance(v, str) and v in DATASETS]
    return list(dict.fromkeys(names))


def run(profile: str = "default", only: list[str] | None = None) -> list[Path]:
    """Execute the notebooks under ``profile``; return the executed copies.

    Raises
    ------
    comp_lib.data.preflight.DataUnavailable
        A dataset the notebooks need is missing and could not be fetched (before any
        notebook starts).
    """
    import papermill as pm

    params = load_profile(profile)
    unknown = sorted(set(only or ()) - set(params))
    if unknown:
        raise ValueError(f"--only: no notebook named {unknown}; known: {', '.join(params)}")
    ensure(needed_datasets(params, only), log=lambda line: print(f"[{profile}] {line}", flush=True))
    out_dir = reports_dir() / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    done, times = [], []
    for nb in notebooks():
        if only and nb.stem not in only:
            continue
        start = time.perf_counter()
        print(f"[{profile}] {nb.name} ...", flush=True)
        out = out_dir / nb.name
        try:
            pm.execute_notebook(nb, out, parameters=params[nb.stem], kernel_name=KERNEL,
                                cwd=str(nb.parent), progress_bar=False)  # fmt: skip
        except pm.PapermillExecutionError as err:
            raise NotebookFailed(
                f"{nb.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue} "
                f"(the executed copy up to there: {out})"
            ) from err
        seconds = time.perf_counter() - start
        print(f"[{profile}] {nb.name} done in {seconds:.0f} s", flush=True)
        done.append(out)
        times.append((nb.stem, seconds))
    if only is None:
        from comp_lib.report import write_readme

        write_times(profile, times)

        print(f"[{profile}] wrote {write_readme()}")
    return done


def write_times(profile: str, times: list[tuple[str, float]]) -> Path:
    """Write ``pipeline_<profile>.{csv,json,md}``: each notebook's wall time, the total, and
    (in the provenance sidecar) the machine; return the ``.md`` path."""
    import pandas as pd

    from comp_lib.config import cpu_description, cpu_threads, git_commit
    from comp_lib.report import Provenance, write_table

    df = pd.DataFrame(times, columns=["notebook", "seconds"])
    df = pd.concat([df, pd.DataFrame([("total", df.seconds.sum())], columns=df.columns)])
    df["minutes"] = df.seconds / 60
    machine = f"{cpu_description()}, {cpu_threads()} threads"
    source = Provenance(git_commit(), profile, machine=machine)
    return write_table(f"pipeline_{profile}", f"`make report` at the {profile} profile: wall time",
                       df.round(1), source, "Each notebook run by papermill, in order; "
                       "the virtual environment's set-up not included.")  # fmt: skip


def store_summaries(executed: Path, notebook: Path) -> int:
    """Copy the outputs of the marked summary cells of ``executed`` into ``notebook``.

    Every other output is left out (notebooks are committed without outputs), so that
    nbval has the summary lines to compare against. Returns the number of cells kept.
    """
    import nbformat

    run_nb = nbformat.read(executed, as_version=4)
    target = nbformat.read(notebook, as_version=4)
    by_source = {c.source: c for c in run_nb.cells if c.cell_type == "code"}
    kept = 0
    for cell in target.cells:
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.outputs = []
        if CHECK_MARKER in cell.source and cell.source in by_source:
            cell.outputs = [o for o in by_source[cell.source].outputs if o.get("name") == "stdout"]
            cell.execution_count = 1  # nbval ignores outputs of cells marked as never run
            kept += 1
    text = nbformat.writes(target)
    atomic_write(notebook, text if text.endswith("\n") else text + "\n")
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comp_lib.pipeline", description=__doc__)
    parser.add_argument("--profile", default="default", help="params/<profile>.yaml")
    parser.add_argument("--only", nargs="*", help="run only these notebooks (names)")
    parser.add_argument(
        "--store-summaries",
        action="store_true",
        help="then copy the summary cells' outputs into notebooks/ (for nbval)",
    )
    args = parser.parse_args(argv)
    try:
        for executed in run(args.profile, args.only):
            if args.store_summaries:
                kept = store_summaries(executed, PROJECT_ROOT / "notebooks" / executed.name)
                print(f"{executed.name}: stored the output of {kept} summary cell(s)")
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (NotebookFailed, DataUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
