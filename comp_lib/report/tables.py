"""Tables of the report: written with their provenance, read back by the report.

Every table is ``reports/tables/<name>.csv`` (the numbers) and ``<name>.md`` (title,
note, provenance line, the table for people).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from comp_lib.config import git_commit, tables_dir
from comp_lib.files import atomic_write

__all__ = ["provenance", "write_table"]


def write_table(name: str, title: str, df: pd.DataFrame, source: str, note: str = "") -> Path:
    """Write ``reports/tables/<name>.csv`` and ``<name>.md`` (title, note, provenance, table).

    ``source`` is the provenance line (:func:`provenance`).
    Both files are written whole to a temporary name, then renamed.
    """
    folder = tables_dir()
    text = f"# {title}\n\n{note}\n\n{source}\n\n{df.to_markdown(index=False)}\n"
    atomic_write(folder / f"{name}.csv", df.to_csv(index=False))
    return atomic_write(folder / f"{name}.md", text)


def provenance(profile: str, params: dict, index_sha256: str | None = None) -> str:
    """A Markdown line naming what produced a table: git commit, profile, parameters, data."""
    commit = git_commit()
    data = f"; data index sha256 `{index_sha256}`" if index_sha256 else ""
    return (
        f"Provenance: git {commit}; profile `{profile}`; parameters `{json.dumps(params)}`{data}."
    )
