"""The evaluation's three protocols (notebook 03), from the rows of :mod:`comp_lib.evaluate`.

1. **The standard one** (:func:`standard_tables`): per test set, every codec's mean
   rate-distortion curve, its BD-rates and BD-PSNR against JPEG up to ``max_rate``
   (:func:`comp_lib.rd.bd_table`), BD-PSNR over the one range all codecs cover
   (:func:`comp_lib.rd.common_range_table`) and PSNR/SSIM at fixed rates
   (:func:`comp_lib.rd.at_rates`); the curves in CompressAI's JSON shape
   (:func:`write_compressai`). Beside it, the BD-rate of each image
   (:func:`bd_per_image_tables`), why the two differ (:func:`setting_spread`: one codec,
   its settings spread two ways), where the paper's framework stops beating the
   post-filter (:func:`crossing_table`), every codec's output at one matched rate
   (:func:`matched_crops`) and the answer per test set (:func:`headline_table`).
2. **The dissertation's** (:func:`dissertation_table`): BSDS300 test at 180x180
   (:func:`dissertation_images`). It reported its model at 24 dB / SSIM 0.74 and JPEG at
   32.75 dB / 0.88 with no rate; the lowest JPEG quality whose mean PSNR here reaches
   32.75 dB (:func:`dissertation_jpeg_match`, the study's one definition, which notebook
   04 uses too) gives the rate its JPEG ran at, and ours is read at that rate.
3. **The paper's** (:func:`paper_table`): JPEG at quality 5 and 10 against ours at
   JPEG's bpp on Set5 and Set14 (Jiang et al., Tables I-II).

Every "quality at a rate" is :func:`comp_lib.rd.psnr_at_rate` (linear in log-rate, NaN
outside the curve); the constants are :mod:`comp_lib.studies.constants`'. The notebooks
show and write these tables for people with :mod:`comp_lib.report.numbers` (rounded, no
``nan``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from comp_lib import jpeg
from comp_lib.baselines import AVIFCodec, JPEG2000Codec, JPEGCodec, JPEGXLCodec, WebPCodec
from comp_lib.coding import Ladder
from comp_lib.evaluate import evaluate, to_compressai_json
from comp_lib.metrics import bpp, psnr, ssim
from comp_lib.rd import (
    at_rates,
    bd_rate_per_image,
    bd_table,
    common_range_table,
    psnr_at_rate,
    rd_curves,
    stops_beating,
)
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
from comp_lib.studies.roster import COMCNN_RECCNN, OURS, RECCNN_ONLY

__all__ = [
    "JPEG2000AtPSNR",
    "MatchedCrops",
    "StandardTables",
    "bd_per_image_tables",
    "codec_panels",
    "crossing_table",
    "dissertation_images",
    "dissertation_jpeg_match",
    "dissertation_rows",
    "dissertation_table",
    "headline_table",
    "matched_crops",
    "paper_table",
    "setting_near_rate",
    "setting_range",
    "setting_spread",
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


# ----------------------------------------------------------------- BD-rate per image


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


# ----------------------------------------------------------------- crops at matched rates


def setting_range(codec) -> list[int]:
    """Every setting of ``codec``, from its lowest rate to its highest.

    A :class:`~comp_lib.coding.Ladder`: its rungs; JPEG 2000: compression ratios 400 down
    to 2; WebP and AVIF: quality 0..100; JPEG XL: level 1..99 (100 is lossless); any
    other codec (JPEG, the networks' inner JPEG, bicubic+JPEG): JPEG quality 1..95.
    """
    if isinstance(codec, Ladder):
        return list(codec.settings)
    if isinstance(codec, JPEG2000Codec):
        return list(range(400, 1, -1))
    if isinstance(codec, (WebPCodec, AVIFCodec)):
        return list(range(0, 101))
    if isinstance(codec, JPEGXLCodec):
        return list(range(1, 100))
    return list(range(1, 96))


def setting_near_rate(codec, image: np.ndarray, rate: float, known=None) -> tuple[int, float]:
    """The setting of ``codec`` whose real rate on ``image`` is nearest ``rate`` (in ratio).

    Bisection over :func:`setting_range` (the rate grows along it), starting from the
    rates ``known`` (setting -> bpp on this image, e.g. from the evaluation's rows), so
    that a few compressions suffice. Returns ``(setting, bpp)``.
    """
    settings = setting_range(codec)
    rates = {s: float(b) for s, b in (known or {}).items() if s in settings}

    def rate_of(i: int) -> float:
        s = settings[i]
        if s not in rates:
            rates[s] = bpp(codec.compress(image, s), image.shape)
        return rates[s]

    at = {settings.index(s): r for s, r in rates.items()}
    lo = max([i for i, r in at.items() if r < rate], default=0)
    hi = min([i for i, r in at.items() if r >= rate and i > lo], default=len(settings) - 1)
    if rate_of(lo) >= rate or rate_of(hi) <= rate:
        i = lo if abs(np.log(rate_of(lo) / rate)) <= abs(np.log(rate_of(hi) / rate)) else hi
        return settings[i], rate_of(i)
    while hi - lo > 1:  # invariant: rate_of(lo) < rate < rate_of(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if rate_of(mid) < rate else (lo, mid)
    i = lo if np.log(rate / rate_of(lo)) <= np.log(rate_of(hi) / rate) else hi
    return settings[i], rate_of(i)


@dataclass(frozen=True)
class MatchedCrops:
    """Every codec's output on one image at (nearly) one rate.

    Attributes
    ----------
    panels : dict of str to numpy.ndarray
        Title -> ``x_hat``, for the codecs within the tolerance; a codec whose output
        is the same image as an earlier one's shares its panel (both names in the title).
    table : pandas.DataFrame
        One row per codec: codec, setting, bpp, psnr, ssim, ``shown`` and ``note``
        (why it is left out, which panel it shares, which rung of a ladder it is).
    target : float
        The rate matched: the anchor's on this image nearest the rate asked for.
    low, high : float
        The rates a codec must reach to be shown.
    """

    panels: dict[str, np.ndarray]
    table: pd.DataFrame
    target: float
    low: float
    high: float


def matched_crops(
    codecs: Mapping[str, tuple[object, Sequence[int]]],
    name: str,
    image: np.ndarray,
    rate: float = CROPS_RATE,
    tolerance: float = 0.10,
    rows: pd.DataFrame | None = None,
    anchor: str = ANCHOR,
) -> MatchedCrops:
    """Every codec at one rate on ``image``: its setting nearest it, shown if near enough.

    The target is the ``anchor``'s rate on this image nearest ``rate`` (JPEG's rate moves
    in steps of about 13 % at low qualities: 0.276 and 0.317 bpp at quality 7 and 8 on
    BSDS300's 101085, so JPEG could not be matched to 0.3 itself); ``rate`` itself without
    an anchor among ``codecs``. Each codec is at its setting whose rate is nearest the
    target (:func:`setting_near_rate`), and shown when that rate is within a factor
    ``sqrt(1 + tolerance)`` of the target, so that any two shown rates are within
    ``tolerance`` of each other; the others are listed with a note.

    Parameters
    ----------
    codecs : dict
        Name -> (codec, settings) (:attr:`comp_lib.studies.roster.Roster.codecs`).
    name : str
        The image's name in ``rows``.
    rows : pandas.DataFrame, optional
        The evaluation's rows, whose rates of this image start each search.
    """

    def known(codec_name):  # this image's rates in the rows: where each search starts
        if rows is None:
            return {}
        sub = rows[(rows.image == name) & (rows.codec == codec_name)]
        return dict(zip(sub.setting.astype(int), sub.bpp, strict=True))

    if anchor in codecs:
        rate = setting_near_rate(codecs[anchor][0], image, rate, known(anchor))[1]
    factor = float(np.sqrt(1 + tolerance))
    low, high = rate / factor, rate * factor
    shown, lines = [], []  # shown: [names, x_hat, the first one's line]
    for codec_name, (codec, _) in codecs.items():
        setting, rate_here = setting_near_rate(codec, image, rate, known(codec_name))
        x_hat = codec.decompress(codec.compress(image, setting))
        line = dict(codec=codec_name, setting=setting, bpp=rate_here, psnr=psnr(image, x_hat),
                    ssim=ssim(image, x_hat), shown=bool(low <= rate_here <= high))  # fmt: skip
        notes = ["rung {}: {} q{}".format(setting, *codec.rungs[setting])
                 if isinstance(codec, Ladder) else ""]  # fmt: skip
        if not line["shown"]:
            notes.append(f"left out: its nearest rate is {rate_here:.3f} bpp")
        else:
            twin = next((p for p in shown if np.array_equal(p[1], x_hat)), None)
            if twin is None:
                shown.append([[codec_name], x_hat, line])
            else:
                twin[0].append(codec_name)
                notes.append(f"the same image as {twin[0][0]}")
        lines.append(dict(line, note="; ".join(n for n in notes if n)))
    titled = {"original": image}
    for names, x_hat, line in shown:
        titled[f"{' = '.join(names)}: {line['bpp']:.3f} bpp, {line['psnr']:.2f} dB"] = x_hat
    return MatchedCrops(titled, pd.DataFrame(lines), rate, low, high)


# ----------------------------------------------------------------- the answer, for people


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
