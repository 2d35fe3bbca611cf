"""The dissertation's protocol: BSDS300 test at 180x180, and the rate it left out.

The dissertation reported its model at 24 dB / SSIM 0.74 and JPEG at 32.75 dB / 0.88
with no rate (:mod:`comp_lib.studies.constants`). On its images
(:func:`dissertation_images`), the lowest JPEG quality whose mean PSNR reaches 32.75 dB
(:func:`dissertation_jpeg_match`, the study's one definition, which notebook 04 uses
too) gives the rate its JPEG ran at, and ours is read at that rate
(:func:`dissertation_table`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from comp_lib.baselines import JPEGCodec
from comp_lib.evaluate import evaluate
from comp_lib.metrics import psnr
from comp_lib.rd import psnr_at_rate, rd_curves
from comp_lib.studies.constants import ANCHOR, DISSERTATION_JPEG, DISSERTATION_MODEL
from comp_lib.studies.roster import OURS, Images

__all__ = [
    "dissertation_images",
    "dissertation_jpeg_match",
    "dissertation_rows",
    "dissertation_table",
]


def dissertation_images(corpus, limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """The corpus's test images at the study's size (180x180, as the dissertation), uint8."""
    pairs = list(zip(corpus.test_names, corpus.test, strict=True))[:limit]
    return [(n, np.round(img * 255).astype(np.uint8)) for n, img in pairs]


def dissertation_jpeg_match(
    images: Images, anchor: str = ANCHOR, qualities: Sequence[int] = range(1, 96)
) -> pd.Series:
    """The JPEG setting that matches the dissertation's 32.75 dB: one definition for the study.

    The lowest quality of ``qualities`` whose mean PSNR over ``images`` reaches the
    dissertation's JPEG figure (:data:`~comp_lib.studies.constants.DISSERTATION_JPEG`), with
    its mean rate from the real bytes. Notebooks 03 and 04 both call this on the
    dissertation's images (:func:`dissertation_images`: BSDS300 test at 180x180), so they
    give one answer.

    Returns
    -------
    pandas.Series
        ``codec`` (``anchor``), ``setting``, ``bpp``, ``psnr``, ``ssim`` (means over images).

    Raises
    ------
    ValueError
        When no quality reaches it (the images are too hard for ``qualities``).
    """
    codec, best = JPEGCodec(), -np.inf
    for quality in sorted(qualities):  # the lowest that reaches it: stop there, PSNR only
        mean = float(np.mean([psnr(x, codec.decompress(codec.compress(x, quality)))
                              for _, x in images]))  # fmt: skip
        best = max(best, mean)
        if mean >= DISSERTATION_JPEG["psnr"]:
            curve = rd_curves(evaluate(codec, images, [quality], anchor, progress=False))
            return curve.iloc[0][["codec", "setting", "bpp", "psnr", "ssim"]]
    raise ValueError(
        f"no quality of {list(qualities)[0]}..{list(qualities)[-1]} reaches "
        f"{DISSERTATION_JPEG['psnr']} dB on these {len(images)} images "
        f"(the best: {best:.2f} dB)"
    )


def dissertation_rows(
    codecs: Mapping[str, tuple[object, Sequence[int]]],
    images: Images,
    names: Sequence[str] = (ANCHOR, OURS),
) -> pd.DataFrame:
    """Rows of the codecs ``names`` among ``codecs`` (name -> (codec, settings)) on ``images``."""
    frames = [evaluate(c, images, s, n, progress=False)
              for n, (c, s) in codecs.items() if n in names]  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def dissertation_table(
    rows: pd.DataFrame,
    match: pd.Series,
    ladder=None,
    label: str | None = None,
    ours: str = OURS,
) -> pd.DataFrame:
    """The dissertation's comparison, with the rates it left out.

    Columns source, codec, bpp, psnr, ssim: the dissertation's model and JPEG (no bpp),
    then, here, the JPEG setting that matches the dissertation's JPEG (``match``, from
    :func:`dissertation_jpeg_match`: the study's one definition, which notebook 04 uses
    too) with its rate; ``ours`` read at that rate (NaN where its curve does not reach
    it) and at its highest rate, when ``rows`` hold it. Rounded for people: bpp and SSIM
    to 3 decimals, PSNR to 2.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of :func:`comp_lib.evaluate.evaluate` of ``ours`` on the 180x180 images
        (:func:`dissertation_images`); other codecs' rows are ignored.
    match : pandas.Series
        :func:`dissertation_jpeg_match` on the same images (``codec``, ``setting``,
        ``bpp``, ``psnr``, ``ssim``).
    ladder : Ladder, optional
        Ours, when a ladder: its top rung is named by model and quality.
    label : str, optional
        Ours as the notebook names it (default: the ladder's name).
    """
    anchor = match["codec"]
    out = [
        dict(source="dissertation", codec="model", bpp=np.nan, **DISSERTATION_MODEL),
        dict(source="dissertation", codec=anchor, bpp=np.nan, **DISSERTATION_JPEG),
        dict(source="here", codec=f"{anchor} q={int(match.setting)}", bpp=match.bpp,
             psnr=match.psnr, ssim=match.ssim),
    ]  # fmt: skip
    mine = rd_curves(rows[rows.codec == ours]) if len(rows) else rows
    if not mine.empty:
        label = label or getattr(ladder, "name", ours)
        rate = float(match.bpp)
        psnr, ssim = psnr_at_rate(mine, rate), psnr_at_rate(mine, rate, "ssim")
        out.append(dict(source="here", codec=f"{ours} ({label}) at the same bpp", bpp=match.bpp,
                        psnr=psnr, ssim=ssim))  # fmt: skip
        top = mine.sort_values("bpp").iloc[-1]
        if ladder is not None:
            where = "its top rung ({} q{})".format(*ladder.rungs[int(top.setting)])
        else:
            where = f"its top setting ({int(top.setting)})"
        out.append(dict(source="here", codec=f"{ours} at {where}", bpp=top.bpp, psnr=top.psnr,
                        ssim=top.ssim))  # fmt: skip
    return pd.DataFrame(out).round({"bpp": 3, "psnr": 2, "ssim": 3})
