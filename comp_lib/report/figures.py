"""Figures of the notebooks, drawn from their tables and logs, saved under ``reports/figures``.

Each ``plot_*`` function returns the figure; :func:`save_figure` writes it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from comp_lib.config import figures_dir
from comp_lib.files import atomic_write

__all__ = [
    "REFERENCE_STYLE",
    "codec_style",
    "plot_ablation",
    "plot_dissertation_rates",
    "plot_gain_per_image",
    "plot_quality_matrix",
    "plot_rd",
    "plot_size_cost",
    "plot_training_curves",
    "save_figure",
    "show_images",
]


#: how the reference codec (JPEG) is drawn in every figure of the study: black, dashed
REFERENCE_STYLE = dict(color="black", linestyle="--", linewidth=1.6, marker="o", markersize=3)
#: the study's own codecs (drawn bold); see :mod:`comp_lib.studies.roster`
OUR_CODECS = ("ours", "ComCNN+RecCNN", "RecCNN only", "ComCNN only")
#: one colour per codec name, the same in every figure
_COLOURS = {
    "ours": "#d62728",
    "ComCNN+RecCNN": "#1f77b4",
    "RecCNN only": "#ff7f0e",
    "ComCNN only": "#9467bd",
    "bicubic+JPEG": "#8c564b",
    "WebP": "#2ca02c",
    "AVIF": "#17becf",
    "JPEG 2000": "#bcbd22",
    "JPEG XL": "#e377c2",
}


def codec_style(name: str, reference: str = "JPEG") -> dict:
    """Matplotlib line keywords for codec ``name``, the same in every figure.

    The ``reference`` is :data:`REFERENCE_STYLE` (black, dashed); the study's own codecs
    (:data:`OUR_CODECS`) are bold; every other codec is a thin line with small markers in
    its own colour (a name outside the study's list gets grey).

    Examples
    --------
    >>> codec_style("JPEG")["linestyle"]
    '--'
    """
    if name == reference:
        return dict(REFERENCE_STYLE, label=name)
    colour = _COLOURS.get(name, "0.5")
    if name in OUR_CODECS:
        return dict(color=colour, linestyle="-", linewidth=2.8, marker="o", markersize=4,
                    label=name)  # fmt: skip
    return dict(color=colour, linestyle="-", linewidth=1.1, marker=".", markersize=5, label=name)


def show_images(
    panels: dict[str, np.ndarray],
    ncols: int = 3,
    size: float = 3.2,
    crop: tuple[slice, slice] | None = None,
    cmap: str = "gray",
):
    """Show grayscale images side by side, each titled by its key.

    Parameters
    ----------
    panels : dict
        Title -> 2-D image. ``uint8`` images are shown on 0..255, float images
        on their own range (so a residual or an untrained network's output is visible).
    ncols : int
        Images per row.
    size : float
        Inches per panel.
    crop : tuple of slice, optional
        The same crop ``(rows, cols)`` applied to every panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = len(panels)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax, (title, img) in zip(axes.flat, panels.items(), strict=False):
        img = np.asarray(img)
        if crop is not None:
            img = img[crop]
        if img.dtype == np.uint8:
            ax.imshow(img, cmap=cmap, vmin=0, vmax=255, interpolation="nearest")
        else:
            ax.imshow(img, cmap=cmap, interpolation="nearest")
        ax.set_title(title, fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    return fig


def save_figure(fig, name: str, dpi: int = 120) -> Path:
    """Save ``fig`` as ``reports/figures/<name>.png`` (written whole, then renamed); return it."""
    path = figures_dir() / f"{name}.png"
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight"))


def plot_training_curves(log: pd.DataFrame, title: str = ""):
    """A training run by epoch: each network's loss, and validation PSNR against JPEG's.

    Parameters
    ----------
    log : pandas.DataFrame
        A training log (:data:`comp_lib.train.LOG_COLUMNS`: ``epoch``, ``loss_rec``,
        ``loss_com``, ``val_psnr``, ``val_jpeg_psnr``); JPEG's PSNR is at the model's bpp.
    title : str
        Above both panels.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    losses = log.melt("epoch", ["loss_rec", "loss_com"], "network", "loss").dropna()
    sns.lineplot(losses, x="epoch", y="loss", hue="network", marker="o", ax=axes[0])
    axes[0].set_yscale("log")
    psnrs = log.melt("epoch", ["val_psnr", "val_jpeg_psnr"], "codec", "PSNR (dB)")
    sns.lineplot(psnrs, x="epoch", y="PSNR (dB)", hue="codec", marker="o", ax=axes[1])
    axes[1].set_title("validation, real codec (JPEG at the same bpp)", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
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


def plot_dissertation_rates(rates: pd.DataFrame):
    """The dissertation's comparison with its rates: one bar of PSNR per row, its bpp beside.

    Parameters
    ----------
    rates : pandas.DataFrame
        :func:`comp_lib.studies.ablations.dissertation_rates` (``variant``, ``psnr``,
        ``bpp``; a NaN bpp is labelled as not reported).
    """
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rates) + 1.2))
    sns.barplot(rates, y="variant", x="psnr", color="C0", ax=ax)
    for i, r in enumerate(rates.itertuples()):
        label = "bpp not reported" if np.isnan(r.bpp) else f"{r.bpp:.2f} bpp"
        ax.text(r.psnr + 0.2, i, label, va="center", fontsize=8)
    ax.set_xlabel("PSNR (dB)")
    ax.set_ylabel("")
    return fig


def plot_rd(curves: pd.DataFrame, title: str = "", max_rate: float | None = None):
    """Rate-distortion curves: PSNR and SSIM against bpp, one line per codec.

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`comp_lib.rd.rd_curves` output (``codec``, ``bpp``, ``psnr``, ``ssim``).
    max_rate : float, optional
        Draw only up to this rate.
    """
    if max_rate is not None:
        curves = curves[curves.bpp <= max_rate * 1.05]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, metric, label in ((axes[0], "psnr", "PSNR (dB)"), (axes[1], "ssim", "SSIM")):
        sns.lineplot(curves, x="bpp", y=metric, hue="codec", style="codec", markers=True,
                     dashes=False, sort=False, ax=ax, legend=ax is axes[0])  # fmt: skip
        ax.set_xlabel("bits per pixel (real bytes)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_ablation(results: pd.DataFrame, title: str = ""):
    """One ablation's variants: BD-rate against JPEG and PSNR gain at 0.3 bpp.

    One point per seed, the bar at the mean, so that the spread over seeds shows.

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`comp_lib.studies.ablations.run_ablation` results (``variant``, ``seed``,
        ``bd_rate_psnr_%``, ``gain_at_0.3_db``).
    """
    order = list(dict.fromkeys(results.variant))
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.5 * len(order) + 1.6), sharey=True)
    panels = (("bd_rate_psnr_%", "BD-rate (PSNR) vs JPEG, % (lower is better)"),
              ("gain_at_0.3_db", "PSNR gain over JPEG at 0.3 bpp, dB"))  # fmt: skip
    for ax, (column, label) in zip(axes, panels, strict=True):
        sns.barplot(results, y="variant", x=column, order=order, errorbar=None, alpha=0.45, ax=ax)
        sns.stripplot(results, y="variant", x=column, order=order, color="k", size=5, ax=ax)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_xlabel(label)
        ax.set_ylabel("")
        ax.grid(axis="x", alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_gain_per_image(gains: pd.DataFrame, xlabel: str = "setting"):
    """Each image's PSNR gain over the anchor at equal bpp, per setting, and their mean.

    Parameters
    ----------
    gains : pandas.DataFrame
        :func:`comp_lib.rd.per_image_gain` output (``setting``, ``gain_db``).
    xlabel : str
        What the settings are.
    """
    fig, ax = plt.subplots(figsize=(8, 3.6))
    sns.stripplot(gains, x="setting", y="gain_db", alpha=0.6, ax=ax)
    sns.pointplot(gains, x="setting", y="gain_db", color="black", linestyle="none", ax=ax)
    ax.axhline(0, color="grey", lw=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("PSNR gain over JPEG at equal bpp (dB)")
    return fig
