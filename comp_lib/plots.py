"""Figures shared by the notebooks, saved under ``reports/figures``."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from comp_lib.config import figures_dir

__all__ = ["save_figure", "show_images"]


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
    """Save ``fig`` as ``reports/figures/<name>.png`` and return the path."""
    path = figures_dir() / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
