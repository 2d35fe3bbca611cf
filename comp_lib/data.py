"""From photos (RAW or ordinary) to the study's datasets.

Reading
-------
:func:`read_image` returns any supported file as a float32 grayscale image in
``[0, 1]``:

* camera RAW files (NEF, CR2, CRW, DNG, ARW, ...) through rawpy/LibRaw:
  camera white balance, AHD demosaicing, sRGB primaries and gamma, 16 bits;
* ordinary images through Pillow (PNG, JPEG, BMP, TIFF, ...): 8- and 16-bit,
  grayscale, RGB, palette, CMYK; an alpha channel is ignored (the colour
  values are used as stored). TIFFs are read with tifffile, which keeps 16-bit
  colour; Pillow reads 16-bit *colour* PNGs at 8 bits per channel.

Colour becomes grayscale with the ITU-R BT.601 luma weights that Pillow's
``L`` mode uses: ``Y = 0.299 R + 0.587 G + 0.114 B`` (computed in float, not
rounded). :func:`load_gray` gives the 8-bit version the codec takes.

:func:`load_image` reads a file the way the codec's command line does: 8-bit
grayscale or RGB as stored (colour kept), 16-bit and float files reduced to 8
bits, alpha refused unless asked otherwise, with a notice for every change.

The corpus
----------
:func:`build_corpus` turns source folders into the study's datasets, as the
dissertation did with RAISE: a seeded random choice of ``n_images`` images,
stratified by category, grayscale, resized with antialiasing to ``size`` x
``size`` (stretched, or centre-cropped to a square first), a validation split,
and a test set (BSDS300 test at native size and at ``size`` x ``size``). The
result is cached under :func:`comp_lib.config.cache_dir` (arrays + an index
CSV) and rebuilt only when its inputs or parameters change. A file that
cannot be read is skipped and listed with the reason in the index; training
images that nearly duplicate a test image are dropped (or refused).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

from comp_lib.config import cache_dir, data_dir, dataset_dir

__all__ = [
    "CORPUS_VERSION",
    "Corpus",
    "IMAGE_SUFFIXES",
    "RAW_SUFFIXES",
    "build_corpus",
    "default_sources",
    "find_leaks",
    "holdout_images",
    "ALPHA_POLICIES",
    "list_images",
    "load_dataset_gray",
    "load_gray",
    "load_image",
    "native_tiles",
    "read_image",
    "read_raw_rgb",
    "resize",
    "thumbnail",
]

#: File suffixes read through Pillow / tifffile.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: File suffixes read through rawpy (LibRaw).
RAW_SUFFIXES = (
    ".nef", ".nrw", ".cr2", ".cr3", ".crw", ".dng", ".arw", ".srf", ".sr2",
    ".raf", ".orf", ".rw2", ".pef", ".srw", ".3fr", ".iiq", ".erf", ".kdc", ".mrw", ".x3f",
)  # fmt: skip
#: BT.601 luma weights (Pillow's ``L`` mode).
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)
#: Bumped whenever the corpus format or the preprocessing changes (invalidates caches).
CORPUS_VERSION = 1


# --------------------------------------------------------------------------- reading


def list_images(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Image and RAW files inside ``folder`` (optionally its subfolders), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"not a folder: {folder}")
    files = folder.rglob("*") if recursive else folder.iterdir()
    suffixes = IMAGE_SUFFIXES + RAW_SUFFIXES
    return sorted(p for p in files if p.is_file() and p.suffix.lower() in suffixes)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., :3].astype(np.float64) @ LUMA).astype(np.float32)


def read_raw_rgb(path: str | os.PathLike, half_size: bool = False, **options) -> np.ndarray:
    """Develop a camera RAW file into a 16-bit RGB array with rawpy (LibRaw).

    Defaults: camera white balance, sRGB primaries and transfer curve (gamma 2.4,
    slope 12.92), LibRaw's automatic brightening, 16 bits per channel. Extra
    ``options`` go to :meth:`rawpy.RawPy.postprocess` (e.g. ``gamma=(1, 1)``).

    Raises
    ------
    ValueError
        If LibRaw cannot read the file (not a RAW, truncated, unsupported camera).
    """
    import rawpy

    params = dict(
        use_camera_wb=True, output_color=rawpy.ColorSpace.sRGB, gamma=(2.4, 12.92), output_bps=16
    )
    params.update(options)
    try:
        with rawpy.imread(str(path)) as raw:
            return raw.postprocess(half_size=half_size, **params)
    except (rawpy.LibRawError, OSError, ValueError) as err:
        raise ValueError(f"cannot read RAW file {path}: {type(err).__name__}: {err}") from None


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    arr = tifffile.imread(path)
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[-1] not in (3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar configuration
    return arr


def _scale(arr: np.ndarray) -> np.ndarray:
    """Integer or float pixel values -> float in [0, 1] by their dtype's range."""
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.float32) / np.float32(np.iinfo(arr.dtype).max)
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def _read_pillow(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        img.load()
        mode = img.mode
        if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
            return np.asarray(img, dtype=np.uint16).astype(np.float32) / 65535.0
        if mode == "I":  # 32-bit integer: Pillow's mode for 16-bit grayscale in some files
            arr = np.asarray(img, dtype=np.int64)
            top = 65535.0 if arr.max() > 255 else 255.0
            return np.clip(arr, 0, top).astype(np.float32) / np.float32(top)
        if mode == "F":
            return np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
        if mode in ("1", "L", "LA", "La"):
            return np.asarray(img.getchannel(0) if mode != "1" else img.convert("L"),
                              dtype=np.float32) / 255.0  # fmt: skip
        if mode in ("P", "PA"):
            img = img.convert("RGBA")
        elif mode not in ("RGB", "RGBA", "RGBa", "RGBX"):
            img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV
        return _luma(np.asarray(img)) / np.float32(255.0)


def read_image(path: str | os.PathLike, half_size_raw: bool = False) -> np.ndarray:
    """Read a RAW or ordinary image file as a float32 grayscale image in [0, 1].

    Parameters
    ----------
    path : path-like
        The file; its suffix decides whether rawpy or Pillow reads it.
    half_size_raw : bool
        Develop RAW files at half size (2x2 Bayer blocks, no demosaicing):
        about 3x faster, and enough when the image is to be shrunk anyway.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it cannot be decoded (truncated, not an image, unsupported RAW).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() in RAW_SUFFIXES:
        return _luma(read_raw_rgb(path, half_size=half_size_raw)) / np.float32(65535.0)
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            try:
                arr = _read_tiff(path)
            except Exception:  # tifffile refuses some TIFFs that Pillow reads
                return _read_pillow(path)
            return _scale(arr) if arr.ndim == 2 else _luma(_scale(arr))
        return _read_pillow(path)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as err:
        raise ValueError(f"cannot read image {path}: {type(err).__name__}: {err}") from None


def load_gray(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as a ``(H, W)`` ``uint8`` grayscale array (BT.601 luma).

    For 8-bit colour files this is exactly Pillow's ``convert("L")``; other
    files go through :func:`read_image` and are rounded to 8 bits.
    """
    path = Path(path)
    if path.suffix.lower() in RAW_SUFFIXES + (".tif", ".tiff"):
        return np.clip(np.round(read_image(path) * 255.0), 0, 255).astype(np.uint8)
    try:
        with Image.open(path) as img:
            return np.array(img.convert("L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"cannot read image {path}: {err}") from None


#: What :func:`load_image` does with an image that has transparency.
ALPHA_POLICIES = ("refuse", "drop", "flatten")


def _to_uint8(arr: np.ndarray, notes: list[str]) -> np.ndarray:
    """Integer or float samples -> uint8, noting any reduction of bit depth."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.dtype != np.uint16 and 0 <= arr.min(initial=0) and arr.max(initial=0) <= 255:
            return arr.astype(np.uint8)  # 8-bit values in a wider container (Pillow's mode "I")
        notes.append("16-bit image reduced to 8 bits per sample (the codec is 8-bit)")
        return np.round(np.clip(arr, 0, 65535) * (255.0 / 65535.0)).astype(np.uint8)
    notes.append(f"{arr.dtype} image (taken as 0..1) reduced to 8 bits per sample")
    flat = np.clip(np.nan_to_num(arr.astype(np.float64)), 0.0, 1.0)
    return np.round(flat * 255.0).astype(np.uint8)


def _read_any(path: Path, notes: list[str]) -> np.ndarray:
    """Samples as stored: (H, W), (H, W, 2) gray + alpha, (H, W, 3) RGB or (H, W, 4) RGBA."""
    suffix = path.suffix.lower()
    if suffix in RAW_SUFFIXES:
        notes.append("camera RAW developed to sRGB (camera white balance)")
        return read_raw_rgb(path)
    if suffix in (".tif", ".tiff"):
        try:
            arr = _read_tiff(path)
        except Exception:  # tifffile refuses some TIFFs that Pillow reads
            arr = None
        if arr is not None:
            if arr.ndim == 3 and arr.shape[-1] > 4:
                raise ValueError(f"{arr.shape[-1]} samples per pixel are not an image we code")
            return arr
    with Image.open(path) as img:
        rawmode = img.tile[0][3] if img.tile else ""
        if img.format == "PNG" and isinstance(rawmode, str) and ";16" in rawmode:
            import imagecodecs  # Pillow reads 16-bit colour PNGs at 8 bits: keep all 16

            return np.asarray(imagecodecs.png_decode(path.read_bytes()))
        if img.format == "PPM" and isinstance(rawmode, tuple) and rawmode[-1] > 255:
            notes.append(f"image of maxval {rawmode[-1]} reduced to 8 bits per sample")
        img.load()
        orientation = img.getexif().get(0x0112, 1)  # EXIF Orientation
        if orientation not in (1, None):
            img = ImageOps.exif_transpose(img)
            notes.append(f"turned upright as its EXIF orientation ({orientation}) says")
        mode = img.mode
        if mode in ("1", "L", "I", "F") or mode.startswith("I;16"):
            sixteen = mode.startswith("I;16") or (isinstance(rawmode, str) and "16" in rawmode)
            arr = np.asarray(img.convert("L") if mode == "1" else img)
            return arr.astype(np.uint16) if sixteen else arr
        if mode in ("LA", "La"):
            return np.asarray(img.convert("LA"))
        if mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif mode in ("PA", "RGBa"):
            img = img.convert("RGBA")
        elif mode not in ("RGB", "RGBA"):
            img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX
        return np.asarray(img)


def load_image(path: str | os.PathLike, alpha: str = "refuse") -> tuple[np.ndarray, list[str]]:
    """Read an image file for the codec: ``uint8`` grayscale or RGB, and what was changed.

    * 8-bit grayscale, RGB, palette, CMYK, ... files: grayscale stays ``(H, W)``;
      everything else becomes ``(H, W, 3)`` RGB. A colour file whose three
      channels are equal everywhere is returned as grayscale (noted). Photos
      with an EXIF orientation are turned upright (noted), as viewers show them.
    * 16-bit files (PNG, TIFF, PGM/PPM), 32-bit integer and float files:
      reduced to 8 bits per sample, ``round(v * 255 / 65535)`` (noted).
      Camera RAW files are developed to 16-bit sRGB, then reduced.
    * An alpha channel that is fully opaque is dropped (nothing is lost). An
      image with transparency is handled by ``alpha``: ``"refuse"`` (default)
      raises, ``"drop"`` codes the colours as stored (what transparent pixels
      hide becomes visible), ``"flatten"`` composites the image onto white.

    Parameters
    ----------
    path : path-like
        Any file :func:`read_image` reads.
    alpha : {"refuse", "drop", "flatten"}
        What to do with transparency.

    Returns
    -------
    image : numpy.ndarray
        ``(H, W)`` or ``(H, W, 3)`` ``uint8``.
    notes : list of str
        One line per change made to the stored samples (empty if none).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it cannot be decoded, or has transparency and ``alpha="refuse"``
        (the message names the file and the ways out).
    """
    if alpha not in ALPHA_POLICIES:
        raise ValueError(f"alpha must be one of {ALPHA_POLICIES}, got {alpha!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    notes: list[str] = []
    try:
        arr = _read_any(path, notes)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as err:
        raise ValueError(f"cannot read image {path}: {type(err).__name__}: {err}") from None
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (2, 3, 4)):
        raise ValueError(f"cannot read image {path}: unsupported sample layout {arr.shape}")
    if arr.ndim == 3 and arr.shape[-1] in (2, 4):
        colour, opacity = arr[..., :-1], arr[..., -1]
        top = np.iinfo(arr.dtype).max if np.issubdtype(arr.dtype, np.integer) else 1.0
        if np.all(opacity >= top):
            arr = colour  # an opaque alpha channel holds nothing
        elif alpha == "refuse":
            raise ValueError(
                f"{path} has transparency (an alpha channel), which the codec cannot store; "
                "flatten it onto a background first (--alpha flatten puts it on white), or "
                "code the colours as stored with --alpha drop"
            )
        elif alpha == "drop":
            notes.append("alpha channel dropped: transparent areas show their stored colours")
            arr = colour
        else:
            notes.append("transparent areas flattened onto white")
            a = (opacity.astype(np.float64) / top)[..., None]
            flat = colour.astype(np.float64) * a + top * (1.0 - a)
            arr = flat.astype(np.float32) if top == 1.0 else np.round(flat).astype(arr.dtype)
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
    image = _to_uint8(arr, notes)
    if (
        image.ndim == 3
        and np.array_equal(image[..., 0], image[..., 1])
        and np.array_equal(image[..., 0], image[..., 2])
    ):
        notes.append("colour image with three equal channels coded as grayscale")
        image = image[..., 0]
    return np.ascontiguousarray(image), notes


def load_dataset_gray(name: str, limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """``(stem, image)`` pairs of a dataset under the data folder, as 8-bit grayscale.

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


# --------------------------------------------------------------------------- shaping


def resize(image: np.ndarray, size: int | tuple[int, int], crop: bool = False) -> np.ndarray:
    """Resize a float grayscale image with antialiasing (Pillow bicubic on float data).

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)`` float image.
    size : int or tuple
        Output side (square) or ``(height, width)``.
    crop : bool
        Centre-crop to a square first, instead of stretching the aspect ratio.
    """
    if image.ndim != 2:
        raise ValueError(f"resize expects a 2-D grayscale image, got shape {image.shape}")
    h, w = (size, size) if isinstance(size, int) else size
    if crop:
        side = min(image.shape)
        top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
        image = image[top : top + side, left : left + side]
    img = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F")
    out = np.asarray(img.resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)


def thumbnail(image: np.ndarray, side: int = 32) -> np.ndarray:
    """A high-pass, zero-mean, unit-norm ``side`` x ``side`` thumbnail, for near-duplicate search.

    The image shrunk to ``side`` minus the same image shrunk to ``side // 4`` and
    enlarged back: coarse layout (bright sky above, dark ground below) is removed,
    so unrelated photos do not correlate. On the default corpus against BSDS300
    test, unrelated pairs correlate at most 0.29; a test image re-encoded as JPEG
    quality 20 correlates 0.999 with itself, and with a 3% border cropped, 0.70-0.84.
    """
    t = resize(image, side).astype(np.float64)
    t -= resize(resize(image, max(1, side // 4)), side)
    t = t.ravel() - t.mean()
    norm = np.linalg.norm(t)
    return t / norm if norm > 0 else t


def find_leaks(
    train_thumbs: np.ndarray, test_thumbs: np.ndarray, threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """Pairs ``(train index, test index, r)`` whose thumbnails correlate above ``threshold``."""
    if len(train_thumbs) == 0 or len(test_thumbs) == 0:
        return []
    corr = np.asarray(train_thumbs) @ np.asarray(test_thumbs).T
    return [(int(i), int(j), float(corr[i, j])) for i, j in np.argwhere(corr > threshold)]


# --------------------------------------------------------------------------- corpus


@dataclass
class Corpus:
    """The study's datasets, as :func:`build_corpus` makes them.

    Attributes
    ----------
    train, val : numpy.ndarray
        ``(N, size, size)`` float32 grayscale images in [0, 1].
    test : numpy.ndarray
        ``(100, size, size)`` test images (BSDS300 test by default).
    test_native : list of numpy.ndarray
        The same test images at their native size.
    test_names : list of str
        File stems of the test images.
    index : pandas.DataFrame
        One row per source file considered: ``path``, ``sha256``, ``source``,
        ``category``, ``split`` (train, val, test, unused, skipped, dropped),
        ``position`` (row in its split's array), ``height``, ``width`` (original
        size), ``reason`` (why a file was skipped or dropped).
    params : dict
        The parameters it was built with (and the cache key).
    path : Path
        Its cache folder.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_native: list[np.ndarray]
    test_names: list[str]
    index: pd.DataFrame
    params: dict
    path: Path | None = None
    from_cache: bool = field(default=False, compare=False)

    def summary(self) -> pd.DataFrame:
        """Counts per split and source (``skipped`` and ``dropped`` included)."""
        return (
            self.index.groupby(["source", "split"]).size().unstack(fill_value=0).astype(int)
        ).reset_index()

    @property
    def index_sha256(self) -> str:
        """sha256 of the index as CSV: names this exact dataset in provenance records."""
        return hashlib.sha256(self.index.to_csv(index=False).encode()).hexdigest()

    def problems(self) -> pd.DataFrame:
        """Files that were skipped or dropped, with the reason."""
        bad = self.index[self.index.split.isin(["skipped", "dropped"])]
        return bad[["path", "source", "split", "reason"]].reset_index(drop=True)


def native_tiles(corpus: Corpus, split: str = "train", tile: int = 180) -> np.ndarray:
    """Tiles of a corpus split's source images at their native scale.

    :func:`build_corpus` stretches every image to ``size x size`` (the
    dissertation's protocol), which shrinks a 481x321 BSDS300 photo by 2.7x in
    one direction and 1.8x in the other. A codec tested at native size (the
    issue's standard protocol) is better trained at the scale it will see:
    this re-reads the same files (same draw, same split, same leakage guard),
    rounds them to 8 bits as the test images are, and cuts each into
    ``tile x tile`` tiles that cover it (overlapping when the side is not a
    multiple of ``tile``; 6 tiles for a 481x321 image). Files smaller than
    ``tile`` on a side are skipped with a warning.

    Parameters
    ----------
    corpus : Corpus
    split : {"train", "val"}
    tile : int
        Tile side (patches are drawn from tiles, so it bounds the patch size).

    Returns
    -------
    numpy.ndarray
        ``(N, tile, tile)`` float32 in [0, 1], in the split's order.
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    rows = corpus.index[corpus.index.split == split].sort_values("position")
    tiles = []
    for rel in rows.path:
        image = np.round(read_image(_absolute(rel)) * 255) / np.float32(255)
        h, w = image.shape
        if min(h, w) < tile:
            warnings.warn(f"{rel}: {w}x{h} is smaller than a {tile}x{tile} tile; skipped",
                          stacklevel=2)  # fmt: skip
            continue
        tops = np.linspace(0, h - tile, -(-h // tile)).round().astype(int)
        lefts = np.linspace(0, w - tile, -(-w // tile)).round().astype(int)
        tiles += [image[t : t + tile, s : s + tile] for t in tops for s in lefts]
    if not tiles:
        raise ValueError(f"no {split} image of the corpus is at least {tile}x{tile}")
    return np.stack(tiles).astype(np.float32)


def holdout_images(corpora: Sequence[Corpus]) -> list[tuple[str, np.ndarray]]:
    """Validation images that no corpus trains on, at native size, as 8-bit grayscale.

    Models trained on different corpora (say 500 and 600 images, whose
    validation splits differ) can be compared, or combined into a
    :class:`~comp_lib.codec.Ladder`, without the test set and without images
    any of them saw in training: the files in some corpus's ``val`` split and in
    no corpus's ``train`` split, sorted by path.
    """
    val, train = set(), set()
    for corpus in corpora:
        val |= set(corpus.index.path[corpus.index.split == "val"])
        train |= set(corpus.index.path[corpus.index.split == "train"])
    paths = sorted(val - train)
    if not paths:
        raise ValueError("every validation image of these corpora is in a training split")
    out = []
    for rel in paths:
        path = _absolute(rel)
        out.append((path.stem, load_gray(path)))
    return out


def default_sources() -> list[Path]:
    """The default training sources here: BSDS300 train (200) and Train400 (400).

    RAISE (the dissertation's source) cannot be downloaded offline; pass its
    folder of NEFs as ``sources`` instead.
    """
    return [dataset_dir("bsds300_train"), dataset_dir("train400")]


def _resolve(source: str | os.PathLike) -> Path:
    path = Path(source)
    return path if path.is_dir() else dataset_dir(str(source))


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(data_dir().resolve()))
    except ValueError:
        return str(path.resolve())


def _absolute(rel: str) -> Path:
    """The file an index ``path`` names: the inverse of :func:`_relative`."""
    return Path(rel) if Path(rel).is_absolute() else data_dir() / rel


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fingerprint(files: Iterable[Path]) -> list[tuple[str, int, int]]:
    out = []
    for p in files:
        st = p.stat()
        out.append((str(p.resolve()), st.st_size, st.st_mtime_ns))
    return out


def _read_categories(categories, files: Sequence[Path], sources: Sequence[Path]) -> list[str]:
    """Category of each file: from a CSV/dict keyed by file name or stem, else its source folder."""
    table: dict[str, str] = {}
    if isinstance(categories, (str, os.PathLike)):
        df = pd.read_csv(categories)
        if df.shape[1] < 2:
            raise ValueError(
                f"categories CSV {categories} needs a file column and a category column"
            )
        key, cat = df.columns[0], df.columns[-1]
        table = {str(Path(str(k)).stem): str(v) for k, v in zip(df[key], df[cat], strict=True)}
    elif isinstance(categories, dict):
        table = {str(Path(str(k)).stem): str(v) for k, v in categories.items()}
    out = []
    for f in files:
        source = next(s for s in sources if f.is_relative_to(s))
        out.append(table.get(f.stem, source.name))
    return out


def _allocate(counts: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` over categories in proportion to ``counts`` (largest remainder)."""
    available = sum(counts.values())
    total = min(total, available)
    if available == 0:
        return {k: 0 for k in counts}
    exact = {k: total * c / available for k, c in counts.items()}
    alloc = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (alloc[k] - exact[k], k))[: total - sum(alloc.values())]:
        alloc[k] += 1
    return alloc


def _cache_key(params: dict, fingerprint: list) -> str:
    blob = json.dumps({"params": params, "files": fingerprint}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _load_cached(folder: Path, key: str) -> Corpus | None:
    """The corpus in ``folder`` if it is complete and was built for ``key``, else None."""
    try:
        params = json.loads((folder / "params.json").read_text())
        if params.get("key") != key:
            return None
        with np.load(folder / "arrays.npz") as z:
            names = list(params["test_names"])
            corpus = Corpus(
                train=z["train"],
                val=z["val"],
                test=z["test"],
                test_native=[z[f"test_native_{i}"] for i in range(len(names))],
                test_names=names,
                index=pd.read_csv(folder / "index.csv", keep_default_na=False),
                params=params,
                path=folder,
                from_cache=True,
            )
        return corpus
    except (OSError, KeyError, ValueError, json.JSONDecodeError):
        return None


def _save(corpus: Corpus, folder: Path) -> None:
    """Write atomically: everything into a temporary folder, ``params.json`` last, then rename."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        arrays = {"train": corpus.train, "val": corpus.val, "test": corpus.test}
        arrays |= {f"test_native_{i}": a for i, a in enumerate(corpus.test_native)}
        np.savez(tmp / "arrays.npz", **arrays)
        corpus.index.to_csv(tmp / "index.csv", index=False)
        (tmp / "params.json").write_text(json.dumps(corpus.params, indent=2, default=str))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build_corpus(
    sources: Sequence[str | os.PathLike] | None = None,
    n_images: int = 500,
    size: int = 180,
    seed: int = 0,
    val_fraction: float = 0.1,
    crop: bool = False,
    test_source: str | os.PathLike = "bsds300_test",
    categories: str | os.PathLike | dict | None = None,
    leak_threshold: float = 0.5,
    on_leak: str = "drop",
    half_size_raw: bool = True,
    cache: bool = True,
    progress: bool = True,
) -> Corpus:
    """Build (or load from the cache) the study's training, validation and test sets.

    Parameters
    ----------
    sources : sequence of path or dataset name, optional
        Folders of RAW or ordinary images, searched recursively. Default:
        :func:`default_sources` (BSDS300 train + Train400).
    n_images : int
        Images to draw for training + validation (500, as the dissertation).
    size : int
        Side of the square study images (180, as the dissertation).
    seed : int
        Seeds the random choice and the split.
    val_fraction : float
        Share of the drawn images held out for validation (0.1).
    crop : bool
        Centre-crop to a square before resizing, instead of stretching.
    test_source : path or dataset name
        The test set (BSDS300 test): kept at native size and resized to ``size``.
    categories : CSV path or dict, optional
        File name (or stem) -> category, e.g. RAISE's CSV (first column: file,
        last column: category). Default: each file's source folder name.
    leak_threshold : float
        Correlation of :func:`thumbnail` s above which a training image counts as
        a near-duplicate of a test image (0.5: unrelated photos stay below 0.3,
        re-encoded or slightly cropped copies of a test image score 0.7-1.0).
    on_leak : {"drop", "error"}
        Drop such images (another image of the same category replaces each) or
        refuse to build.
    half_size_raw : bool
        Develop RAW files at half size (they are shrunk to ``size`` anyway).
    cache : bool
        Reuse / write the cache under :func:`comp_lib.config.cache_dir`.
    progress : bool
        Show a progress bar.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if n_images < 1 or size < 8:
        raise ValueError(f"need n_images >= 1 and size >= 8, got {n_images}, {size}")
    if on_leak not in ("drop", "error"):
        raise ValueError(f"on_leak must be 'drop' or 'error', got {on_leak!r}")
    source_dirs = [_resolve(s).resolve() for s in (sources or default_sources())]
    test_dir = _resolve(test_source).resolve()
    files = sorted({f.resolve() for s in source_dirs for f in list_images(s, recursive=True)})
    if not files:
        raise FileNotFoundError(f"no image files in {', '.join(map(str, source_dirs))}")
    test_files = list_images(test_dir)
    params = dict(
        version=CORPUS_VERSION,
        sources=[str(s) for s in source_dirs],
        n_images=n_images,
        size=size,
        seed=seed,
        val_fraction=val_fraction,
        crop=crop,
        test_source=str(test_dir),
        categories=categories if isinstance(categories, dict) else str(categories),
        leak_threshold=leak_threshold,
        on_leak=on_leak,
        half_size_raw=half_size_raw,
    )
    extra = [Path(categories)] if isinstance(categories, (str, os.PathLike)) else []
    key = _cache_key(params, _fingerprint(files + test_files + extra))
    folder = cache_dir() / f"corpus-{key[:16]}"
    if cache and (cached := _load_cached(folder, key)) is not None:
        return cached

    start = time.perf_counter()
    rows: list[dict] = []

    def row(path: Path, source: str, category: str, split: str, **kw) -> dict:
        r = dict(path=_relative(path), sha256="", source=source, category=category, split=split,
                 position=-1, height=0, width=0, reason="")  # fmt: skip
        r.update(kw)
        rows.append(r)
        return r

    # the test set first: the leakage guard compares every training image with it
    test_native, test_small, test_names, test_thumbs = [], [], [], []
    for path in tqdm(test_files, desc="test set", disable=not progress):
        try:
            image = read_image(path, half_size_raw=False)
        except ValueError as err:
            row(path, test_dir.name, test_dir.name, "skipped", reason=str(err))
            continue
        small = resize(image, size, crop=crop)
        row(path, test_dir.name, test_dir.name, "test", sha256=_sha256(path),
            position=len(test_names), height=image.shape[0], width=image.shape[1])  # fmt: skip
        test_native.append(image)
        test_small.append(small)
        test_names.append(path.stem)
        test_thumbs.append(thumbnail(small))
    test_thumbs_arr = np.array(test_thumbs)

    # a seeded, stratified draw: each category's files in a seeded random order, taken
    # until its quota is met; unreadable or leaking files are replaced by the next ones
    cats = _read_categories(categories, files, source_dirs)
    by_cat: dict[str, list[Path]] = {}
    for f, c in zip(files, cats, strict=True):
        by_cat.setdefault(c, []).append(f)
    quota = _allocate({c: len(v) for c, v in by_cat.items()}, n_images)
    rng = np.random.default_rng(seed)
    chosen: dict[str, list[tuple[Path, np.ndarray, dict]]] = {c: [] for c in by_cat}
    bar = tqdm(total=sum(quota.values()), desc="training images", disable=not progress)
    leaks = []
    for c in sorted(by_cat):
        pool = by_cat[c]
        source_of = {f: next(s.name for s in source_dirs if f.is_relative_to(s)) for f in pool}
        for i in rng.permutation(len(pool)):
            f = pool[i]
            if len(chosen[c]) >= quota[c]:
                row(f, source_of[f], c, "unused")
                continue
            try:
                image = read_image(f, half_size_raw=half_size_raw)
            except ValueError as err:
                row(f, source_of[f], c, "skipped", reason=str(err))
                continue
            small = resize(image, size, crop=crop)
            hit = find_leaks(thumbnail(small)[None], test_thumbs_arr, leak_threshold)
            if hit:
                _, j, r = max(hit, key=lambda t: t[2])
                reason = f"near-duplicate of test image {test_names[j]} (r={r:.3f})"
                leaks.append(f"{_relative(f)}: {reason}")
                row(f, source_of[f], c, "dropped", reason=reason)
                continue
            info = row(f, source_of[f], c, "train", sha256=_sha256(f),
                       height=image.shape[0], width=image.shape[1])  # fmt: skip
            chosen[c].append((f, small, info))
            bar.update()
    bar.close()
    if leaks and on_leak == "error":
        raise ValueError(
            f"{len(leaks)} training image(s) nearly duplicate test images; remove them or use "
            "on_leak='drop':\n  " + "\n  ".join(leaks)
        )
    n_drawn = sum(len(v) for v in chosen.values())
    if n_drawn == 0:
        raise ValueError("no readable training image in the sources")

    # stratified validation split
    n_val = _allocate({c: len(v) for c, v in chosen.items()}, round(val_fraction * n_drawn))
    train, val = [], []
    for c in sorted(chosen):
        order = rng.permutation(len(chosen[c]))
        for k, i in enumerate(order):
            _, small, info = chosen[c][i]
            target = val if k < n_val[c] else train
            info["split"] = "val" if target is val else "train"
            info["position"] = len(target)
            target.append(small)

    def stack(images: list[np.ndarray]) -> np.ndarray:
        return np.stack(images) if images else np.zeros((0, size, size), np.float32)

    params |= dict(
        key=key,
        test_names=test_names,
        n_train=len(train),
        n_val=len(val),
        n_test=len(test_names),
        n_skipped=sum(r["split"] == "skipped" for r in rows),
        n_dropped=len(leaks),
        build_seconds=round(time.perf_counter() - start, 2),
        shortfall=max(0, n_images - n_drawn),
    )
    corpus = Corpus(
        train=stack(train),
        val=stack(val),
        test=stack(test_small),
        test_native=test_native,
        test_names=test_names,
        index=pd.DataFrame(rows),
        params=params,
        path=folder if cache else None,
    )
    if cache:
        _save(corpus, folder)
    return corpus
