"""The bitstream: a small header, then one JPEG file.

Bitstream (format version 2), all integers big-endian::

    offset   size  field
    0        3     magic b"CJR"
    3        1     format version (2)
    4        2     original height H (8..65535)
    6        2     original width W (8..65535)
    8        1     JPEG quality (1..95)
    9        1     colour mode: 0 gray, 1 YCbCr (chroma by JPEG), 2 YCbCr (chroma by the networks)
    10       1     n, length of the model name (0..32; 0: an unnamed model)
    11       n     model name, printable ASCII (the shipped name or the checkpoint's file stem)
    11+n     8     model fingerprint: first 8 bytes of the sha256 of the networks' weights
    19+n     ...   JPEG file of the ceil(H/2) x ceil(W/2) compact image(s):
                   1 component (gray) or 3 (Y, Cb, Cr, all at that size)

:func:`parse_header` reads it and checks every field before anything is
decoded: sizes (also against a pixel limit, :data:`MAX_PIXELS`), quality, mode,
the name's length and characters; the JPEG's own header must then announce
exactly the expected size and components. Any bad bitstream raises
:class:`ValueError`. :meth:`Codec.decompress` refuses a file whose fingerprint
is not its own, naming both models.

Version 1 files (the first 9 bytes above, then the JPEG file; grayscale only,
no model identity) are still decoded, by any codec: nothing in them says which
model made them.

Rates are always computed from the whole bitstream, header included:
``bpp = 8 * len(data) / (H * W)``.
"""

from __future__ import annotations

import re
import struct

import numpy as np

from comp_lib import jpeg

__all__ = [
    "CHROMA_MODES",
    "COLOUR_MODES",
    "FINGERPRINT_SIZE",
    "FORMAT_VERSION",
    "HEADER",
    "MAGIC",
    "MAX_NAME_LENGTH",
    "MAX_PIXELS",
    "MAX_SIZE",
    "MIN_SIZE",
    "READABLE_VERSIONS",
    "check_input",
    "chroma_quality",
    "clean_name",
    "describe_model",
    "header_size",
    "is_valid_name",
    "pack_header",
    "parse_header",
]

MAGIC = b"CJR"
#: The version :meth:`Codec.compress` writes; :func:`parse_header` reads 1 and 2.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
#: The fixed start of every header (versions 1 and 2): magic, version, height, width, quality.
#: A version 1 header is exactly this; version 2 goes on (see the module docstring).
HEADER = struct.Struct(">3sBHHB")
_V2 = struct.Struct(">BB")  # colour mode, name length
#: Bytes of the model fingerprint in a version 2 header.
FINGERPRINT_SIZE = 8
#: Longest model name a header holds.
MAX_NAME_LENGTH = 32
#: Colour modes of the header, by code.
COLOUR_MODES = ("gray", "ycbcr", "ycbcr-cnn")
#: How :meth:`Codec.compress` codes the chroma of colour images: the colour mode it writes.
CHROMA_MODES = {"jpeg": "ycbcr", "cnn": "ycbcr-cnn"}
#: Smallest image side the codec accepts.
MIN_SIZE = 8
#: Largest image side (the header's 16-bit fields).
MAX_SIZE = 65535
#: Default limit on H * W (64 Mi pixels, e.g. 8192 x 8192): larger images are refused, by
#: ``compress`` and by the header check before anything is decoded, so that a forged
#: header cannot make the decoder allocate without bound. ``Codec.max_pixels`` changes it.
MAX_PIXELS = 2**26
_NAME = re.compile(r"[ -~]*")  # printable ASCII


def chroma_quality(quality: int) -> int:
    """JPEG quality of the chrominance table for a colour image coded at ``quality``.

    The same number, as libjpeg (and Pillow) use for colour JPEG. Measured on
    the 24 Kodak images (``benchmarks/colour.py``): ``q + 5`` and ``q + 10`` gain
    about 0.2 dB near 0.1 bpp but lose a little above 0.2 bpp (BD-rate against
    Pillow's JPEG -25.7 % and -23.7 %, against -26.9 % for ``q``).
    """
    return jpeg.check_quality(quality)


def check_input(image: object, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy.ndarray, got {type(image).__name__}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        hint = (
            " (RGBA? drop or flatten the alpha channel first)" if image.shape[-1:] == (4,) else ""
        )
        raise ValueError(
            f"image must be 2-D grayscale (H, W) or colour RGB (H, W, 3), got shape "
            f"{image.shape}{hint}"
        )
    if image.dtype != np.uint8:
        hint = ""
        if image.dtype == np.uint16:
            hint = "; the codec codes 8 bits per sample: np.round(image / 257).astype(np.uint8)"
        raise TypeError(f"image must have dtype uint8, got {image.dtype}{hint}")
    if image.size == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    h, w = image.shape[:2]
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(f"image must be at least {MIN_SIZE}x{MIN_SIZE}, got {h}x{w}")
    if h > MAX_SIZE or w > MAX_SIZE:
        raise ValueError(f"image sides must be at most {MAX_SIZE}, got {h}x{w}")
    if h * w > max_pixels:
        raise ValueError(
            f"image of {h}x{w} = {h * w} pixels is above the limit of {max_pixels} "
            "(Codec.max_pixels)"
        )
    return image


def clean_name(name: str | None) -> str | None:
    """A name fit for the header: printable ASCII, at most 32 characters (others replaced)."""
    if name is None:
        return None
    text = "".join(c if " " <= c <= "~" else "_" for c in str(name))[:MAX_NAME_LENGTH]
    return text or None


def is_valid_name(name: object) -> bool:
    """True for a model name a header can hold: printable ASCII, at most 32 characters."""
    return isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and bool(_NAME.fullmatch(name))


def header_size(model: str | None = None) -> int:
    """Bytes of a version 2 header naming ``model`` (``None``: unnamed)."""
    return HEADER.size + _V2.size + len(model or "") + FINGERPRINT_SIZE


def pack_header(
    height: int,
    width: int,
    quality: int,
    colour: str = "gray",
    model: str | None = None,
    fingerprint: bytes | str = bytes(FINGERPRINT_SIZE),
    version: int = FORMAT_VERSION,
) -> bytes:
    """The header bytes (see the module docstring); the JPEG file follows them.

    Parameters
    ----------
    height, width, quality : int
        The image's size and the JPEG quality, packed as given (within their
        fields' widths, not checked otherwise), so that tests can forge headers.
    colour : {"gray", "ycbcr", "ycbcr-cnn"}
        The colour mode (:data:`COLOUR_MODES`).
    model : str, optional
        The model's name (printable ASCII, at most 32 characters); ``None``: unnamed.
    fingerprint : bytes or str
        The model's fingerprint: 8 bytes or 16 hex digits.
    version : {1, 2}
        ``1`` writes the old 9-byte header (grayscale only; ``colour``, ``model``
        and ``fingerprint`` must be left at their defaults).
    """
    try:
        head = HEADER.pack(MAGIC, version, height, width, quality)
    except struct.error as err:
        raise ValueError(f"header field out of range: {err}") from None
    if version == 1:
        if colour != "gray" or model is not None:
            raise ValueError("a version 1 header holds neither colour nor a model identity")
        return head
    if version != 2:
        raise ValueError(f"cannot write bitstream version {version}")
    if colour not in COLOUR_MODES:
        raise ValueError(f"colour must be one of {COLOUR_MODES}, got {colour!r}")
    fp = bytes.fromhex(fingerprint) if isinstance(fingerprint, str) else bytes(fingerprint)
    if len(fp) != FINGERPRINT_SIZE:
        raise ValueError(f"fingerprint must be {FINGERPRINT_SIZE} bytes, got {len(fp)}")
    if len(model or "") > MAX_NAME_LENGTH or not _NAME.fullmatch(model or ""):
        raise ValueError(f"model name must be printable ASCII of at most {MAX_NAME_LENGTH} "
                         f"characters, got {model!r}")  # fmt: skip
    name = (model or "").encode("ascii")
    return head + _V2.pack(COLOUR_MODES.index(colour), len(name)) + name + fp


def parse_header(data: bytes, max_pixels: int = MAX_PIXELS) -> dict:
    """Read and check the header of a bitstream (version 1 or 2).

    Parameters
    ----------
    data : bytes
        The whole bitstream.
    max_pixels : int
        Largest ``H * W`` accepted (:data:`MAX_PIXELS` by default).

    Returns
    -------
    dict
        ``version``, ``height``, ``width``, ``quality``, ``colour`` (one of
        :data:`COLOUR_MODES`), ``model`` (the name, or ``None`` for version 1
        files and unnamed models), ``fingerprint`` (16 hex digits, ``None`` for
        version 1), ``header_size`` and ``payload`` (the JPEG bytes).

    Raises
    ------
    TypeError
        If ``data`` is not bytes.
    ValueError
        If it is empty, truncated, foreign, of an unknown version or inconsistent.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) == 0:
        raise ValueError("bitstream is empty")
    if len(data) < HEADER.size:
        raise ValueError(
            f"bitstream is truncated: {len(data)} bytes, the header alone needs {HEADER.size}"
        )
    magic, version, h, w, quality = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ValueError(f"not a comp_lib bitstream: magic {magic!r}, expected {MAGIC!r}")
    if version not in READABLE_VERSIONS:
        raise ValueError(
            f"unsupported bitstream version {version} (this reader knows "
            f"{', '.join(map(str, READABLE_VERSIONS))})"
        )
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(f"corrupt header: image size {h}x{w} is below {MIN_SIZE}x{MIN_SIZE}")
    if h * w > max_pixels:
        raise ValueError(
            f"header announces a {h}x{w} image ({h * w} pixels), above the decoder's limit "
            f"of {max_pixels} pixels (corrupt, or set Codec.max_pixels)"
        )
    lo, hi = jpeg.QUALITY_RANGE
    if not lo <= quality <= hi:
        raise ValueError(f"corrupt header: quality {quality} outside {lo}..{hi}")
    out = {"version": version, "height": h, "width": w, "quality": quality, "colour": "gray",
           "model": None, "fingerprint": None}  # fmt: skip
    size = HEADER.size
    if version >= 2:
        if len(data) < size + _V2.size:
            raise ValueError(f"bitstream is truncated: {len(data)} bytes, inside the header")
        mode, n = _V2.unpack_from(data, size)
        if mode >= len(COLOUR_MODES):
            raise ValueError(f"corrupt header: unknown colour mode {mode}")
        if n > MAX_NAME_LENGTH:
            raise ValueError(f"corrupt header: model name length {n} > {MAX_NAME_LENGTH}")
        size += _V2.size + n + FINGERPRINT_SIZE
        if len(data) < size:
            raise ValueError(
                f"bitstream is truncated: {len(data)} bytes, the header alone needs {size}"
            )
        name = data[HEADER.size + _V2.size : HEADER.size + _V2.size + n].decode("latin-1")
        if not _NAME.fullmatch(name):
            raise ValueError(f"corrupt header: model name {name!r} is not printable ASCII")
        out.update(colour=COLOUR_MODES[mode], model=name or None,
                   fingerprint=data[size - FINGERPRINT_SIZE : size].hex())  # fmt: skip
    payload = data[size:]
    if not payload:
        raise ValueError("bitstream is truncated: no JPEG payload after the header")
    out.update(header_size=size, payload=payload)
    return out


def describe_model(name: str | None, fingerprint: str | None) -> str:
    who = f"model {name!r}" if name else "an unnamed model"
    return f"{who} (fingerprint {fingerprint})"
