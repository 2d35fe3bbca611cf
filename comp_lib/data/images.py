"""Reading images: RAW and ordinary files to grayscale, and files for the codec.

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
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from comp_lib.data.registry import dataset_dir

__all__ = [
    "ALPHA_POLICIES",
    "IMAGE_SUFFIXES",
    "LUMA",
    "RAW_SUFFIXES",
    "list_images",
    "load_dataset_gray",
    "load_gray",
    "load_image",
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
        A dataset key of :data:`comp_lib.data.registry.DATASETS`, e.g. ``"bsds300_test"``.
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
