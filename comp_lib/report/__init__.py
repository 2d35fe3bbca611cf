"""The report: tables with their provenance, figures, and ``reports/README.md``.

::

    tables    write_table (CSV + JSON provenance sidecar + Markdown), provenance,
              read_table (the numbers and their Provenance, as data)
    figures   image grids, training curves, RD curves and ablation charts saved into
              reports/figures/
    readme    write_readme: the report, every number read from a table
"""

from comp_lib.report.readme import write_readme
from comp_lib.report.tables import (
    Provenance,
    provenance,
    read_provenance,
    read_table,
    write_csv,
    write_table,
)

__all__ = [
    "Provenance",
    "provenance",
    "read_provenance",
    "read_table",
    "write_csv",
    "write_readme",
    "write_table",
]
