"""What preparing the study's images costs: squaring them, and reducing them to gray.

Notebook 00 answers "why grayscale, why 180x180, crop or stretch" with these numbers:
:func:`shape_costs` (per source, what turning its images into squares distorts or throws
away) and :func:`preparation_stats` (per image, how much detail survives the resize and
how much of it lives in colour).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from comp_lib.data.images import resize

__all__ = ["preparation_stats", "shape_costs"]


def shape_costs(index: pd.DataFrame, size: int = 180) -> pd.DataFrame:
    """What turning each source's images into ``size`` x ``size`` squares costs, per source.

    Read from a corpus :attr:`Corpus.index` (the original height and width of every image
    the corpus uses: train, val and test rows). Medians over each source's images.

    Parameters
    ----------
    index : pandas.DataFrame
        A corpus index (``source``, ``split``, ``height``, ``width``).
    size : int
        The side of the study's square images.

    Returns
    -------
    pandas.DataFrame
        One row per source: ``images``, ``typical_size`` (the most common "HxW"),
        ``pixels_kept_%`` (``size**2`` over the original's pixels), ``shrink`` (how many
        times smaller each side gets on average: ``sqrt(H * W) / size``), ``stretch`` (the
        long side over the short side: stretching to a square squeezes the long side by this
        factor relative to the short one) and ``crop_discards_%`` (the share of the pixels a
        centre crop to a square throws away).
    """
    used = index[index.split.isin(["train", "val", "test"]) & (index.height > 0)]
    h, w = used.height.astype(float), used.width.astype(float)
    long, short = np.maximum(h, w), np.minimum(h, w)
    costs = pd.DataFrame({
        "source": used.source,
        "typical_size": used.height.astype(str) + "x" + used.width.astype(str),
        "pixels_kept_%": 100 * size**2 / (h * w),
        "shrink": np.sqrt(h * w) / size,
        "stretch": long / short,
        "crop_discards_%": 100 * (1 - short / long),
    })  # fmt: skip
    grouped = costs.groupby("source", sort=True)
    out = grouped.median(numeric_only=True)
    out.insert(0, "typical_size", grouped.typical_size.agg(lambda s: s.mode().iloc[0]))
    out.insert(0, "images", grouped.size())
    return out.reset_index()


def _gradient(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(dy, dx)`` finite differences of a plane, cropped to a common ``(H-1, W-1)``."""
    return np.diff(plane, axis=0)[:, :-1], np.diff(plane, axis=1)[:-1, :]


def preparation_stats(paths: Sequence[str | os.PathLike], size: int = 180) -> pd.DataFrame:
    """How much detail each image keeps in grayscale, and how dense it becomes at ``size``.

    For each file (read with Pillow at 8 bits): the share of its *detail* (the energy of its
    horizontal and vertical pixel differences) that lies in the luma ``Y`` rather than in
    the chroma ``Cb``, ``Cr`` (JFIF's YCbCr, :func:`comp_lib.jpeg.rgb_to_ycbcr`; 100 % for a
    grayscale file); and the mean gradient magnitude of the luma, in gray levels per pixel,
    at native size and once stretched to ``size`` x ``size`` (:func:`resize`).

    Returns
    -------
    pandas.DataFrame
        One row per file: ``file``, ``colour`` (bool), ``height``, ``width``,
        ``luma_detail_%``, ``gradient_native``, ``gradient_resized``.
    """
    from PIL import Image

    from comp_lib.jpeg import rgb_to_ycbcr

    rows = []
    for path in map(Path, paths):
        with Image.open(path) as img:
            colour = img.mode not in ("L", "I", "I;16", "F", "1")
            rgb = np.asarray(img.convert("RGB"), dtype=np.float64)
        ycc = rgb_to_ycbcr(rgb)
        energy = [sum(float(np.sum(d**2)) for d in _gradient(ycc[..., c])) for c in range(3)]
        luma = ycc[..., 0]
        small = resize((luma / 255).astype(np.float32), size).astype(np.float64) * 255
        share = 100 * energy[0] / sum(energy) if sum(energy) else 100.0
        rows.append({"file": path.name, "colour": colour, "height": luma.shape[0],
                     "width": luma.shape[1], "luma_detail_%": share,
                     "gradient_native": float(np.mean(np.hypot(*_gradient(luma)))),
                     "gradient_resized": float(np.mean(np.hypot(*_gradient(small))))})  # fmt: skip
    return pd.DataFrame(rows)
