"""The report: tables with their provenance, figures, and ``reports/README.md``.

::

    tables    write_table (CSV + JSON provenance sidecar + Markdown), provenance,
              read_table (the numbers and their Provenance, as data)
    figures   image grids, training curves, RD curves and ablation charts saved into
              reports/figures/
    numbers   for_people: one rounding rule for every table shown or written (no nan)
    summary   summary_numbers, summary_table: the answer, the summary table and the
              headline RD figure that open the report
    findings  ablation_findings, dissertation_findings: what the 04 tables say
    readme    write_readme: the report, every number read from a table
"""

from comp_lib.report.numbers import for_people
from comp_lib.report.readme import write_readme
from comp_lib.report.tables import (
    Provenance,
    provenance,
    read_provenance,
    read_table,
    write_csv,
    write_for_people,
    write_table,
)

__all__ = [
    "Provenance",
    "for_people",
    "provenance",
    "read_provenance",
    "read_table",
    "write_csv",
    "write_for_people",
    "write_readme",
    "write_table",
]
