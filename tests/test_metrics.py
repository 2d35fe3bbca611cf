import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from comp_lib import jpeg
from comp_lib.metrics import bd_psnr, bd_rate, bpp, psnr, ssim, ssim_torch, to_uint8

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


@pytest.fixture(scope="module")
def jpeg_curve(image):
    rates, psnrs = [], []
    for q in QUALITIES:
        data = jpeg.encode(image, q)
        rates.append(bpp(data, image.shape))
        psnrs.append(psnr(image, jpeg.decode(data)))
    return np.array(rates), np.array(psnrs)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
@pytest.mark.parametrize("factor", [0.8, 0.5, 1.25])
def test_bd_rate_of_a_rate_scaled_curve(jpeg_curve, method, factor):
    """The same PSNRs at `factor` times the rate: BD-rate is exactly (factor - 1) * 100 %."""
    r, d = jpeg_curve
    assert bd_rate(r, d, r * factor, d, method=method) == pytest.approx((factor - 1) * 100)
    assert bd_rate(r, d, r, d, method=method) == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_bd_psnr_of_a_shifted_curve(jpeg_curve, method):
    r, d = jpeg_curve
    assert bd_psnr(r, d, r, d + 1.5, method=method) == pytest.approx(1.5)
    assert bd_psnr(r, d, r, d - 0.7, method=method) == pytest.approx(-0.7)


def test_bd_on_a_linear_curve_by_hand():
    """PSNR = 10 log10(R) + 30 against 10 log10(R) + 31: 1 dB better, i.e. 10**-0.1 of the rate."""
    r = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    d = 10 * np.log10(r) + 30
    assert bd_psnr(r, d, r, d + 1) == pytest.approx(1.0)
    assert bd_rate(r, d, r, d + 1) == pytest.approx((10**-0.1 - 1) * 100)


def test_bd_rate_max_rate_cuts_the_curves(jpeg_curve):
    r, d = jpeg_curve
    cut = float(np.median(r))
    assert bd_rate(r, d, r * 0.8, d, max_rate=cut) == pytest.approx(-20.0)
    # a test curve that is better only at high rates loses that advantage below the cut
    d_test = d + np.where(r > cut, 2.0, 0.0)
    assert bd_rate(r, d, r, d_test) < bd_rate(r, d, r, d_test, max_rate=cut) + 1e-9


def test_bd_errors(jpeg_curve):
    r, d = jpeg_curve
    with pytest.raises(ValueError, match="at least 4"):
        bd_rate(r[:3], d[:3], r[:3], d[:3])
    with pytest.raises(ValueError, match="overlap"):
        bd_rate(r, d, r, d + 100)
    with pytest.raises(ValueError, match="increase"):
        bd_rate(r, d, r, d[::-1].copy())


def test_bd_psnr_min_and_max_rate_bound_the_log_rate_interval():
    """A gain that grows linearly in log-rate averages to its value at the interval's middle."""
    r = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    x = np.log(r)
    d = 10 * x + 30
    gained = d + (x - math.log(0.1))  # 0 dB at 0.1 bpp, log(16) dB at 1.6 bpp
    mean = bd_psnr(r, d, r, gained, min_rate=0.2, max_rate=0.8)
    assert mean == pytest.approx(math.log(4))  # the gain at sqrt(0.2 * 0.8) = 0.4 bpp
    assert bd_psnr(r, d, r, gained) == pytest.approx(math.log(4))  # 0.1..1.6: same middle
    assert bd_psnr(r, d, r, gained, min_rate=0.4) == pytest.approx(math.log(8))
    with pytest.raises(ValueError, match="do not overlap"):
        bd_psnr(r, d, r, gained, min_rate=0.9, max_rate=0.5)
