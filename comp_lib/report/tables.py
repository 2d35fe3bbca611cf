"""Tables of the report: written with their provenance, read back by the report as data.

Every table is ``reports/tables/<name>.csv`` (the numbers), ``<name>.json`` (its
:class:`Provenance`: git commit, profile, parameters, data index hash, machine) and,
for people, ``<name>.md`` (title, note, the provenance line, the table). The report
(:mod:`comp_lib.report.readme`) reads the numbers from the CSV and the parameters
from the JSON sidecar, never from the Markdown. A long table only read by code
(per-image rows, curves) is written by :func:`write_csv`: CSV and sidecar, no Markdown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd

from comp_lib.config import git_commit, reports_dir, tables_dir
from comp_lib.files import atomic_write
from comp_lib.report.numbers import for_people

__all__ = [
    "Provenance",
    "provenance",
    "read_provenance",
    "read_table",
    "write_csv",
    "write_for_people",
    "write_table",
]


@dataclass(frozen=True)
class Provenance:
    """What produced a table: the code, the settings, the data and the machine.

    Attributes
    ----------
    commit : str
        :func:`comp_lib.config.git_commit` when the table was written (a short hash,
        marked ``" (with uncommitted changes)"`` when the checkout had some).
    profile : str, optional
        The ``params/<profile>.yaml`` a notebook ran under; None for a benchmark.
    parameters : dict, optional
        The parameters the table depends on (JSON values; their order is kept).
    index_sha256 : str, optional
        sha256 of the corpus index (:attr:`comp_lib.data.Corpus.index_sha256`).
    machine : str, optional
        The machine, for tables of times (the pipeline's, the benchmarks').

    ``str()`` gives the Markdown line of the table's ``.md`` file, e.g.
    ``Provenance: git 34a755c; profile `default`; parameters `{...}`; data index
    sha256 `d97a...`.``
    """

    commit: str
    profile: str | None = None
    parameters: dict | None = None
    index_sha256: str | None = None
    machine: str | None = None

    def __post_init__(self) -> None:
        if self.parameters is not None:  # a copy, checked to be JSON (tuples become lists)
            object.__setattr__(self, "parameters", json.loads(json.dumps(self.parameters)))

    def __str__(self) -> str:
        parts = [f"git {self.commit}"]
        if self.profile is not None:
            parts.append(f"profile `{self.profile}`")
        if self.parameters is not None:
            parts.append(f"parameters `{json.dumps(self.parameters)}`")
        if self.index_sha256:
            parts.append(f"data index sha256 `{self.index_sha256}`")
        if self.machine:
            parts.append(f"machine: {self.machine}")
        return "Provenance: " + "; ".join(parts) + "."

    def to_json(self) -> str:
        """The sidecar's text: every field, as a JSON object (stable: no time stamp)."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Provenance:
        """Read :meth:`to_json`'s text back; keys this version does not know are ignored."""
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def provenance(profile: str, params: dict, index_sha256: str | None = None) -> Provenance:
    """The provenance of a notebook's tables: git commit (now), profile, parameters, data.

    Parameters
    ----------
    profile : str
        The notebook's ``profile`` parameter.
    params : dict
        The parameters its tables depend on (JSON-serialisable).
    index_sha256 : str, optional
        The corpus index's hash.

    Returns
    -------
    Provenance
        Pass it to :func:`write_table`; ``print`` shows the Markdown line.
    """
    return Provenance(git_commit(), profile, params, index_sha256 or None)


def write_table(
    name: str, title: str, df: pd.DataFrame, source: Provenance, note: str = ""
) -> Path:
    """Write ``reports/tables/<name>.csv``, ``<name>.json`` and ``<name>.md``.

    Parameters
    ----------
    name : str
        The table's file name, without suffix.
    title, note : str
        The Markdown file's heading and the paragraph under it.
    df : pandas.DataFrame
        The table (written without its index).
    source : Provenance
        What produced it (:func:`provenance`): the JSON sidecar, and the line of the
        Markdown file.

    Returns
    -------
    Path
        The ``.md`` file. Each file is written whole, then renamed into place.
    """
    if not isinstance(source, Provenance):
        raise TypeError(f"source must be a Provenance (see provenance()), got {type(source)}")
    write_csv(name, df, source)
    table = df.to_markdown(index=False, disable_numparse=True)  # "0.100" stays "0.100"
    text = f"# {title}\n\n{note}\n\n{source}\n\n{table}\n"
    return atomic_write(tables_dir() / f"{name}.md", text)


def write_csv(name: str, df: pd.DataFrame, source: Provenance | None = None) -> Path:
    """Write ``reports/tables/<name>.csv`` and, given ``source``, its ``<name>.json`` sidecar.

    For tables read by code rather than people (no Markdown file). Returns the CSV's path.
    """
    if source is not None and not isinstance(source, Provenance):
        raise TypeError(f"source must be a Provenance (see provenance()), got {type(source)}")
    folder = tables_dir()
    if source is not None:
        atomic_write(folder / f"{name}.json", source.to_json())
    return atomic_write(folder / f"{name}.csv", df.to_csv(index=False))


def read_provenance(name: str) -> Provenance | None:
    """The provenance of table ``name`` (its ``.json`` sidecar), or None where it has none."""
    path = reports_dir() / "tables" / f"{name}.json"
    return Provenance.from_json(path.read_text()) if path.is_file() else None


def read_table(name: str) -> tuple[pd.DataFrame | None, Provenance | None]:
    """Table ``name`` and its provenance, each None where the file is missing."""
    path = reports_dir() / "tables" / f"{name}.csv"
    return (pd.read_csv(path) if path.is_file() else None), read_provenance(name)


def write_for_people(
    name: str,
    title: str,
    table: pd.DataFrame,
    source: Provenance | None,
    note: str = "",
    missing: str | Mapping[str, str] = "not defined",
) -> Path:
    """:func:`write_table` of ``table``: its Markdown for people
    (:func:`comp_lib.report.numbers.for_people`: rounded, each missing value says why in
    ``missing``), its CSV with the numbers as they are. Returns the ``.md``."""
    path = write_table(name, title, for_people(table, missing), source, note)
    write_csv(name, table, source)
    return path
