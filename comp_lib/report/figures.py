"""Figures of the notebooks, drawn from their tables and logs, saved under ``reports/figures``.

Each ``plot_*`` function returns the figure; :func:`save_figure` writes it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, ScalarFormatter

from comp_lib.config import figures_dir
from comp_lib.files import atomic_write

__all__ = [
    "REFERENCE_STYLE",
    "codec_style",
    "plot_ablation",
    "plot_dissertation_rates",
    "plot_gain_per_image",
    "plot_headline_rd",
    "plot_quality_matrix",
    "plot_rd",
    "plot_size_cost",
    "plot_training_curves",
    "save_figure",
    "show_error_maps",
    "show_images",
    "show_images_to_scale",
    "show_signed",
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
    "JPEG 2000": "#6b8e23",
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


def show_images_to_scale(
    panels: dict[str, np.ndarray], ncols: int = 3, pixels_per_inch: float = 160.0
):
    """Grayscale images at their true relative size, each titled with its width and height.

    Every image gets ``1 / pixels_per_inch`` inches per pixel, so an image of half the width
    and height (a compact image) takes half the width and half the height on the page.

    Parameters
    ----------
    panels : dict
        Title -> 2-D image (``uint8`` shown on 0..255, float on [0, 1]).
    ncols : int
        Images per row.
    pixels_per_inch : float
        Scale of every panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    gap, title, margin = 0.3, 0.5, 0.1  # inches
    items = [(t, np.asarray(img)) for t, img in panels.items()]
    rows = [items[i : i + ncols] for i in range(0, len(items), ncols)]
    width = margin + max(sum(img.shape[1] / pixels_per_inch + gap for _, img in r) for r in rows)
    heights = [max(img.shape[0] for _, img in r) / pixels_per_inch + title for r in rows]
    total = sum(heights) + margin
    fig = plt.figure(figsize=(width, total))
    top = total
    for r, row_height in zip(rows, heights, strict=True):
        left = margin
        for text, img in r:
            h, w = img.shape[0] / pixels_per_inch, img.shape[1] / pixels_per_inch
            ax = fig.add_axes((left / width, (top - title - h) / total, w / width, h / total))
            vmax = 255 if img.dtype == np.uint8 else 1.0
            ax.imshow(img, cmap="gray", vmin=0, vmax=vmax, interpolation="nearest")
            ax.set_title(f"{text}\n{img.shape[1]} wide x {img.shape[0]} high (pixels)",
                         fontsize=9)  # fmt: skip
            ax.axis("off")
            left += w + gap
        top -= row_height
    return fig


def show_signed(
    panels: dict[str, np.ndarray],
    unit: str = "gray levels",
    ncols: int = 3,
    size: float = 3.6,
    percentile: float = 99.0,
    grid: int | None = None,
    cmap: str = "RdBu_r",
):
    """Signed images (differences, residuals) on a diverging colour map centred on 0.

    Each panel has its own symmetric range, ``±`` the ``percentile`` of its absolute values
    (so that small differences are visible; larger ones saturate), and its own colour bar.

    Parameters
    ----------
    panels : dict
        Title -> 2-D float image, in ``unit``.
    unit : str
        The colour bars' label.
    percentile : float
        Of ``|value|``, the end of each colour scale (100: the largest value).
    grid : int, optional
        Draw faint lines every ``grid`` pixels (e.g. 16, to show a block grid).
    cmap : str
        A diverging colour map (red positive, blue negative by default).

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = len(panels)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols * 1.15, size * nrows),
                             squeeze=False, layout="constrained")  # fmt: skip
    for ax, (title, img) in zip(axes.flat, panels.items(), strict=False):
        img = np.asarray(img, dtype=np.float64)
        limit = float(np.percentile(np.abs(img), percentile)) or 1.0
        im = ax.imshow(img, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        extend = "both" if np.abs(img).max() > limit else "neither"
        fig.colorbar(im, ax=ax, shrink=0.85, extend=extend, label=unit)
        if grid:
            for k in range(grid, img.shape[1], grid):
                ax.axvline(k - 0.5, color="0.2", lw=0.4, alpha=0.5)
            for k in range(grid, img.shape[0], grid):
                ax.axhline(k - 0.5, color="0.2", lw=0.4, alpha=0.5)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig


def show_error_maps(
    original: np.ndarray,
    panels: dict[str, np.ndarray],
    size: float = 3.4,
    crop: tuple[slice, slice] | None = None,
    vmax: float | None = None,
):
    """Absolute errors ``|x - x_hat|`` in gray levels, side by side on one colour scale.

    Parameters
    ----------
    original : numpy.ndarray
        ``(H, W)`` ``uint8`` image ``x``.
    panels : dict
        Title -> ``(H, W)`` reconstruction ``x_hat`` (``uint8``); put the rates in the titles.
    crop : tuple of slice, optional
        The same crop applied to every map.
    vmax : float, optional
        The top of the shared colour scale (default: the 99th percentile of all errors).

    Returns
    -------
    matplotlib.figure.Figure
        One map per panel and one colour bar for all of them.
    """
    crop = crop or (slice(None), slice(None))
    x = np.asarray(original, dtype=np.float64)[crop]
    errors = {t: np.abs(x - np.asarray(y, dtype=np.float64)[crop]) for t, y in panels.items()}
    if vmax is None:
        vmax = float(np.percentile(np.concatenate([e.ravel() for e in errors.values()]), 99))
    h, w = x.shape
    fig, axes = plt.subplots(1, len(errors), figsize=(size * len(errors) + 1.0, size * h / w),
                             squeeze=False, layout="constrained")  # fmt: skip
    for ax, (title, err) in zip(axes[0], errors.items(), strict=True):
        im = ax.imshow(err, cmap="magma", vmin=0, vmax=vmax or 1.0, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes[0]), shrink=0.85, extend="max",
                 label="|x - x_hat| (gray levels, 0..255)")  # fmt: skip
    return fig


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


def save_figure(fig, name: str, dpi: int = 120) -> Path:
    """Save ``fig`` as ``reports/figures/<name>.png`` (written whole, then renamed); return it."""
    path = figures_dir() / f"{name}.png"
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight"))


def plot_training_curves(log: pd.DataFrame, title: str = "", name: str = "ComCNN+RecCNN"):
    """A training run by epoch: each network's training loss, and the validation gain over JPEG.

    Left, each network's training loss (the mean over the epoch's steps, log scale):
    RecCNN's in step A and, where it trains, ComCNN's in step B. Right, the validation
    PSNR of the real bytes minus JPEG's PSNR at the same bpp, in dB: JPEG itself is the
    black dashed line at 0 dB (:func:`codec_style`), above it the model beats JPEG.

    Parameters
    ----------
    log : pandas.DataFrame
        A training log (:data:`comp_lib.train.LOG_COLUMNS`: ``epoch``, ``loss_rec``,
        ``loss_com``, ``val_gain_db``); a bank log's epoch 0 (the starting point, no loss)
        is drawn as the gain's first point.
    title : str
        Above both panels.
    name : str
        The trained codec's name in :func:`codec_style` (``"ComCNN+RecCNN"`` or
        ``"RecCNN only"``), its line in the gain panel.
    """
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), layout="constrained")
    for column, label, colour in (("loss_rec", "RecCNN, step A", "C0"),
                                  ("loss_com", "ComCNN, step B", "C1")):  # fmt: skip
        rows = log[["epoch", column]].dropna() if column in log else log.iloc[:0]
        if len(rows):
            axes[0].plot(rows.epoch, rows[column], marker="o", color=colour, label=label)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("training loss, mean over the epoch")
    axes[0].set_title("training: each network's loss (log scale)", fontsize=9)
    reference = codec_style("JPEG") | {"marker": None, "label": "JPEG at the same bpp (0 dB)"}
    axes[1].axhline(0.0, **reference)
    axes[1].plot(log.epoch, log.val_gain_db, **codec_style(name))
    axes[1].set_ylabel("validation PSNR gain over JPEG (dB)")
    axes[1].set_title("validation through the real bytes; above 0 beats JPEG", fontsize=9)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False,
                      fontsize=9)  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=10)
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
