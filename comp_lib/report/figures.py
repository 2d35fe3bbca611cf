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
    "plot_ablation_rd",
    "plot_bd_area",
    "plot_bd_per_image",
    "plot_dissertation_rd",
    "plot_gain_curves",
    "plot_gain_per_image",
    "plot_headline_rd",
    "plot_quality_matrix",
    "plot_rd",
    "plot_size_cost",
    "plot_training_curves",
    "plot_training_gains",
    "save_figure",
    "show_crops_with_errors",
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
    gap, margin, min_slot = 0.25, 0.1, 1.9  # inches: each panel's slot fits its title
    items = [(f"{t}\n{img.shape[1]} wide x {img.shape[0]} high (pixels)", np.asarray(img))
             for t, img in panels.items()]  # fmt: skip
    lines = max(t.count("\n") + 1 for t, _ in items)
    title = 0.1 + 0.17 * lines
    rows = [items[i : i + ncols] for i in range(0, len(items), ncols)]

    def slot(img: np.ndarray) -> float:
        return max(img.shape[1] / pixels_per_inch, min_slot)

    width = margin + max(sum(slot(img) + gap for _, img in r) for r in rows)
    heights = [max(img.shape[0] for _, img in r) / pixels_per_inch + title for r in rows]
    total = sum(heights) + margin
    fig = plt.figure(figsize=(width, total))
    top = total
    for r, row_height in zip(rows, heights, strict=True):
        left = margin
        for text, img in r:
            h, w = img.shape[0] / pixels_per_inch, img.shape[1] / pixels_per_inch
            x0 = left + (slot(img) - w) / 2
            ax = fig.add_axes((x0 / width, (top - title - h) / total, w / width, h / total))
            vmax = 255 if img.dtype == np.uint8 else 1.0
            ax.imshow(img, cmap="gray", vmin=0, vmax=vmax, interpolation="nearest")
            ax.set_title(text, fontsize=9)
            ax.axis("off")
            left += slot(img) + gap
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

    Left, each network's training loss (the mean over the epoch's steps): RecCNN's in
    step A and, where it trains, ComCNN's in step B. Right, the validation
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
    axes[0].ticklabel_format(axis="y", style="sci", scilimits=(-2, 3), useMathText=True)
    axes[0].set_ylabel("training loss, mean over the epoch")
    axes[0].set_title("training: each network's loss (on its own batches)", fontsize=9)
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


def plot_training_gains(logs: dict[str, pd.DataFrame], kinds: dict[str, str], title: str = ""):
    """Several training runs' validation gain over JPEG, epoch by epoch, on one axis.

    Each run is a bold line (our codecs, :func:`codec_style`'s width) in its own colour,
    labelled with its name, its kind and its validation rate; JPEG is the black dashed
    line at 0 dB. The gains are each run's own (its validation images and qualities).

    Parameters
    ----------
    logs : dict
        Run name -> its training log (``epoch``, ``val_gain_db``, ``val_bpp``).
    kinds : dict
        Run name -> what it trains (``"ComCNN+RecCNN"`` or ``"RecCNN only"``); a run
        of kind ``"RecCNN only"`` is dashed-dotted.
    title : str
        Above the axis.
    """
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(10, 4.2), layout="constrained")
    reference = codec_style("JPEG") | {"marker": None, "label": "JPEG at the same bpp (0 dB)"}
    ax.axhline(0.0, **reference)
    for i, (name, log) in enumerate(logs.items()):
        kind = kinds.get(name, "ComCNN+RecCNN")
        bpp = float(log.val_bpp.iloc[-1])
        style = codec_style(kind) | {
            "color": f"C{i}",
            "markersize": 4,
            "linestyle": "-." if kind == "RecCNN only" else "-",
            "label": f"{name} ({kind}), validated at {bpp:.3f} bpp",
        }
        ax.plot(log.epoch, log.val_gain_db, **style)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation PSNR gain over JPEG (dB)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
    ax.set_title(title or "above 0 dB the run beats JPEG at equal rate", fontsize=10)
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


def _bpp_log_axis(ax, lo: float, hi: float) -> None:
    """A log-rate x axis from ``lo`` to ``hi`` bpp with plain tick labels (0.1, 0.3, 1)."""
    ax.set_xscale("log")
    ticks = [t for t in (0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5) if lo <= t <= hi]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("bits per pixel (real bytes, log scale)")
    ax.grid(alpha=0.3, which="both")


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
        _bpp_log_axis(ax, float(curves.bpp.min()), float(curves.bpp.max()))
        ax.set_ylabel(label)
        _better(ax)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


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
    _bpp_log_axis(ax, float(means.bpp.min()), float(means.bpp.max()))
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
            _bpp_log_axis(ax, min(lo, float(jpeg.bpp.min())), max(hi, float(jpeg.bpp.max())))
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
    colour = _COLOURS["ComCNN+RecCNN"]
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
    _bpp_log_axis(ax, float(rates.min()) / 1.15, float(rates.max()) * 1.15)
    ax.set_ylabel("PSNR (dB)")
    ax.text(0.01, 0.97, "upper left is better", transform=ax.transAxes, va="top", fontsize=9,
            color="0.3")  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=8)
    ax.set_title(title or "Why the dissertation lost: it compared at unequal rates", fontsize=10)
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
    _bpp_log_axis(ax, float(shown.bpp.min()), float(shown.bpp.max()))
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
    _bpp_log_axis(ax, float(rates.min()) / 1.15, float(rates.max()) * 1.15)
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


def show_crops_with_errors(
    panels: dict[str, np.ndarray],
    crop: tuple[slice, slice] | None = None,
    ncols: int = 4,
    size: float = 2.6,
    vmax: float | None = None,
):
    """Crops of several reconstructions, each above its error map ``|x - x_hat|``.

    Parameters
    ----------
    panels : dict
        ``"original"`` -> ``x`` first, then title -> ``x_hat`` (``uint8``, one size);
        put the rates in the titles.
    crop : tuple of slice, optional
        The same crop ``(rows, cols)`` of every image.
    ncols : int
        Images per row; each row of images has a row of error maps under it.
    vmax : float, optional
        The top of the errors' shared colour scale (default: their 99th percentile).

    Returns
    -------
    matplotlib.figure.Figure
    """
    crop = crop or (slice(None), slice(None))
    items = list(panels.items())
    x = np.asarray(items[0][1], dtype=np.float64)
    errors = [np.abs(x - np.asarray(img, dtype=np.float64))[crop] for _, img in items]
    if vmax is None:
        vmax = float(np.percentile(np.concatenate([e.ravel() for e in errors[1:]] or [[1.0]]),
                                   99)) or 1.0  # fmt: skip
    nrows = -(-len(items) // ncols)
    fig, axes = plt.subplots(2 * nrows, ncols, figsize=(size * ncols + 0.8, 2 * size * nrows),
                             squeeze=False, layout="constrained")  # fmt: skip
    im = None
    for k, ((title, img), err) in enumerate(zip(items, errors, strict=True)):
        top, bottom = axes[2 * (k // ncols), k % ncols], axes[2 * (k // ncols) + 1, k % ncols]
        top.imshow(np.asarray(img)[crop], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        top.set_title(title, fontsize=8)
        if k == 0:
            bottom.text(0.5, 0.5, "below each image:\n|x - x_hat|\n(gray levels)",
                        ha="center", va="center", fontsize=9, transform=bottom.transAxes)
        else:
            im = bottom.imshow(err, cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        if not ax.images:
            ax.axis("off")
    if im is not None:
        fig.colorbar(im, ax=axes[1::2].ravel().tolist(), shrink=0.6, extend="max",
                     label="|x - x_hat| (gray levels, 0..255)")  # fmt: skip
    return fig
