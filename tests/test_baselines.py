import numpy as np
import pytest

from comp_lib.baselines import BASELINES, JPEGXLCodec
from comp_lib.metrics import bpp, psnr


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_codec_is_lossy_grayscale_and_rate_follows_setting(name, images):
    codec = BASELINES[name]()
    settings = codec.settings[:: max(1, len(codec.settings) // 4)] + (codec.settings[-1],)
    for image in images[:2]:
        rates, psnrs = [], []
        for s in settings:
            data = codec.compress(image, s)
            x_hat = codec.decompress(data)
            assert x_hat.dtype == np.uint8 and x_hat.shape == image.shape
            rates.append(bpp(data, image.shape))
            psnrs.append(psnr(image, x_hat))
        # really lossy at its lowest setting (no silent lossless coding of 2-D input)
        assert rates[0] < 1.0 and psnrs[0] < 40, (name, rates, psnrs)
        # rate and quality grow along the sweep
        assert rates == sorted(rates) and psnrs[-1] > psnrs[0] + 3, (name, rates, psnrs)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_corrupt_data_gives_a_clear_error(name, image):
    codec = BASELINES[name]()
    data = codec.compress(image, codec.settings[len(codec.settings) // 2])
    with pytest.raises(ValueError):
        codec.decompress(data[: len(data) // 3])


def test_jpeg_xl_refuses_the_lossless_level(image):
    with pytest.raises(ValueError, match="lossless"):
        JPEGXLCodec().compress(image, 100)
