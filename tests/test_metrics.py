import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from comp_lib import jpeg
from comp_lib.metrics import bpp, psnr, ssim, ssim_torch, to_uint8

QUALITIES = (5, 10, 20, 30, 50, 75)


@pytest.fixture(scope="module")
def pairs(images):
    """(original, JPEG decode) pairs of real photos at several qualities."""
    return [(img, jpeg.decode(jpeg.encode(img, q))) for img in images for q in (5, 20, 75)]


def test_psnr_matches_skimage(pairs):
    for a, b in pairs:
        ref = peak_signal_noise_ratio(a, b, data_range=255)
        assert abs(psnr(a, b) - ref) < 1e-4


def test_ssim_matches_skimage(pairs):
    for a, b in pairs:
        ref = structural_similarity(
            a, b, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
        assert abs(ssim(a, b) - ref) < 1e-4


def test_float_images_are_rounded_to_8_bits(image):
    x = image.astype(np.float64) / 255.0
    noisy = x + 0.001  # less than half a gray level: invisible after 8-bit rounding
    assert psnr(x, noisy) == math.inf
    assert ssim(image, noisy) == pytest.approx(1.0)
    assert np.array_equal(to_uint8(torch.from_numpy(x)), image)


def test_psnr_by_hand():
    a = np.zeros((10, 10), np.uint8)
    b = a.copy()
    b[0, :] = 10  # MSE = 10 * 100 / 100 = 10
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 10))


def test_metric_errors(image):
    with pytest.raises(ValueError, match="shape"):
        psnr(image, image[:-1])
    with pytest.raises(TypeError):
        psnr(image.astype(np.int32), image.astype(np.int32))


def test_ssim_torch_is_differentiable_and_batched(pairs):
    a = torch.stack([torch.from_numpy(p[0]).double() / 255 for p in pairs[:3]])[:, None]
    b = torch.stack([torch.from_numpy(p[1]).double() / 255 for p in pairs[:3]])[:, None]
    b.requires_grad_(True)
    s = ssim_torch(a, b)
    assert s.shape == (3,)
    for k in range(3):
        assert s[k].item() == pytest.approx(ssim(pairs[k][0], pairs[k][1]), abs=1e-6)
    (1 - s.mean()).backward()
    assert b.grad.abs().sum() > 0


def test_bpp_counts_real_bytes(image):
    data = jpeg.encode(image, 10)
    assert bpp(data, image.shape) == 8 * len(data) / image.size
    assert bpp(len(data), image.size) == bpp(data, image.shape)
    with pytest.raises(ValueError):
        bpp(data, 0)
