"""The coders without weights, in this package's bitstream: bicubic and plain JPEG."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from comp_lib.coding.base import BitstreamCoder, to_tensor
from comp_lib.coding.bitstream import FINGERPRINT_SIZE
from comp_lib.models import downsample, upsample

__all__ = ["FIXED_CODERS", "BicubicCodec", "BitstreamJPEG"]


class BicubicCodec(BitstreamCoder):
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
    # the hashed name is the one of the first release: the fingerprint must not change
    fingerprint = hashlib.sha256(b"comp_lib.codec.BicubicCodec").digest()[:FINGERPRINT_SIZE].hex()

    @staticmethod
    def compact_size(h: int, w: int) -> tuple[int, int]:
        return (h + 1) // 2, (w + 1) // 2

    @contextmanager
    def inference(self) -> Iterator[None]:
        with torch.inference_mode():
            yield

    def to_tensor(self, planes: np.ndarray, scale: float = 255.0) -> torch.Tensor:
        return to_tensor(planes, self.device, scale)

    def infer_compact(self, x: torch.Tensor) -> torch.Tensor:
        return downsample(x)

    def infer_image(self, x: torch.Tensor, size: tuple[int, int], quant=None) -> torch.Tensor:
        return upsample(x, size)

    resample_down, resample_up = infer_compact, infer_image


class BitstreamJPEG(BitstreamCoder):
    """Plain JPEG in this package's bitstream: no networks, no resampling.

    ::

        x -> 8-bit -> JPEG -> x_hat

    The anchor (:class:`comp_lib.baselines.JPEGCodec`, same settings) behind this
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
    def compact_size(h: int, w: int) -> tuple[int, int]:
        return h, w

    inference = BicubicCodec.inference

    def to_tensor(self, planes: np.ndarray, scale: float = 255.0) -> torch.Tensor:
        return to_tensor(planes, self.device, scale)

    def infer_compact(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def infer_image(self, x: torch.Tensor, size: tuple[int, int], quant=None) -> torch.Tensor:
        return x

    resample_down, resample_up = infer_compact, infer_image


#: Coders without weights, by the name their bitstreams carry.
FIXED_CODERS = {"jpeg": BitstreamJPEG, "bicubic": BicubicCodec}
