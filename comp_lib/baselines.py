"""The classical codecs the study compares against: the anchors.

Every codec here implements :class:`comp_lib.coding.RateCodec`: ``name``,
``settings`` (a default sweep, low to high rate), ``compress(image, setting) ->
bytes`` and ``decompress(data) -> image`` for ``(H, W)`` ``uint8`` grayscale
images, like :class:`comp_lib.coding.Codec`. The bytes are complete files in the
codec's own format (no header of ours: :class:`comp_lib.coding.BitstreamJPEG` is
JPEG behind our header), and rates count all of them.

* :class:`JPEGCodec`, the anchor: :mod:`comp_lib.jpeg` (libjpeg-turbo via Pillow,
  baseline, grayscale, optimized Huffman), setting = quality.
* :class:`WebPCodec`: libwebp via Pillow, lossy, ``method=6``; setting = quality.
  WebP has no grayscale mode: the image is coded as YUV 4:2:0 with flat chroma
  (a few bytes) and read back as luma.
* :class:`AVIFCodec`: libavif (AV1) via Pillow, 4:0:0 (monochrome); setting = quality.
* :class:`JPEG2000Codec`: OpenJPEG via Pillow, irreversible 9/7 wavelet, one
  layer; setting = compression ratio (higher = fewer bits).
* :class:`JPEGXLCodec`: libjxl via imagecodecs; setting = quality ``level``.
  Called with no level, ``jpegxl_encode`` codes a 2-D array **losslessly**
  (measured: 3.98 bpp, infinite PSNR on a BSDS300 image), so the level is
  always passed explicitly and the tests check that the result is lossy.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from comp_lib import jpeg

__all__ = ["AVIFCodec", "BASELINES", "JPEG2000Codec", "JPEGCodec", "JPEGXLCodec", "WebPCodec"]


def _pillow_encode(image: np.ndarray, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(jpeg.check_image(image), mode="L").save(buf, format=fmt, **options)
    return buf.getvalue()


def _pillow_decode(data: bytes, fmt: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            return np.asarray(img.convert("L"), dtype=np.uint8).copy()
    except (OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"corrupt {fmt} data ({len(data)} bytes): {err}") from None


class JPEGCodec:
    """Plain JPEG, the anchor (see :mod:`comp_lib.jpeg`)."""

    name = "JPEG"
    settings = (1, 2, 3, 4, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 95)

    def compress(self, image: np.ndarray, quality: int) -> bytes:
        return jpeg.encode(image, quality)

    def decompress(self, data: bytes) -> np.ndarray:
        return jpeg.decode(data)


class WebPCodec:
    """Lossy WebP (libwebp via Pillow), ``method=6`` (slowest, best)."""

    name = "WebP"
    settings = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90)

    def compress(self, image: np.ndarray, quality: int) -> bytes:
        return _pillow_encode(image, "WEBP", quality=int(quality), method=6, lossless=False)

    def decompress(self, data: bytes) -> np.ndarray:
        return _pillow_decode(data, "WEBP")


class AVIFCodec:
    """AVIF (libavif via Pillow), monochrome 4:0:0."""

    name = "AVIF"
    settings = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90)

    def compress(self, image: np.ndarray, quality: int) -> bytes:
        return _pillow_encode(image, "AVIF", quality=int(quality), subsampling="4:0:0")

    def decompress(self, data: bytes) -> np.ndarray:
        return _pillow_decode(data, "AVIF")


class JPEG2000Codec:
    """JPEG 2000 (OpenJPEG via Pillow), irreversible 9/7 wavelet; setting = compression ratio."""

    name = "JPEG 2000"
    settings = (400, 200, 120, 80, 60, 40, 30, 20, 15, 10, 6)

    def compress(self, image: np.ndarray, ratio: int) -> bytes:
        return _pillow_encode(image, "JPEG2000", quality_mode="rates",
                              quality_layers=[float(ratio)], irreversible=True)  # fmt: skip

    def decompress(self, data: bytes) -> np.ndarray:
        return _pillow_decode(data, "JPEG2000")


class JPEGXLCodec:
    """JPEG XL (libjxl via imagecodecs); setting = quality level (always lossy)."""

    name = "JPEG XL"
    settings = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90)

    def compress(self, image: np.ndarray, level: int) -> bytes:
        import imagecodecs

        if not 0 < int(level) < 100:
            raise ValueError(f"JPEG XL level must be in 1..99 (100 is lossless), got {level}")
        return bytes(imagecodecs.jpegxl_encode(jpeg.check_image(image), level=int(level)))

    def decompress(self, data: bytes) -> np.ndarray:
        import imagecodecs

        try:
            out = imagecodecs.jpegxl_decode(data)
        except Exception as err:  # imagecodecs raises its own error types
            raise ValueError(f"corrupt JPEG XL data ({len(data)} bytes): {err}") from None
        return np.asarray(out if out.ndim == 2 else out[..., 0], dtype=np.uint8)


#: The classical codecs by name.
BASELINES = {c.name: c for c in (JPEGCodec, WebPCodec, AVIFCodec, JPEG2000Codec, JPEGXLCodec)}
