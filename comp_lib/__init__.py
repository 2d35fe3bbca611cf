"""comp_lib: a small library for studying Jiang et al.'s CNN-based image compression.

Jiang, Tao, Chen, Zhao and Zhao, "An End-to-End Compression Framework Based on
Convolutional Neural Networks", IEEE TCSVT 28(10), 2018 (arXiv:1708.00838)::

    x -> ComCNN -> x_compact -> JPEG -> bicubic x2 -> RecCNN -> x_hat

The package is a picture of the method, from data to the report::

    data      -> the images: dataset registry, reading, the corpus, downloads
    models    ComCNN and RecCNN, bicubic up/downsampling
    jpeg      the real JPEG codec (libjpeg via Pillow) and a differentiable approximation
    coding    -> bytes: the bitstream, Codec (the method), fixed coders, Ladder
    baselines the anchors: JPEG, WebP, AVIF, JPEG 2000, JPEG XL
    train     -> weights: one training loop (patches on the fly, or a coded-once bank)
    zoo       the shipped models and ladders (load by name, ship with a card)
    metrics   PSNR, SSIM, bits per pixel of one image
    evaluate  every codec over a dataset: one row per image and setting
    rd        -> comparisons at equal rate: curves, envelopes, BD-rate, PSNR at a rate
    studies   the study's protocols and ablations (notebooks 03 and 04)
    report    tables with provenance, figures, reports/README.md
    config    where data, reports and weights live; device and threads
    files     atomic writes
    cli       the ``comp-lib`` command; pipeline: ``make report``

Public API: ``from comp_lib import Codec, Ladder, compress_at_bpp, load_gray,
load_image, psnr, ssim, bpp``.
"""

__all__ = [
    "Codec",
    "ComCNN",
    "Ladder",
    "RecCNN",
    "bpp",
    "compress_at_bpp",
    "load_gray",
    "load_image",
    "psnr",
    "ssim",
]
__version__ = "0.1.0"

#: Where each public name lives; imported on first use, so that torch-free parts (data,
#: downloads, their command lines) start without paying for ``import torch``.
_PUBLIC = {
    "Codec": "comp_lib.coding",
    "Ladder": "comp_lib.coding",
    "compress_at_bpp": "comp_lib.coding",
    "ComCNN": "comp_lib.models",
    "RecCNN": "comp_lib.models",
    "load_gray": "comp_lib.data",
    "load_image": "comp_lib.data",
    "bpp": "comp_lib.metrics",
    "psnr": "comp_lib.metrics",
    "ssim": "comp_lib.metrics",
}


def __getattr__(name: str):
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'comp_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
