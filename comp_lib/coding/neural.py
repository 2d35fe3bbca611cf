"""Jiang et al.'s framework as one object: :class:`Codec` (ComCNN, JPEG, RecCNN).

::

    x --ComCNN--> x_compact --8-bit--> JPEG(quality) --decode--> x_compact_hat
      --bicubic x2--> x_up --RecCNN--> x_hat

``forward`` runs the method on a batch for training (the JPEG in the middle real,
the identity, or differentiable); ``compress``/``decompress`` (from
:class:`~comp_lib.coding.base.BitstreamCoder`) make and read real bytes, large
images in tiles (:mod:`comp_lib.coding.tiling`). Grayscale images take that
path. Colour images (``(H, W, 3)`` RGB) are coded as YCbCr (JFIF's full-range
BT.601, :func:`comp_lib.jpeg.rgb_to_ycbcr`): the luma takes the path above; the
chroma planes, by default (``chroma="jpeg"``), are downsampled x2 (bicubic,
antialiased) and coded by JPEG alone, with the chrominance table at
:func:`~comp_lib.coding.bitstream.chroma_quality`, and upsampled x2 (bicubic) on
decoding; ``chroma="cnn"`` sends them through ComCNN and RecCNN like the luma.
On the 24 Kodak images the two are equal within 0.1 dB at equal rate (BD-rate of
``cnn`` against ``jpeg`` -0.5 %), and ``cnn`` runs RecCNN on three planes instead
of one, so ``jpeg`` is the default (``benchmarks/colour.py``,
``reports/tables/colour.md``: BD-rate -26.9 % against Pillow's colour JPEG).
Checkpoints: :mod:`comp_lib.coding.checkpoint`; shipped models by name:
:mod:`comp_lib.zoo`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn

from comp_lib import jpeg
from comp_lib.coding.base import BitstreamCoder, to_tensor
from comp_lib.coding.bitstream import MAX_NAME_LENGTH, clean_name, is_valid_name
from comp_lib.coding.checkpoint import (
    build_networks,
    network_state,
    read_checkpoint,
    weights_fingerprint,
    write_checkpoint,
)
from comp_lib.coding.ensemble import SELF_ENSEMBLE_SIZES, self_ensemble
from comp_lib.coding.tiling import round_up, tiled
from comp_lib.models import RECONSTRUCTION_NETWORKS, ComCNN, RecCNN, downsample, upsample

__all__ = ["JPEG_MODES", "Codec", "use_self_ensemble"]

#: What stands for JPEG in :meth:`Codec.forward`.
JPEG_MODES = ("real", "identity", "approx")
_DEFAULT = object()  # "the paper's network", as opposed to None: "leave it out"
_NETWORK_NAMES = [cls.__name__ for cls in RECONSTRUCTION_NETWORKS.values()]


class Codec(BitstreamCoder, nn.Module):
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
    self_ensemble : {1, 2, 4, 8}
        Decoding only: average RecCNN over this many flips and transposes of its
        input (:mod:`comp_lib.coding.ensemble`); a little more PSNR for that many times
        its work, the bitstream unchanged. Default 1 (RecCNN once).
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
    self_ensemble: int = 1

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
        if not isinstance(self.reccnn, (*RECONSTRUCTION_NETWORKS.values(), type(None))):
            raise TypeError(
                f"reccnn must be a reconstruction network ({', '.join(_NETWORK_NAMES)}) or None, "
                f"got {type(self.reccnn).__name__}"
            )
        self.metadata = dict(metadata or {})
        if name is not None and not is_valid_name(name):
            raise ValueError(
                f"name must be printable ASCII of at most {MAX_NAME_LENGTH} characters, "
                f"got {name!r}"
            )
        self.name = clean_name(name) or clean_name(self.metadata.get("name"))
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
            t
            for net in (self.comcnn, self.reccnn)
            if net is not None
            for t in net.state_dict().values()
            if t.is_floating_point()
        ]
        state = tuple((t.data_ptr(), t._version, t.dtype) for t in tensors)
        if self._fingerprint is None or self._fingerprint[0] != state:
            self._fingerprint = (state, weights_fingerprint(self.comcnn, self.reccnn))
        return self._fingerprint[1]

    def compact_size(self, h: int, w: int) -> tuple[int, int]:
        return (h, w) if self.comcnn is None else ((h + 1) // 2, (w + 1) // 2)

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """``x -> x_compact``: ComCNN, or the image itself when ComCNN is left out."""
        return x if self.comcnn is None else self.comcnn(x)

    @property
    def quality_aware(self) -> bool:
        """Whether the reconstruction network reads the JPEG quantisation table."""
        return bool(getattr(self.reccnn, "quality_aware", False))

    def synthesis(self, x_compact_hat: torch.Tensor, size: tuple[int, int], quant=None) -> dict:
        """``x_compact_hat -> {x_up, x_hat}``: bicubic x2 (if ComCNN) then RecCNN (if any).

        ``quant``: the JPEG quantisation table(s), for a quality-aware RecCNN.
        """
        x_up = x_compact_hat if self.comcnn is None else upsample(x_compact_hat, size)
        x_hat = x_up if self.reccnn is None else self.reccnn(x_up, quant)
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
        quant = jpeg.quant_table(quality) if self.quality_aware else None  # what libjpeg wrote
        out.update(self.synthesis(x_compact_hat, tuple(x.shape[-2:]), quant))
        return out

    # ------------------------------------------------------------------ codec API

    @contextmanager
    def inference(self) -> Iterator[None]:
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

    def to_tensor(self, planes: np.ndarray, scale: float = 255.0) -> torch.Tensor:
        """``(N, H, W)`` array -> ``(N, 1, H, W)`` float tensor divided by ``scale``."""
        return to_tensor(planes, self.device, scale, self.channels_last)

    def infer_compact(self, x: torch.Tensor) -> torch.Tensor:
        if self.comcnn is None:
            return x
        return tiled(self.comcnn, x, self.tile, halo=8, align=2, factor=2).float()

    def infer_image(
        self, x_compact_hat: torch.Tensor, size: tuple[int, int], quant=None
    ) -> torch.Tensor:
        x_up = self.resample_up(x_compact_hat, size)
        if self.reccnn is None:
            return x_up
        if self.quality_aware and quant is None:
            raise ValueError(f"{type(self.reccnn).__name__} is quality-aware: pass the JPEG table")
        if not self.quality_aware:
            quant = None
        align = self.reccnn.align
        halo = round_up(self.reccnn.radius, max(8, align))

        def reconstruct(x: torch.Tensor, table) -> torch.Tensor:
            net = self.reccnn if table is None else functools.partial(self.reccnn, quant=table)
            return tiled(net, x, self.tile, halo, align).float()

        grid = 8 if self.comcnn is None else 16  # JPEG's blocks, in x_up's pixels
        return self_ensemble(reconstruct, x_up, quant, self.self_ensemble, grid)

    def resample_down(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.comcnn is None else downsample(x)

    def resample_up(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return x if self.comcnn is None else upsample(x, size)

    # ------------------------------------------------------------------ persistence

    # ------------------------------------------------------------------ persistence

    def state(self) -> dict:
        """Everything :meth:`save` writes (:mod:`comp_lib.coding.checkpoint`)."""
        return network_state(self.comcnn, self.reccnn, self.name, self.metadata)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the codec to ``path`` atomically (a temporary file renamed into place)."""
        return write_checkpoint(self.state(), path)

    @classmethod
    def from_state(cls, state: dict, source: str = "state") -> Codec:
        """Build a codec from the dict :meth:`state` returns, with clear errors."""
        comcnn, reccnn = build_networks(state, source)
        try:
            codec = cls(comcnn, reccnn, metadata=state.get("metadata"))
        except ValueError as err:
            raise ValueError(f"{source}: {err}") from None
        codec.name = clean_name(state.get("name")) or codec.name
        return codec

    @classmethod
    def load(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Codec:
        """Load a codec saved by :meth:`save`, or a shipped model by name.

        Parameters
        ----------
        path : str or path-like
            A checkpoint file, or the name of a model in ``comp_lib/weights``
            (:func:`comp_lib.zoo.shipped_models`).
        map_location
            Passed to :func:`torch.load`.

        The codec's :attr:`name` is the one it was saved with (a training run
        saves its run folder's name, :func:`comp_lib.zoo.ship` the shipped
        name), else the file's stem (printable ASCII, at most 32 characters;
        others are replaced by ``_``). So a run's ``best.pt`` writes the same
        header, and the same rate, as the codec that was validated in training.
        """
        from comp_lib.zoo import model_file  # the zoo imports this module

        file = model_file(path)
        codec = cls.from_state(read_checkpoint(file, map_location), source=str(file))
        codec = codec.to(map_location)
        codec.name = codec.name or clean_name(file.stem)
        return codec


def use_self_ensemble(codec, n: int) -> bool:
    """Decode with ``codec`` averaged over ``n`` flips and transposes, if it is a post-filter.

    Sets :attr:`Codec.self_ensemble` on a :class:`Codec` without ComCNN (JPEG, then a
    network) and returns True; anything else (a down/up model, a fixed coder) is left
    decoding once and gives False: the ensemble is measured for post-filters only
    (:mod:`comp_lib.coding.ensemble`). The bytes do not change either way.

    Raises
    ------
    ValueError
        For ``n`` outside :data:`~comp_lib.coding.ensemble.SELF_ENSEMBLE_SIZES`.
    """
    if n not in SELF_ENSEMBLE_SIZES:
        raise ValueError(f"self_ensemble must be one of {SELF_ENSEMBLE_SIZES}, got {n!r}")
    if not isinstance(codec, Codec) or codec.comcnn is not None or codec.reccnn is None:
        return False
    codec.self_ensemble = n
    return True
