"""Figures shared by the notebooks, saved under ``reports/figures``."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from comp_lib.config import figures_dir

__all__ = ["plot_ablation", "plot_rd", "save_figure", "show_images"]


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


def plot_rd(curves: pd.DataFrame, title: str = "", max_rate: float | None = None):
    """Rate-distortion curves: PSNR and SSIM against bpp, one line per codec.

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`comp_lib.evaluate.rd_curves` output (``codec``, ``bpp``, ``psnr``, ``ssim``).
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
