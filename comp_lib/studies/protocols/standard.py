"""The standard protocol: mean curves, BD-rates and values at fixed rates, per test set.

Per test set, every codec's mean rate-distortion curve, its BD-rates and BD-PSNR against
JPEG up to ``max_rate`` (:func:`comp_lib.rd.bd_table`), BD-PSNR over the one range all
codecs cover (:func:`comp_lib.rd.common_range_table`) and PSNR/SSIM at fixed rates
(:func:`comp_lib.rd.at_rates`): :func:`standard_tables`; the curves in CompressAI's JSON
shape (:func:`write_compressai`). From them, where the paper's framework stops beating
the post-filter (:func:`crossing_table`) and the answer per test set
(:func:`headline_table`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from comp_lib.evaluate import to_compressai_json
from comp_lib.rd import (
    at_rates,
    bd_table,
    common_range_table,
    psnr_at_rate,
    rd_curves,
    stops_beating,
)
from comp_lib.studies.constants import ANCHOR, CROPS_RATE, FIXED_RATES, MAX_RATE
from comp_lib.studies.roster import COMCNN_RECCNN, OURS, RECCNN_ONLY

__all__ = [
    "StandardTables",
    "crossing_table",
    "headline_table",
    "standard_tables",
    "write_compressai",
]


@dataclass(frozen=True)
class StandardTables:
    """The standard protocol's results.

    Attributes
    ----------
    curves : dict of str to pandas.DataFrame
        Test set -> every codec's mean curve (:func:`comp_lib.rd.rd_curves`).
    bd : pandas.DataFrame
        BD-rates (PSNR, SSIM) and BD-PSNR against the anchor, up to ``max_rate``.
    at_rates : pandas.DataFrame
        PSNR and SSIM at the fixed rates.
    bd_common : pandas.DataFrame
        BD-PSNR against the anchor over the rates every curve of the test set covers.
    """

    curves: dict[str, pd.DataFrame]
    bd: pd.DataFrame
    at_rates: pd.DataFrame
    bd_common: pd.DataFrame


def standard_tables(
    rows: pd.DataFrame,
    anchor: str = ANCHOR,
    max_rate: float = MAX_RATE,
    fixed_rates: Sequence[float] = FIXED_RATES,
    decimals: int = 3,
) -> StandardTables:
    """The standard protocol on every test set of ``rows`` (column ``dataset``), in order.

    Each table has a ``dataset`` column and is rounded to ``decimals``.
    """
    curves, bd, fixed, common = {}, [], [], []
    for name in dict.fromkeys(rows.dataset):
        cur = curves[name] = rd_curves(rows[rows.dataset == name])
        bd.append(bd_table(cur, anchor, max_rate=max_rate).assign(dataset=name))
        common.append(common_range_table(cur, anchor, max_rate).assign(dataset=name))
        fixed.append(at_rates(cur, list(fixed_rates)).assign(dataset=name))

    def table(frames):
        return pd.concat(frames, ignore_index=True).round(decimals)

    return StandardTables(curves, table(bd), table(fixed), table(common))


def write_compressai(curves: Mapping[str, pd.DataFrame], folder: str | os.PathLike) -> list[Path]:
    """Every curve as ``<folder>/<dataset>_<codec slug>.json`` in CompressAI's results shape.

    The slug is the codec's name in lower case without spaces, ``+`` as ``_``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, cur in curves.items():
        for codec in cur.codec.unique():
            slug = codec.lower().replace(" ", "").replace("+", "_")
            path = folder / f"{name}_{slug}.json"
            to_compressai_json(cur, codec, f"{codec} on {name} (grayscale)", path)
            paths.append(path)
    return paths


def crossing_table(
    rows: pd.DataFrame, codec: str = COMCNN_RECCNN, other: str = RECCNN_ONLY
) -> pd.DataFrame:
    """Per test set: the rate where ``codec``'s mean curve stops beating ``other``'s.

    :func:`comp_lib.rd.stops_beating` on the mean curves (PSNR); columns dataset,
    ``bpp`` (NaN where it never leads, or never falls behind, over the rates both
    cover), ``psnr`` there, and the rates both curves cover (``from_bpp``, ``to_bpp``).
    """
    out = []
    for name in dict.fromkeys(rows.dataset):
        curves = rd_curves(rows[rows.dataset == name])
        a, b = curves[curves.codec == codec], curves[curves.codec == other]
        if a.empty or b.empty:
            continue
        rate = stops_beating(a, b)
        out.append(dict(dataset=name, bpp=rate,
                        psnr=psnr_at_rate(a, rate) if rate == rate else np.nan,
                        from_bpp=max(a.bpp.min(), b.bpp.min()),
                        to_bpp=min(a.bpp.max(), b.bpp.max())))  # fmt: skip
    return pd.DataFrame(out, columns=["dataset", "bpp", "psnr", "from_bpp", "to_bpp"])


def headline_table(
    bd: pd.DataFrame,
    fixed: pd.DataFrame,
    per_image_summary: pd.DataFrame,
    rate: float = CROPS_RATE,
    anchor: str = ANCHOR,
) -> pd.DataFrame:
    """Per test set: the study's three codecs kept apart, and what still beats the ladder.

    Columns: for the paper's framework (ComCNN+RecCNN), the post-filter (RecCNN only) and
    the ladder (ours), the BD-rate of the mean curves (the headline's method) and the mean
    of the per-image BD-rates; ours' PSNR gain over the anchor at ``rate`` (read off the
    mean curves; ``fixed`` must hold that rate); the other codecs whose mean-curve BD-rate
    is lower than ours', best first.

    Parameters
    ----------
    bd, fixed : pandas.DataFrame
        :attr:`StandardTables.bd` and :attr:`StandardTables.at_rates`.
    per_image_summary : pandas.DataFrame
        The summary of :func:`bd_per_image_tables`.
    """
    ours = {COMCNN_RECCNN: "framework", RECCNN_ONLY: "post-filter", OURS: "ours"}
    out = []
    for name in dict.fromkeys(bd.dataset):
        mean = bd[bd.dataset == name].set_index("codec")["bd_rate_psnr_%"]
        each = per_image_summary[per_image_summary.dataset == name].set_index("codec")
        at = fixed[(fixed.dataset == name) & np.isclose(fixed.bpp, rate)].set_index("codec").psnr
        row = {"dataset": name}
        for codec, short in ours.items():
            row[f"{short}_bd_rate_%"] = mean.get(codec, np.nan)
            row[f"{short}_per_image_%"] = each["bd_rate_per_image_mean_%"].get(codec, np.nan)
        row[f"ours_gain_at_{rate:g}_bpp_db"] = at.get(OURS, np.nan) - at.get(anchor, np.nan)
        others = mean.drop(list(ours), errors="ignore").sort_values()
        row["beat_ours"] = ", ".join(f"{c} ({v:.2f} %)" for c, v in others.items()
                                     if v < mean.get(OURS, -np.inf)) or "none"  # fmt: skip
        out.append(row)
    return pd.DataFrame(out)
