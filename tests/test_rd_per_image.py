"""comp_lib.rd: BD-rate per image, and where two rate-distortion curves cross."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.interpolate import PchipInterpolator

from comp_lib.rd import (
    bd_rate_per_image,
    crossing_rates,
    psnr_at_rate,
    rd_curves,
    stops_beating,
    upper_points,
)


def _bd_rate_by_hand(anchor: pd.DataFrame, test: pd.DataFrame, max_rate=None) -> float:
    """Log-rate as a pchip function of PSNR on each curve, its mean gap over the PSNRs both
    reach (below ``max_rate``), as a rate ratio in %."""
    a, t = anchor.sort_values("bpp"), test.sort_values("bpp")
    lo = max(a.psnr.min(), t.psnr.min())
    hi = min(a.psnr.max(), t.psnr.max())
    if max_rate is not None:  # the PSNR each reaches at max_rate, on its own pchip of log-rate
        hi = min(float(PchipInterpolator(np.log(c.bpp), c.psnr)(min(np.log(max_rate),
                                                                    np.log(c.bpp.max()))))
                 for c in (a, t))  # fmt: skip
    fa = PchipInterpolator(a.psnr, np.log(a.bpp))
    ft = PchipInterpolator(t.psnr, np.log(t.bpp))
    gap = (ft.integrate(lo, hi) - fa.integrate(lo, hi)) / (hi - lo)
    return (math.exp(gap) - 1) * 100


@pytest.mark.parametrize("max_rate", [None, 0.6])
def test_one_bd_rate_per_image_against_that_images_jpeg(rows, max_rate):
    # conftest's rows: JPEG and bicubic+JPEG on three BSDS300 test images
    table = bd_rate_per_image(rows, "bicubic", max_rate=max_rate)
    assert list(table.columns) == ["image", "codec", "anchor", "max_rate", "bd_rate_psnr_%",
                                   "reason"]  # fmt: skip
    assert table.image.tolist() == list(dict.fromkeys(rows.image))
    for r in table.itertuples():
        mine = rows[rows.image == r.image]
        expected = _bd_rate_by_hand(mine[mine.codec == "JPEG"], mine[mine.codec == "bicubic"],
                                    max_rate)  # fmt: skip
        assert r._5 == pytest.approx(expected, abs=1e-9) and r.reason == ""
    # a mean over images is not the BD-rate of the mean curves
    curves = rd_curves(rows)
    mean_curve = _bd_rate_by_hand(curves[curves.codec == "JPEG"],
                                  curves[curves.codec == "bicubic"], max_rate)  # fmt: skip
    assert abs(table["bd_rate_psnr_%"].mean() - mean_curve) > 0.01


def test_images_without_a_bd_rate_say_why(rows):
    first, second, third = list(dict.fromkeys(rows.image))
    few = rows[~((rows.image == first) & (rows.codec == "bicubic") & (rows.setting > 30))]
    apart = few[~((few.image == second) & (few.codec == "JPEG") & (few.setting > 10))]
    apart = apart[~((apart.image == second) & (apart.codec == "bicubic") & (apart.setting < 50))]
    table = bd_rate_per_image(apart, "bicubic", max_rate=None).set_index("image")
    assert math.isnan(table.loc[first, "bd_rate_psnr_%"])
    assert table.loc[first, "reason"] == (
        "bicubic: Bjontegaard deltas need at least 4 points, got 2"
    )
    # JPEG at q5/q10 only: too few points as well; its name is in the reason
    assert table.loc[second, "reason"].startswith("JPEG: Bjontegaard deltas need at least 4")
    assert table.loc[third, "reason"] == "" and np.isfinite(table.loc[third, "bd_rate_psnr_%"])
    assert "lonely" not in bd_rate_per_image(rows.assign(image="x"), "lonely").codec.tolist()


def test_the_same_image_name_in_two_datasets_is_two_images(rows):
    both = pd.concat([rows.assign(dataset="one"), rows.assign(dataset="two")])
    table = bd_rate_per_image(both, "bicubic")
    assert list(table.columns[:2]) == ["dataset", "image"] and len(table) == 6
    one, two = (table[table.dataset == d]["bd_rate_psnr_%"].to_numpy() for d in ("one", "two"))
    np.testing.assert_array_equal(one, two)


def test_upper_points_keep_the_best_point_of_each_rate():
    # on one flat image JPEG at quality 1 and 2 can write the same bytes
    curve = pd.DataFrame({"setting": [1, 2, 3, 4, 5], "bpp": [0.1, 0.1, 0.2, 0.3, 0.25],
                          "psnr": [20.0, 20.5, 22.0, 21.9, 23.0]})  # fmt: skip
    kept = upper_points(curve)
    assert kept.setting.tolist() == [2, 3, 5]  # q1 loses the tie, q4 is beaten by q5


def test_crossing_rates_by_hand():
    curve = pd.DataFrame({"bpp": [0.1, 0.2, 0.4], "psnr": [30.0, 31.0, 32.0]})
    other = pd.DataFrame({"bpp": [0.1, 0.2, 0.4], "psnr": [29.0, 31.5, 31.0]})
    cross = crossing_rates(curve, other)
    # the gap is +1, -0.5, +1 dB: it closes 2/3 of the way from 0.1 to 0.2 in log-rate,
    # then 1/3 of the way from 0.2 to 0.4
    assert cross.bpp.tolist() == pytest.approx([0.1 * 2 ** (2 / 3), 0.2 * 2 ** (1 / 3)])
    assert cross.psnr.tolist() == pytest.approx([30 + 2 / 3, 31 + 1 / 3])
    assert cross.curve_leads_below.tolist() == [True, False]
    assert stops_beating(curve, other) == pytest.approx(0.1 * 2 ** (2 / 3))
    assert stops_beating(other, curve) == pytest.approx(0.2 * 2 ** (1 / 3))
    apart = pd.DataFrame({"bpp": [1.0, 2.0], "psnr": [40.0, 41.0]})
    assert crossing_rates(curve, apart).empty and math.isnan(stops_beating(curve, apart))
    above = other.assign(psnr=other.psnr + 5)
    assert crossing_rates(above, curve).empty and math.isnan(stops_beating(curve, above))


def test_curves_equal_over_a_stretch_cross_where_they_meet():
    curve = pd.DataFrame({"bpp": [0.1, 0.2, 0.3, 0.4], "psnr": [30.0, 31.0, 32.0, 33.0]})
    other = pd.DataFrame({"bpp": [0.1, 0.2, 0.3, 0.4], "psnr": [29.0, 31.0, 32.0, 34.0]})
    cross = crossing_rates(curve, other)
    assert cross.bpp.tolist() == [0.2] and cross.curve_leads_below.tolist() == [True]


def test_crossing_rates_of_real_curves_on_a_fine_grid(rows):
    # bicubic+JPEG codes a quarter of the pixels: ahead of JPEG at low rates, behind above
    curves = rd_curves(rows)
    bicubic, jpeg = curves[curves.codec == "bicubic"], curves[curves.codec == "JPEG"]
    cross = crossing_rates(bicubic, jpeg)
    lo = max(bicubic.bpp.min(), jpeg.bpp.min())
    hi = min(bicubic.bpp.max(), jpeg.bpp.max())
    grid = np.exp(np.linspace(np.log(lo), np.log(hi), 20001))
    gap = psnr_at_rate(bicubic, grid) - psnr_at_rate(jpeg, grid)
    changes = grid[1:][np.diff(np.sign(gap)) != 0]
    assert len(cross) == len(changes) >= 1
    np.testing.assert_allclose(cross.bpp, changes, rtol=2e-4)
    for r in cross.itertuples():
        assert psnr_at_rate(jpeg, r.bpp) == pytest.approx(r.psnr, abs=1e-9)
    first = cross.iloc[0]
    assert first.curve_leads_below and stops_beating(bicubic, jpeg) == first.bpp
    assert psnr_at_rate(bicubic, first.bpp * 0.98) > psnr_at_rate(jpeg, first.bpp * 0.98)


def test_per_image_rows_name_the_codecs_keep_the_rows_order_and_skip_lone_images(rows):
    order = list(dict.fromkeys(rows.image))[::-1]  # not the sorted order
    shuffled = pd.concat([rows[rows.image == i] for i in order])
    lone = rows[(rows.image == order[0]) & (rows.codec == "JPEG")].assign(image="0-jpeg-only")
    table = bd_rate_per_image(pd.concat([lone, shuffled]), "bicubic", max_rate=0.6)
    assert table.image.tolist() == order  # the image with JPEG rows only is skipped, not an end
    assert set(table.codec) == {"bicubic"} and set(table.anchor) == {"JPEG"}
    assert set(table.max_rate) == {0.6}
    # no image with enough points: every BD-rate undefined, still a float column
    few = bd_rate_per_image(rows[rows.setting.isin([5, 10, 90])], "bicubic")
    assert few["bd_rate_psnr_%"].isna().all() and few["bd_rate_psnr_%"].dtype == np.float64


def _two_metrics(psnr, ssim, bpp=(0.1, 0.2, 0.3, 0.4, 0.5)) -> pd.DataFrame:
    return pd.DataFrame({"bpp": list(bpp), "psnr": psnr, "ssim": ssim})


def test_per_image_bd_rate_by_ssim_reads_ssim_only():
    # each PSNR curve dips at one rate (that point leaves its PSNR envelope), SSIM does not
    jpeg = _two_metrics([30.0, 31.0, 30.5, 32.0, 33.0], [0.80, 0.82, 0.845, 0.86, 0.88])
    ours = _two_metrics([31.0, 32.0, 33.0, 32.5, 35.0], [0.81, 0.835, 0.85, 0.87, 0.89])
    rows = pd.concat([jpeg.assign(codec="JPEG"), ours.assign(codec="ours")]).assign(image="a")
    table = bd_rate_per_image(rows, "ours", metric="ssim")
    assert list(table.columns) == ["image", "codec", "anchor", "max_rate", "bd_rate_ssim_%",
                                   "reason"]  # fmt: skip
    by_hand = _bd_rate_by_hand(jpeg.assign(psnr=jpeg.ssim), ours.assign(psnr=ours.ssim))
    assert table["bd_rate_ssim_%"].iloc[0] == pytest.approx(by_hand, abs=1e-9)


def test_crossings_by_ssim_and_after_a_stretch_without_one():
    # equal PSNR everywhere, so only SSIM can cross; ahead at the first two rates, then behind
    curve = _two_metrics([30.0, 31.0, 32.0], [0.80, 0.82, 0.84], (0.1, 0.2, 0.4))
    other = _two_metrics([30.0, 31.0, 32.0], [0.79, 0.81, 0.85], (0.1, 0.2, 0.4))
    cross = crossing_rates(curve, other, "ssim")
    assert list(cross.columns) == ["bpp", "ssim", "curve_leads_below"]
    # the gap +0.01 at 0.2 bpp, -0.01 at 0.4: it closes half-way in log-rate
    assert cross.bpp.tolist() == pytest.approx([0.2 * 2**0.5])
    assert cross.ssim.tolist() == pytest.approx([0.83]) and cross.curve_leads_below.tolist() == [
        True
    ]
    assert stops_beating(curve, other, "ssim") == pytest.approx(0.2 * 2**0.5)
    assert crossing_rates(curve, other).empty  # by PSNR they never cross
