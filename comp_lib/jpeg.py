"""The JPEG layer: the real codec (libjpeg through Pillow) and a differentiable approximation.

The real codec
--------------
:func:`encode` and :func:`decode` code 8-bit grayscale images with the libjpeg
(libjpeg-turbo) that Pillow ships. One setting is used everywhere in the study,
for the compact image inside our codec *and* for the JPEG anchor it is compared
with:

* baseline sequential JPEG (not progressive), one component (grayscale, i.e. 4:0:0);
* the standard IJG luminance quantization table scaled by ``quality`` (1..95);
* **optimized Huffman tables** (``optimize=True``), as ``cjpeg -optimize`` does.
  On BSDS300 this saves about 11% of the bytes at equal quality; since both sides
  of every comparison use it, neither gets that saving for free.

The files are ordinary JFIF files: every byte of them (markers, tables, JFIF
header) counts in the rate.

Colour (YCbCr)
--------------
:func:`encode_ycbcr` and :func:`decode_ycbcr` code three 8-bit planes that are
already YCbCr (no colour conversion by libjpeg) as one baseline JPEG file with
three components, all at full sampling (4:4:4 *inside* the file), the luma
table at ``quality`` and the IJG chrominance table (Annex K.2) at
``chroma_quality``, optimized Huffman tables. :func:`rgb_to_ycbcr` and
:func:`ycbcr_to_rgb` are JFIF's full-range ITU-R BT.601 transform, in floating
point. The colour codec (:mod:`comp_lib.coding`) stores its half-resolution
luma and chroma planes this way.

The differentiable approximation
--------------------------------
:class:`DiffJPEG` reproduces the lossy part of that codec in torch: level shift,
8x8 orthonormal DCT, quantization by the same table, dequantization, inverse DCT,
clipping and rounding to 8 bits. Rounding is replaced by a differentiable
function so that gradients can pass the codec in training:

* ``"ste"`` straight-through: forward ``round(x)``, backward identity;
* ``"cubic"`` Shin and Song (2017): ``round(x) + (x - round(x))**3`` forward and backward;
* ``"hard"`` exact rounding (no useful gradient), for measuring the approximation.

Entropy coding is lossless and has no effect on the decoded image, so it is not
modelled. ``benchmarks/jpeg_approx.py`` measures how close the approximation
comes to real libjpeg decodes (``reports/tables/diffjpeg_agreement.md``).
"""

from __future__ import annotations

import io
import numbers
import struct
import warnings

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import nn

from comp_lib.dct import block_dct, block_idct, dct_matrix

__all__ = [
    "OPTIMIZE",
    "QUALITY_RANGE",
    "CHROMA_TABLE",
    "LUMA_TABLE",
    "DiffJPEG",
    "check_quality",
    "decode",
    "decode_ycbcr",
    "diff_round",
    "encode",
    "encode_ycbcr",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
    "quant_table",
    "read_quant_tables",
    "quality_for_bpp",
    "roundtrip",
    "tensor_to_uint8",
]

#: Optimized Huffman tables: the one entropy-coding setting of the study.
OPTIMIZE = True

#: Valid ``quality`` values (inclusive). Above 95 libjpeg's tables degenerate to all-ones.
QUALITY_RANGE = (1, 95)

#: ITU-T T.81 Annex K.1 luminance quantization table (natural order), the IJG base table.
LUMA_TABLE = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.int64,
)

#: ITU-T T.81 Annex K.2 chrominance quantization table (natural order), the IJG base table.
CHROMA_TABLE = np.array(
    [
        [17, 18, 24, 47, 99, 99, 99, 99],
        [18, 21, 26, 66, 99, 99, 99, 99],
        [24, 26, 56, 99, 99, 99, 99, 99],
        [47, 66, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
    ],
    dtype=np.int64,
)

#: JFIF's full-range BT.601 RGB -> YCbCr matrix (rows Y, Cb, Cr); Cb and Cr are offset by 128.
RGB_TO_YCBCR = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.168735892, -0.331264108, 0.5],
        [0.5, -0.418687589, -0.081312411],
    ]
)
#: Its inverse (YCbCr -> RGB, after removing the 128 offset of Cb and Cr).
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)


def check_quality(quality: object) -> int:
    """Return ``quality`` as an ``int`` or raise a clear error.

    Raises
    ------
    TypeError
        If ``quality`` is not an integer.
    ValueError
        If it is outside :data:`QUALITY_RANGE`.
    """
    if isinstance(quality, bool) or not isinstance(quality, numbers.Integral):
        raise TypeError(f"quality must be an integer, got {type(quality).__name__} {quality!r}")
    lo, hi = QUALITY_RANGE
    if not lo <= int(quality) <= hi:
        raise ValueError(f"quality must be in {lo}..{hi}, got {quality}")
    return int(quality)


def quant_table(quality: int, chroma: bool = False) -> np.ndarray:
    """The 8x8 quantization table libjpeg uses at ``quality`` (natural order).

    Scaled exactly as libjpeg's ``jpeg_set_quality(..., force_baseline=TRUE)``:
    ``scale = 5000 / q`` below 50, else ``200 - 2 q``; each entry
    ``(base * scale + 50) // 100`` clamped to 1..255. The base is
    :data:`LUMA_TABLE`, or :data:`CHROMA_TABLE` with ``chroma=True``.
    """
    quality = check_quality(quality)
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    base = CHROMA_TABLE if chroma else LUMA_TABLE
    return np.clip((base * scale + 50) // 100, 1, 255)


def rgb_to_ycbcr(rgb: np.ndarray, dtype=np.float64) -> np.ndarray:
    """JFIF's full-range BT.601 transform: ``(..., 3)`` RGB -> ``(..., 3)`` YCbCr.

    Values stay on the 0..255 scale of the input (not rounded); Cb and Cr are
    centred on 128. ``Y`` is the BT.601 luma that :func:`comp_lib.data.load_gray`
    uses (up to Pillow's fixed-point rounding).
    """
    rgb = np.asarray(rgb, dtype=dtype)
    if rgb.shape[-1:] != (3,):
        raise ValueError(f"expected (..., 3) RGB values, got shape {rgb.shape}")
    ycc = rgb @ RGB_TO_YCBCR.T.astype(dtype)
    ycc[..., 1:] += 128.0
    return ycc


def ycbcr_to_rgb(ycc: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`: ``(..., 3)`` YCbCr -> ``(..., 3)`` RGB, not clipped."""
    ycc = np.array(ycc, dtype=dtype)
    if ycc.shape[-1:] != (3,):
        raise ValueError(f"expected (..., 3) YCbCr values, got shape {ycc.shape}")
    ycc[..., 1:] -= 128.0
    return ycc @ YCBCR_TO_RGB.T.astype(dtype)


def check_image(image: object) -> np.ndarray:
    """Check a 2-D ``uint8`` grayscale image for the codec (a clear error otherwise); return it."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy.ndarray, got {type(image).__name__}")
    if image.ndim != 2:
        raise ValueError(
            f"image must be 2-D (grayscale H x W), got shape {image.shape}; "
            "convert colour images to grayscale first"
        )
    if image.dtype != np.uint8:
        raise TypeError(f"image must have dtype uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    return image


def encode(image: np.ndarray, quality: int) -> bytes:
    """Encode an 8-bit grayscale image as a baseline JPEG file with the study's settings.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)`` ``uint8`` image.
    quality : int
        IJG quality factor, 1..95.

    Returns
    -------
    bytes
        A complete JFIF file.
    """
    image = check_image(image)
    quality = check_quality(quality)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), mode="L").save(
        buf, format="JPEG", quality=quality, optimize=OPTIMIZE, progressive=False
    )
    return buf.getvalue()


def decode(data: bytes, expected_size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode JPEG bytes into a ``(H, W)`` ``uint8`` grayscale image.

    Parameters
    ----------
    data : bytes
        A JPEG file.
    expected_size : tuple of int, optional
        ``(H, W)`` the image must have; checked from the header *before* any
        pixel is decoded, so that a forged header cannot trigger a huge allocation.

    Raises
    ------
    ValueError
        If the bytes are empty, not a JPEG, truncated or corrupt, not grayscale,
        or not of ``expected_size``.
    """
    return _decode(data, expected_size, "L")


def read_quant_tables(data: bytes) -> np.ndarray:
    """The quantisation tables of a JPEG file, ``(K, 8, 8)`` in natural order, by table id.

    Read from the header alone: what a decoder knows of how coarsely the file was
    quantised, whatever made it. Table 0 is the luma's (a grayscale file's only one),
    table 1 the chroma's; for Pillow's files, table 0 is :func:`quant_table`. Raises
    ``ValueError`` if the bytes are not a readable JPEG or hold no table of 64 steps.
    """
    try:
        tables = _open(data, None, None).quantization
    except ValueError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError) as err:
        raise ValueError(f"corrupt or truncated JPEG data ({len(data)} bytes): {err}") from None
    if not tables or any(len(t) != 64 for t in tables.values()):
        raise ValueError("the JPEG header holds no 8x8 quantisation table")
    return np.stack([np.asarray(tables[k], dtype=np.int64).reshape(8, 8) for k in sorted(tables)])


def encode_ycbcr(planes: np.ndarray, quality: int, chroma_quality: int) -> bytes:
    """Encode three 8-bit YCbCr planes as one baseline JPEG file (4:4:4, no colour conversion).

    Parameters
    ----------
    planes : numpy.ndarray
        ``(H, W, 3)`` ``uint8``: Y, Cb, Cr.
    quality : int
        IJG quality of the luma table, 1..95.
    chroma_quality : int
        IJG quality of the chrominance table (used by Cb and Cr), 1..95.

    Returns
    -------
    bytes
        A complete JFIF file whose components are stored as given.
    """
    if not isinstance(planes, np.ndarray):
        raise TypeError(f"planes must be a numpy.ndarray, got {type(planes).__name__}")
    if planes.ndim != 3 or planes.shape[2] != 3 or planes.dtype != np.uint8 or planes.size == 0:
        raise ValueError(f"planes must be (H, W, 3) uint8, got {planes.shape} {planes.dtype}")
    tables = [quant_table(quality).ravel().tolist(),
              quant_table(chroma_quality, chroma=True).ravel().tolist()]  # fmt: skip
    h, w = planes.shape[:2]
    img = Image.frombytes("YCbCr", (w, h), np.ascontiguousarray(planes).tobytes())
    buf = io.BytesIO()
    img.save(buf, format="JPEG", qtables=tables, subsampling=0, optimize=OPTIMIZE,
             progressive=False)  # fmt: skip
    return buf.getvalue()


def _open(data: bytes, expected_size: tuple[int, int] | None, mode: str | None):
    """Open JPEG bytes and check size and mode from the header, before any pixel is decoded."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("JPEG data is empty")
    img = Image.open(io.BytesIO(bytes(data)), formats=["JPEG"])
    if expected_size is not None and (img.height, img.width) != tuple(expected_size):
        raise ValueError(
            f"JPEG image is {img.height}x{img.width}, expected "
            f"{expected_size[0]}x{expected_size[1]}"
        )
    if mode is not None and img.mode != mode:
        kind = "grayscale" if mode == "L" else "3-component YCbCr"
        raise ValueError(f"JPEG image is not {kind} (mode {img.mode})")
    return img


def _decode(data: bytes, expected_size: tuple[int, int] | None, mode: str) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = _open(data, expected_size, mode)
            if mode == "RGB":
                if len(getattr(img, "layer", ())) != 3:
                    raise ValueError("JPEG image does not have 3 components")
                img.draft("YCbCr", None)  # the planes as stored, no colour conversion
                if img.mode != "YCbCr":
                    raise ValueError("JPEG image cannot be read as YCbCr planes")
            img.load()
            out = np.asarray(img, dtype=np.uint8).copy()
    except ValueError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError) as err:
        raise ValueError(f"corrupt or truncated JPEG data ({len(data)} bytes): {err}") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        raise ValueError(f"JPEG image too large: {err}") from None
    except (OverflowError, struct.error, IndexError, KeyError) as err:
        # malformed markers that Pillow's parser does not turn into OSError
        raise ValueError(
            f"corrupt JPEG data ({len(data)} bytes): {type(err).__name__}: {err}"
        ) from None
    return out


def decode_ycbcr(data: bytes, expected_size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode a 3-component JPEG into its ``(H, W, 3)`` ``uint8`` YCbCr planes (no conversion).

    The counterpart of :func:`encode_ycbcr`. Size and components are checked
    from the header before any pixel is decoded, as in :func:`decode`.

    Raises
    ------
    ValueError
        If the bytes are not a 3-component YCbCr JPEG of ``expected_size``, or
        are truncated or corrupt.
    """
    return _decode(data, expected_size, "RGB")


def quality_for_bpp(image: np.ndarray, bpp: float) -> tuple[int, bytes]:
    """The JPEG ``quality`` whose rate on ``image`` is closest to ``bpp``.

    Rate grows with quality, so a bisection over 1..95 finds the two qualities
    that bracket the target; the closer one is returned with its bytes.

    Returns
    -------
    quality : int
    data : bytes
        The JPEG file at that quality (its rate is ``8 * len(data) / image.size``).
    """
    image = check_image(image)
    if not bpp > 0:
        raise ValueError(f"bpp must be positive, got {bpp}")
    cache: dict[int, bytes] = {}

    def rate(q: int) -> float:
        if q not in cache:
            cache[q] = encode(image, q)
        return 8 * len(cache[q]) / image.size

    lo, hi = QUALITY_RANGE
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if rate(mid) < bpp:
            lo = mid
        else:
            hi = mid
    best = min((lo, hi), key=lambda q: abs(rate(q) - bpp))
    return best, cache[best]


def tensor_to_uint8(x: torch.Tensor) -> np.ndarray:
    """``(N, 1, H, W)`` float tensor in [0, 1] -> ``(N, H, W)`` ``uint8`` array (rounded)."""
    x = torch.clamp(torch.round(x.detach().float() * 255.0), 0, 255)
    return x[:, 0].to(torch.uint8).cpu().numpy()


def roundtrip(x: torch.Tensor, quality: int) -> tuple[torch.Tensor, list[int]]:
    """Code each image of a batch with the real codec and decode it back.

    Parameters
    ----------
    x : torch.Tensor
        ``(N, 1, H, W)`` images in [0, 1]; rounded to 8 bits before coding.
    quality : int
        JPEG quality.

    Returns
    -------
    x_hat : torch.Tensor
        The decoded images, same shape, dtype and device as ``x``; no gradient.
    sizes : list of int
        Bytes of each JPEG file.
    """
    decoded, sizes = [], []
    for image in tensor_to_uint8(x):
        data = encode(image, quality)
        sizes.append(len(data))
        decoded.append(torch.from_numpy(decode(data)))
    return torch.stack(decoded)[:, None].to(x.device, x.dtype) / 255.0, sizes


# --------------------------------------------------------------------------- differentiable


def diff_round(x: torch.Tensor, rounding: str = "ste") -> torch.Tensor:
    """Round with a useful gradient.

    Parameters
    ----------
    rounding : {"ste", "cubic", "hard"}
        ``"ste"``: forward ``round(x)``, gradient 1 (straight-through estimator).
        ``"cubic"``: ``round(x) + (x - round(x))**3`` (Shin and Song, 2017), forward and backward.
        ``"hard"``: ``round(x)``, gradient 0.
    """
    if rounding == "ste":
        return x + (torch.round(x) - x).detach()
    if rounding == "cubic":
        r = torch.round(x).detach()
        return r + (x - r) ** 3
    if rounding == "hard":
        return torch.round(x)
    raise ValueError(f"rounding must be 'ste', 'cubic' or 'hard', got {rounding!r}")


class DiffJPEG(nn.Module):
    """Differentiable approximation of baseline grayscale JPEG (encode + decode).

    ::

        x in [0,1] (N,1,H,W) -> *255 - 128 -> pad to 8 (edge replication, as libjpeg)
          -> 8x8 DCT -> / Q(quality) -> round~ -> * Q -> inverse DCT -> + 128
          -> clip 0..255 -> round~ -> / 255 -> crop -> x_hat (N,1,H,W)

    ``round~`` is :func:`diff_round` with the chosen ``rounding``.

    Parameters
    ----------
    quality : int
        Default IJG quality factor (can be overridden per call).
    rounding : {"ste", "cubic", "hard"}
        Differentiable rounding used for the coefficients and the output pixels.
    """

    def __init__(self, quality: int = 10, rounding: str = "ste") -> None:
        super().__init__()
        self.quality = check_quality(quality)
        diff_round(torch.zeros(1), rounding)  # validates the name
        self.rounding = rounding
        self.register_buffer("dct", dct_matrix(), persistent=False)

    def forward(self, x: torch.Tensor, quality: int | None = None) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(
                f"DiffJPEG expects (N, 1, H, W) grayscale tensors, got {tuple(x.shape)}"
            )
        q = check_quality(self.quality if quality is None else quality)
        table = torch.as_tensor(quant_table(q), dtype=x.dtype, device=x.device)
        dct = self.dct.to(dtype=x.dtype)
        coef = block_dct(x * 255.0 - 128.0, dct)
        coef = diff_round(coef / table, self.rounding) * table
        y = block_idct(coef, tuple(x.shape[-2:]), dct)
        y = diff_round(torch.clamp(y + 128.0, 0.0, 255.0), self.rounding)
        return y / 255.0

    def extra_repr(self) -> str:
        return f"quality={self.quality}, rounding={self.rounding!r}"
