"""comp_lib: a small library for studying Jiang et al.'s CNN-based image compression.

Jiang, Tao, Chen, Zhao and Zhao, "An End-to-End Compression Framework Based on
Convolutional Neural Networks", IEEE TCSVT 28(10), 2018 (arXiv:1708.00838)::

    x -> ComCNN -> x_compact -> JPEG -> bicubic x2 -> RecCNN -> x_hat

Modules
-------
config   where data, reports and weights live; device selection
models   ComCNN and RecCNN
jpeg     the real JPEG codec (libjpeg through Pillow) and a differentiable approximation
metrics  PSNR, SSIM, bits per pixel, BD-rate / BD-PSNR
codec    the whole method as one object: ``compress`` -> bytes, ``decompress`` -> image
data     RAW and ordinary images to grayscale; the study's corpus (cached)
datasets downloading BSDS300 and Kodak, checked against shipped sha256 manifests
plots    figures saved into reports/figures
"""

__all__ = ["Codec", "ComCNN", "RecCNN"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # imported lazily, so that torch-free parts (data, datasets, their command lines)
    # start without paying for `import torch`
    if name == "Codec":
        from comp_lib.codec import Codec

        return Codec
    if name in ("ComCNN", "RecCNN"):
        from comp_lib import models

        return getattr(models, name)
    raise AttributeError(f"module 'comp_lib' has no attribute {name!r}")
