"""The whole method as one object: :class:`Codec`.

::

    x --ComCNN--> x_compact --8-bit--> JPEG(quality) --decode--> x_compact_hat
      --bicubic x2--> x_up --RecCNN--> x_hat

Grayscale images take that path. Colour images (``(H, W, 3)`` RGB) are coded
as YCbCr (JFIF's full-range BT.601, :func:`comp_lib.jpeg.rgb_to_ycbcr`): the
luma takes the path above; the chroma planes, by default (``chroma="jpeg"``),
are downsampled x2 (bicubic, antialiased) and coded by JPEG alone, with the
chrominance table at :func:`chroma_quality`, and upsampled x2 (bicubic) on
decoding; ``chroma="cnn"`` sends them through ComCNN and RecCNN like the luma.
On the 24 Kodak images the two are equal within 0.1 dB at equal rate (BD-rate of
``cnn`` against ``jpeg`` -0.5 %), and ``cnn`` runs RecCNN on three planes instead
of one, so ``jpeg`` is the default (``benchmarks/colour.py``,
``reports/tables/colour.md``: BD-rate -26.9 % against Pillow's colour JPEG).
The three half-resolution planes are stored as one 3-component JPEG file
(:func:`comp_lib.jpeg.encode_ycbcr`).

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

import hashlib
import math
import os
import re
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn

from comp_lib import jpeg
from comp_lib.config import WEIGHTS_DIR
from comp_lib.models import ComCNN, RecCNN, downsample, upsample

__all__ = [
    "BicubicCodec",
    "CHROMA_MODES",
    "COLOUR_MODES",
    "Codec",
    "FINGERPRINT_SIZE",
    "FORMAT_VERSION",
    "HEADER",
    "BitstreamJPEG",
    "Ladder",
    "load_model",
    "MAGIC",
    "MAX_NAME_LENGTH",
    "MAX_PIXELS",
    "MIN_SIZE",
    "chroma_quality",
    "compress_at_bpp",
    "header_size",
    "pack_header",
    "parse_header",
    "shipped_models",
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
_MAX_SIZE = 65535
#: Default limit on H * W (64 Mi pixels, e.g. 8192 x 8192): larger images are refused, by
#: ``compress`` and by the header check before anything is decoded, so that a forged
#: header cannot make the decoder allocate without bound. ``Codec.max_pixels`` changes it.
MAX_PIXELS = 2**26
_NAME = re.compile(r"[ -~]*")  # printable ASCII
_CHECKPOINT_FORMAT = "comp_lib.codec"
_CHECKPOINT_VERSION = 1
JPEG_MODES = ("real", "identity", "approx")
_DEFAULT = object()  # "the paper's network", as opposed to None: "leave it out"


def chroma_quality(quality: int) -> int:
    """JPEG quality of the chrominance table for a colour image coded at ``quality``.

    The same number, as libjpeg (and Pillow) use for colour JPEG. Measured on
    the 24 Kodak images (``benchmarks/colour.py``): ``q + 5`` and ``q + 10`` gain
    about 0.2 dB near 0.1 bpp but lose a little above 0.2 bpp (BD-rate against
    Pillow's JPEG -25.7 % and -23.7 %, against -26.9 % for ``q``).
    """
    return jpeg.check_quality(quality)


def _check_input(image: object, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy.ndarray, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 3:
        colour = True
    elif image.ndim == 2:
        colour = False
    else:
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
    if h > _MAX_SIZE or w > _MAX_SIZE:
        raise ValueError(f"image sides must be at most {_MAX_SIZE}, got {h}x{w}")
    if h * w > max_pixels:
        raise ValueError(
            f"image of {h}x{w} = {h * w} pixels is above the limit of {max_pixels} "
            "(Codec.max_pixels)"
        )
    return image if colour else jpeg._check_image(image)


def _clean_name(name: str | None) -> str | None:
    """A name fit for the header: printable ASCII, at most 32 characters (others replaced)."""
    if name is None:
        return None
    text = "".join(c if " " <= c <= "~" else "_" for c in str(name))[:MAX_NAME_LENGTH]
    return text or None


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


def shipped_models() -> list[str]:
    """Names of the models shipped in ``comp_lib/weights`` (``Codec.load(name)`` loads them)."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))


def _describe(name: str | None, fingerprint: str | None) -> str:
    who = f"model {name!r}" if name else "an unnamed model"
    return f"{who} (fingerprint {fingerprint})"


class _BitstreamCoder:
    """``compress``/``decompress`` shared by :class:`Codec` and :class:`BicubicCodec`.

    A subclass provides ``name``, ``fingerprint``, ``_compact_size``,
    ``_inference``, ``_to_tensor``, ``_analyse`` and ``_synthesise`` (the
    luma path), ``_down`` and ``_up`` (the bicubic path of the chroma).
    """

    max_pixels: int = MAX_PIXELS
    #: Default chroma coding of colour images: ``"jpeg"`` or ``"cnn"`` (see the module docstring).
    chroma: str = "jpeg"

    @property
    def header_size(self) -> int:
        """Bytes of the header of this codec's bitstreams."""
        return header_size(self.name)

    def _header(self, h: int, w: int, quality: int, colour: str) -> bytes:
        return pack_header(h, w, quality, colour, self.name, self.fingerprint)

    def compress(self, image: np.ndarray, quality: int, chroma: str | None = None) -> bytes:
        """Compress an 8-bit grayscale or RGB image to a self-describing bitstream.

        Parameters
        ----------
        image : numpy.ndarray
            ``(H, W)`` grayscale or ``(H, W, 3)`` RGB, ``uint8``, at least 8x8;
            odd sizes are fine.
        quality : int
            JPEG quality (1..95) for the compact image (the luma's, for colour).
        chroma : {"jpeg", "cnn"}, optional
            How the chroma of a colour image is coded (default: ``self.chroma``).

        Returns
        -------
        bytes
            Header + JPEG file of the compact image (see the module docstring).
        """
        image = _check_input(image, self.max_pixels)
        quality = jpeg.check_quality(quality)
        h, w = image.shape[:2]
        if image.ndim == 2:
            header = self._header(h, w, quality, "gray")
            with self._inference():
                compact = jpeg.tensor_to_uint8(self._analyse(self._to_tensor(image[None])))[0]
            return header + jpeg.encode(compact, quality)
        chroma = self.chroma if chroma is None else chroma
        if chroma not in CHROMA_MODES:
            raise ValueError(f"chroma must be one of {tuple(CHROMA_MODES)}, got {chroma!r}")
        header = self._header(h, w, quality, CHROMA_MODES[chroma])
        ycc = jpeg.rgb_to_ycbcr(image, dtype=np.float32)  # (H, W, 3), 0..255
        planes = np.moveaxis(ycc, -1, 0)  # (3, H, W)
        luma = np.clip(np.round(planes[:1]), 0, 255).astype(np.uint8)
        with self._inference():
            compact = [jpeg.tensor_to_uint8(self._analyse(self._to_tensor(luma)))]
            if chroma == "cnn":
                c8 = np.clip(np.round(planes[1:]), 0, 255).astype(np.uint8)
                compact.append(jpeg.tensor_to_uint8(self._analyse(self._to_tensor(c8))))
            else:
                c = self._to_tensor(planes[1:], scale=255.0)
                compact.append(jpeg.tensor_to_uint8(self._down(c)))
        stack = np.ascontiguousarray(np.moveaxis(np.concatenate(compact), 0, -1))
        return header + jpeg.encode_ycbcr(stack, quality, chroma_quality(quality))

    def decompress(self, data: bytes, check_model: bool = True) -> np.ndarray:
        """Decode a bitstream made by :meth:`compress` into a ``uint8`` image.

        Parameters
        ----------
        data : bytes
            A version 2 (or 1) bitstream.
        check_model : bool
            Refuse a version 2 file whose model fingerprint is not this
            codec's (default). ``False`` decodes it anyway, e.g. to try another
            RecCNN on the same compact images.

        Returns
        -------
        numpy.ndarray
            ``(H, W)`` for grayscale files, ``(H, W, 3)`` RGB for colour files.

        Raises
        ------
        ValueError
            For empty, truncated, corrupt or foreign data, or a file made by
            another model (the message names both).
        """
        header = parse_header(data, self.max_pixels)
        if check_model and header["fingerprint"] not in (None, self.fingerprint):
            made_by = header["model"]
            how = f"Codec.load({made_by!r})" if made_by else "the model that made it"
            raise ValueError(
                f"bitstream was made by {_describe(made_by, header['fingerprint'])}; "
                f"this codec is {_describe(self.name, self.fingerprint)}: decode it with {how}"
            )
        h, w = header["height"], header["width"]
        size = self._compact_size(h, w)
        if header["colour"] == "gray":
            compact = jpeg.decode(header["payload"], expected_size=size)
            with self._inference():
                x_hat = self._synthesise(self._to_tensor(compact[None]), (h, w))
            return jpeg.tensor_to_uint8(x_hat)[0]
        planes = np.moveaxis(jpeg.decode_ycbcr(header["payload"], expected_size=size), -1, 0)
        with self._inference():
            luma = self._synthesise(self._to_tensor(planes[:1]), (h, w))
            chroma = self._to_tensor(planes[1:])
            if header["colour"] == "ycbcr-cnn":
                chroma = self._synthesise(chroma, (h, w))
            else:
                chroma = self._up(chroma, (h, w))
            return _ycbcr_to_image(luma, chroma)


class Codec(_BitstreamCoder, nn.Module):
    """Jiang et al.'s end-to-end compression framework around a real JPEG codec.

    Jiang, Tao, Chen, Zhao and Zhao, "An End-to-End Compression Framework Based
    on Convolutional Neural Networks", IEEE TCSVT 2018 (arXiv:1708.00838)::

        x -> ComCNN -> x_compact -> JPEG -> x_compact_hat -> bicubic x2 -> x_up -> RecCNN -> x_hat

    The paper's ablations (Table I) are the same object with one network left out:
    ``Codec(comcnn, None)`` is *ComCNN only* (bicubic x2 is the reconstruction) and
    ``Codec(None, reccnn)`` is *RecCNN only* (JPEG at full size, RecCNN as a
    post-filter: ``x -> JPEG -> RecCNN -> x_hat``).

    Parameters
    ----------
    comcnn : ComCNN or None, optional
        Defaults to the paper's network; ``None`` leaves it out.
    reccnn : RecCNN or None, optional
        Defaults to the paper's 20-layer network; ``None`` leaves it out.
    metadata : dict, optional
        Free-form description (data, scheme, ...) stored with :meth:`save`.
    name : str, optional
        The model's name, written into every bitstream header (printable ASCII,
        at most 32 characters); default ``metadata["name"]`` if any.
        :meth:`save` stores it; :meth:`load` falls back on the file's stem.

    Attributes
    ----------
    fingerprint : str
        16 hex digits identifying the weights (see :attr:`fingerprint`).
    chroma : {"jpeg", "cnn"}
        How :meth:`compress` codes the chroma of colour images (default ``"jpeg"``).
    precision : {"fp32", "bf16"}
        Arithmetic of ``compress``/``decompress``: ``"bf16"`` runs the networks
        under CPU/CUDA bf16 autocast. Default fp32: on an AVX2 CPU bf16 is about
        ten times slower, and it moves the output (``reports/tables/kodak_speed.md``).
    channels_last : bool
        Use the channels_last memory format on the CPU (default; about 1.4x faster).
    tile : int
        Images larger than about ``tile`` x ``tile`` pixels go through the networks
        in overlapping tiles (the overlap covers the receptive field, so the
        result is the same up to float rounding); this bounds memory for large photos.
    max_pixels : int
        Largest ``H * W`` that ``compress`` and ``decompress`` accept (:data:`MAX_PIXELS`).

    Examples
    --------
    >>> codec = Codec.load("rec32x20")                   # doctest: +SKIP
    >>> data = codec.compress(image, quality=10)         # doctest: +SKIP
    >>> x_hat = codec.decompress(data)                   # doctest: +SKIP
    >>> bpp = 8 * len(data) / (image.shape[0] * image.shape[1])   # doctest: +SKIP
    """

    precision: str = "fp32"
    channels_last: bool = True
    tile: int = 1024

    def __init__(
        self,
        comcnn: ComCNN | None = _DEFAULT,
        reccnn: RecCNN | None = _DEFAULT,
        metadata: dict | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__()
        self.comcnn = ComCNN() if comcnn is _DEFAULT else comcnn
        self.reccnn = RecCNN() if reccnn is _DEFAULT else reccnn
        if self.comcnn is None and self.reccnn is None:
            raise ValueError("a Codec needs ComCNN, RecCNN or both (without either it is JPEG)")
        if not isinstance(self.comcnn, (ComCNN, type(None))):
            raise TypeError(f"comcnn must be a ComCNN or None, got {type(self.comcnn).__name__}")
        if not isinstance(self.reccnn, (RecCNN, type(None))):
            raise TypeError(f"reccnn must be a RecCNN or None, got {type(self.reccnn).__name__}")
        self.metadata = dict(metadata or {})
        if name is not None and (
            not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name)
        ):
            raise ValueError(
                f"name must be printable ASCII of at most {MAX_NAME_LENGTH} characters, "
                f"got {name!r}"
            )
        self.name = _clean_name(name) or _clean_name(self.metadata.get("name"))
        self.diff_jpeg = jpeg.DiffJPEG()
        self._fingerprint: tuple[tuple, str] | None = None

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def fingerprint(self) -> str:
        """Identity of the weights: the first 8 bytes of a sha256 over them, as 16 hex digits.

        Hashes every floating-point tensor of both networks' state dicts (name,
        shape, float32 values in a fixed layout), not their configuration, so it
        does not depend on the device, the memory format or how the codec was
        loaded. Computed once and cached until a weight changes (in-place
        updates are noticed through the tensors' version counters).
        """
        tensors = [
            (f"{key}.{k}", t)
            for key, net in (("comcnn", self.comcnn), ("reccnn", self.reccnn))
            if net is not None
            for k, t in net.state_dict().items()
            if t.is_floating_point()
        ]
        state = tuple((k, t.data_ptr(), t._version, t.dtype) for k, t in tensors)
        if self._fingerprint is None or self._fingerprint[0] != state:
            digest = hashlib.sha256(b"comp_lib.codec fingerprint 1\n")
            digest.update(
                f"comcnn {self.comcnn is not None} reccnn {self.reccnn is not None}\n".encode()
            )
            for k, t in tensors:
                a = t.detach().to("cpu", torch.float32).contiguous().numpy()
                digest.update(f"{k} {tuple(a.shape)}\n".encode())
                digest.update(a.tobytes())
            self._fingerprint = (state, digest.digest()[:FINGERPRINT_SIZE].hex())
        return self._fingerprint[1]

    def _compact_size(self, h: int, w: int) -> tuple[int, int]:
        return (h, w) if self.comcnn is None else ((h + 1) // 2, (w + 1) // 2)

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """``x -> x_compact``: ComCNN, or the image itself when ComCNN is left out."""
        return x if self.comcnn is None else self.comcnn(x)

    def synthesis(self, x_compact_hat: torch.Tensor, size: tuple[int, int]) -> dict:
        """``x_compact_hat -> {x_up, x_hat}``: bicubic x2 (if ComCNN) then RecCNN (if any)."""
        x_up = x_compact_hat if self.comcnn is None else upsample(x_compact_hat, size)
        x_hat = x_up if self.reccnn is None else self.reccnn(x_up)
        return {"x_up": x_up, "x_hat": x_hat}

    # ------------------------------------------------------------------ training path

    def forward(
        self,
        x: torch.Tensor,
        quality: int = 10,
        jpeg_mode: str = "real",
        rounding: str = "ste",
    ) -> dict:
        """Run the whole method on a batch, for training and evaluation.

        Parameters
        ----------
        x : torch.Tensor
            ``(N, 1, H, W)`` images in [0, 1].
        quality : int
            JPEG quality of the codec in the middle.
        jpeg_mode : {"real", "identity", "approx"}
            The codec in the middle: ``"real"`` libjpeg on the 8-bit compact
            image (no gradient passes it; ComCNN gets none), ``"identity"`` (the
            paper's ComCNN step), or ``"approx"`` the differentiable
            :class:`~comp_lib.jpeg.DiffJPEG` with ``rounding``.

        Returns
        -------
        dict
            ``x_hat`` the reconstruction, ``x_compact`` ComCNN's output,
            ``x_compact_hat`` the decoded compact image, ``x_up`` its bicubic
            upsampling; with ``"real"`` also ``bpp``, a ``(N,)`` tensor of the
            real rate of each image's bitstream (this codec's header included).
        """
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected (N, 1, H, W) images, got shape {tuple(x.shape)}")
        quality = jpeg.check_quality(quality)
        x_compact = self.analysis(x)
        out = {"x_compact": x_compact}
        if jpeg_mode == "real":
            x_compact_hat, sizes = jpeg.roundtrip(x_compact, quality)
            n_bytes = torch.tensor(sizes, dtype=torch.float64) + self.header_size
            out["bpp"] = 8.0 * n_bytes / (x.shape[-2] * x.shape[-1])
        elif jpeg_mode == "identity":
            x_compact_hat = x_compact
        elif jpeg_mode == "approx":
            self.diff_jpeg.rounding = rounding
            x_compact_hat = self.diff_jpeg(torch.clamp(x_compact, 0.0, 1.0), quality)
        else:
            raise ValueError(f"jpeg_mode must be one of {JPEG_MODES}, got {jpeg_mode!r}")
        out["x_compact_hat"] = x_compact_hat
        out.update(self.synthesis(x_compact_hat, tuple(x.shape[-2:])))
        return out

    # ------------------------------------------------------------------ codec API

    @contextmanager
    def _inference(self) -> Iterator[None]:
        """Eval mode, no autograd, channels_last weights on the CPU, bf16 autocast if asked.

        channels_last made the 20-layer RecCNN about 1.4x faster on a 2-core
        CPU (benchmarks/codec_speed.py) and changes outputs by about 1e-5.
        """
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        was_training = self.training
        self.eval()
        if self.device.type == "cpu":
            fmt = torch.channels_last if self.channels_last else torch.contiguous_format
            self.to(memory_format=fmt)
        autocast = (
            torch.autocast(self.device.type, dtype=torch.bfloat16)
            if self.precision == "bf16"
            else nullcontext()
        )
        try:
            with torch.inference_mode(), autocast:
                yield
        finally:
            self.train(was_training)

    def _to_tensor(self, planes: np.ndarray, scale: float = 255.0) -> torch.Tensor:
        """``(N, H, W)`` array -> ``(N, 1, H, W)`` float tensor divided by ``scale``."""
        return _to_tensor(planes, self.device, scale, self.channels_last)

    def _analyse(self, x: torch.Tensor) -> torch.Tensor:
        if self.comcnn is None:
            return x
        return _tiled(self.comcnn, x, self.tile, halo=8, align=2, factor=2).float()

    def _synthesise(self, x_compact_hat: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        x_up = self._up(x_compact_hat, size)
        if self.reccnn is None:
            return x_up
        c = self.reccnn.config
        align = 2 ** c.get("pooling", 0) * c.get("shuffle", 1)
        halo = _round_up((c["depth"] + 2) * align, max(8, align))
        return _tiled(self.reccnn, x_up, self.tile, halo, align).float()

    def _down(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.comcnn is None else downsample(x)

    def _up(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return x if self.comcnn is None else upsample(x, size)

    # ------------------------------------------------------------------ persistence

    def state(self) -> dict:
        """Everything :meth:`save` writes: configs, state dicts, name and metadata."""
        return {
            "format": _CHECKPOINT_FORMAT,
            "version": _CHECKPOINT_VERSION,
            "comcnn_config": None if self.comcnn is None else dict(self.comcnn.config),
            "reccnn_config": None if self.reccnn is None else dict(self.reccnn.config),
            "comcnn": _weights(self.comcnn),
            "reccnn": _weights(self.reccnn),
            "name": self.name,
            "metadata": self.metadata,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the codec to ``path`` atomically (a temporary file renamed into place)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(self.state(), f)
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; a saved model is an ordinary file
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def from_state(cls, state: dict, source: str = "state") -> Codec:
        """Build a codec from the dict :meth:`state` returns, with clear errors."""
        if not isinstance(state, dict) or state.get("format") != _CHECKPOINT_FORMAT:
            raise ValueError(f"{source} is not a comp_lib codec checkpoint")
        if state.get("version") != _CHECKPOINT_VERSION:
            raise ValueError(f"{source}: unsupported checkpoint version {state.get('version')!r}")
        try:
            configs = state["comcnn_config"], state["reccnn_config"]
            comcnn = None if configs[0] is None else ComCNN(**configs[0])
            reccnn = None if configs[1] is None else RecCNN(**configs[1])
        except (KeyError, TypeError) as err:
            raise ValueError(f"{source}: bad network configuration: {err}") from None
        try:
            for net, key in ((comcnn, "comcnn"), (reccnn, "reccnn")):
                if net is not None:
                    net.load_state_dict(state[key])
        except (KeyError, RuntimeError) as err:
            first = str(err).strip().splitlines()
            raise ValueError(
                f"{source}: weights do not fit the networks they describe: "
                f"{first[-1].strip() if first else err}"
            ) from None
        try:
            codec = cls(comcnn, reccnn, metadata=state.get("metadata"))
        except ValueError as err:
            raise ValueError(f"{source}: {err}") from None
        codec.name = _clean_name(state.get("name")) or codec.name
        return codec

    @classmethod
    def load(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Codec:
        """Load a codec saved by :meth:`save`, or a shipped model by name.

        Parameters
        ----------
        path : str or path-like
            A checkpoint file, or the name of a model in ``comp_lib/weights``
            (:func:`shipped_models`).
        map_location
            Passed to :func:`torch.load`.

        The codec's :attr:`name` is the one it was saved with (a training run
        saves its run folder's name, :func:`comp_lib.train.ship` the shipped
        name), else the file's stem (printable ASCII, at most 32 characters;
        others are replaced by ``_``). So a run's ``best.pt`` writes the same
        header, and the same rate, as the codec that was validated in training.
        """
        file = Path(path)
        if not file.is_file():
            shipped = WEIGHTS_DIR / f"{path}.pt"
            if str(path) in shipped_models() and shipped.is_file():
                file = shipped
            else:
                raise FileNotFoundError(
                    f"no checkpoint file {str(path)!r} and no shipped model of that name "
                    f"(shipped: {', '.join(shipped_models()) or 'none yet'})"
                )
        try:
            state = torch.load(file, map_location=map_location, weights_only=True)
        except Exception as err:  # torch raises many types for foreign files
            raise ValueError(f"{file} is not a readable torch checkpoint: {err}") from None
        codec = cls.from_state(state, source=str(file)).to(map_location)
        codec.name = codec.name or _clean_name(file.stem)
        return codec


class BicubicCodec(_BitstreamCoder):
    """The no-learning baseline with the same bitstream: bicubic /2 -> JPEG -> bicubic x2.

    ::

        x -> bicubic /2 (antialiased) -> 8-bit -> JPEG -> bicubic x2 -> x_hat

    What ComCNN and RecCNN replace; trained networks must beat it to be worth
    their cost. ``compress`` and ``decompress`` behave as :class:`Codec`'s
    (colour included: its two chroma modes are the same here). Its bitstreams
    name the model ``"bicubic"``.
    """

    device = torch.device("cpu")
    name = "bicubic"
    #: Fixed: there are no weights to hash.
    fingerprint = hashlib.sha256(b"comp_lib.codec.BicubicCodec").digest()[:FINGERPRINT_SIZE].hex()

    @staticmethod
    def _compact_size(h: int, w: int) -> tuple[int, int]:
        return (h + 1) // 2, (w + 1) // 2

    @contextmanager
    def _inference(self) -> Iterator[None]:
        with torch.inference_mode():
            yield

    def _to_tensor(self, planes: np.ndarray, scale: float = 255.0) -> torch.Tensor:
        return _to_tensor(planes, self.device, scale)

    def _analyse(self, x: torch.Tensor) -> torch.Tensor:
        return downsample(x)

    def _synthesise(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return upsample(x, size)

    _down, _up = _analyse, _synthesise


class BitstreamJPEG(_BitstreamCoder):
    """Plain JPEG in this package's bitstream: no networks, no resampling.

    ::

        x -> 8-bit -> JPEG -> x_hat

    The anchor (:class:`comp_lib.codecs.JPEGCodec`, same settings) behind this
    package's header, so that a :class:`Ladder`
    can fall back on JPEG where no network beats it (at high rates). The rate
    is JPEG's plus the header (:func:`header_size` of ``"jpeg"``: 23 bytes).
    Its bitstreams name the model ``"jpeg"``.
    """

    device = torch.device("cpu")
    name = "jpeg"
    #: Fixed: there are no weights to hash.
    fingerprint = hashlib.sha256(b"comp_lib.codec.BitstreamJPEG").digest()[:FINGERPRINT_SIZE].hex()

    @staticmethod
    def _compact_size(h: int, w: int) -> tuple[int, int]:
        return h, w

    _inference = BicubicCodec._inference

    def _to_tensor(self, planes: np.ndarray, scale: float = 255.0) -> torch.Tensor:
        return _to_tensor(planes, self.device, scale)

    def _analyse(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _synthesise(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return x

    _down, _up = _analyse, _synthesise


#: Coders without weights, by the name their bitstreams carry.
FIXED_CODERS = {"jpeg": BitstreamJPEG, "bicubic": BicubicCodec}


def load_model(name: str):
    """A shipped model (:meth:`Codec.load`, eval mode), or the fixed coder of that name.

    The fixed coders (:data:`FIXED_CODERS`) are ``"jpeg"`` and ``"bicubic"``.
    """
    if name in FIXED_CODERS:
        return FIXED_CODERS[name]()
    return Codec.load(name).eval()


class Ladder:
    """Several codecs as one rate ladder: setting ``i`` is rung ``i``, a (model, quality) pair.

    Which of Jiang et al.'s configurations wins depends on the rate: the
    down/up-sampling framework (``x -> ComCNN -> JPEG -> bicubic -> RecCNN``)
    wins at the lowest rates, a full-resolution RecCNN post-filter (the paper's
    *RecCNN only*, ``x -> JPEG -> RecCNN``) above them. A ladder offers each
    rate from the model that codes it best: its rungs, sorted by rate, are the
    points of the models' upper PSNR envelope, chosen on *validation* images
    (:func:`comp_lib.evaluate.choose_ladder`), never on the test set.

    Every bitstream names the model that made it, so :meth:`decompress` needs no
    setting: it decodes with the rung model named in the header.

    Parameters
    ----------
    codecs : dict of str to Codec
        The models, by name (each codec's :attr:`Codec.name` must be its key).
    rungs : list of (str, int)
        ``(model name, inner JPEG quality)``, from the lowest rate to the highest.
    name : str
        The ladder's name (e.g. its file stem in ``comp_lib/weights``).
    bpp : list of float, optional
        Each rung's mean rate on the validation images it was chosen on (shown
        to users picking a rung; :meth:`setting_for_bpp`).
    """

    def __init__(self, codecs: dict, rungs: list, name: str = "ladder", bpp=None) -> None:
        if not rungs:
            raise ValueError("a Ladder needs at least one rung")
        for model, quality in rungs:
            if model not in codecs:
                raise ValueError(f"rung ({model!r}, {quality}): no codec named {model!r}")
            jpeg.check_quality(quality)
        for key, codec in codecs.items():
            if codec.name != key:
                raise ValueError(f"codec under {key!r} writes the name {codec.name!r}")
        if bpp is not None and len(bpp) != len(rungs):
            raise ValueError(f"{len(bpp)} rates for {len(rungs)} rungs")
        self.codecs = dict(codecs)
        self.rungs = [(str(m), int(q)) for m, q in rungs]
        self.name = name
        self.bpp = None if bpp is None else [float(b) for b in bpp]

    @property
    def settings(self) -> range:
        return range(len(self.rungs))

    def setting_for_bpp(self, target: float) -> int:
        """The highest rung whose validation rate is at most ``target`` (else the lowest)."""
        if self.bpp is None:
            raise ValueError(f"ladder {self.name!r} has no validation rates")
        below = [i for i, b in enumerate(self.bpp) if b <= target]
        return below[-1] if below else 0

    def compress(self, image: np.ndarray, setting: int, chroma: str | None = None) -> bytes:
        """Compress with rung ``setting`` (0 = the lowest rate); see :meth:`Codec.compress`."""
        if not 0 <= int(setting) < len(self.rungs):
            raise ValueError(f"setting must be a rung 0..{len(self.rungs) - 1}, got {setting}")
        model, quality = self.rungs[int(setting)]
        return self.codecs[model].compress(image, quality, chroma=chroma)

    def decompress(self, data: bytes) -> np.ndarray:
        """Decode with the rung model the header names (another model's file is refused)."""
        model = parse_header(data)["model"]
        if model not in self.codecs:
            raise ValueError(
                f"bitstream was made by model {model!r}, which is not on ladder "
                f"{self.name!r} ({', '.join(self.codecs)})"
            )
        return self.codecs[model].decompress(data)

    def to_dict(self) -> dict:
        return {"name": self.name, "rungs": [list(r) for r in self.rungs], "bpp": self.bpp}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the ladder as JSON (the models are referred to by their shipped names)."""
        import json

        path = Path(path)
        d = self.to_dict()
        rungs = ",\n  ".join(json.dumps(r) for r in d["rungs"])
        path.write_text(f'{{\n "name": {json.dumps(d["name"])},\n "rungs": [\n  {rungs}\n ],\n'
                        f' "bpp": {json.dumps(d["bpp"])}\n}}\n')  # fmt: skip
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Ladder:
        """Load a ladder file, or a shipped ladder by name.

        Shipped ladders are ``comp_lib/weights/<name>.ladder.json``; their models
        are loaded by their shipped names (:func:`load_model`: :meth:`Codec.load`, or
        the fixed coders ``"jpeg"`` and ``"bicubic"``).
        """
        import json

        file = Path(path)
        if not file.is_file():
            file = WEIGHTS_DIR / f"{path}.ladder.json"
            if not file.is_file():
                shipped = sorted(p.name.removesuffix(".ladder.json")
                                 for p in WEIGHTS_DIR.glob("*.ladder.json"))  # fmt: skip
                raise FileNotFoundError(
                    f"no ladder file {str(path)!r} and no shipped ladder of that name "
                    f"(shipped: {', '.join(shipped) or 'none'})"
                )
        try:
            spec = json.loads(file.read_text())
            rungs = [(str(m), int(q)) for m, q in spec["rungs"]]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{file} is not a ladder file: {err}") from None
        codecs = {m: load_model(m) for m in dict.fromkeys(m for m, _ in rungs)}
        return cls(codecs, rungs, spec.get("name", file.stem), spec.get("bpp"))


def compress_at_bpp(codec, image: np.ndarray, bpp: float, chroma: str | None = None):
    """Compress at the highest setting whose real bytes fit in ``bpp`` bits per pixel.

    For a :class:`Codec` (or :class:`BicubicCodec`, :class:`BitstreamJPEG`) the setting is the inner
    JPEG quality, searched by bisection over 1..95 (JPEG's rate grows with its
    quality); for a :class:`Ladder`, every rung is tried (a few cheap
    compressions: the networks run at most once per model and rung). When even
    the lowest setting is over budget, the lowest setting's stream is returned.

    Returns
    -------
    (bytes, int)
        The bitstream and the setting that made it.
    """
    if not bpp > 0:
        raise ValueError(f"bpp must be > 0, got {bpp}")
    budget = bpp * image.shape[0] * image.shape[1] / 8

    def code(setting: int) -> bytes:
        return codec.compress(image, setting, chroma=chroma)

    if isinstance(codec, Ladder):
        best = None
        for setting in codec.settings:
            data = code(setting)
            if best is None or len(data) <= budget:
                best = (data, setting)
        return best
    lo, hi = 1, 95
    best = (code(lo), lo)
    if len(best[0]) > budget:
        return best
    while lo < hi:  # invariant: quality lo fits
        mid = (lo + hi + 1) // 2
        data = code(mid)
        if len(data) <= budget:
            lo, best = mid, (data, mid)
        else:
            hi = mid - 1
    return best


def _ycbcr_to_image(luma: torch.Tensor, chroma: torch.Tensor) -> np.ndarray:
    """``(1, 1, H, W)`` luma and ``(2, 1, H, W)`` chroma in [0, 1] -> ``(H, W, 3)`` uint8 RGB.

    The planes are clipped to their range, converted in float and rounded once.
    """
    ycc = torch.cat([luma, chroma]).float().clamp(0.0, 1.0).mul_(255.0)
    rgb = jpeg.ycbcr_to_rgb(ycc[:, 0].permute(1, 2, 0).cpu().numpy(), dtype=np.float32)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _weights(net: nn.Module | None) -> dict:
    return {} if net is None else {k: v.detach().cpu() for k, v in net.state_dict().items()}


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _tiled(
    net: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    tile: int,
    halo: int,
    align: int = 1,
    factor: int = 1,
) -> torch.Tensor:
    """Apply a fully convolutional ``net`` to ``x`` in overlapping tiles, to bound memory.

    ``net`` maps ``(N, C, H, W)`` to ``(N, C', ceil(H/factor), ceil(W/factor))``.
    Tiles of ``tile`` x ``tile`` output-aligned input pixels are extended by
    ``halo`` on each side (clipped at the image border) and only their centres
    are kept; with ``halo`` at least the receptive field's radius and tile
    corners aligned to ``align`` (pooling, pixel shuffle, stride), the result is
    the network's output on the whole image. Images that fit one tile with its
    halo go through in one piece.
    """
    h, w = x.shape[-2:]
    step = _round_up(max(tile, 2 * halo, 8), math.lcm(align, factor))
    halo = _round_up(halo, math.lcm(align, factor))
    if h <= step + 2 * halo and w <= step + 2 * halo:
        return net(x)
    out = None
    for y0 in range(0, h, step):
        for x0 in range(0, w, step):
            y1, x1 = min(y0 + step, h), min(x0 + step, w)
            ya, xa = max(0, y0 - halo), max(0, x0 - halo)
            part = net(x[..., ya : min(h, y1 + halo), xa : min(w, x1 + halo)])
            if out is None:
                shape = (*part.shape[:2], -(-h // factor), -(-w // factor))
                out = part.new_empty(shape)
            oy, ox = (y0 - ya) // factor, (x0 - xa) // factor
            ny, nx = -(-(y1 - y0) // factor), -(-(x1 - x0) // factor)
            out[..., y0 // factor : y0 // factor + ny, x0 // factor : x0 // factor + nx] = part[
                ..., oy : oy + ny, ox : ox + nx
            ]
    return out


def _to_tensor(
    planes: np.ndarray, device: torch.device, scale: float = 255.0, channels_last: bool = True
) -> torch.Tensor:
    """``(N, H, W)`` array -> ``(N, 1, H, W)`` float32 tensor divided by ``scale``."""
    planes = np.require(planes, requirements=["C", "W"])  # torch wants writable arrays
    x = torch.from_numpy(planes).to(device, torch.float32)[:, None] / scale
    if channels_last and device.type == "cpu":
        return x.contiguous(memory_format=torch.channels_last)
    return x
