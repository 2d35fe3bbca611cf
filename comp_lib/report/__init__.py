"""The report: tables with their provenance, figures, and ``reports/README.md``.

::

    tables    write_table (CSV + Markdown with provenance), provenance
    figures   image grids, RD curves and ablation charts saved into reports/figures/
    readme    write_readme: the report, every number read from a table
"""

from comp_lib.report.readme import write_readme
from comp_lib.report.tables import provenance, write_table

__all__ = ["provenance", "write_readme", "write_table"]
