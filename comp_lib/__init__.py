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
data     reading images as 8-bit grayscale
"""

from comp_lib.codec import Codec
from comp_lib.models import ComCNN, RecCNN

__all__ = ["Codec", "ComCNN", "RecCNN"]
__version__ = "0.1.0"
