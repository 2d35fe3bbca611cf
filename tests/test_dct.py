"""JPEG's block transform and the quantisation intervals a JPEG file fixes (comp_lib.dct)."""

import numpy as np
import pytest
import torch

from comp_lib import dct, jpeg
from comp_lib.metrics import psnr


def test_block_dct_is_jpegs_orthonormal_transform_and_block_idct_undoes_it(image):
    y = torch.from_numpy(image).double()[None, None] - 128.0  # 321 x 481: edge blocks padded
    coef = dct.block_dct(y)
    assert coef.shape == (1, -(-image.shape[0] // 8), -(-image.shape[1] // 8), 8, 8)
    block = y[0, 0, 8:16, 16:24]
    assert coef[0, 1, 2, 0, 0] == pytest.approx(float(block.sum()) / 8)  # DC: the sum over 8
    assert float((coef**2).sum()) >= float((y**2).sum())  # the padding adds energy, never less
    back = dct.block_idct(coef, image.shape)
    assert back.shape == y.shape and torch.allclose(back, y, atol=1e-9)


def test_the_original_lies_in_the_quantisation_intervals_its_jpeg_file_allows(image):
    for quality in (5, 10, 50):
        data = jpeg.encode(image, quality)
        decoded, table = jpeg.decode(data), jpeg.read_quant_tables(data)[0]
        projected, moved = dct.quantisation_projection(image, decoded, table)
        assert moved < 0.005  # libjpeg's integer DCT puts a few just outside
        assert psnr(image, projected) > 55
        _, moved_transposed = dct.quantisation_projection(image, decoded, table.T)
        assert moved_transposed > 10 * moved  # the intervals are the file's, in its order
        same, none = dct.quantisation_projection(decoded, decoded, table)
        assert none == 0 and np.array_equal(same, decoded)


def test_quantisation_projection_brings_a_guess_closer_to_the_original(image):
    rng = np.random.default_rng(0)
    for quality, at_least_db in ((50, 0.05), (90, 1.0)):
        data = jpeg.encode(image, quality)
        decoded, table = jpeg.decode(data), jpeg.read_quant_tables(data)[0]
        guess = np.clip(np.round(decoded + rng.normal(0, 6, decoded.shape)), 0, 255)
        projected, moved = dct.quantisation_projection(guess.astype(np.uint8), decoded, table)
        assert moved > 0.01
        assert psnr(image, projected) > psnr(image, guess) + at_least_db


def test_quantisation_projection_bad_input(image):
    decoded = image.copy()
    with pytest.raises(ValueError, match="x_hat is"):
        dct.quantisation_projection(image[:-1], decoded, jpeg.quant_table(10))
    with pytest.raises(ValueError, match="table must be"):
        dct.quantisation_projection(image, decoded, jpeg.quant_table(10)[:4])
    with pytest.raises(ValueError, match="steps >= 1"):
        dct.quantisation_projection(image, decoded, np.zeros((8, 8)))
    with pytest.raises(TypeError, match="uint8"):
        dct.quantisation_projection(image.astype(float), decoded, jpeg.quant_table(10))
