"""What every coder shares: the :class:`RateCodec` protocol and :class:`BitstreamCoder`.

Every codec of the study, learned or not, offers the same small interface
(:class:`RateCodec`): a ``name``, its ``settings`` (a sequence, lowest rate
first), ``compress(image, setting) -> bytes`` and ``decompress(bytes) -> image``.
:func:`comp_lib.evaluate.evaluate`, the command line and :class:`~comp_lib.coding.ladder.Ladder`
use nothing else. The coders of this package's bitstream share one implementation,
:class:`BitstreamCoder`; the anchors (:mod:`comp_lib.baselines`) write their own
formats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from comp_lib import jpeg
from comp_lib.coding.bitstream import (
    CHROMA_MODES,
    MAX_PIXELS,
    check_input,
    chroma_quality,
    describe_model,
    header_size,
    pack_header,
    parse_header,
)

__all__ = ["BitstreamCoder", "RateCodec", "to_tensor", "ycbcr_to_image"]


@runtime_checkable
class RateCodec(Protocol):
    """What every codec offers: settings that trade rate for quality, and bytes.

    Attributes
    ----------
    name : str
        The codec's name (in tables, and in headers where its format has one).
    settings : Sequence[int]
        A default sweep of ``compress``'s ``setting``, from the lowest rate up
        (a JPEG quality, a compression ratio, a rung of a ladder).
    """

    name: str
    settings: Sequence[int]

    def compress(self, image: np.ndarray, setting: int) -> bytes:
        """Code an 8-bit image at ``setting``; the rate is ``8 * len(bytes) / (H * W)``."""

    def decompress(self, data: bytes) -> np.ndarray:
        """Decode bytes made by :meth:`compress`."""


class BitstreamCoder:
    """The base of every coder that writes this package's bitstream.

    :meth:`compress` and :meth:`decompress` (grayscale and colour) are written
    once, here, in terms of a few hooks that a subclass provides:

    ``name``, ``fingerprint``
        The model identity written into every header.
    ``compact_size(h, w)``
        The size of the image JPEG codes (half size with ComCNN or bicubic /2).
    ``inference()``
        A context manager for the networks' inference (eval mode, no autograd).
    ``to_tensor(planes, scale)``
        ``(N, H, W)`` array -> ``(N, 1, H, W)`` float tensor on the coder's device.
    ``infer_compact(x)``, ``infer_image(x_compact_hat, size, quant=None)``
        The luma's path: ``x -> x_compact`` and ``x_compact_hat -> x_hat``
        (``quant``: the payload's quantisation table, when ``quality_aware``).
    ``resample_down(x)``, ``resample_up(x, size)``
        The plain bicubic path (the chroma's by default; RecCNN's input is
        ``resample_up`` of the decoded compact image).

    Subclasses: :class:`~comp_lib.coding.neural.Codec` (the networks),
    :class:`~comp_lib.coding.fixed.BicubicCodec`, :class:`~comp_lib.coding.fixed.BitstreamJPEG`.
    """

    #: A default sweep of the inner JPEG quality, the setting of :meth:`compress` (any of
    #: 1..95 is accepted): the :class:`RateCodec` protocol's ``settings``.
    settings: tuple[int, ...] = (5, 10, 20, 40, 60, 80, 90)

    max_pixels: int = MAX_PIXELS
    #: Whether ``infer_image`` needs the JPEG quantisation table (read from the payload).
    quality_aware: bool = False
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
        image = check_input(image, self.max_pixels)
        quality = jpeg.check_quality(quality)
        h, w = image.shape[:2]
        if image.ndim == 2:
            header = self._header(h, w, quality, "gray")
            with self.inference():
                compact = jpeg.tensor_to_uint8(self.infer_compact(self.to_tensor(image[None])))[0]
            return header + jpeg.encode(compact, quality)
        chroma = self.chroma if chroma is None else chroma
        if chroma not in CHROMA_MODES:
            raise ValueError(f"chroma must be one of {tuple(CHROMA_MODES)}, got {chroma!r}")
        header = self._header(h, w, quality, CHROMA_MODES[chroma])
        ycc = jpeg.rgb_to_ycbcr(image, dtype=np.float32)  # (H, W, 3), 0..255
        planes = np.moveaxis(ycc, -1, 0)  # (3, H, W)
        luma = np.clip(np.round(planes[:1]), 0, 255).astype(np.uint8)
        with self.inference():
            compact = [jpeg.tensor_to_uint8(self.infer_compact(self.to_tensor(luma)))]
            if chroma == "cnn":
                c8 = np.clip(np.round(planes[1:]), 0, 255).astype(np.uint8)
                compact.append(jpeg.tensor_to_uint8(self.infer_compact(self.to_tensor(c8))))
            else:
                c = self.to_tensor(planes[1:], scale=255.0)
                compact.append(jpeg.tensor_to_uint8(self.resample_down(c)))
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
                f"bitstream was made by {describe_model(made_by, header['fingerprint'])}; "
                f"this codec is {describe_model(self.name, self.fingerprint)}: decode it with {how}"
            )
        h, w = header["height"], header["width"]
        size = self.compact_size(h, w)
        tables = [None, None]  # luma, chroma: what a quality-aware network is told
        if self.quality_aware:
            found = jpeg.read_quant_tables(header["payload"])
            tables = [found[0], found[min(1, len(found) - 1)]]
        if header["colour"] == "gray":
            compact = jpeg.decode(header["payload"], expected_size=size)
            with self.inference():
                x_hat = self.infer_image(self.to_tensor(compact[None]), (h, w), tables[0])
            return jpeg.tensor_to_uint8(x_hat)[0]
        planes = np.moveaxis(jpeg.decode_ycbcr(header["payload"], expected_size=size), -1, 0)
        with self.inference():
            luma = self.infer_image(self.to_tensor(planes[:1]), (h, w), tables[0])
            chroma = self.to_tensor(planes[1:])
            if header["colour"] == "ycbcr-cnn":
                chroma = self.infer_image(chroma, (h, w), tables[1])
            else:
                chroma = self.resample_up(chroma, (h, w))
            return ycbcr_to_image(luma, chroma)


def ycbcr_to_image(luma: torch.Tensor, chroma: torch.Tensor) -> np.ndarray:
    """``(1, 1, H, W)`` luma and ``(2, 1, H, W)`` chroma in [0, 1] -> ``(H, W, 3)`` uint8 RGB.

    The planes are clipped to their range, converted in float and rounded once.
    """
    ycc = torch.cat([luma, chroma]).float().clamp(0.0, 1.0).mul_(255.0)
    rgb = jpeg.ycbcr_to_rgb(ycc[:, 0].permute(1, 2, 0).cpu().numpy(), dtype=np.float32)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def to_tensor(
    planes: np.ndarray, device: torch.device, scale: float = 255.0, channels_last: bool = True
) -> torch.Tensor:
    """``(N, H, W)`` array -> ``(N, 1, H, W)`` float32 tensor divided by ``scale``."""
    planes = np.require(planes, requirements=["C", "W"])  # torch wants writable arrays
    x = torch.from_numpy(planes).to(device, torch.float32)[:, None] / scale
    if channels_last and device.type == "cpu":
        return x.contiguous(memory_format=torch.channels_last)
    return x
