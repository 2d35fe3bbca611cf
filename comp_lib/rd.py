"""Rate-distortion: curves, envelopes, Bjontegaard deltas and the quality at a given rate.

Every comparison of the study at *equal rate* goes through this module:

* :func:`rd_curves` averages per-image rows (:func:`comp_lib.evaluate.evaluate`)
  into one mean curve per codec and setting;
* :func:`psnr_at_rate` reads a curve at given rates: **linearly in log-rate**
  between the curve's points; outside the curve's range of rates, ``NaN`` by
  default (``outside="nan"``: the curve says nothing there), or the value at the
  nearer end (``outside="clamp"``), which training's validation gain uses (see
  :func:`psnr_at_rate`). Training's gain over JPEG, the evaluation's tables,
  the ablations and the benchmarks all call it;
* :func:`bd_rate` and :func:`bd_psnr` (Bjontegaard deltas, pchip by default),
  :func:`bd_table` (every codec against an anchor), :func:`common_range_table`
  (one range of rates for every codec);
* :func:`envelope`, the best of several codecs at each rate (a ladder's rungs);
* :func:`at_rates` and :func:`per_image_gain`, built on :func:`psnr_at_rate`;
* :func:`bd_rate_per_image` (one BD-rate per image, as common test conditions report
  it) and :func:`crossing_rates` / :func:`stops_beating` (where two curves cross).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator

__all__ = [
    "OUTSIDE_RULES",
    "at_rates",
    "bd_psnr",
    "bd_rate",
    "bd_rate_per_image",
    "bd_table",
    "common_range_table",
    "crossing_rates",
    "envelope",
    "monotone",
    "per_image_gain",
    "psnr_at_rate",
    "rd_curves",
    "stops_beating",
    "upper_points",
]

#: What :func:`psnr_at_rate` returns outside a curve's range of rates.
OUTSIDE_RULES = ("nan", "clamp")


def psnr_at_rate(curve: pd.DataFrame, bpp, metric: str = "psnr", outside: str = "nan"):
    """A curve's ``metric`` at the rates ``bpp``, interpolated linearly in log-rate.

    The one rule of the study for "quality at equal rate".

    Parameters
    ----------
    curve : pandas.DataFrame
        Points with columns ``bpp`` and ``metric`` (any order; sorted here).
    bpp : float or array-like
        Rates at which to read the curve (> 0).
    metric : str
        The column to read (``"psnr"`` or ``"ssim"``).
    outside : {"nan", "clamp"}
        Rates below the curve's lowest or above its highest rate: ``"nan"`` (the
        default, for every reported number: no extrapolation), or ``"clamp"``,
        the value at the nearer end. Training's best-checkpoint criterion clamps
        JPEG's curve (qualities 1..95 on the validation images): JPEG cannot code
        below its quality-1 rate nor above its quality-95 one in this study's
        setting, so its end values bound what it reaches there, and a model
        validated at a rate below JPEG's lowest still gets a (conservative) gain.

    Returns
    -------
    float or numpy.ndarray
        A float for a scalar ``bpp``, else an array of ``bpp``'s shape.
    """
    if outside not in OUTSIDE_RULES:
        raise ValueError(f"outside must be one of {OUTSIDE_RULES}, got {outside!r}")
    cur = curve.sort_values("bpp")
    rates = cur.bpp.to_numpy(dtype=np.float64)
    if len(rates) == 0:
        raise ValueError("psnr_at_rate: the curve has no points")
    query = np.asarray(bpp, dtype=np.float64)
    if np.any(~(query > 0)):
        raise ValueError(f"rates must be > 0, got {bpp}")
    value = np.interp(np.log(query), np.log(rates), cur[metric].to_numpy(dtype=np.float64))
    if outside == "nan":
        value = np.where((query >= rates[0]) & (query <= rates[-1]), value, np.nan)
    return float(value) if value.ndim == 0 else value


def rd_curves(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean bpp, PSNR and SSIM per codec and setting, sorted by rate."""
    curves = (
        rows.groupby(["codec", "setting"])[["bpp", "psnr", "ssim", "encode_ms", "decode_ms"]]
        .mean()
        .reset_index()
    )
    return curves.sort_values(["codec", "bpp"]).reset_index(drop=True)


def monotone(curve: pd.DataFrame, metric: str) -> pd.DataFrame:
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
            a, t = monotone(ref, metric), monotone(cur, metric)
            try:
                row[label] = bd_rate(a.bpp, a[metric], t.bpp, t[metric], max_rate=max_rate)
            except ValueError:
                row[label] = float("nan")
        a, t = monotone(ref, "psnr"), monotone(cur, "psnr")
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
    upper = {name: monotone(cur, "psnr") for name, cur in curves.groupby("codec")}
    if anchor not in upper:
        raise ValueError(f"no {anchor!r} curve among {sorted(upper)}")
    lo = max(float(c.bpp.min()) for c in upper.values())
    hi = min(float(c.bpp.max()) for c in upper.values())
    if max_rate is not None:
        hi = min(hi, max_rate)
    ref = upper[anchor]
    out = []
    for name, cur in upper.items():
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
    curves: pd.DataFrame,
    codecs: Sequence[str],
    metric: str = "psnr",
    rate_tol: float = 0.0,
    hull: bool = False,
) -> pd.DataFrame:
    """The upper envelope of several codecs' mean curves: the best of them at each rate.

    The points of ``codecs`` that no other point beats in ``metric`` at a rate
    at most ``1 + rate_tol`` times theirs (a Pareto front; ``rate_tol`` > 0 also
    drops a point that buys a sliver of rate, say 0.1 %, with a loss in quality,
    such as two models at the same inner quality whose bytes barely differ).
    Sorted by rate; each kept row keeps its ``codec`` and ``setting``, so the
    envelope is a list of real operating points (a
    :class:`~comp_lib.coding.Ladder`), not an interpolation.

    ``hull=True`` keeps only the front's upper concave hull in (bpp, ``metric``): coding
    some images at one point and the rest at another reaches every point of the chord
    between them on the mean curve, so a point below a chord is beaten there (the
    convex-hull choice of a streaming ladder), though still the best at its exact rate.
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
    front = pts.iloc[keep].reset_index(drop=True)
    if hull:  # Andrew's monotone chain: drop the last kept point while not above the chord
        x, y, on = front.bpp.to_numpy(), front[metric].to_numpy(), []

        def below(a: int, b: int, i: int) -> bool:  # b on or below the chord from a to i
            return (y[b] - y[a]) * (x[i] - x[a]) <= (y[i] - y[a]) * (x[b] - x[a])

        for i in range(len(front)):
            while len(on) >= 2 and below(on[-2], on[-1], i):
                on.pop()
            on.append(i)
        front = front.iloc[on].reset_index(drop=True)
    return front


def at_rates(curves: pd.DataFrame, rates: Sequence[float]) -> pd.DataFrame:
    """PSNR and SSIM of each codec at fixed bpp, interpolated linearly in log-rate.

    NaN where a curve does not reach that rate (no extrapolation; :func:`psnr_at_rate`).
    """
    out = []
    for name, cur in curves.groupby("codec"):
        for r in rates:
            row = {"codec": name, "bpp": r}
            for metric in ("psnr", "ssim"):
                row[metric] = psnr_at_rate(cur, r, metric)
            out.append(row)
    return pd.DataFrame(out)


def per_image_gain(rows: pd.DataFrame, codec: str, anchor: str = "JPEG") -> pd.DataFrame:
    """PSNR gain of ``codec`` over ``anchor`` on each image at equal bpp.

    For every row of ``codec``, the anchor's PSNR on the same image at the same
    bpp is read (:func:`psnr_at_rate`: linearly in log-rate) off the anchor's rows of that
    image; rates outside the anchor's range give NaN.
    """
    out = []
    for image, mine in rows[rows.codec == codec].groupby("image"):
        ref = rows[(rows.codec == anchor) & (rows.image == image)]
        for r in mine.itertuples():
            p = psnr_at_rate(ref, r.bpp)
            out.append(dict(image=image, setting=r.setting, bpp=r.bpp, psnr=r.psnr,
                            anchor_psnr=p, gain_db=r.psnr - p))  # fmt: skip
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- Bjontegaard


def _curve(rate, dist, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Check one curve and return ``(log rate, distortion)`` sorted by rate."""
    rate = np.asarray(rate, dtype=np.float64)
    dist = np.asarray(dist, dtype=np.float64)
    if rate.shape != dist.shape or rate.ndim != 1:
        raise ValueError(f"{name}: rate and distortion must be 1-D of one length")
    if len(rate) < 4:
        raise ValueError(f"{name}: Bjontegaard deltas need at least 4 points, got {len(rate)}")
    if np.any(rate <= 0) or not np.all(np.isfinite(dist)) or not np.all(np.isfinite(rate)):
        raise ValueError(f"{name}: rates must be positive and finite, distortions finite")
    order = np.argsort(rate)
    log_r, dist = np.log(rate[order]), dist[order]
    if np.any(np.diff(log_r) <= 0) or np.any(np.diff(dist) <= 0):
        raise ValueError(
            f"{name}: Bjontegaard deltas need distinct rates and a distortion that strictly "
            "increases with rate"
        )
    return log_r, dist


def _fit(x: np.ndarray, y: np.ndarray, method: str):
    """Interpolant of y(x) and its antiderivative, by ``method``."""
    if method == "pchip":
        f = PchipInterpolator(x, y, extrapolate=False)
        return f, f.antiderivative()
    if method == "cubic":
        p = np.polyfit(x, y, 3)
        return (lambda t: np.polyval(p, t)), (lambda t: np.polyval(np.polyint(p), t))
    raise ValueError(f"method must be 'pchip' or 'cubic', got {method!r}")


def _delta(
    xa, ya, xt, yt, method: str, x_max: float | None = None, x_min: float | None = None
) -> float:
    """Mean of ``yt(x) - ya(x)`` over the x-interval both curves cover (and within
    ``x_min``..``x_max``)."""
    lo, hi = max(xa[0], xt[0]), min(xa[-1], xt[-1])
    if x_max is not None:
        hi = min(hi, x_max)
    if x_min is not None:
        lo = max(lo, x_min)
    if hi <= lo:
        raise ValueError("the two curves do not overlap; Bjontegaard deltas are undefined")
    _, fa = _fit(xa, ya, method)
    _, ft = _fit(xt, yt, method)
    return float((ft(hi) - ft(lo)) - (fa(hi) - fa(lo))) / (hi - lo)


def bd_rate(
    rate_anchor,
    dist_anchor,
    rate_test,
    dist_test,
    method: str = "pchip",
    max_rate: float | None = None,
) -> float:
    """Bjontegaard delta rate: average rate difference (%) of ``test`` against ``anchor``.

    Log-rate is interpolated as a function of distortion (PSNR or SSIM) on each
    curve and integrated over the distortion interval both curves cover;
    ``(exp(mean difference) - 1) * 100``. Negative means the test codec needs
    fewer bits for the same quality.

    Parameters
    ----------
    rate_anchor, dist_anchor, rate_test, dist_test : array-like
        Rates (e.g. bpp) and distortions (e.g. PSNR) of each curve, >= 4 points.
    method : {"pchip", "cubic"}
        Piecewise cubic Hermite interpolation (as in the JVET/AOM tools) or the
        original single cubic polynomial fit of VCEG-M33.
    max_rate : float, optional
        Compare only up to this rate: the integration interval ends at the
        lower of the two qualities the curves reach at ``max_rate`` (each read
        off its own interpolant). For :func:`bd_psnr` the log-rate interval
        simply ends at ``log(max_rate)``.
    """
    lr_a, d_a = _curve(rate_anchor, dist_anchor, "anchor")
    lr_t, d_t = _curve(rate_test, dist_test, "test")
    d_max = None
    if max_rate is not None:
        if math.log(max_rate) <= max(lr_a[0], lr_t[0]):
            raise ValueError(f"max_rate={max_rate} is below the lowest rate of a curve")
        # the highest quality both curves reach at rates <= max_rate, on their own interpolants
        d_max = min(
            float(_fit(lr, d, method)[0](min(math.log(max_rate), lr[-1])))
            for lr, d in ((lr_a, d_a), (lr_t, d_t))
        )
    return (math.exp(_delta(d_a, lr_a, d_t, lr_t, method, d_max)) - 1.0) * 100.0


def bd_psnr(
    rate_anchor,
    dist_anchor,
    rate_test,
    dist_test,
    method: str = "pchip",
    max_rate: float | None = None,
    min_rate: float | None = None,
) -> float:
    """Bjontegaard delta distortion: average PSNR (or SSIM) gain of ``test`` over ``anchor``.

    Distortion is interpolated as a function of log rate on each curve and
    integrated over the log-rate interval both cover. Arguments as :func:`bd_rate`;
    ``min_rate`` also starts the interval no lower than ``log(min_rate)``, so that
    several codecs can be compared over one common range of rates.
    """
    lr_a, d_a = _curve(rate_anchor, dist_anchor, "anchor")
    lr_t, d_t = _curve(rate_test, dist_test, "test")
    lr_max = None if max_rate is None else math.log(max_rate)
    lr_min = None if min_rate is None else math.log(min_rate)
    return _delta(lr_a, d_a, lr_t, d_t, method, lr_max, lr_min)


# ------------------------------------------------------------ per image, and crossings


def upper_points(curve: pd.DataFrame, metric: str = "psnr") -> pd.DataFrame:
    """The points of one curve that a Bjontegaard integral can use, sorted by rate.

    :func:`monotone` after keeping, among points of one rate, the best one: on a single
    image two settings can write the same number of bytes (JPEG at quality 1 and 2 on a
    flat 180x180 image), which a mean curve hides and which :func:`bd_rate` refuses.
    """
    best_first = curve.sort_values(["bpp", metric], ascending=[True, False])
    return monotone(best_first.drop_duplicates("bpp"), metric)


def bd_rate_per_image(
    rows: pd.DataFrame,
    codec: str,
    anchor: str = "JPEG",
    max_rate: float | None = None,
    metric: str = "psnr",
    method: str = "pchip",
) -> pd.DataFrame:
    """BD-rate of ``codec`` against ``anchor`` on each image: its curve against the anchor's.

    The way codec standardisation's common test conditions report it (one BD-rate per
    test image, then their mean): unlike the BD-rate of two *mean* curves
    (:func:`bd_table`), it does not depend on how a codec's settings spread over the
    images. Each image's points are :func:`upper_points`; :func:`bd_rate` as everywhere.

    Parameters
    ----------
    rows : pandas.DataFrame
        Per-image rows (:func:`comp_lib.evaluate.evaluate`): ``image``, ``codec``, ``bpp``,
        ``metric``, and ``dataset`` when several test sets are mixed (images are then told
        apart by dataset and name).
    max_rate : float, optional
        As :func:`bd_rate`: compare up to this rate.

    Returns
    -------
    pandas.DataFrame
        One row per image that both codecs coded, in the rows' order: (``dataset``,)
        ``image``, ``codec``, ``anchor``, ``max_rate``, ``bd_rate_<metric>_%`` (NaN where
        not defined) and ``reason`` (empty, or why it is not defined: too few distinct
        points on a curve, curves that do not overlap, ...).
    """
    keys = ["dataset", "image"] if "dataset" in rows else ["image"]
    both = rows[rows.codec.isin([codec, anchor])]
    label = f"bd_rate_{metric}_%"
    out = []
    for key, sub in both.groupby(keys, sort=False):  # a list of keys: key is a tuple
        ref, test = sub[sub.codec == anchor], sub[sub.codec == codec]
        if ref.empty or test.empty:
            continue
        a, t = upper_points(ref, metric), upper_points(test, metric)
        row = dict(zip(keys, key, strict=True), codec=codec, anchor=anchor, max_rate=max_rate)
        try:
            row[label] = bd_rate(a.bpp, a[metric], t.bpp, t[metric], method, max_rate)
            row["reason"] = ""
        except ValueError as err:
            row[label] = float("nan")
            row["reason"] = str(err).replace("anchor:", f"{anchor}:").replace("test:", f"{codec}:")
        out.append(row)
    columns = [*keys, "codec", "anchor", "max_rate", label, "reason"]
    return pd.DataFrame(out, columns=columns)


def crossing_rates(curve: pd.DataFrame, other: pd.DataFrame, metric: str = "psnr") -> pd.DataFrame:
    """The rates at which two curves cross, read as :func:`psnr_at_rate` reads them.

    Each curve is linear in log-rate between its points, so their difference is too,
    between the points of either: the crossings are found exactly, segment by segment,
    over the rates both curves cover.

    Parameters
    ----------
    curve, other : pandas.DataFrame
        One codec's points each (``bpp`` and ``metric``), e.g. from
        :func:`rd_curves`.

    Returns
    -------
    pandas.DataFrame
        ``bpp``, ``metric`` (the value there) and ``curve_leads_below`` (True where
        ``curve`` is the higher one just below that rate), by rate; empty when they do
        not cross.
    """
    lo = max(curve.bpp.min(), other.bpp.min())
    hi = min(curve.bpp.max(), other.bpp.max())
    columns = ["bpp", metric, "curve_leads_below"]
    if not lo < hi:
        return pd.DataFrame(columns=columns)
    rates = np.union1d(curve.bpp, other.bpp)
    rates = rates[(rates >= lo) & (rates <= hi)]
    diff = psnr_at_rate(curve, rates, metric) - psnr_at_rate(other, rates, metric)
    signed = [i for i in range(len(rates)) if diff[i] != 0]
    out = []
    for i, j in zip(signed, signed[1:], strict=False):
        if np.sign(diff[i]) == np.sign(diff[j]):
            continue
        if j == i + 1:  # one segment: linear in log-rate
            t = diff[i] / (diff[i] - diff[j])
            rate = float(np.exp(np.log(rates[i]) + t * (np.log(rates[j]) - np.log(rates[i]))))
        else:  # equal over the points between: the crossing is where they meet
            rate = float(rates[i + 1])
        out.append({"bpp": rate, metric: psnr_at_rate(curve, rate, metric),
                    "curve_leads_below": bool(diff[i] > 0)})  # fmt: skip
    return pd.DataFrame(out, columns=columns)


def stops_beating(curve: pd.DataFrame, other: pd.DataFrame, metric: str = "psnr") -> float:
    """The lowest rate at which ``curve``, higher than ``other`` below it, falls under it.

    The first crossing of :func:`crossing_rates` where ``curve`` leads below; NaN where
    there is none (``curve`` is never ahead, or stays ahead, over the rates both cover).
    """
    cross = crossing_rates(curve, other, metric)
    ahead = cross[cross.curve_leads_below.astype(bool)]
    return float(ahead.bpp.iloc[0]) if len(ahead) else float("nan")
