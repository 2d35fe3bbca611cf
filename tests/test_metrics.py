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


# ---------------------------------------------------------------- edges (mutation testing)


def test_to_uint8_rounds_and_clips_floats():
    x = np.array([[-0.2, 0.0, 0.5, 1.0, 1.7]])
    out = to_uint8(x)
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 0, 128, 255, 255]]  # 127.5 rounds to even; out of range clips
    with pytest.raises(TypeError, match="expected a uint8 image or a float image in"):
        to_uint8(np.zeros((2, 2), np.int32))


def test_psnr_of_identical_and_of_tiny_images():
    import warnings

    a = np.full((4, 4), 100, np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inf by rule, not by dividing by zero
        assert psnr(a, a) == math.inf
    assert psnr(a, a + 1) == pytest.approx(10 * math.log10(255**2))  # MSE exactly 1
    assert psnr(a[:1, :1], a[:1, :1] + 2) == pytest.approx(10 * math.log10(255**2 / 4))
    with pytest.raises(ValueError, match="^images are empty$"):
        psnr(a[:0], a[:0])


def test_gaussian_window_defaults_by_hand():
    from comp_lib.metrics import gaussian_window

    g = gaussian_window()
    assert g.dtype == torch.float64 and g.shape == (11,)
    x = np.arange(11) - 5
    ref = np.exp(-(x**2) / (2 * 1.5**2))
    np.testing.assert_allclose(g.numpy(), ref / ref.sum(), rtol=1e-12)


def test_ssim_torch_with_colour_float32_and_other_constants(pairs):
    """Three channels (each filtered on its own), float32 input, and the window's size and
    sigma and the constant K2 passed through, against scikit-image channel by channel."""
    (a, b), (c, d), (e, f) = pairs[:3]
    h, w = (min(s) for s in zip(a.shape, c.shape, e.shape, strict=True))
    x = np.stack([a[:h, :w], c[:h, :w], e[:h, :w]])
    y = np.stack([b[:h, :w], d[:h, :w], f[:h, :w]])
    tx, ty = (torch.from_numpy(v[None] / 255).float() for v in (x, y))
    got = ssim_torch(tx, ty, size=15, sigma=2.0, k2=0.05)  # scikit-image: 15 taps at sigma 2
    ref = np.mean([
        structural_similarity(x[k], y[k], data_range=255, gaussian_weights=True, sigma=2.0,
                              K2=0.05, use_sample_covariance=False)
        for k in range(3)
    ])  # fmt: skip
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(ref, abs=1e-4)


def test_ssim_window_edges_and_errors(image):
    crop = image[:11, :11]
    assert ssim(crop, crop) == pytest.approx(1.0)  # exactly the window's size: one value
    t = torch.from_numpy(crop / 255.0)[None, None]
    assert ssim_torch(t, t).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"images of \(10, 11\) are smaller than the 11x11"):
        ssim(crop[:10], crop[:10])
    with pytest.raises(ValueError, match=r"images of \(10, 11\) are smaller than the 11x11"):
        ssim_torch(t[..., :10, :], t[..., :10, :])
    with pytest.raises(ValueError, match="ssim expects 2-D grayscale images"):
        ssim(np.stack([crop] * 3, -1), np.stack([crop] * 3, -1))
    with pytest.raises(ValueError, match=r"expected two \(N, C, H, W\) tensors of one shape"):
        ssim_torch(t[0], t[0])  # one shape, but 3-D


def test_bpp_counts_pixels_not_samples():
    assert bpp(8, (4, 4, 3)) == 4.0  # 64 bits over 16 pixels of three samples each
    assert bpp(8, 1) == 64.0
    with pytest.raises(ValueError, match="pixel count must be positive, got 0"):
        bpp(1, 0)
