"""Numbers for people: one rounding rule for every table the study shows or writes.

A column's decimals follow from its name (:func:`decimals`): % and dB to 2, bpp and
SSIM to 3, times to 1. A missing value never shows as ``nan``: it says why
(``"not reached"``, ``"not reported"``). :func:`for_people` applies this to a table
(the notebooks display it, :func:`comp_lib.report.write_for_people` writes it as
Markdown), :func:`markdown` is the same table as Markdown (the report's README), and
:func:`number` formats one value with the same care.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["BD_MISSING", "decimals", "for_people", "markdown", "number", "percent"]

#: (parts of a column name, decimals), the first match wins: "bd_rate_psnr_%" is a %,
#: "rate_vs_ours_%" too; "min_rate" is a bpp; "encode_ms" and "minutes" are times
_RULES = (
    (("%",), 2),
    (("ssim",), 3),
    (("psnr", "db", "gain"), 2),
    (("bpp", "rate"), 3),
    (("_ms", "seconds", "minutes"), 1),
)


def decimals(column: str) -> int:
    """Decimals for people of a column, by its name (2 where no rule applies).

    Examples
    --------
    >>> decimals("bd_rate_psnr_%"), decimals("ssim"), decimals("bpp"), decimals("encode_ms")
    (2, 3, 3, 1)
    """
    name = str(column).lower()
    for keys, places in _RULES:
        if any(k in name for k in keys):
            return places
    return 2


def number(value, spec: str = ".2f", missing: str = "not defined") -> str:
    """``value`` formatted with ``spec``, or ``missing`` (say why) when it is None or NaN."""
    return missing if value is None or pd.isna(value) else format(value, spec)


#: Why a BD-rate can be missing: :func:`comp_lib.rd.bd_rate` needs 4 points of each curve
#: over the rates the two share.
BD_MISSING = "not defined (fewer than 4 points over the rates it shares with JPEG)"


def percent(value, missing: str = "not defined") -> str:
    """A signed percentage for people (``"-29.49 %"``), or ``missing`` (say why) for NaN."""
    return missing if value is None or pd.isna(value) else f"{value:+.2f} %"


def for_people(table: pd.DataFrame, missing: str | Mapping[str, str] = "not defined"):
    """``table`` with its numbers as text for people.

    Parameters
    ----------
    table : pandas.DataFrame
    missing : str or mapping of str to str
        What a NaN reads (say why): one text, or one per column (others: "not defined").

    Returns
    -------
    pandas.DataFrame
        Floats rounded by :func:`decimals` of their column, as text; integers and text
        as they are.
    """
    shown = table.copy().astype(object)
    for column in table.columns:
        why = missing if isinstance(missing, str) else missing.get(column, "not defined")
        places = decimals(column)

        def cell(value, why=why, places=places):
            if isinstance(value, (float, np.floating)):
                return why if np.isnan(value) else f"{value:.{places}f}"
            return value

        shown[column] = [cell(v) for v in table[column]]
    return shown


def markdown(table: pd.DataFrame, missing: str | Mapping[str, str] = "not defined") -> str:
    """:func:`for_people` of ``table`` as a Markdown table (no index, text as written)."""
    return for_people(table, missing).to_markdown(index=False, disable_numparse=True)
