"""Quality and rate measures of one image: PSNR, SSIM, bits per pixel.

Comparisons of curves (Bjontegaard deltas, quality at a rate) are in :mod:`comp_lib.rd`.

Conventions
-----------
* Images are compared as **8-bit** images: ``uint8`` arrays are used as they
  are, float images in ``[0, 1]`` are first rounded to 8 bits
  (``round(255 x)`` clipped to 0..255), since a decoder's output is 8-bit.
* PSNR and SSIM use a data range of 255.
* SSIM follows Wang et al. (2004): Gaussian window 11x11 with sigma 1.5,
  K1 = 0.01, K2 = 0.03, population statistics, mean of the SSIM map over the
  pixels whose window lies inside the image. This is scikit-image's
  ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255)``; the tests check agreement.
* Bits per pixel always come from a real byte count: ``8 * bytes / pixels``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "bpp",
    "gaussian_window",
    "psnr",
    "ssim",
    "ssim_torch",
    "to_uint8",
]


def to_uint8(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """Return an 8-bit image: ``uint8`` as is, floats in [0, 1] rounded to 0..255."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().float().numpy()
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(
            f"expected a uint8 image or a float image in [0, 1], got dtype {image.dtype}"
        )
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = to_uint8(a), to_uint8(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.size == 0:
        raise ValueError("images are empty")
    return a, b


def psnr(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB between two 8-bit images (``inf`` if identical)."""
    a, b = _pair(a, b)
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalized 1-D Gaussian window (float64)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _ssim_map(mu_x, mu_y, exx, eyy, exy, data_range: float, k1: float = 0.01, k2: float = 0.03):
    """Wang et al.'s SSIM map from the filtered moments (numpy arrays or torch tensors)."""
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    sxx, syy, sxy = exx - mu_x**2, eyy - mu_y**2, exy - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))


def ssim_torch(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 1.0,
    size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Differentiable SSIM of ``(N, C, H, W)`` tensors, one value per image.

    The Gaussian filter is applied without padding ("valid"), which gives the
    same map as filtering with any padding and cropping ``size // 2`` pixels
    from each border (scikit-image's convention). Usable as a training loss
    (``1 - ssim_torch(x_hat, x).mean()``).
    """
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(
            f"expected two (N, C, H, W) tensors of one shape, got {x.shape}, {y.shape}"
        )
    if min(x.shape[-2:]) < size:
        raise ValueError(
            f"images of {tuple(x.shape[-2:])} are smaller than the {size}x{size} window"
        )
    c = x.shape[1]
    g = gaussian_window(size, sigma).to(device=x.device, dtype=x.dtype)
    gh = g.view(1, 1, 1, size).repeat(c, 1, 1, 1)
    gv = g.view(1, 1, size, 1).repeat(c, 1, 1, 1)

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, gh, groups=c), gv, groups=c)

    s = _ssim_map(filt(x), filt(y), filt(x * x), filt(y * y), filt(x * y), data_range, k1, k2)
    return s.mean(dim=(1, 2, 3))


def ssim(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """SSIM (Wang et al. 2004) between two 8-bit grayscale images, data range 255.

    The same map as :func:`ssim_torch` (the tests check both against
    scikit-image), computed in float64 with separable 1-D filters over the
    five moment images, which is faster on a CPU than the float64 2-D
    convolutions of :func:`ssim_torch` and adds up when a report scores
    thousands of decoded images.
    """
    from scipy.ndimage import correlate1d

    a, b = _pair(a, b)
    if a.ndim != 2:
        raise ValueError(f"ssim expects 2-D grayscale images, got shape {a.shape}")
    size, r = 11, 5
    if min(a.shape) < size:
        raise ValueError(f"images of {a.shape} are smaller than the {size}x{size} window")
    x, y = a.astype(np.float64), b.astype(np.float64)
    g = gaussian_window(size, 1.5).numpy()
    moments = []
    for m in (x, y, x * x, y * y, x * y):  # one 2-D image at a time: about 1.6x faster
        for axis in (1, 0):  # than the stack, whose middle axis filters with a long stride
            m = correlate1d(m, g, axis=axis, mode="constant")
        moments.append(m[r:-r, r:-r])  # the pixels whose window lies inside the image
    return float(_ssim_map(*moments, data_range=255.0).mean())


def bpp(data: bytes | int, pixels: int | tuple[int, ...]) -> float:
    """Bits per pixel of a bitstream: ``8 * bytes / pixels``.

    Parameters
    ----------
    data : bytes or int
        The bitstream itself, or its length in bytes.
    pixels : int or tuple
        The pixel count, or the image shape ``(H, W)``.
    """
    n_bytes = data if isinstance(data, int) else len(data)
    n_pixels = pixels if isinstance(pixels, int) else math.prod(pixels[:2])
    if n_pixels <= 0:
        raise ValueError(f"pixel count must be positive, got {n_pixels}")
    return 8.0 * n_bytes / n_pixels
