"""Ablation figures: variants' curves and gains over JPEG, why the dissertation lost, costs.

Each ``plot_*`` function returns the figure; :func:`comp_lib.report.figures.save_figure`
writes it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from comp_lib.report.figures.style import REFERENCE_STYLE, bpp_log_axis, codec_style

__all__ = [
    "plot_ablation_rd",
    "plot_dissertation_rd",
    "plot_gain_curves",
    "plot_quality_matrix",
    "plot_size_cost",
]


#: y labels of :func:`plot_ablation_rd`'s panels: the metric, and its gain over JPEG
_METRIC_LABELS = {
    "psnr": ("PSNR (dB)", "PSNR gain over JPEG\nat equal bpp (dB)"),
    "ssim": ("SSIM", "SSIM gain over JPEG\nat equal bpp"),
}


def _variant_means(curves: pd.DataFrame) -> pd.DataFrame:
    """Each variant's curve, mean over seeds per setting, in the curves' order."""
    columns = [c for c in ("bpp", "psnr", "ssim", "gain_db") if c in curves]
    return curves.groupby(["variant", "setting"], sort=False)[columns].mean().reset_index()


def _draw_gains(
    ax, means: pd.DataFrame, column: str, at_rate: float | None, seeds: pd.DataFrame | None = None
) -> None:
    """Each variant's ``column`` against bpp, JPEG as the dashed zero line, ``at_rate`` marked.

    ``seeds``, when given (``variant``, ``bpp``, ``column``; one row per seed and setting),
    are drawn as small dots of the variant's colour, so that the spread over seeds shows.
    """
    zero = {k: v for k, v in REFERENCE_STYLE.items() if not k.startswith("marker")}
    ax.axhline(0, zorder=3, label="JPEG (zero by definition)", **zero)
    for i, (variant, cur) in enumerate(means.groupby("variant", sort=False)):
        cur = cur.sort_values("bpp")
        ax.plot(cur.bpp, cur[column], color=f"C{i % 10}", marker="o", markersize=4, lw=1.6,
                label=variant)  # fmt: skip
        if seeds is not None:
            each = seeds[seeds.variant == variant]
            ax.scatter(each.bpp, each[column], color=f"C{i % 10}", s=9, alpha=0.5, lw=0)
    if at_rate is not None:
        ax.axvline(at_rate, color="0.45", linestyle=":", lw=1.2,
                   label=f"{at_rate:g} bpp, where the tables read the gain")  # fmt: skip
    ax.set_title("above 0: better than JPEG at that rate", fontsize=9, loc="left", color="0.3")


def plot_gain_curves(
    curves: pd.DataFrame,
    title: str = "",
    at_rate: float | None = 0.3,
    max_rate: float | None = None,
):
    """Each variant's PSNR gain over JPEG at equal bpp, against bpp (log scale).

    The view in which a BD-rate and the gain at one rate can be seen to disagree: a curve
    above zero at low rates and below it at ``at_rate`` has a negative (better) BD-rate
    and a negative (worse) gain there.

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`comp_lib.studies.ablations.run_ablation` curves (``variant``, ``setting``,
        ``bpp``, ``gain_db``), e.g. the committed ``reports/tables/04_curves.csv``; seeds
        are averaged per setting.
    at_rate : float, optional
        The rate marked with a dotted line (where the tables read the gain).
    max_rate : float, optional
        Draw only up to this rate.
    """
    means = _variant_means(curves).dropna(subset=["gain_db"])
    if max_rate is not None:
        means = means[means.bpp <= max_rate * 1.05]
    fig, ax = plt.subplots(figsize=(9, 3.9))
    _draw_gains(ax, means, "gain_db", at_rate)
    bpp_log_axis(ax, float(means.bpp.min()), float(means.bpp.max()))
    ax.set_ylabel("PSNR gain over JPEG\nat equal bpp (dB)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_ablation_rd(
    curves: pd.DataFrame,
    jpeg_curve: pd.DataFrame,
    title: str = "",
    max_rate: float | None = None,
    metrics: tuple[str, ...] = ("psnr",),
    at_rate: float | None = 0.3,
):
    """One ablation's rate-distortion curves beside JPEG's, and each one's gain over JPEG.

    One row per metric. Left: the metric against bpp (log scale), JPEG black and dashed
    (:func:`codec_style`), each variant's curve (mean over seeds per inner quality).
    Right: the variant's metric minus JPEG's at the same bpp
    (:func:`comp_lib.rd.psnr_at_rate`: linear in log-rate, not drawn outside JPEG's
    rates), JPEG the dashed zero line, ``at_rate`` dotted; with several seeds, each seed's
    points as small dots around the mean.

    Parameters
    ----------
    curves : pandas.DataFrame
        One ablation's :func:`comp_lib.studies.ablations.run_ablation` curves
        (``variant``, ``setting``, ``bpp``, and the ``metrics``).
    jpeg_curve : pandas.DataFrame
        JPEG's mean curve on the same images (``bpp`` and the ``metrics``).
    max_rate : float, optional
        Draw only up to this rate.
    metrics : tuple of {"psnr", "ssim"}
    at_rate : float, optional
        The rate marked on the gain panels.
    """
    from comp_lib.rd import psnr_at_rate

    means = _variant_means(curves)
    if max_rate is not None:
        means = means[means.bpp <= max_rate * 1.05]
    lo, hi = float(means.bpp.min()), float(means.bpp.max())
    jpeg = jpeg_curve[jpeg_curve.bpp.between(lo / 1.3, hi * 1.3)].sort_values("bpp")
    fig, axes = plt.subplots(len(metrics), 2, figsize=(13.5, 3.8 * len(metrics)), squeeze=False,
                             sharex=True)  # fmt: skip
    for (left, right), metric in zip(axes, metrics, strict=True):
        left.plot(jpeg.bpp, jpeg[metric], zorder=3, **codec_style("JPEG"))
        for i, (_, cur) in enumerate(means.groupby("variant", sort=False)):
            cur = cur.sort_values("bpp")
            left.plot(cur.bpp, cur[metric], color=f"C{i % 10}", marker="o", markersize=4, lw=1.6)
        gains = means.assign(gain=means[metric] - psnr_at_rate(jpeg_curve, means.bpp, metric))
        seeds = None
        if "seed" in curves and curves.seed.nunique() > 1:  # one dot per seed: the spread
            seeds = curves.merge(means[["variant", "setting"]], on=["variant", "setting"])
            seeds = seeds.assign(gain=seeds[metric] - psnr_at_rate(jpeg_curve, seeds.bpp, metric))
        _draw_gains(right, gains, "gain", at_rate, seeds)
        for ax in (left, right):
            bpp_log_axis(ax, min(lo, float(jpeg.bpp.min())), max(hi, float(jpeg.bpp.max())))
        left.set_ylabel(_METRIC_LABELS[metric][0])
        right.set_ylabel(_METRIC_LABELS[metric][1])
        left.set_title("upper left is better", fontsize=9, loc="left", color="0.3")
    axes[0, 1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_dissertation_rd(
    jpeg_curve: pd.DataFrame,
    models: pd.DataFrame,
    match: pd.Series,
    model_curve: pd.DataFrame | None = None,
    title: str = "",
):
    """Why the dissertation lost, on one rate-distortion figure.

    JPEG's curve (black, dashed); the dissertation-protocol model at its rate (a star) and
    its suspected faults (one marker each); JPEG at the model's rate (an open circle: the
    fair comparison); JPEG's setting that reaches the dissertation's 32.75 dB (a black
    square); a horizontal arrow from the model's rate to that one, labelled with how many
    times the model's bits JPEG spent for it; the dissertation's two reported figures as
    dotted lines (it reported no rate).

    Parameters
    ----------
    jpeg_curve : pandas.DataFrame
        JPEG's mean curve (``bpp``, ``psnr``) on the dissertation's images.
    models : pandas.DataFrame
        ``variant``, ``bpp``, ``psnr`` at one inner quality: the protocol first, then its
        faults (:func:`comp_lib.studies.ablations.dissertation_rates`'s model rows).
    match : pandas.Series
        :func:`comp_lib.studies.protocols.dissertation_jpeg_match` (``setting``, ``bpp``,
        ``psnr``) on the same images.
    model_curve : pandas.DataFrame, optional
        The protocol's curve over the inner qualities (``bpp``, ``psnr``), drawn thin.
    """
    from comp_lib.rd import psnr_at_rate
    from comp_lib.studies.constants import DISSERTATION_JPEG, DISSERTATION_MODEL

    model = models.iloc[0]
    ratio = float(match.bpp) / float(model.bpp)
    colour = codec_style("ComCNN+RecCNN")["color"]
    fig, ax = plt.subplots(figsize=(9.5, 5.2))
    below = ax.get_xaxis_transform()  # x in bpp, y in axes fractions
    jpeg = jpeg_curve[jpeg_curve.bpp <= float(match.bpp) * 1.6].sort_values("bpp")
    ax.plot(jpeg.bpp, jpeg.psnr, zorder=2, **codec_style("JPEG") | {"label": "JPEG, every quality"})
    if model_curve is not None:
        cur = model_curve.sort_values("bpp")
        ax.plot(cur.bpp, cur.psnr, color=colour, lw=1.2, alpha=0.6,
                label=f"{model.variant}, every inner quality")  # fmt: skip
    ax.plot(model.bpp, model.psnr, "*", color=colour, markersize=17, zorder=5,
            label=f"{model.variant}: {model.psnr:.2f} dB at {model.bpp:.3f} bpp")  # fmt: skip
    for i, fault in enumerate(models.iloc[1:].itertuples()):
        label = f"{fault.variant}: {fault.psnr:.2f} dB at {fault.bpp:.3f} bpp"
        ax.plot(fault.bpp, fault.psnr, "vsDPXo"[i % 6], color=f"C{(i + 1) % 10}", markersize=7,
                zorder=4, label=label)  # fmt: skip
    same = float(psnr_at_rate(jpeg_curve, float(model.bpp)))
    ax.plot(model.bpp, same, "o", mfc="white", mec="black", markersize=8, zorder=5,
            label=f"JPEG at the model's rate: {same:.2f} dB")  # fmt: skip
    ax.plot(match.bpp, match.psnr, "s", color="black", markersize=8, zorder=5,
            label=f"JPEG q={int(match.setting)}: {match.psnr:.2f} dB at {match.bpp:.3f} bpp "
            f"(lowest quality reaching {DISSERTATION_JPEG['psnr']:g} dB)")  # fmt: skip
    # the rate ratio as a horizontal arrow under both points, on the log-rate axis
    for x in (float(model.bpp), float(match.bpp)):
        ax.axvline(x, color="0.6", linestyle=":", lw=1, zorder=1)
    ax.annotate("", xy=(match.bpp, 0.3), xytext=(model.bpp, 0.3), xycoords=below,
                arrowprops=dict(arrowstyle="-|>", color="0.15", lw=1.8))  # fmt: skip
    ax.text(np.sqrt(float(match.bpp) * float(model.bpp)), 0.31, f"JPEG spent {ratio:.1f}x the "
            f"model's bits\nfor its {match.psnr:.2f} dB", transform=below, ha="center",
            va="bottom", fontsize=9)  # fmt: skip
    reported = ((DISSERTATION_JPEG, "JPEG", 0.01, "left", "bottom"),
                (DISSERTATION_MODEL, "model", 0.99, "right", "top"))  # fmt: skip
    for figure, who, x, align, side in reported:  # above, and below, its dotted line
        ax.axhline(figure["psnr"], color="0.55", linestyle=":", lw=1)
        ax.text(x, figure["psnr"], f"dissertation's {who}: {figure['psnr']:g} dB, no rate "
                "reported", transform=ax.get_yaxis_transform(), ha=align, va=side,
                fontsize=8, color="0.35")  # fmt: skip
    rates = pd.concat([jpeg.bpp, models.bpp, pd.Series([float(match.bpp)])])
    bpp_log_axis(ax, float(rates.min()) / 1.15, float(rates.max()) * 1.15)
    ax.set_ylabel("PSNR (dB)")
    ax.text(0.01, 0.97, "upper left is better", transform=ax.transAxes, va="top", fontsize=9,
            color="0.3")  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=8)
    ax.set_title(title or "Why the dissertation lost: it compared at unequal rates", fontsize=10)
    fig.tight_layout()
    return fig


def plot_size_cost(size: pd.DataFrame):
    """RecCNN size against cost: the gain at 0.3 bpp against GMAC per megapixel and decode time.

    Parameters
    ----------
    size : pandas.DataFrame
        The size ablation's runs, one point each (``variant``, ``gmac_per_mpx``,
        ``decode_ms``, ``gain_at_0.3_db``); both cost axes are logarithmic.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, x, label in ((axes[0], "gmac_per_mpx", "RecCNN GMAC per megapixel"),
                         (axes[1], "decode_ms", "decode ms per 180x180 image")):  # fmt: skip
        sns.scatterplot(size, x=x, y="gain_at_0.3_db", hue="variant", s=70, ax=ax,
                        legend=ax is axes[1])  # fmt: skip
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("PSNR gain over JPEG at 0.3 bpp (dB)")
    axes[1].set_ylabel("")  # the axis is shared
    fig.tight_layout()
    return fig


def plot_quality_matrix(matrix: pd.DataFrame):
    """Gain over JPEG at equal bpp, per trained quality (rows) and tested quality (columns).

    Parameters
    ----------
    matrix : pandas.DataFrame
        Gains in dB, indexed by the model (its trained quality), one column per inner
        JPEG quality of the test sweep.
    """
    fig, ax = plt.subplots(figsize=(1.2 * len(matrix.columns) + 3, 0.5 * len(matrix) + 1.2))
    sns.heatmap(matrix, annot=True, fmt="+.2f", cmap="RdBu", center=0, ax=ax)
    ax.set_xlabel("inner JPEG quality at test time")
    ax.set_ylabel("")
    ax.set_title("PSNR gain over JPEG at equal bpp (dB)", fontsize=10)
    return fig
