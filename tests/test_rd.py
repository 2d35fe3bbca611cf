"""comp_lib.rd: Bjontegaard deltas, curves, envelopes and the quality at a rate."""

import math

import numpy as np
import pandas as pd
import pytest

from comp_lib import jpeg
from comp_lib.metrics import bpp, psnr
from comp_lib.rd import (
    at_rates,
    bd_psnr,
    bd_rate,
    bd_table,
    common_range_table,
    envelope,
    per_image_gain,
    psnr_at_rate,
    rd_curves,
)

QUALITIES = (5, 10, 20, 30, 50, 75)


def test_psnr_at_rate_is_linear_in_log_rate_by_hand():
    curve = pd.DataFrame({"bpp": [0.4, 0.1, 0.2], "psnr": [34.0, 28.0, 31.0]})  # unsorted
    # halfway between 0.1 and 0.2 in log-rate is sqrt(0.02): halfway between 28 and 31
    assert psnr_at_rate(curve, math.sqrt(0.1 * 0.2)) == pytest.approx(29.5, abs=1e-12)
    # a quarter of the way from 0.2 to 0.4 in log-rate
    assert psnr_at_rate(curve, 0.2 * 2**0.25) == pytest.approx(31.75, abs=1e-12)
    # linear in bpp would give 28 + 3 * (0.15 - 0.1) / 0.1 = 29.5 at 0.15: log-rate gives more
    assert psnr_at_rate(curve, 0.15) == pytest.approx(28 + 3 * math.log(1.5) / math.log(2))
    assert psnr_at_rate(curve, [0.1, 0.4]).tolist() == [28.0, 34.0]  # the end points, inclusive


def test_psnr_at_rate_outside_the_curve():
    curve = pd.DataFrame({"bpp": [0.1, 0.2, 0.4], "psnr": [28.0, 31.0, 34.0]})
    assert math.isnan(psnr_at_rate(curve, 0.05))
    assert math.isnan(psnr_at_rate(curve, 0.5))
    assert psnr_at_rate(curve, 0.05, outside="clamp") == 28.0
    assert psnr_at_rate(curve, 0.5, outside="clamp") == 34.0
    with pytest.raises(ValueError, match="outside"):
        psnr_at_rate(curve, 0.2, outside="extrapolate")
    with pytest.raises(ValueError, match="> 0"):
        psnr_at_rate(curve, 0.0)


def test_per_image_gain_reads_each_images_own_anchor():
    rows = pd.DataFrame(
        {
            "image": ["a"] * 4 + ["b"] * 4,
            "codec": ["JPEG", "JPEG", "ours", "ours"] * 2,
            "setting": [1, 2, 1, 2] * 2,
            "bpp": [0.1, 0.4, 0.2, 0.5, 0.1, 0.4, 0.2, 0.05],
            "psnr": [20.0, 24.0, 23.0, 30.0, 30.0, 34.0, 33.0, 10.0],
        }
    )
    gain = per_image_gain(rows, "ours").set_index(["image", "setting"]).gain_db
    assert gain["a", 1] == pytest.approx(23.0 - 22.0)  # 0.2 is halfway from 0.1 to 0.4 in log
    assert gain["b", 1] == pytest.approx(33.0 - 32.0)
    assert math.isnan(gain["a", 2]) and math.isnan(gain["b", 2])  # outside JPEG's rates


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


def test_envelope_keeps_the_best_point_at_each_rate():
    curves = pd.DataFrame(dict(
        codec=["a", "a", "a", "b", "b", "b", "c"],
        setting=[1, 2, 3, 1, 2, 3, 1],
        bpp=[0.1, 0.2, 0.4, 0.15, 0.3, 0.5, 0.05],
        psnr=[24.0, 25.0, 26.0, 23.0, 27.0, 29.0, 30.0],
    ))  # fmt: skip
    best = envelope(curves, ["a", "b"])  # "c" is not asked for
    assert list(zip(best.codec, best.setting, strict=True)) == [("a", 1), ("a", 2), ("b", 2),
                                                                ("b", 3)]  # fmt: skip
    assert best.bpp.is_monotonic_increasing and best.psnr.is_monotonic_increasing
    with pytest.raises(ValueError, match="no curve"):
        envelope(curves, ["zz"])
    # two models at the same rate: only the better one; a sliver of rate saved at a loss in
    # quality is a rung only without tolerance
    near = pd.DataFrame(dict(
        codec=["a", "b", "a", "b"], setting=[1, 1, 2, 2],
        bpp=[0.2, 0.2, 0.499, 0.5], psnr=[25.0, 25.5, 27.0, 28.0],
    ))  # fmt: skip
    pairs = lambda df: list(zip(df.codec, df.setting, strict=True))  # noqa: E731
    assert pairs(envelope(near, ["a", "b"])) == [("b", 1), ("a", 2), ("b", 2)]
    assert pairs(envelope(near, ["a", "b"], rate_tol=0.01)) == [("b", 1), ("b", 2)]
    with pytest.raises(ValueError, match="rate_tol"):
        envelope(near, ["a"], rate_tol=-1)


def test_common_range_table_uses_one_range_for_every_codec(rows):
    curves = rd_curves(rows)
    short = curves[curves.codec == "JPEG"].head(4).assign(codec="short")  # a sweep that stops
    short["psnr"] += 0.5
    both = pd.concat([curves, short])
    table = common_range_table(both, "JPEG").set_index("codec")
    assert sorted(table.index) == ["bicubic", "short"]
    span = both.groupby("codec").bpp.agg(["min", "max"])
    assert table.min_rate.eq(span["min"].max()).all() and table.max_rate.eq(span["max"].min()).all()
    # JPEG + 0.5 dB, up to the interpolants' differences between 4 and 6 points
    assert table.loc["short", "bd_psnr_db"] == pytest.approx(0.5, abs=0.01)
    capped = common_range_table(curves, "JPEG", max_rate=0.5)
    assert capped.max_rate.iloc[0] == 0.5
    with pytest.raises(ValueError, match="no 'AVIF' curve"):
        common_range_table(curves, "AVIF")
