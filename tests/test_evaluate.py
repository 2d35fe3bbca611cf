import json

import numpy as np
import pandas as pd
import pytest

from comp_lib import jpeg
from comp_lib.codec import BicubicCodec
from comp_lib.evaluate import (
    ROW_COLUMNS,
    JPEGCodec,
    at_rates,
    bd_table,
    evaluate,
    rd_curves,
    to_compressai_json,
)
from comp_lib.metrics import psnr


@pytest.fixture(scope="module")
def rows(bsds_test):
    images = bsds_test[:3]
    return pd.concat([
        evaluate(JPEGCodec(), images, [5, 10, 20, 40, 70, 90], "JPEG", progress=False),
        evaluate(BicubicCodec(), images, [10, 30, 50, 70, 90], "bicubic", progress=False),
    ])  # fmt: skip


def test_rows_are_measured_from_real_bytes(rows, bsds_test):
    assert list(rows.columns) == ROW_COLUMNS and len(rows) == 3 * 6 + 3 * 5
    name, image = bsds_test[0]
    r = rows[(rows.codec == "JPEG") & (rows.setting == 10) & (rows.image == name)].iloc[0]
    data = jpeg.encode(image, 10)
    assert r.bytes == len(data) and r.bpp == 8 * len(data) / image.size
    assert r.psnr == pytest.approx(psnr(image, jpeg.decode(data)))
    assert (rows.encode_ms > 0).all() and (rows.decode_ms > 0).all()


def test_curves_and_fixed_rates(rows):
    curves = rd_curves(rows)
    jp = curves[curves.codec == "JPEG"]
    assert jp.bpp.is_monotonic_increasing and jp.psnr.is_monotonic_increasing
    assert jp.bpp.iloc[0] == pytest.approx(
        rows[(rows.codec == "JPEG") & (rows.setting == 5)].bpp.mean()
    )
    fixed = at_rates(curves, rates=(0.3, 50.0))
    row = fixed[(fixed.codec == "JPEG") & (fixed.bpp == 0.3)].iloc[0]
    lo, hi = jp[jp.bpp <= 0.3].iloc[-1], jp[jp.bpp >= 0.3].iloc[0]
    assert lo.psnr <= row.psnr <= hi.psnr
    assert fixed[fixed.bpp == 50.0].psnr.isna().all()  # no extrapolation


def test_bd_table_against_the_anchor(rows):
    curves = rd_curves(rows)
    bd = bd_table(curves, anchor="JPEG")
    assert list(bd.codec) == ["bicubic"]
    # the same curve at 80% of the rate is exactly -20 %
    cheap = curves[curves.codec == "JPEG"].assign(codec="cheap JPEG")
    cheap["bpp"] *= 0.8
    bd = bd_table(pd.concat([curves, cheap]), anchor="JPEG").set_index("codec")
    assert bd.loc["cheap JPEG", "bd_rate_psnr_%"] == pytest.approx(-20.0)
    assert bd.loc["cheap JPEG", "bd_rate_ssim_%"] == pytest.approx(-20.0)
    assert bd.loc["cheap JPEG", "bd_psnr_db"] > 0


def test_compressai_json(rows, tmp_path):
    curves = rd_curves(rows)
    out = to_compressai_json(curves, "JPEG", "libjpeg via Pillow", tmp_path / "jpeg.json")
    saved = json.loads((tmp_path / "jpeg.json").read_text())
    assert saved == out and saved["name"] == "JPEG"
    assert len(saved["results"]["bpp"]) == 6 and np.all(np.diff(saved["results"]["bpp"]) > 0)


def test_a_codec_that_changes_the_size_is_caught(bsds_test):
    class Cropper(JPEGCodec):
        def decompress(self, data):
            return super().decompress(data)[1:]

    with pytest.raises(ValueError, match="returned"):
        evaluate(Cropper(), bsds_test[:1], [10], "cropper", progress=False)
