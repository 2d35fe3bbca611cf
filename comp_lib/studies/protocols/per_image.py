"""The BD-rate of each image, beside the mean curves', and why the two differ.

:func:`bd_per_image_tables`: every codec's BD-rate against the anchor on each image
(:func:`comp_lib.rd.bd_rate_per_image`) and its spread, beside the BD-rate of the mean
curves. :func:`setting_spread`: one codec (JPEG 2000) with its settings spread over the
images two ways, by compression ratio and by PSNR target (:class:`JPEG2000AtPSNR`), gets
two mean-curve BD-rates; the per-image ones agree.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image

from comp_lib import jpeg
from comp_lib.baselines import JPEG2000Codec, JPEGCodec
from comp_lib.evaluate import evaluate
from comp_lib.rd import bd_rate_per_image, bd_table, rd_curves
from comp_lib.studies.constants import ANCHOR, MAX_RATE
from comp_lib.studies.roster import Images

__all__ = ["JPEG2000AtPSNR", "bd_per_image_tables", "setting_spread"]


def bd_per_image_tables(
    rows: pd.DataFrame,
    mean_curve_bd: pd.DataFrame,
    anchor: str = ANCHOR,
    max_rate: float = MAX_RATE,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every codec's BD-rate on each image (:func:`comp_lib.rd.bd_rate_per_image`), and a
    summary beside the BD-rate of the mean curves.

    Parameters
    ----------
    rows : pandas.DataFrame
        The evaluation's rows (``dataset`` column), every codec and the ``anchor``.
    mean_curve_bd : pandas.DataFrame
        :attr:`StandardTables.bd` (``dataset``, ``codec``, ``bd_rate_psnr_%``).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The per-image rows (dataset, image, codec, bd_rate_psnr_%, reason), and per
        dataset and codec: ``bd_rate_mean_curve_%`` (the headline's method),
        ``bd_rate_per_image_mean_%``, ``_median_%``, ``_std_%``, ``_min_%``, ``_max_%``
        (over the images where it is defined), ``images`` and ``images_defined``.
    """
    codecs = [c for c in dict.fromkeys(rows.codec) if c != anchor]
    per_image = pd.concat(
        [bd_rate_per_image(rows, c, anchor, max_rate) for c in codecs], ignore_index=True
    )[["dataset", "image", "codec", "bd_rate_psnr_%", "reason"]]
    stats = per_image.groupby(["dataset", "codec"], sort=False)["bd_rate_psnr_%"]
    summary = stats.agg(["mean", "median", "std", "min", "max", "size", "count"])
    summary.columns = [
        f"bd_rate_per_image_{c}_%" for c in ("mean", "median", "std", "min", "max")
    ] + ["images", "images_defined"]
    mean = mean_curve_bd.set_index(["dataset", "codec"])["bd_rate_psnr_%"]
    summary.insert(0, "bd_rate_mean_curve_%", mean.reindex(summary.index))
    return per_image, summary.reset_index()


class JPEG2000AtPSNR(JPEG2000Codec):
    """JPEG 2000 driven by PSNR targets (OpenJPEG's ``dB`` mode): setting = target in dB.

    The same coder as :class:`comp_lib.baselines.JPEG2000Codec`, its settings spread
    over the images differently: each setting gives nearly one PSNR on every image
    (and very different rates), where a compression ratio gives one rate. Used only to
    show that a BD-rate of mean curves depends on that spread (:func:`setting_spread`).
    """

    name = "JPEG 2000 (PSNR targets)"
    settings = (22, 24, 26, 28, 30, 32, 34, 36, 38, 40)

    def compress(self, image: np.ndarray, target: int) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(jpeg.check_image(image), mode="L").save(
            buf, format="JPEG2000", quality_mode="dB", quality_layers=[float(target)],
            irreversible=True)  # fmt: skip
        return buf.getvalue()


def setting_spread(
    images: Images, anchor: str = ANCHOR, max_rate: float = MAX_RATE
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One codec, two ways of spreading its settings over images, two mean-curve BD-rates.

    JPEG 2000 driven by compression ratios (:class:`~comp_lib.baselines.JPEG2000Codec`)
    and by PSNR targets (:class:`JPEG2000AtPSNR`), each against JPEG at its default
    qualities on ``images``: the BD-rate of the mean curves and the mean of the
    per-image BD-rates (:func:`comp_lib.rd.bd_rate_per_image`), up to ``max_rate``.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The table (codec, driven_by, bd_rate_mean_curve_%, bd_rate_per_image_mean_%,
        bd_rate_per_image_std_%, images_defined) and the rows it was computed from.
    """
    runs = ((JPEGCodec(), anchor), (JPEG2000Codec(), "JPEG 2000 (compression ratios)"),
            (JPEG2000AtPSNR(), JPEG2000AtPSNR.name))  # fmt: skip
    rows = pd.concat([evaluate(c, images, c.settings, n, progress=False) for c, n in runs],
                     ignore_index=True)  # fmt: skip
    mean_curve = bd_table(rd_curves(rows), anchor, max_rate).set_index("codec")
    out = []
    for (_, name), driven in zip(runs[1:], ("compression ratio", "PSNR target"), strict=True):
        per_image = bd_rate_per_image(rows, name, anchor, max_rate)["bd_rate_psnr_%"]
        out.append(dict(codec=name, driven_by=driven,
                        **{"bd_rate_mean_curve_%": mean_curve.loc[name, "bd_rate_psnr_%"],
                           "bd_rate_per_image_mean_%": per_image.mean(),
                           "bd_rate_per_image_std_%": per_image.std()},
                        images_defined=int(per_image.count())))  # fmt: skip
    return pd.DataFrame(out), rows
