"""Reading images as 8-bit grayscale.

Grayscale conversion uses the ITU-R BT.601 luma weights of Pillow's ``L``
mode (``L = 0.299 R + 0.587 G + 0.114 B``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from comp_lib.config import dataset_dir

__all__ = ["IMAGE_SUFFIXES", "list_images", "load_gray", "load_dataset_gray"]

#: File suffixes read as ordinary images.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"not a folder: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def load_gray(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as a ``(H, W)`` ``uint8`` grayscale array (BT.601 luma)."""
    try:
        with Image.open(path) as img:
            return np.array(img.convert("L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"cannot read image {path}: {err}") from None


def load_dataset_gray(name: str, limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """``(stem, image)`` pairs of a dataset under the data folder, in grayscale.

    Parameters
    ----------
    name : str
        A dataset key of :data:`comp_lib.config.DATASETS`, e.g. ``"bsds300_test"``.
    limit : int, optional
        Read only the first ``limit`` images (sorted by file name).
    """
    files = list_images(dataset_dir(name))[:limit]
    if not files:
        raise FileNotFoundError(f"no images in dataset {name!r} ({dataset_dir(name)})")
    return [(p.stem, load_gray(p)) for p in files]
