"""benchmarks/mutation.py: one module run again, merged into the committed tables."""

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from mutation import MEASURED_AT, TARGETS, merged, summarise  # noqa: E402


def _rows(target: str, outcomes: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "target": target, "function": [f"f{i}" for i in range(len(outcomes))],
        "original": "a < b", "mutated": "a <= b", "outcome": outcomes, "kind": "", "why": "",
    })  # fmt: skip


def _commit(tables: Path, table: pd.DataFrame, survivors: pd.DataFrame, commit: str):
    table.to_csv(tables / "mutation.csv", index=False)
    (tables / "mutation.json").write_text(json.dumps({"commit": commit}))
    survivors.to_csv(tables / "mutation_survivors.csv", index=False)


def test_merge_keeps_the_modules_not_run_with_the_commit_they_were_measured_at(tmp_path):
    labels = [t.label for t in TARGETS]
    old_rows = pd.concat([_rows(label, ["killed", "survived"]) for label in labels])
    old_survivors = old_rows[old_rows.outcome != "killed"]
    _commit(tmp_path, summarise(old_rows), old_survivors, "14ed95b")

    new_rows = _rows("rd", ["killed"] * 9 + ["survived"])
    table, survivors = merged(
        summarise(new_rows), new_rows[new_rows.outcome != "killed"], "abc1234", tmp_path
    )

    assert list(table.module) == labels  # every module once, in TARGETS' order
    by_module = table.set_index("module")
    assert by_module.loc["rd", "mutants"] == 10 and by_module.loc["rd", "survived"] == 1
    assert by_module.loc["rd", MEASURED_AT] == "abc1234"
    others = by_module.drop(index="rd")
    assert (others.mutants == 2).all() and (others[MEASURED_AT] == "14ed95b").all()
    assert list(survivors.target) == labels  # rd's survivor replaced, the others kept
    assert survivors.set_index("target").loc["rd", "function"] == "f9"

    # merged again later: the earlier rows keep the commit they carry
    _commit(tmp_path, table, survivors, "abc1234")
    again, _ = merged(summarise(_rows("jpeg", ["killed"])), _rows("jpeg", [])[:0], "def5678",
                      tmp_path)  # fmt: skip
    again = again.set_index("module")[MEASURED_AT]
    assert (again["jpeg"], again["rd"], again["metrics"]) == ("def5678", "abc1234", "14ed95b")


def test_merge_needs_a_committed_table(tmp_path):
    rows = _rows("rd", ["killed"])
    with pytest.raises(SystemExit, match="no committed table"):
        merged(summarise(rows), rows[:0], "abc1234", tmp_path)
