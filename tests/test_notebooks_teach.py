"""The notebooks teach (issue 17): each asks one question first and answers it last, ends
with exercises, keeps its logic in ``comp_lib`` (no code cell over 30 lines) and has at
least 0.6 lines of narrative per line of code.

Counted on the committed ``.ipynb`` files (the jupytext pairs of ``notebooks/*.py``):
a narrative line is a non-blank line of a markdown cell, a code line a non-blank line of a
code cell, comments included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from comp_lib.zoo import shipped_models

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MIN_NARRATIVE_PER_CODE = 0.6
MAX_CODE_CELL_LINES = 30


def _lines(cell) -> list[str]:
    return [line for line in cell.source.splitlines() if line.strip()]


def teaching_stats(path: Path) -> dict:
    """Narrative and code line counts, the longest code cell and the section headings."""
    nb = nbformat.read(path, as_version=4)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    headings = [
        line.lstrip("#").strip()
        for c in markdown
        for line in c.source.splitlines()
        if line.startswith("## ")
    ]
    return dict(
        narrative=sum(len(_lines(c)) for c in markdown),
        code=sum(len(_lines(c)) for c in code),
        longest_cell=max(len(_lines(c)) for c in code),
        headings=headings,
        first_markdown=markdown[0].source,
        first_code=code[0],
    )


def test_every_numbered_notebook_is_counted():
    assert [p.stem for p in NOTEBOOKS] == [
        "00_preprocessing",
        "01_method",
        "02_training",
        "03_evaluation",
        "04_ablations",
        "05_post_filter",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_asks_first_answers_last_and_ends_with_exercises(path):
    stats = teaching_stats(path)
    assert "**Question:**" in stats["first_markdown"], "the first cell states the question"
    assert stats["headings"][-2:] == ["The answer", "Exercises"], stats["headings"][-3:]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_more_narrative_than_a_code_dump(path):
    stats = teaching_stats(path)
    ratio = stats["narrative"] / stats["code"]
    assert ratio >= MIN_NARRATIVE_PER_CODE, (
        f"{path.stem}: {stats['narrative']} narrative lines for {stats['code']} code "
        f"lines ({ratio:.2f} < {MIN_NARRATIVE_PER_CODE})"
    )
    assert stats["longest_cell"] <= MAX_CODE_CELL_LINES, (
        f"{path.stem}: a code cell of {stats['longest_cell']} lines; move the logic into comp_lib"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_the_papermill_parameters_of_literals(path):
    cell = teaching_stats(path)["first_code"]
    assert "parameters" in cell.metadata.get("tags", [])
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        ast.literal_eval(node.value)  # a literal, so papermill can replace it


def test_the_method_notebook_defaults_to_a_shipped_model():
    path = next(p for p in NOTEBOOKS if p.stem == "01_method")
    cell = teaching_stats(path)["first_code"]
    values = {
        node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body
    }
    assert values["checkpoint"] in shipped_models()
