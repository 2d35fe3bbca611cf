"""Run codecs over a dataset and compare them at equal rate.

Any object with ``compress(image, setting) -> bytes`` and
``decompress(bytes) -> image`` is a codec here: :class:`~comp_lib.codec.Codec`
(setting = inner JPEG quality), :class:`~comp_lib.codec.BicubicCodec`, and
:class:`~comp_lib.codecs.JPEGCodec`, the anchor, and the other codecs of
:mod:`comp_lib.codecs` (WebP, AVIF, JPEG 2000, JPEG XL).

:func:`evaluate` gives one row per image and setting (bytes, bpp from the
real bytes, PSNR, SSIM, encode and decode milliseconds); :func:`rd_curves`
averages them per setting; :func:`bd_table` gives BD-rate and BD-PSNR against
the anchor; :func:`at_rates` reads PSNR/SSIM off each curve at fixed bpp.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from comp_lib.codecs import JPEGCodec
from comp_lib.config import git_commit
from comp_lib.metrics import bd_psnr, bd_rate, bpp, psnr, ssim

__all__ = [
    "JPEGCodec",
    "at_rates",
    "bd_table",
    "choose_ladder",
    "envelope",
    "evaluate",
    "ladder_rows",
    "ladder_subset",
    "per_image_gain",
    "provenance",
    "rd_curves",
    "to_compressai_json",
]

ROW_COLUMNS = [
    "image",
    "codec",
    "setting",
    "bytes",
    "bpp",
    "psnr",
    "ssim",
    "encode_ms",
    "decode_ms",
]


def evaluate(
    codec,
    images: Sequence[tuple[str, np.ndarray]],
    settings: Iterable[int],
    name: str,
    progress: bool = True,
) -> pd.DataFrame:
    """Code every image at every setting; one row each (see :data:`ROW_COLUMNS`).

    Parameters
    ----------
    codec
        An object with ``compress(image, setting)`` and ``decompress(data)``.
    images : sequence of (name, uint8 image)
    settings : iterable of int
        E.g. JPEG qualities.
    name : str
        The codec's name in the rows.
    """
    settings = list(settings)
    rows = []
    total = len(images) * len(settings)
    with tqdm(total=total, desc=name, disable=not progress) as bar:
        for image_name, image in images:
            for setting in settings:
                start = time.perf_counter()
                data = codec.compress(image, setting)
                mid = time.perf_counter()
                x_hat = codec.decompress(data)
                end = time.perf_counter()
                if x_hat.shape != image.shape:
                    raise ValueError(
                        f"{name} returned {x_hat.shape} for {image_name} {image.shape}"
                    )
                rows.append(dict(
                    image=image_name, codec=name, setting=setting, bytes=len(data),
                    bpp=bpp(data, image.shape), psnr=psnr(image, x_hat), ssim=ssim(image, x_hat),
                    encode_ms=1000 * (mid - start), decode_ms=1000 * (end - mid),
                ))  # fmt: skip
                bar.update()
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def rd_curves(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean bpp, PSNR and SSIM per codec and setting, sorted by rate."""
    curves = (
        rows.groupby(["codec", "setting"])[["bpp", "psnr", "ssim", "encode_ms", "decode_ms"]]
        .mean()
        .reset_index()
    )
    return curves.sort_values(["codec", "bpp"]).reset_index(drop=True)


def _monotone(curve: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Keep the points on the upper envelope (quality strictly increasing with rate)."""
    curve = curve.sort_values("bpp")
    keep, best = [], -math.inf
    for i, v in zip(curve.index, curve[metric], strict=True):
        if v > best:
            keep.append(i)
            best = v
    return curve.loc[keep]


def bd_table(
    curves: pd.DataFrame, anchor: str = "JPEG", max_rate: float | None = None
) -> pd.DataFrame:
    """BD-rate (PSNR and SSIM) and BD-PSNR of every codec against ``anchor``.

    Points that are not on a curve's upper envelope (a higher setting that
    lost quality) are left out, as the Bjontegaard integrals need monotone
    curves. ``max_rate`` limits the comparison to rates up to it.
    """
    ref = curves[curves.codec == anchor]
    out = []
    for name, cur in curves.groupby("codec"):
        if name == anchor:
            continue
        row = {"codec": name, "anchor": anchor, "max_rate": max_rate}
        for metric, label in (("psnr", "bd_rate_psnr_%"), ("ssim", "bd_rate_ssim_%")):
            a, t = _monotone(ref, metric), _monotone(cur, metric)
            try:
                row[label] = bd_rate(a.bpp, a[metric], t.bpp, t[metric], max_rate=max_rate)
            except ValueError:
                row[label] = float("nan")
        a, t = _monotone(ref, "psnr"), _monotone(cur, "psnr")
        try:
            row["bd_psnr_db"] = bd_psnr(a.bpp, a.psnr, t.bpp, t.psnr, max_rate=max_rate)
        except ValueError:
            row["bd_psnr_db"] = float("nan")
        out.append(row)
    return pd.DataFrame(out)


def common_range_table(
    curves: pd.DataFrame, anchor: str = "JPEG", max_rate: float | None = None
) -> pd.DataFrame:
    """BD-PSNR of every codec against ``anchor`` over the one range of rates all cover.

    :func:`bd_table` compares each codec over the rates it shares with the anchor, so a
    curve that stops early is judged at low rates only and codecs do not rank exactly.
    Here the interval is the same for all: from the highest lowest-rate to the lowest
    highest-rate of the codecs' upper envelopes (and the anchor's), capped at
    ``max_rate``. Columns: codec, anchor, min_rate, max_rate, bd_psnr_db (NaN for
    every codec when the curves share no range).
    """
    monotone = {name: _monotone(cur, "psnr") for name, cur in curves.groupby("codec")}
    if anchor not in monotone:
        raise ValueError(f"no {anchor!r} curve among {sorted(monotone)}")
    lo = max(float(c.bpp.min()) for c in monotone.values())
    hi = min(float(c.bpp.max()) for c in monotone.values())
    if max_rate is not None:
        hi = min(hi, max_rate)
    ref = monotone[anchor]
    out = []
    for name, cur in monotone.items():
        if name == anchor:
            continue
        try:
            gain = bd_psnr(ref.bpp, ref.psnr, cur.bpp, cur.psnr, max_rate=hi, min_rate=lo)
        except ValueError:  # no common range, or a curve of fewer than 4 points
            gain = float("nan")
        out.append({"codec": name, "anchor": anchor, "min_rate": lo, "max_rate": hi,
                    "bd_psnr_db": gain})  # fmt: skip
    return pd.DataFrame(out)


def envelope(
    curves: pd.DataFrame, codecs: Sequence[str], metric: str = "psnr", rate_tol: float = 0.0
) -> pd.DataFrame:
    """The upper envelope of several codecs' mean curves: the best of them at each rate.

    The points of ``codecs`` that no other point beats in ``metric`` at a rate
    at most ``1 + rate_tol`` times theirs (a Pareto front; ``rate_tol`` > 0 also
    drops a point that buys a sliver of rate, say 0.1 %, with a loss in quality,
    such as two models at the same inner quality whose bytes barely differ).
    Sorted by rate; each kept row keeps its ``codec`` and ``setting``, so the
    envelope is a list of real operating points (a
    :class:`~comp_lib.codec.Ladder`), not an interpolation.
    """
    if rate_tol < 0:
        raise ValueError(f"rate_tol must be >= 0, got {rate_tol}")
    pts = curves[curves.codec.isin(list(codecs))].sort_values(
        ["bpp", metric], ascending=[True, False]
    )
    if pts.empty:
        raise ValueError(f"no curve of {list(codecs)} in {sorted(curves.codec.unique())}")
    rate, value = pts.bpp.to_numpy(), pts[metric].to_numpy()
    keep = [
        i
        for i in range(len(pts))
        if not any(
            (rate[j] <= rate[i] * (1 + rate_tol)) and (value[j] > value[i] or (
                value[j] == value[i] and rate[j] < rate[i]))
            for j in range(len(pts)) if j != i
        )
    ]  # fmt: skip
    return pts.iloc[keep].reset_index(drop=True)


def choose_ladder(
    models: dict,
    images: Sequence[tuple[str, np.ndarray]],
    qualities: Iterable[int],
    name: str = "ladder",
    progress: bool = True,
    rate_tol: float = 0.01,
):
    """Build a :class:`~comp_lib.codec.Ladder` from the models' PSNR envelope on ``images``.

    Every model codes every image at every quality; the rungs are the points of
    the upper envelope (:func:`envelope`, with ``rate_tol``) of the mean curves. Pass validation
    images, not the test set, so that the test results stay unbiased.

    Parameters
    ----------
    models : dict of str to Codec
        Keyed by each codec's name.
    images : sequence of (name, uint8 image)
    qualities : iterable of int
        Inner JPEG qualities to try for every model.

    Returns
    -------
    (Ladder, pandas.DataFrame)
        The ladder and the curves it was chosen from.
    """
    from comp_lib.codec import Ladder

    qualities = list(qualities)
    rows = pd.concat([evaluate(c, images, qualities, n, progress=progress)
                      for n, c in models.items()], ignore_index=True)  # fmt: skip
    curves = rd_curves(rows)
    best = envelope(curves, list(models), rate_tol=rate_tol)
    rungs = [(str(r.codec), int(r.setting)) for r in best.itertuples()]
    return Ladder(models, rungs, name=name, bpp=best.bpp.round(4).tolist()), curves


def ladder_rows(
    rows: pd.DataFrame,
    ladder,
    name: str,
    models: dict | None = None,
    rungs: Sequence[int] | None = None,
) -> pd.DataFrame:
    """A :class:`~comp_lib.codec.Ladder`'s rows, read from its models' rows.

    Coding with rung ``i`` *is* coding with that rung's model at that rung's
    quality (same bytes, same output: the codecs are deterministic), so a
    ladder need not be run twice when its models were: each rung's rows are
    copied from ``rows`` with ``codec=name`` and ``setting=i``.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of :func:`evaluate` holding every rung's model and quality.
    ladder : Ladder
    name : str
        The ladder's name in the returned rows.
    models : dict of str to str, optional
        Model name -> codec name in ``rows``, for models evaluated under another
        name (default: the model's own name).
    rungs : sequence of int, optional
        Indices of the rungs to read (default: all); see :func:`ladder_subset`.
    """
    models = models or {}
    out = []
    for i in range(len(ladder.rungs)) if rungs is None else rungs:
        if not 0 <= i < len(ladder.rungs):
            raise ValueError(f"rung {i} out of range: the ladder has {len(ladder.rungs)} rungs")
        model, quality = ladder.rungs[i]
        label = models.get(model, model)
        part = rows[(rows.codec == label) & (rows.setting == quality)]
        if part.empty:
            raise ValueError(
                f"rung {i} ({model} q{quality}): no rows of codec {label!r} at {quality}"
            )
        out.append(part.assign(codec=name, setting=i))
    return pd.concat(out, ignore_index=True)


def ladder_subset(ladder, step: int = 1) -> list[int]:
    """Every ``step``-th rung of a ladder, from the first, and always its last.

    A cheaper sweep of the same codec: each kept rung is a real setting of the
    ladder, only the curve between them is sampled more sparsely.
    """
    n = len(ladder.rungs)
    if step < 1:
        raise ValueError(f"step must be a positive integer, got {step!r}")
    return sorted(set(range(0, n, step)) | {n - 1})


def at_rates(curves: pd.DataFrame, rates: Sequence[float] = (0.1, 0.2, 0.3, 0.5)) -> pd.DataFrame:
    """PSNR and SSIM of each codec at fixed bpp, interpolated linearly in log-rate.

    NaN where a curve does not reach that rate (no extrapolation).
    """
    out = []
    for name, cur in curves.groupby("codec"):
        cur = cur.sort_values("bpp")
        for r in rates:
            inside = cur.bpp.min() <= r <= cur.bpp.max()
            row = {"codec": name, "bpp": r}
            for metric in ("psnr", "ssim"):
                row[metric] = (
                    float(np.interp(math.log(r), np.log(cur.bpp), cur[metric]))
                    if inside
                    else math.nan
                )
            out.append(row)
    return pd.DataFrame(out)


def to_compressai_json(curves: pd.DataFrame, name: str, description: str, path=None) -> dict:
    """One codec's curve in CompressAI's results shape; written to ``path`` if given."""
    cur = curves[curves.codec == name].sort_values("bpp")
    result = {
        "name": name,
        "description": description,
        "results": {
            "setting": [int(v) for v in cur.setting],
            "bpp": [float(v) for v in cur.bpp],
            "psnr": [float(v) for v in cur.psnr],
            "ssim": [float(v) for v in cur.ssim],
            "encoding_time": [float(v) / 1000 for v in cur.encode_ms],
            "decoding_time": [float(v) / 1000 for v in cur.decode_ms],
        },
    }
    if path is not None:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(result, indent=2))
        os.replace(tmp, path)
    return result


def per_image_gain(rows: pd.DataFrame, codec: str, anchor: str = "JPEG") -> pd.DataFrame:
    """PSNR gain of ``codec`` over ``anchor`` on each image at equal bpp.

    For every row of ``codec``, the anchor's PSNR on the same image at the same
    bpp is interpolated (linearly in log-rate) from the anchor's rows of that
    image; rates outside the anchor's range give NaN.
    """
    out = []
    for image, mine in rows[rows.codec == codec].groupby("image"):
        ref = rows[(rows.codec == anchor) & (rows.image == image)].sort_values("bpp")
        lr = np.log(ref.bpp.to_numpy())
        for r in mine.itertuples():
            inside = ref.bpp.min() <= r.bpp <= ref.bpp.max()
            p = float(np.interp(math.log(r.bpp), lr, ref.psnr)) if inside else math.nan
            out.append(dict(image=image, setting=r.setting, bpp=r.bpp, psnr=r.psnr,
                            anchor_psnr=p, gain_db=r.psnr - p))  # fmt: skip
    return pd.DataFrame(out)


def provenance(profile: str, params: dict, index_sha256: str | None = None) -> str:
    """A Markdown line naming what produced a table: git commit, profile, parameters, data."""
    commit = git_commit()
    data = f"; data index sha256 `{index_sha256}`" if index_sha256 else ""
    return (
        f"Provenance: git {commit}; profile `{profile}`; parameters `{json.dumps(params)}`{data}."
    )
