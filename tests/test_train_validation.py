"""comp_lib.train.validation: the gain over JPEG at equal rate, JPEG's curve, validation bytes.

Every expected value is computed here by hand or with another library (Pillow, scikit-image).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from comp_lib.coding import Codec
from comp_lib.models import ComCNN, RecCNN
from comp_lib.train.validation import (
    gain_over_jpeg,
    gain_per_doubling,
    jpeg_curve,
    steps_to_gain,
    validate,
    validation_row,
)

#: A JPEG curve, rows out of rate order on purpose (the reader sorts them).
CURVE = pd.DataFrame(
    {"quality": [30, 5, 10, 20], "bpp": [0.8, 0.1, 0.2, 0.4], "psnr": [31.0, 24.0, 26.0, 29.0]}
)


@pytest.fixture(scope="module")
def crops(bsds_test) -> list[np.ndarray]:
    """Two small real photos (crops of BSDS300 test images), 8-bit grayscale."""
    return [
        np.ascontiguousarray(bsds_test[0][1][40:104, 60:156]),  # 64x96
        np.ascontiguousarray(bsds_test[50][1][100:180, 30:102]),  # 80x72
    ]


@pytest.fixture(scope="module")
def tiny() -> Codec:
    torch.manual_seed(0)
    return Codec(ComCNN(channels=8), RecCNN(channels=8, depth=3), name="tiny").eval()


def test_gain_between_two_points_is_read_linearly_in_log_rate():
    # 0.3 bpp lies between 0.2 (26 dB) and 0.4 (29 dB): log(0.3/0.2) / log(0.4/0.2) = log2(1.5)
    expected = 26.0 + 3.0 * math.log2(1.5)  # 27.7549 dB (linear in bpp would give 27.5)
    out = gain_over_jpeg(28.5, 0.3, CURVE)
    assert isinstance(out, tuple) and len(out) == 2
    assert out[0] == pytest.approx(expected, abs=1e-12)
    assert out[0] == pytest.approx(27.7548875, abs=1e-7)
    assert out[1] == pytest.approx(28.5 - expected, abs=1e-12)  # positive: better than JPEG
    # on a point of the curve, the point itself; a worse codec has a negative gain
    assert gain_over_jpeg(27.0, 0.4, CURVE) == pytest.approx((29.0, -2.0), abs=1e-12)
    # between 0.1 and 0.2: a quarter of the way in log-rate at 0.1 * 2**0.25
    assert gain_over_jpeg(25.0, 0.1 * 2**0.25, CURVE) == pytest.approx((24.5, 0.5), abs=1e-12)


def test_gain_outside_the_curve_is_against_its_end_values():
    assert gain_over_jpeg(23.0, 0.05, CURVE) == pytest.approx((24.0, -1.0), abs=1e-12)
    assert gain_over_jpeg(25.0, 0.1, CURVE) == pytest.approx((24.0, 1.0), abs=1e-12)
    assert gain_over_jpeg(33.5, 1.6, CURVE) == pytest.approx((31.0, 2.5), abs=1e-12)
    assert gain_over_jpeg(30.0, 0.8, CURVE) == pytest.approx((31.0, -1.0), abs=1e-12)


def _pillow_jpeg(image: np.ndarray, quality: int) -> tuple[float, float]:
    """bpp and PSNR of libjpeg through Pillow: baseline, optimized Huffman tables."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality, optimize=True)
    data = buf.getvalue()
    decoded = np.asarray(Image.open(io.BytesIO(data)))
    bpp = len(data) * 8 / (image.shape[0] * image.shape[1])
    return bpp, peak_signal_noise_ratio(image, decoded, data_range=255)


def test_jpeg_curve_is_the_mean_of_real_jpeg_files(crops):
    curve = jpeg_curve(crops, qualities=(10, 60))
    assert list(curve.columns) == ["quality", "bpp", "psnr"] and list(curve.quality) == [10, 60]
    for q, row in zip((10, 60), curve.itertuples(), strict=True):
        ref = np.array([_pillow_jpeg(image, q) for image in crops])  # (image, [bpp, psnr])
        assert row.bpp == pytest.approx(ref[:, 0].mean(), rel=1e-12), q
        assert row.psnr == pytest.approx(ref[:, 1].mean(), abs=1e-9), q
    assert curve.bpp.iloc[0] < curve.bpp.iloc[1] and curve.psnr.iloc[0] < curve.psnr.iloc[1]


def _by_hand(codec: Codec, images, quality) -> dict:
    """Per-image figures of the real bytes, averaged here."""
    bpps, psnrs, ssims = [], [], []
    for image in images:
        data = codec.compress(image, quality)
        x_hat = codec.decompress(data)
        bpps.append(len(data) * 8 / (image.shape[0] * image.shape[1]))
        psnrs.append(peak_signal_noise_ratio(image, x_hat, data_range=255))
        ssims.append(structural_similarity(image, x_hat, data_range=255, gaussian_weights=True,
                                           sigma=1.5, use_sample_covariance=False))  # fmt: skip
    return dict(bpp=np.mean(bpps), psnr=np.mean(psnrs), ssim=np.mean(ssims), all_bpp=bpps)


def test_validate_is_the_mean_over_the_real_bitstreams(tiny, crops):
    got = validate(tiny, crops, 20)
    ref = _by_hand(tiny, crops, 20)
    assert set(got) == {"psnr", "ssim", "bpp"}
    assert got["bpp"] == pytest.approx(ref["bpp"], rel=1e-12)  # header included
    assert ref["all_bpp"][0] != ref["all_bpp"][1]  # a mean of two different rates
    assert got["psnr"] == pytest.approx(ref["psnr"], abs=1e-6)
    assert got["ssim"] == pytest.approx(ref["ssim"], abs=1e-4)


def test_validation_row_gain_is_against_jpeg_at_each_qualitys_rate(tiny, crops):
    columns, per = validation_row(tiny, crops, (10, 30), CURVE)
    refs = [_by_hand(tiny, crops, q) for q in (10, 30)]
    assert per["quality"] == [10, 30]
    assert per["bpp"] == pytest.approx([r["bpp"] for r in refs], rel=1e-12)
    # JPEG's PSNR read at each quality's rate (linear in log-rate, clamped), then averaged
    log_bpp, psnr = np.log([0.1, 0.2, 0.4, 0.8]), [24.0, 26.0, 29.0, 31.0]
    jpeg_psnr = np.mean([np.interp(np.log(r["bpp"]), log_bpp, psnr) for r in refs])
    val_psnr = np.mean([r["psnr"] for r in refs])
    assert columns["val_bpp"] == pytest.approx(np.mean([r["bpp"] for r in refs]), rel=1e-12)
    assert columns["val_psnr"] == pytest.approx(val_psnr, abs=1e-6)
    assert columns["val_jpeg_psnr"] == pytest.approx(jpeg_psnr, abs=1e-9)
    assert columns["val_gain_db"] == pytest.approx(val_psnr - jpeg_psnr, abs=1e-6)
    assert list(columns) == ["val_psnr", "val_ssim", "val_bpp", "val_jpeg_psnr", "val_gain_db"]
    assert columns["val_ssim"] == pytest.approx(np.mean([r["ssim"] for r in refs]), abs=1e-6)
    assert per["ssim"] == pytest.approx([r["ssim"] for r in refs], abs=1e-6)


def test_gain_per_doubling_of_the_steps_phase_by_phase():
    # phase 1: +0.1 dB per doubling from 100 steps on; phase 2 from phase 1's end: +0.05
    steps = [0, 100, 200, 400, 800, 1600, 3200]
    gains = [0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9]
    log = pd.DataFrame({"step": steps, "val_gain_db": gains, "seconds": [60.0] * 7,
                        "phase": [1, 1, 1, 1, 1, 2, 2]})  # fmt: skip
    pace = gain_per_doubling(log)
    assert list(pace.phase) == [1, 2]
    first, second = pace.iloc[0], pace.iloc[1]
    assert (first.start_step, first.end_step) == (400, 800)  # the second half: from step <= 400
    assert first.db_per_doubling == pytest.approx(0.1)
    assert (second.start_step, second.end_step) == (800, 3200)  # from phase 1's last row
    assert second.db_per_doubling == pytest.approx(0.05)  # 0.1 dB over two doublings
    assert list(pace.minutes) == [5.0, 2.0]
    assert list(pace.start_gain_db) == [0.7, 0.8] and list(pace.end_gain_db) == [0.8, 0.9]
    assert list(pace.columns) == ["phase", "start_step", "end_step", "start_gain_db",
                                  "end_gain_db", "minutes", "db_per_doubling"]  # fmt: skip
    # without a phase column the log is one phase; a flat curve has no pace
    flat = gain_per_doubling(log.drop(columns="phase").assign(val_gain_db=0.7))
    assert len(flat) == 1 and flat.db_per_doubling[0] == 0 and flat.end_step[0] == 3200
    assert flat.phase[0] == 1
    with pytest.raises(ValueError, match=r"^the log has no row after step 0: nothing trained yet$"):
        gain_per_doubling(log.iloc[:1])
    # no trained row in phase 1's first half: its first trained row starts the pace
    early = pd.DataFrame({"step": [0, 100, 150], "val_gain_db": [0.0, 0.5, 0.6],
                          "seconds": [0.0, 1.0, 1.0]})  # fmt: skip
    row = gain_per_doubling(early).iloc[0]
    assert (row.start_step, row.end_step) == (100, 150)
    assert row.db_per_doubling == pytest.approx(0.1 / np.log2(1.5))


def test_gain_per_doubling_at_the_edges():
    # trained rows from step 1 on: a row at step 1 counts as trained
    ones = pd.DataFrame({"step": [0, 1], "val_gain_db": [0.0, 0.2], "seconds": [0.0, 1.0]})
    one = gain_per_doubling(ones).iloc[0]  # one trained row: no doubling to measure
    assert (one.start_step, one.end_step) == (1, 1) and np.isnan(one.db_per_doubling)
    three = pd.DataFrame({"step": [0, 1, 3], "val_gain_db": [0.0, 0.2, 0.4], "seconds": [1.0] * 3})
    row = gain_per_doubling(three).iloc[0]
    assert (row.start_step, row.end_step) == (1, 3)  # step 1 is in the first half of 3
    assert row.db_per_doubling == pytest.approx(0.2 / np.log2(3))
    # phases are taken in the order of their number, whatever the order of the rows
    log = pd.DataFrame({"step": [0, 100, 200, 400, 800], "val_gain_db": [0.0, 0.5, 0.6, 0.7, 0.8],
                        "seconds": [1.0] * 5, "phase": [1, 1, 1, 2, 2]})  # fmt: skip
    shuffled = pd.concat([log[log.phase == 2], log[log.phase == 1]], ignore_index=True)
    pd.testing.assert_frame_equal(gain_per_doubling(shuffled), gain_per_doubling(log))
    # a later phase that does not go past the previous one's steps has no pace: not a
    # negative one when its steps restart (a log not chained), nor an infinite one when it
    # only validates again at the same step
    restarted = gain_per_doubling(log.assign(step=[0, 100, 200, 50, 150])).iloc[1]
    assert (restarted.start_step, restarted.end_step) == (200, 150)
    again = gain_per_doubling(log.assign(step=[0, 100, 200, 200, 200])).iloc[1]
    assert (again.start_step, again.end_step) == (200, 200) and again.end_gain_db == 0.8
    assert np.isnan(restarted.db_per_doubling) and np.isnan(again.db_per_doubling)


def test_steps_to_gain_at_the_latest_pace():
    # phase 2's pace is +0.05 dB per doubling: 0.1 dB more takes two doublings, 4x the steps
    log = pd.DataFrame({"step": [0, 100, 200, 400, 800, 1600, 3200],
                        "val_gain_db": [0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9],
                        "seconds": [0.0] + [60.0] * 6, "phase": [1, 1, 1, 1, 1, 2, 2]})  # fmt: skip
    budget = steps_to_gain(log, 0.15)
    assert budget["db_per_doubling"] == pytest.approx(0.05)
    assert budget["doublings"] == pytest.approx(3.0)
    assert budget["factor"] == pytest.approx(8.0) and budget["steps"] == 3200
    assert budget["more_steps"] == pytest.approx(7 * 3200)
    # at phase 2's rate: 2 minutes for its 2400 steps (800 to 3200)
    assert budget["more_hours"] == pytest.approx(7 * 3200 * 120 / 2400 / 3600)
    # one phase: its pace over its second half (1600 to 3200: +0.05), its 6 minutes from 0
    one_phase = steps_to_gain(log.drop(columns="phase"), 0.1)
    assert one_phase["doublings"] == pytest.approx(2.0)
    assert one_phase["more_hours"] == pytest.approx(3 * 3200 * 360 / 3200 / 3600)
    assert steps_to_gain(log, -0.2)["more_steps"] == 0  # already there: nothing to add
    with pytest.raises(
        ValueError,
        match=r"^the latest phase's pace is \+0\.000 dB per doubling: "
        r"no number of steps reaches the target at that pace$",
    ):
        steps_to_gain(log.assign(val_gain_db=0.7), 0.1)  # a flat curve never gets there
