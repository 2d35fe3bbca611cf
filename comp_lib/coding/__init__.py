"""Coding images to bytes and back: the bitstream, the coders, the ladder.

::

    bitstream   the header (pack, parse, limits) and the input checks
    base        RateCodec (the interface of every codec) and BitstreamCoder (their shared coding)
    neural      Codec: ComCNN -> JPEG -> bicubic -> RecCNN (training forward, inference)
    checkpoint  a codec's state, its file and the fingerprint of its weights
    tiling      large images through the networks in overlapping tiles
    ensemble    decoding averaged over flips and transposes (self-ensemble)
    fixed       BicubicCodec and BitstreamJPEG, the coders without weights
    ladder      Ladder (several models as one rate ladder) and compress_at_bpp
"""

from comp_lib.coding.base import BitstreamCoder, RateCodec
from comp_lib.coding.bitstream import (
    CHROMA_MODES,
    COLOUR_MODES,
    FINGERPRINT_SIZE,
    FORMAT_VERSION,
    HEADER,
    MAGIC,
    MAX_NAME_LENGTH,
    MAX_PIXELS,
    MIN_SIZE,
    chroma_quality,
    header_size,
    pack_header,
    parse_header,
)
from comp_lib.coding.fixed import FIXED_CODERS, BicubicCodec, BitstreamJPEG
from comp_lib.coding.ladder import Ladder, compress_at_bpp
from comp_lib.coding.neural import JPEG_MODES, Codec, use_self_ensemble

__all__ = [
    "CHROMA_MODES",
    "COLOUR_MODES",
    "FINGERPRINT_SIZE",
    "FIXED_CODERS",
    "FORMAT_VERSION",
    "HEADER",
    "JPEG_MODES",
    "MAGIC",
    "MAX_NAME_LENGTH",
    "MAX_PIXELS",
    "MIN_SIZE",
    "BicubicCodec",
    "BitstreamCoder",
    "BitstreamJPEG",
    "Codec",
    "Ladder",
    "RateCodec",
    "chroma_quality",
    "compress_at_bpp",
    "header_size",
    "pack_header",
    "parse_header",
    "use_self_ensemble",
]
