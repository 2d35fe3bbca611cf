"""The whole method as one object: :class:`Codec`.

::

    x --ComCNN--> x_compact --8-bit--> JPEG(quality) --decode--> x_compact_hat
      --bicubic x2--> x_up --RecCNN--> x_hat

Bitstream (format version 1), all integers big-endian::

    offset  size  field
    0       3     magic b"CJR"
    3       1     format version (1)
    4       2     original height H (8..65535)
    6       2     original width W (8..65535)
    8       1     JPEG quality (1..95)
    9       ...   JPEG file of the ceil(H/2) x ceil(W/2) compact image

Rates are always computed from the whole bitstream, header included:
``bpp = 8 * len(data) / (H * W)``.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from comp_lib import jpeg
from comp_lib.config import WEIGHTS_DIR
from comp_lib.models import ComCNN, RecCNN, downsample, upsample

__all__ = ["BicubicCodec", "Codec", "HEADER", "MAGIC", "FORMAT_VERSION", "MIN_SIZE", "parse_header"]

MAGIC = b"CJR"
FORMAT_VERSION = 1
#: Header layout: magic, version, height, width, quality.
HEADER = struct.Struct(">3sBHHB")
#: Smallest image side the codec accepts.
MIN_SIZE = 8
_MAX_SIZE = 65535
_CHECKPOINT_FORMAT = "comp_lib.codec"
_CHECKPOINT_VERSION = 1
JPEG_MODES = ("real", "identity", "approx")
_DEFAULT = object()  # "the paper's network", as opposed to None: "leave it out"


def _check_input(image: object) -> np.ndarray:
    image = jpeg._check_image(image)
    h, w = image.shape
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(f"image must be at least {MIN_SIZE}x{MIN_SIZE}, got {h}x{w}")
    if h > _MAX_SIZE or w > _MAX_SIZE:
        raise ValueError(f"image sides must be at most {_MAX_SIZE}, got {h}x{w}")
    return image


def parse_header(data: bytes) -> dict:
    """Read and check the header of a bitstream.

    Returns
    -------
    dict
        ``version``, ``height``, ``width``, ``quality`` and ``payload`` (the JPEG bytes).

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
    if version != FORMAT_VERSION:
        raise ValueError(
            f"unsupported bitstream version {version} (this reader knows {FORMAT_VERSION})"
        )
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(f"corrupt header: image size {h}x{w} is below {MIN_SIZE}x{MIN_SIZE}")
    lo, hi = jpeg.QUALITY_RANGE
    if not lo <= quality <= hi:
        raise ValueError(f"corrupt header: quality {quality} outside {lo}..{hi}")
    payload = data[HEADER.size :]
    if not payload:
        raise ValueError("bitstream is truncated: no JPEG payload after the header")
    return {"version": version, "height": h, "width": w, "quality": quality, "payload": payload}


class Codec(nn.Module):
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

    Examples
    --------
    >>> codec = Codec.load("path/to/model.pt")          # doctest: +SKIP
    >>> data = codec.compress(image, quality=10)         # doctest: +SKIP
    >>> x_hat = codec.decompress(data)                   # doctest: +SKIP
    >>> bpp = 8 * len(data) / image.size                 # doctest: +SKIP
    """

    def __init__(
        self,
        comcnn: ComCNN | None = _DEFAULT,
        reccnn: RecCNN | None = _DEFAULT,
        metadata: dict | None = None,
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
        self.diff_jpeg = jpeg.DiffJPEG()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

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
            real rate of each image's bitstream (header included).
        """
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected (N, 1, H, W) images, got shape {tuple(x.shape)}")
        quality = jpeg.check_quality(quality)
        x_compact = self.analysis(x)
        out = {"x_compact": x_compact}
        if jpeg_mode == "real":
            x_compact_hat, sizes = jpeg.roundtrip(x_compact, quality)
            n_bytes = torch.tensor(sizes, dtype=torch.float64) + HEADER.size
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
        """Eval mode, no autograd and, on the CPU, channels_last weights.

        channels_last made the 20-layer RecCNN about 1.4x faster on a 2-core
        CPU (benchmarks/codec_speed.py) and changes outputs by about 1e-5.
        """
        was_training = self.training
        self.eval()
        if self.device.type == "cpu":
            self.to(memory_format=torch.channels_last)
        try:
            with torch.inference_mode():
                yield
        finally:
            self.train(was_training)

    def compress(self, image: np.ndarray, quality: int) -> bytes:
        """Compress an 8-bit grayscale image to a self-describing bitstream.

        Parameters
        ----------
        image : numpy.ndarray
            ``(H, W)`` ``uint8`` image, at least 8x8; odd sizes are fine.
        quality : int
            JPEG quality (1..95) for the compact image.

        Returns
        -------
        bytes
            Header + JPEG file of the compact image (see the module docstring).
        """
        image = _check_input(image)
        quality = jpeg.check_quality(quality)
        h, w = image.shape
        x = _to_tensor(image, self.device)
        with self._inference():
            compact = jpeg.tensor_to_uint8(self.analysis(x))[0]
        return HEADER.pack(MAGIC, FORMAT_VERSION, h, w, quality) + jpeg.encode(compact, quality)

    def decompress(self, data: bytes) -> np.ndarray:
        """Decode a bitstream made by :meth:`compress` into a ``(H, W)`` ``uint8`` image.

        Raises
        ------
        ValueError
            For empty, truncated, corrupt or foreign data.
        """
        header = parse_header(data)
        h, w = header["height"], header["width"]
        compact = jpeg.decode(header["payload"], expected_size=self._compact_size(h, w))
        x_compact_hat = _to_tensor(compact, self.device)
        with self._inference():
            x_hat = self.synthesis(x_compact_hat, (h, w))["x_hat"]
        return jpeg.tensor_to_uint8(x_hat)[0]

    # ------------------------------------------------------------------ persistence

    def state(self) -> dict:
        """Everything :meth:`save` writes: configs, state dicts and metadata."""
        return {
            "format": _CHECKPOINT_FORMAT,
            "version": _CHECKPOINT_VERSION,
            "comcnn_config": None if self.comcnn is None else dict(self.comcnn.config),
            "reccnn_config": None if self.reccnn is None else dict(self.reccnn.config),
            "comcnn": _weights(self.comcnn),
            "reccnn": _weights(self.reccnn),
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
            return cls(comcnn, reccnn, metadata=state.get("metadata"))
        except ValueError as err:
            raise ValueError(f"{source}: {err}") from None

    @classmethod
    def load(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Codec:
        """Load a codec saved by :meth:`save`, or a shipped model by name.

        Parameters
        ----------
        path : str or path-like
            A checkpoint file, or the name of a model in ``comp_lib/weights``.
        map_location
            Passed to :func:`torch.load`.
        """
        file = Path(path)
        if not file.is_file():
            shipped = WEIGHTS_DIR / f"{path}.pt"
            if shipped.is_file():
                file = shipped
            else:
                names = sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))
                raise FileNotFoundError(
                    f"no checkpoint file {str(path)!r} and no shipped model of that name "
                    f"(shipped: {', '.join(names) or 'none yet'})"
                )
        try:
            state = torch.load(file, map_location=map_location, weights_only=True)
        except Exception as err:  # torch raises many types for foreign files
            raise ValueError(f"{file} is not a readable torch checkpoint: {err}") from None
        return cls.from_state(state, source=str(file)).to(map_location)


class BicubicCodec:
    """The no-learning baseline with the same bitstream: bicubic /2 -> JPEG -> bicubic x2.

    ::

        x -> bicubic /2 (antialiased) -> 8-bit -> JPEG -> bicubic x2 -> x_hat

    What ComCNN and RecCNN replace; trained networks must beat it to be worth
    their cost. ``compress`` and ``decompress`` behave as :class:`Codec`'s.
    """

    device = torch.device("cpu")

    def compress(self, image: np.ndarray, quality: int) -> bytes:
        image = _check_input(image)
        quality = jpeg.check_quality(quality)
        with torch.inference_mode():
            compact = jpeg.tensor_to_uint8(downsample(_to_tensor(image, self.device)))[0]
        return HEADER.pack(MAGIC, FORMAT_VERSION, *image.shape, quality) + jpeg.encode(
            compact, quality
        )

    def decompress(self, data: bytes) -> np.ndarray:
        header = parse_header(data)
        h, w = header["height"], header["width"]
        compact = jpeg.decode(header["payload"], expected_size=((h + 1) // 2, (w + 1) // 2))
        with torch.inference_mode():
            return jpeg.tensor_to_uint8(upsample(_to_tensor(compact, self.device), (h, w)))[0]


def _weights(net: nn.Module | None) -> dict:
    return {} if net is None else {k: v.detach().cpu() for k, v in net.state_dict().items()}


def _to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(H, W)`` ``uint8`` array -> ``(1, 1, H, W)`` float tensor in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(image)).to(device, torch.float32)[None, None] / 255.0
    return x.contiguous(memory_format=torch.channels_last) if device.type == "cpu" else x
