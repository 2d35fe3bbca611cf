"""Rate-distortion figures: codecs' curves, the headline, what a BD-rate integrates, gains.

Each ``plot_*`` function returns the figure; :func:`comp_lib.report.figures.save_figure`
writes it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, NullFormatter

from comp_lib.report.figures.style import bpp_log_axis, codec_style

__all__ = [
    "plot_bd_area",
    "plot_bd_per_image",
    "plot_gain_per_image",
    "plot_headline_rd",
    "plot_rd",
]


def plot_headline_rd(
    curves: pd.DataFrame,
    codecs: list[str],
    max_rate: float,
    title: str = "",
    labels: dict[str, str] | None = None,
):
    """The report's headline: PSNR against bpp (log scale) for a few codecs, up to ``max_rate``.

    Each codec in :func:`codec_style` (JPEG black and dashed, the study's own bold), the
    legend outside the axes, and where "better" lies written on them.

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`comp_lib.rd.rd_curves` output (``codec``, ``bpp``, ``psnr``).
    codecs : list of str
        The codecs to draw, in the legend's order; those not in ``curves`` are skipped.
    labels : dict, optional
        Codec -> its legend entry (default: the codec's name).
    """
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name in codecs:
        curve = curves[(curves.codec == name) & (curves.bpp <= max_rate * 1.05)]
        if len(curve):
            curve = curve.sort_values("bpp")
            style = codec_style(name) | {"label": labels.get(name, name)}
            ax.plot(curve.bpp, curve.psnr, **style)
    ax.set_xscale("log")
    ax.set_xticks([t for t in (0.03, 0.05, 0.1, 0.2, 0.3, 0.6, 1, 2) if t <= max_rate])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("bits per pixel (real bytes, log scale)")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3, which="both")
    ax.text(0.02, 0.97, "upper left is better", transform=ax.transAxes, va="top", fontsize=9,
            color="0.3")  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _better(ax, where: str = "upper left is better") -> None:
    ax.text(0.02, 0.97, where, transform=ax.transAxes, va="top", fontsize=9, color="0.3")


def plot_rd(
    curves: pd.DataFrame,
    title: str = "",
    max_rate: float | None = None,
    codecs: list[str] | None = None,
    labels: dict[str, str] | None = None,
):
    """Rate-distortion curves: PSNR and SSIM against bpp (log scale), one line per codec.

    Each codec in :func:`codec_style` (JPEG black and dashed, the study's own bold), the
    legend outside the axes, "upper left is better" written on them.

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`comp_lib.rd.rd_curves` output (``codec``, ``bpp``, ``psnr``, ``ssim``).
    max_rate : float, optional
        Draw only up to this rate.
    codecs : list of str, optional
        The codecs to draw, in the legend's order (default: all, in the curves' order).
    labels : dict, optional
        Codec -> its legend entry (default: the codec's name).
    """
    if max_rate is not None:
        curves = curves[curves.bpp <= max_rate * 1.05]
    names = [c for c in (codecs or dict.fromkeys(curves.codec)) if (curves.codec == c).any()]
    labels = labels or {}
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.4))
    for ax, metric, label in ((axes[0], "psnr", "PSNR (dB)"), (axes[1], "ssim", "SSIM")):
        for name in names:
            cur = curves[curves.codec == name].sort_values("bpp")
            style = codec_style(name) | {"label": labels.get(name, name)}
            ax.plot(cur.bpp, cur[metric], zorder=3 if name == "JPEG" else 2, **style)
        bpp_log_axis(ax, float(curves.bpp.min()), float(curves.bpp.max()))
        ax.set_ylabel(label)
        _better(ax)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_gain_per_image(gains: pd.DataFrame, xlabel: str = ""):
    """Each image's PSNR gain over the anchor at equal bpp, against bpp, and their mean.

    Parameters
    ----------
    gains : pandas.DataFrame
        :func:`comp_lib.rd.per_image_gain` output (``image``, ``setting``, ``bpp``,
        ``gain_db``); the mean is taken per setting (mean bpp, mean gain).
    xlabel : str
        The x axis' label (default: bits per pixel, log scale).
    """
    fig, ax = plt.subplots(figsize=(8, 3.8))
    shown = gains.dropna(subset=["gain_db"])
    ax.scatter(shown.bpp, shown.gain_db, s=10, alpha=0.35, color="#d62728", lw=0,
               label="one image at one setting")  # fmt: skip
    mean = shown.groupby("setting")[["bpp", "gain_db"]].mean().sort_values("bpp")
    ax.plot(mean.bpp, mean.gain_db, color="black", marker="o", lw=1.5, label="mean over images")
    ax.axhline(0, color="0.3", lw=1, linestyle="--", label="JPEG (no gain)")
    bpp_log_axis(ax, float(shown.bpp.min()), float(shown.bpp.max()))
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel("PSNR gain over JPEG at equal bpp (dB)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_bd_area(
    anchor: pd.DataFrame,
    test: pd.DataFrame,
    psnr_range: tuple[float, float],
    names: tuple[str, str] = ("JPEG", "ours"),
    bd_rate: float | None = None,
):
    """What a BD-rate integrates: the gap in log-rate between two curves, at equal PSNR.

    Each curve's points, and its log-rate as a pchip function of PSNR (the interpolant
    the BD-rate integrates); the area between the two over ``psnr_range`` is shaded.
    Its mean width, in log-rate, is the log of the rate ratio: the BD-rate.

    Parameters
    ----------
    anchor, test : pandas.DataFrame
        Each curve's points (``bpp``, ``psnr``), PSNR increasing with rate
        (:func:`comp_lib.rd.upper_points`).
    psnr_range : (float, float)
        The PSNRs integrated over (both curves reach them, up to the highest rate).
    names : (str, str)
        The two codecs (their :func:`codec_style`).
    bd_rate : float, optional
        Written on the figure.
    """
    from scipy.interpolate import PchipInterpolator

    lo, hi = psnr_range
    fig, ax = plt.subplots(figsize=(9, 4.6))
    fits = []
    for curve, name in zip((anchor, test), names, strict=True):
        cur = curve.sort_values("psnr")
        fit = PchipInterpolator(cur.psnr, np.log(cur.bpp))
        grid = np.linspace(cur.psnr.min(), cur.psnr.max(), 200)
        style = codec_style(name)
        ax.plot(np.exp(fit(grid)), grid, **(style | {"marker": None, "label": None}))
        ax.plot(cur.bpp, cur.psnr, linestyle="none", marker="o", color=style["color"],
                label=f"{name}: measured points and pchip of log-rate")  # fmt: skip
        fits.append(fit)
    band = np.linspace(lo, hi, 200)
    ax.fill_betweenx(band, np.exp(fits[0](band)), np.exp(fits[1](band)), color="#d62728",
                     alpha=0.2, lw=0, label="the gap in log-rate, averaged over PSNR")  # fmt: skip
    for level, label in ((lo, "the PSNR range both reach"), (hi, None)):
        ax.axhline(level, color="0.4", lw=0.8, linestyle=":", label=label)
    margin = 0.25 * (hi - lo) + 0.5  # zoom on the band, with the points around it
    ax.set_ylim(lo - margin, hi + margin)
    near = pd.concat([c.bpp[(c.psnr >= lo - margin) & (c.psnr <= hi + margin)]
                      for c in (anchor, test)])  # fmt: skip
    rates = near if len(near) else pd.concat([anchor.bpp, test.bpp])
    ax.set_xlim(float(rates.min()) / 1.15, float(rates.max()) * 1.15)
    bpp_log_axis(ax, float(rates.min()) / 1.15, float(rates.max()) * 1.15)
    ax.set_ylabel("PSNR (dB)")
    _better(ax)
    if bd_rate is not None:
        ax.set_title(f"BD-rate of {names[1]} against {names[0]}: {bd_rate:+.2f} % "
                     f"(PSNR {lo:.2f}-{hi:.2f} dB)", fontsize=10)  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_bd_per_image(per_image: pd.DataFrame, summary: pd.DataFrame, codecs: list[str]):
    """BD-rate per image (one dot each) beside the BD-rate of the mean curves, per codec.

    Parameters
    ----------
    per_image : pandas.DataFrame
        One test set's :func:`comp_lib.rd.bd_rate_per_image` rows (``codec``,
        ``bd_rate_psnr_%``; NaN rows are left out).
    summary : pandas.DataFrame
        The same test set's summary (``codec``, ``bd_rate_mean_curve_%``,
        ``bd_rate_per_image_mean_%``), e.g. from
        :func:`comp_lib.studies.protocols.bd_per_image_tables`.
    codecs : list of str
        The codecs, top to bottom.
    """
    summary = summary.set_index("codec")
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(codecs) + 1.4))
    rng = np.random.default_rng(0)
    for y, name in enumerate(codecs):
        values = per_image.loc[per_image.codec == name, "bd_rate_psnr_%"].dropna()
        ax.scatter(values, y + rng.uniform(-0.18, 0.18, len(values)), s=9, alpha=0.45,
                   color=codec_style(name)["color"], lw=0,
                   label="one image" if y == 0 else None)  # fmt: skip
        if name in summary.index:
            row = summary.loc[name]
            ax.scatter(row["bd_rate_per_image_mean_%"], y, marker="D", s=40, color="black",
                       zorder=3, label="mean over images" if y == 0 else None)  # fmt: skip
            ax.scatter(row["bd_rate_mean_curve_%"], y, marker="x", s=60, lw=2, color="#d62728",
                       zorder=4, label="of the mean curves" if y == 0 else None)  # fmt: skip
    ax.axvline(0, color="black", lw=1, linestyle="--")
    ax.set_yticks(range(len(codecs)), codecs)
    ax.invert_yaxis()
    ax.set_xlabel("BD-rate against JPEG (%, PSNR; negative: fewer bits than JPEG)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig
