"""Jiang et al.'s protocol: JPEG at quality 5 and 10 against ours at JPEG's bpp.

On Set5 and Set14, as the paper's Tables I-II: :func:`paper_table`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from comp_lib.rd import psnr_at_rate, rd_curves
from comp_lib.studies.constants import ANCHOR, PAPER_DATASETS, PAPER_JPEG_QUALITIES
from comp_lib.studies.roster import OURS

__all__ = ["paper_table"]


def paper_table(
    rows: pd.DataFrame,
    ours: str = OURS,
    anchor: str = ANCHOR,
    qualities: Sequence[int] = PAPER_JPEG_QUALITIES,
    datasets: Sequence[str] = PAPER_DATASETS,
    decimals: int = 4,
) -> pd.DataFrame:
    """Jiang et al.'s comparison: ``anchor`` at ``qualities`` against ``ours`` at its bpp.

    For each test set of ``rows`` among ``datasets`` (in the rows' order) and each quality
    the anchor was run at: the anchor's mean bpp, PSNR and SSIM, and, when ``rows`` hold
    ``ours``, ours read off its mean curve at that bpp (:func:`comp_lib.rd.psnr_at_rate`;
    NaN where the curve does not reach it) and ``gain_db`` = ours' PSNR minus the anchor's.
    """
    has_ours = (rows.codec == ours).any()
    out = []
    for name in [d for d in dict.fromkeys(rows.dataset) if d in datasets]:
        sub = rows[rows.dataset == name]
        reference = sub[sub.codec == anchor]
        for q in qualities:
            jq = reference[reference.setting == q]
            if jq.empty:
                continue
            row = dict(dataset=name, jpeg_quality=q, bpp=jq.bpp.mean(), jpeg_psnr=jq.psnr.mean(),
                       jpeg_ssim=jq.ssim.mean())  # fmt: skip
            if has_ours:
                curve = rd_curves(sub[sub.codec == ours])
                row["ours_psnr"] = psnr_at_rate(curve, row["bpp"])
                row["ours_ssim"] = psnr_at_rate(curve, row["bpp"], "ssim")
                row["gain_db"] = row["ours_psnr"] - row["jpeg_psnr"]
            out.append(row)
    return pd.DataFrame(out).round(decimals)
