"""The evaluation's three protocols (notebook 03), from the rows of :mod:`comp_lib.evaluate`.

1. **The standard one** (:func:`standard_tables`): per test set, every codec's mean
   rate-distortion curve, its BD-rates and BD-PSNR against JPEG up to ``max_rate``
   (:func:`comp_lib.rd.bd_table`), BD-PSNR over the one range all codecs cover
   (:func:`comp_lib.rd.common_range_table`) and PSNR/SSIM at fixed rates
   (:func:`comp_lib.rd.at_rates`); the curves in CompressAI's JSON shape
   (:func:`write_compressai`).
2. **The dissertation's** (:func:`dissertation_table`): BSDS300 test at 180x180
   (:func:`dissertation_images`). It reported its model at 24 dB / SSIM 0.74 and JPEG at
   32.75 dB / 0.88 with no rate; the JPEG quality whose PSNR here is nearest 32.75 dB
   gives the rate its JPEG ran at, and ours is read at that rate.
3. **The paper's** (:func:`paper_table`): JPEG at quality 5 and 10 against ours at
   JPEG's bpp on Set5 and Set14 (Jiang et al., Tables I-II).

Every "quality at a rate" is :func:`comp_lib.rd.psnr_at_rate` (linear in log-rate, NaN
outside the curve); the constants are :mod:`comp_lib.studies.constants`'.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from comp_lib.baselines import JPEGCodec
from comp_lib.evaluate import evaluate, to_compressai_json
from comp_lib.rd import at_rates, bd_table, common_range_table, psnr_at_rate, rd_curves
from comp_lib.studies.constants import (
    ANCHOR,
    CROPS_RATE,
    DISSERTATION_JPEG,
    DISSERTATION_MODEL,
    FIXED_RATES,
    MAX_RATE,
    PAPER_DATASETS,
    PAPER_JPEG_QUALITIES,
)
from comp_lib.studies.roster import OURS

__all__ = [
    "StandardTables",
    "codec_panels",
    "dissertation_images",
    "dissertation_jpeg_match",
    "dissertation_rows",
    "dissertation_table",
    "paper_table",
    "standard_tables",
    "write_compressai",
]

Images = Sequence[tuple[str, np.ndarray]]


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
    curve = rd_curves(evaluate(JPEGCodec(), images, qualities, anchor, progress=False))
    reached = curve[curve.psnr >= DISSERTATION_JPEG["psnr"]]
    if reached.empty:
        raise ValueError(
            f"no quality of {list(qualities)[0]}..{list(qualities)[-1]} reaches "
            f"{DISSERTATION_JPEG['psnr']} dB on these {len(images)} images "
            f"(the best: {curve.psnr.max():.2f} dB)"
        )
    return reached.sort_values("setting").iloc[0][["codec", "setting", "bpp", "psnr", "ssim"]]


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
    ladder=None,
    label: str | None = None,
    ours: str = OURS,
    anchor: str = ANCHOR,
    decimals: int = 4,
) -> pd.DataFrame:
    """The dissertation's comparison, with the rates it left out.

    Columns source, codec, bpp, psnr, ssim: the dissertation's model and JPEG (no bpp),
    then, here, the ``anchor`` setting whose mean PSNR is nearest the dissertation's
    JPEG, with its rate; ``ours`` read at that rate (NaN where its curve does not
    reach it) and at its highest rate, when ``rows`` hold it.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of :func:`comp_lib.evaluate.evaluate` of ``anchor`` (and ``ours``) on the
        180x180 images (:func:`dissertation_images`).
    ladder : Ladder, optional
        Ours, when a ladder: its top rung is named by model and quality.
    label : str, optional
        Ours as the notebook names it (default: the ladder's name).
    """
    curves = rd_curves(rows)
    jpeg = curves[curves.codec == anchor].reset_index(drop=True)
    if jpeg.empty:
        raise ValueError(f"no {anchor!r} rows")
    match = jpeg.iloc[(jpeg.psnr - DISSERTATION_JPEG["psnr"]).abs().idxmin()]
    out = [
        dict(source="dissertation", codec="model", bpp=np.nan, **DISSERTATION_MODEL),
        dict(source="dissertation", codec=anchor, bpp=np.nan, **DISSERTATION_JPEG),
        dict(source="here", codec=f"{anchor} q={int(match.setting)}", bpp=match.bpp,
             psnr=match.psnr, ssim=match.ssim),
    ]  # fmt: skip
    mine = curves[curves.codec == ours]
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
    return pd.DataFrame(out).round(decimals)


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


def codec_panels(
    codecs: Mapping[str, tuple[object, Sequence[int]]],
    rows: pd.DataFrame,
    name: str,
    image: np.ndarray,
    rate: float = CROPS_RATE,
) -> dict[str, np.ndarray]:
    """The image ``name`` as every codec returns it at its setting nearest ``rate`` on it.

    ``codecs``: name -> (codec, settings) (:attr:`comp_lib.studies.roster.Roster.codecs`);
    the setting is the one of the codec's rows of this image whose bpp is nearest
    ``rate``. Keys: ``"original"``, then ``"<codec>: <bpp> bpp, <psnr> dB"``.
    """
    panels = {"original": image}
    for codec_name, (codec, _) in codecs.items():
        sub = rows[(rows.image == name) & (rows.codec == codec_name)]
        best = sub.iloc[(sub.bpp - rate).abs().argmin()]
        x_hat = codec.decompress(codec.compress(image, int(best.setting)))
        panels[f"{codec_name}: {best.bpp:.3f} bpp, {best.psnr:.2f} dB"] = x_hat
    return panels
