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
    monotone,
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


def test_envelope_hull_drops_the_rungs_below_a_chord():
    """The ladder's zig-zag between two models: ``b`` at 0.114 bpp is on the Pareto front
    (nothing cheaper is better) but below the chord from ``a`` at 0.106 to ``a`` at 0.117,
    so mixing those two over a set of images beats it on the mean curve; ``b`` at 0.07,
    below every ``a``, stays."""
    curves = pd.DataFrame(dict(
        codec=["b", "a", "b", "a", "a"], setting=[6, 2, 8, 3, 4],
        bpp=[0.07, 0.106, 0.114, 0.117, 0.142], psnr=[23.0, 24.2, 24.4, 24.55, 25.3],
    ))  # fmt: skip
    pairs = lambda df: list(zip(df.codec, df.setting, strict=True))  # noqa: E731
    front = envelope(curves, ["a", "b"])
    assert pairs(front) == [("b", 6), ("a", 2), ("b", 8), ("a", 3), ("a", 4)]
    hull = envelope(curves, ["a", "b"], hull=True)
    assert pairs(hull) == [("b", 6), ("a", 2), ("a", 3), ("a", 4)]
    assert hull.index.tolist() == list(range(len(hull)))
    # the mix that beats ("b", 8): a share w of the images at ("a", 2), the rest at ("a", 3),
    # at the same mean rate
    w = (0.117 - 0.114) / (0.117 - 0.106)
    assert w * 24.2 + (1 - w) * 24.55 > 24.4
    # a concave curve loses nothing; a point on a chord is dropped
    line = curves[curves.codec == "a"].assign(psnr=[24.0, 25.1, 26.0])
    assert len(envelope(line, ["a"], hull=True)) == 3
    on = line.assign(bpp=[0.1, 0.2, 0.3], psnr=[24.0, 25.0, 26.0])
    assert pairs(envelope(on, ["a"], hull=True)) == [("a", 2), ("a", 4)]


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


# Two straight lines in (log-rate, PSNR) with different slopes, so that the gain changes with
# rate: pchip and a cubic fit reproduce them exactly and every delta has a closed form. The
# curves cover different rates (anchor 0.05..0.8, test 0.1..1.6) and different PSNRs (the test's
# range starts higher and ends higher), so both ends of every overlap matter.
A0, A1 = 32.0, 4.0  # anchor: PSNR = 32 + 4 ln(R)
T0, T1 = 34.0, 5.0  # test: PSNR = 34 + 5 ln(R), gain 2 + ln(R) dB
R_ANCHOR = np.array([0.05, 0.1, 0.2, 0.4, 0.8])
R_TEST = np.array([0.1, 0.2, 0.4, 0.8, 1.6])


def _lines():
    return R_ANCHOR, A0 + A1 * np.log(R_ANCHOR), R_TEST, T0 + T1 * np.log(R_TEST)


def _mean_log_rate_gap(d_lo: float, d_hi: float) -> float:
    """Mean of ln R_test(D) - ln R_anchor(D) over [d_lo, d_hi]: the linear gap at the middle."""
    mid = (d_lo + d_hi) / 2
    return (mid - T0) / T1 - (mid - A0) / A1


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_bd_psnr_of_lines_integrates_over_the_overlap_of_log_rates(method):
    ra, da, rt, dt = _lines()
    # overlap ln 0.1 .. ln 0.8 (the test's lowest, the anchor's highest rate); the gain 2 + x is
    # linear in x = ln R, so its mean is its value at the middle, ln sqrt(0.08)
    expect = 2 + math.log(math.sqrt(0.1 * 0.8))
    assert bd_psnr(ra, da, rt, dt, method=method) == pytest.approx(expect, abs=1e-9)
    # the arguments swapped: the same interval, the opposite sign
    assert bd_psnr(rt, dt, ra, da, method=method) == pytest.approx(-expect, abs=1e-9)
    # max_rate inside the overlap ends the interval at ln 0.4; above it (1.2) changes nothing
    at_04 = 2 + math.log(math.sqrt(0.1 * 0.4))
    assert bd_psnr(ra, da, rt, dt, method=method, max_rate=0.4) == pytest.approx(at_04, abs=1e-9)
    assert bd_psnr(ra, da, rt, dt, method=method, max_rate=1.2) == pytest.approx(expect, abs=1e-9)
    # min_rate inside starts it at ln 0.2; below the overlap (0.06) changes nothing
    from_02 = 2 + math.log(math.sqrt(0.2 * 0.8))
    assert bd_psnr(ra, da, rt, dt, method=method, min_rate=0.2) == pytest.approx(from_02, abs=1e-9)
    assert bd_psnr(ra, da, rt, dt, method=method, min_rate=0.06) == pytest.approx(expect, abs=1e-9)
    both = bd_psnr(ra, da, rt, dt, method=method, min_rate=0.15, max_rate=0.3)
    assert both == pytest.approx(2 + math.log(math.sqrt(0.15 * 0.3)), abs=1e-9)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_bd_rate_of_lines_integrates_over_the_overlap_of_psnrs(method):
    ra, da, rt, dt = _lines()
    # PSNR overlap: from the test's lowest (34 + 5 ln 0.1 = 22.49) to the anchor's highest
    # (32 + 4 ln 0.8 = 31.11); ln R is linear in PSNR on each curve, so is their gap
    lo, hi = T0 + T1 * math.log(0.1), A0 + A1 * math.log(0.8)
    expect = (math.exp(_mean_log_rate_gap(lo, hi)) - 1) * 100
    assert expect == pytest.approx(-13.05, abs=0.01)  # mid 26.80 dB: ln(R_t / R_a) = -0.14
    assert bd_rate(ra, da, rt, dt, method=method) == pytest.approx(expect, rel=1e-9)
    # max_rate 0.4: the upper limit is the lower of the two PSNRs at 0.4 (the anchor's, 28.33;
    # the test's is 29.42)
    assert A0 + A1 * math.log(0.4) < T0 + T1 * math.log(0.4)
    hi_04 = A0 + A1 * math.log(0.4)
    expect_04 = (math.exp(_mean_log_rate_gap(lo, hi_04)) - 1) * 100
    assert bd_rate(ra, da, rt, dt, method=method, max_rate=0.4) == pytest.approx(
        expect_04, rel=1e-9
    )
    # max_rate 1.2 is above the anchor's highest rate: the anchor reaches 31.11 at most
    assert bd_rate(ra, da, rt, dt, method=method, max_rate=1.2) == pytest.approx(expect, rel=1e-9)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_bd_rate_max_rate_takes_the_lower_quality_of_the_two_curves(method):
    """Anchor better at 0.3 bpp than the test: the limit is now the test's PSNR there."""
    ra, da, rt, dt = _lines()
    da = da + 1.5  # the anchor 1.5 dB up: 33.5 + 4 ln 0.3 = 28.68 dB at 0.3 bpp
    a_03, t_03 = A0 + 1.5 + A1 * math.log(0.3), T0 + T1 * math.log(0.3)
    assert t_03 < a_03  # 27.98 < 28.68
    lo = T0 + T1 * math.log(0.1)
    mid = (lo + t_03) / 2
    gap = (mid - T0) / T1 - (mid - A0 - 1.5) / A1
    assert bd_rate(ra, da, rt, dt, method=method, max_rate=0.3) == pytest.approx(
        (math.exp(gap) - 1) * 100, rel=1e-9
    )


def test_psnr_at_rate_on_an_array_of_rates_both_rules():
    curve = pd.DataFrame({"bpp": [0.4, 0.1], "psnr": [32.0, 28.0]})
    rates = np.array([[0.05, 0.2], [0.4, 0.9]])
    nan = psnr_at_rate(curve, rates)
    assert nan.shape == (2, 2)
    assert np.isnan(nan[0, 0]) and np.isnan(nan[1, 1])  # below and above the curve
    assert nan[0, 1] == pytest.approx(30.0) and nan[1, 0] == 32.0  # 0.2: halfway in log-rate
    clamp = psnr_at_rate(curve, rates, outside="clamp")
    assert clamp.tolist() == [[28.0, pytest.approx(30.0)], [32.0, 32.0]]


def test_at_rates_reads_each_codec_linearly_in_log_rate_by_hand():
    curves = pd.DataFrame({
        "codec": ["A", "A", "B", "B"],
        "bpp": [0.1, 0.4, 0.2, 0.8],
        "psnr": [28.0, 32.0, 30.0, 36.0],
        "ssim": [0.70, 0.90, 0.80, 0.95],
    })  # fmt: skip
    got = at_rates(curves, [0.05, 0.2, 0.3, 0.6]).set_index(["codec", "bpp"])
    f3 = math.log(3) / math.log(4)  # 0.3 in 0.1..0.4 and 0.6 in 0.2..0.8, in log-rate
    f15 = math.log(1.5) / math.log(4)  # 0.3 in 0.2..0.8
    # linear in bpp would give A 30.67 and B 31.0 dB at 0.3: 0.5 and 0.75 dB less
    expect = {
        ("A", 0.2): (30.0, 0.80),
        ("A", 0.3): (28 + 4 * f3, 0.70 + 0.20 * f3),
        ("B", 0.2): (30.0, 0.80),
        ("B", 0.3): (30 + 6 * f15, 0.80 + 0.15 * f15),
        ("B", 0.6): (30 + 6 * f3, 0.80 + 0.15 * f3),
    }
    for key, (p, s) in expect.items():
        assert got.loc[key, "psnr"] == pytest.approx(p, abs=1e-12), key
        assert got.loc[key, "ssim"] == pytest.approx(s, abs=1e-12), key
    # no extrapolation at either end: 0.05 is below both curves, 0.6 above A's
    nans = [("A", 0.05), ("B", 0.05), ("A", 0.6)]
    assert got.loc[nans, ["psnr", "ssim"]].isna().all().all()
    assert len(got) == 8


def _line(name: str, rates, c0: float, c1: float) -> pd.DataFrame:
    rates = np.asarray(rates, dtype=float)
    return pd.DataFrame({"codec": name, "setting": range(len(rates)), "bpp": rates,
                         "psnr": c0 + c1 * np.log(rates)})  # fmt: skip


def test_common_range_table_by_hand():
    """Three straight lines: the range is the highest lowest rate to the lowest highest rate
    of all of them, the same for each codec; the gain of a line over another is its mean
    difference over that log-rate interval, by hand."""
    u_rates = [0.2, 0.3, 0.4, 0.5, 0.6]
    curves = pd.concat([_line("JPEG", R_ANCHOR, A0, A1), _line("t", R_TEST, T0, T1),
                        _line("u", u_rates, T0 + 1, T1)])  # fmt: skip

    def by_hand(c0: float, lo: float, hi: float) -> float:  # mean of (c0 - A0) + (T1 - A1) ln R
        return (c0 - A0) + (T1 - A1) * (math.log(lo) + math.log(hi)) / 2

    table = common_range_table(curves).set_index("codec")  # the anchor is JPEG by default
    assert table.columns.tolist() == ["anchor", "min_rate", "max_rate", "bd_psnr_db"]
    assert (table.anchor == "JPEG").all()
    assert table.min_rate.eq(0.2).all() and table.max_rate.eq(0.6).all()
    assert table.loc["t", "bd_psnr_db"] == pytest.approx(by_hand(T0, 0.2, 0.6), abs=1e-9)
    assert table.loc["u", "bd_psnr_db"] == pytest.approx(by_hand(T0 + 1, 0.2, 0.6), abs=1e-9)
    capped = common_range_table(curves, max_rate=0.5).set_index("codec")
    assert capped.max_rate.eq(0.5).all()
    assert capped.loc["t", "bd_psnr_db"] == pytest.approx(by_hand(T0, 0.2, 0.5), abs=1e-9)
    # a codec that shares no rate with the others: NaN for every codec, not an error
    far = pd.concat([curves, _line("far", [2, 3, 4, 5], 50, 1)])
    apart = common_range_table(far)
    assert len(apart) == 3 and all(math.isnan(x) for x in apart.bd_psnr_db)


def test_per_image_gain_rows_by_hand():
    rows = pd.DataFrame({"image": ["a", "a", "a"], "codec": ["JPEG", "JPEG", "ours"],
                         "setting": [1, 2, 7], "bpp": [0.1, 0.4, 0.2],
                         "psnr": [20.0, 24.0, 23.5]})  # fmt: skip
    got = per_image_gain(rows, "ours")
    want = pd.DataFrame({"image": ["a"], "setting": [7], "bpp": [0.2], "psnr": [23.5],
                         "anchor_psnr": [22.0], "gain_db": [1.5]})  # fmt: skip
    pd.testing.assert_frame_equal(got, want)


def test_envelope_of_twin_curves_keeps_their_points_and_columns():
    """Two codecs with the same points: neither beats the other, so every rate stays (a
    tie is not a loss); the envelope keeps the input's columns and a fresh index."""
    a = pd.DataFrame(dict(codec="a", setting=[1, 2, 3], bpp=[0.1, 0.2, 0.4],
                          psnr=[24.0, 26.0, 28.0]), index=[10, 11, 12])  # fmt: skip
    best = envelope(pd.concat([a, a.assign(codec="b")]), ["a", "b"])
    assert best.columns.tolist() == a.columns.tolist()
    assert best.index.tolist() == list(range(len(best)))
    assert sorted(set(best.bpp)) == [0.1, 0.2, 0.4]


def test_bd_table_by_hand_on_lines():
    """bd_table against the default anchor (JPEG), on straight lines whose deltas are known:
    BD-PSNR as in test_bd_psnr_of_lines..., and NaN (not an error) for a curve of 3 points."""
    curves = pd.concat(
        [
            _line("JPEG", R_ANCHOR, A0, A1),
            _line("t", R_TEST, T0, T1),
            _line("few", [0.1, 0.2, 0.3], 40, 1),
        ]
    ).assign(ssim=lambda d: d.psnr / 50)
    table = bd_table(curves, max_rate=0.6).set_index("codec")  # fmt: skip
    assert table.columns.tolist() == ["anchor", "max_rate", "bd_rate_psnr_%", "bd_rate_ssim_%",
                                      "bd_psnr_db"]  # fmt: skip
    assert (table.anchor == "JPEG").all() and table.max_rate.eq(0.6).all()
    lo, hi = math.log(0.1), math.log(0.6)  # the log-rates both cover, up to max_rate
    assert table.loc["t", "bd_psnr_db"] == pytest.approx((T0 - A0) + (T1 - A1) * (lo + hi) / 2)
    assert table.loc["t", "bd_rate_psnr_%"] == pytest.approx(table.loc["t", "bd_rate_ssim_%"])
    deltas = ["bd_rate_psnr_%", "bd_rate_ssim_%", "bd_psnr_db"]
    assert all(math.isnan(x) for x in table.loc["few", deltas])
    a, t = curves[curves.codec == "JPEG"], curves[curves.codec == "t"]
    cut = bd_rate(a.bpp, a.psnr, t.bpp, t.psnr, max_rate=0.6)
    assert table.loc["t", "bd_rate_psnr_%"] == pytest.approx(cut, rel=1e-12)
    assert abs(cut - bd_rate(a.bpp, a.psnr, t.bpp, t.psnr)) > 0.1  # the cut matters here
    alone = bd_table(curves[curves.codec != "t"])  # every row NaN: floats still, not None
    assert all(math.isnan(x) for x in alone[deltas].to_numpy().ravel())


def test_rd_curves_columns_and_monotone_drops_ties():
    rows = pd.DataFrame({"codec": ["b", "a", "a", "a"], "setting": [1, 1, 1, 2],
                         "image": ["x", "x", "y", "x"], "bpp": [0.3, 0.1, 0.3, 0.4],
                         "psnr": [30.0, 20.0, 22.0, 25.0], "ssim": [0.9, 0.5, 0.7, 0.8],
                         "encode_ms": 1.0, "decode_ms": 2.0})  # fmt: skip
    curves = rd_curves(rows)
    assert curves.columns.tolist() == ["codec", "setting", "bpp", "psnr", "ssim", "encode_ms",
                                       "decode_ms"]  # fmt: skip
    assert curves.index.tolist() == [0, 1, 2]
    assert curves[["codec", "setting"]].values.tolist() == [["a", 1], ["a", 2], ["b", 1]]
    assert curves.bpp.iloc[0] == pytest.approx(0.2) and curves.psnr.iloc[0] == 21.0
    plateau = pd.DataFrame({"bpp": [0.1, 0.2, 0.3, 0.4], "psnr": [20.0, 20.0, 19.0, 21.0]})
    assert monotone(plateau, "psnr").bpp.tolist() == [0.1, 0.4]  # equal is not better


def test_bd_psnr_names_the_bad_curve():
    good = (R_ANCHOR, A0 + A1 * np.log(R_ANCHOR))
    with pytest.raises(ValueError, match="^anchor: Bjontegaard deltas need at least 4 points"):
        bd_psnr(R_ANCHOR[:3], good[1][:3], *good)
    with pytest.raises(ValueError, match="^test: Bjontegaard deltas need at least 4 points"):
        bd_psnr(*good, R_ANCHOR[:3], good[1][:3])


def test_bd_rate_names_the_bad_curve_and_max_rate_edges():
    good = (R_ANCHOR, A0 + A1 * np.log(R_ANCHOR))
    with pytest.raises(ValueError, match="^anchor: Bjontegaard deltas need at least 4 points"):
        bd_rate(R_ANCHOR[:3], good[1][:3], *good)
    with pytest.raises(ValueError, match="^test: Bjontegaard deltas need at least 4 points"):
        bd_rate(*good, R_ANCHOR[:3], good[1][:3])
    # max_rate must lie above the lowest rate of both curves: at it exactly, an error
    shifted = np.array([0.06, 0.12, 0.24, 0.48, 0.96])  # starts between the anchor's 0.05, 0.1
    test = (shifted, T0 + T1 * np.log(shifted))
    with pytest.raises(ValueError, match=r"max_rate=0.06 is below the lowest rate of a curve"):
        bd_rate(*good, *test, max_rate=0.06)
    assert math.isfinite(bd_rate(*good, *test, max_rate=0.08))  # above both first rates


@pytest.mark.parametrize(
    ("rate", "dist", "error"),
    [
        ([0.1, 0.2, 0.3, 0.4], [20.0, 21.0, 22.0], "rate and distortion must be 1-D of one length"),
        ([[0.1, 0.2], [0.3, 0.4]], [[20.0, 21.0], [22.0, 23.0]], "must be 1-D of one length"),
        ([0.0, 0.2, 0.3, 0.4], [20.0, 21.0, 22.0, 23.0], "rates must be positive and finite"),
        ([0.1, 0.2, 0.3, np.inf], [20.0, 21.0, 22.0, 23.0], "rates must be positive and finite"),
        ([0.1, 0.2, 0.3, 0.4], [20.0, np.nan, 22.0, 23.0], "distortions finite"),
        ([0.1, 0.2, 0.2, 0.4], [20.0, 21.0, 22.0, 23.0], "need distinct rates and a distortion"),
        ([0.1, 0.2, 0.3, 0.4], [20.0, 21.0, 21.0, 23.0], "strictly increases with rate"),
    ],
)
def test_bd_refuses_a_bad_curve_with_its_reason(rate, dist, error):
    good = (R_ANCHOR, A0 + A1 * np.log(R_ANCHOR))
    for bd in (bd_rate, bd_psnr):
        with pytest.raises(ValueError, match="^test: .*" + error):
            bd(*good, rate, dist)


def test_bd_errors_name_the_method_and_the_missing_overlap():
    low = (np.array([0.1, 0.2, 0.3, 0.4]), np.array([20.0, 21.0, 22.0, 23.0]))
    high = (np.array([0.4, 0.8, 1.2, 1.6]), np.array([24.0, 25.0, 26.0, 27.0]))
    with pytest.raises(ValueError, match="method must be 'pchip' or 'cubic', got 'linear'"):
        bd_psnr(*low, *low, method="linear")
    with pytest.raises(ValueError, match="^the two curves do not overlap; Bjontegaard deltas "
                       "are undefined$"):  # fmt: skip
        bd_psnr(*low, *high)  # they touch at 0.4 bpp only: an interval of length 0


def test_bd_psnr_cubic_is_the_least_squares_cubic_by_hand():
    """VCEG-M33's method on curves that are not cubics: each curve's least-squares cubic in
    log-rate (solved here with numpy's lstsq, not polyfit) integrated over the overlap."""
    ra, rt = np.array([0.1, 0.2, 0.3, 0.5, 0.7, 1.0]), np.array([0.15, 0.25, 0.4, 0.6, 0.9, 1.2])
    da, dt = 30 + 3 * np.sqrt(ra) + np.log(ra), 31 + 2 * np.sqrt(rt) + 1.2 * np.log(rt)
    lo, hi = math.log(0.15), math.log(1.0)

    def mean_of_cubic(r, d):
        x = np.log(r)
        c = np.linalg.lstsq(np.vander(x, 4), d, rcond=None)[0]  # c0 x^3 + c1 x^2 + c2 x + c3
        integral = lambda t: sum(ci * t ** (4 - k) / (4 - k) for k, ci in enumerate(c))  # noqa: E731
        return (integral(hi) - integral(lo)) / (hi - lo)

    want = mean_of_cubic(rt, dt) - mean_of_cubic(ra, da)
    assert bd_psnr(ra, da, rt, dt, method="cubic") == pytest.approx(want, abs=1e-9)


def test_psnr_at_rate_of_one_point_and_of_none():
    one = pd.DataFrame({"bpp": [0.3], "psnr": [30.0]})
    assert psnr_at_rate(one, 0.3) == 30.0 and math.isnan(psnr_at_rate(one, 0.2))
    assert psnr_at_rate(one, 0.2, outside="clamp") == 30.0
    with pytest.raises(ValueError, match="^psnr_at_rate: the curve has no points$"):
        psnr_at_rate(one.iloc[:0], 0.3)


def test_single_precision_curves_give_the_double_precision_answer():
    """Rates and PSNRs stored as float32 (a table read with a narrow dtype) are computed in
    float64: the deltas and the PSNR at a rate are exactly those of the float64 curves."""
    rate = np.array([0.11, 0.23, 0.41, 0.77, 1.31])
    anchor, test = 24.0 + 3.1 * np.log(rate), 24.9 + 2.9 * np.log(rate * 1.07)
    r32, a32, t32 = (x.astype(np.float32) for x in (rate, anchor, test))
    r64, a64, t64 = (x.astype(np.float64) for x in (r32, a32, t32))  # the same values, widened
    for method in ("pchip", "cubic"):
        assert bd_rate(r32, a32, r32, t32, method=method) == bd_rate(r64, a64, r64, t64,
                                                                      method=method)  # fmt: skip
        assert bd_psnr(r32, a32, r32, t32, method=method) == bd_psnr(r64, a64, r64, t64,
                                                                      method=method)  # fmt: skip
    curve32 = pd.DataFrame({"bpp": r32, "psnr": a32})
    curve64 = pd.DataFrame({"bpp": r64, "psnr": a64})
    query = np.array([0.17, 0.5, 1.0], dtype=np.float32)
    got = psnr_at_rate(curve32, query)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, psnr_at_rate(curve64, query.astype(np.float64)))
