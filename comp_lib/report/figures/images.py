"""Images as figures: grids, images to scale, signed differences, error maps and crops.

Each ``show_*`` function returns the figure; :func:`comp_lib.report.figures.save_figure`
writes it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "show_crops_with_errors",
    "show_error_maps",
    "show_images",
    "show_images_to_scale",
    "show_signed",
]


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
            bottom.text(0.5, 0.5, "below each image:\n|x - x_hat|\n(gray levels)", ha="center",
                        va="center", fontsize=9, transform=bottom.transAxes)  # fmt: skip
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
