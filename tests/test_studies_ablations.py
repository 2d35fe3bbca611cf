import json

import numpy as np
import pandas as pd
import pytest

from comp_lib.baselines import JPEGCodec
from comp_lib.config import PROJECT_ROOT
from comp_lib.data import Corpus
from comp_lib.evaluate import evaluate
from comp_lib.models import MultiScaleRecCNN, RecCNN, with_quality
from comp_lib.rd import rd_curves
from comp_lib.studies.ablations import (
    ABLATIONS,
    RESULT_COLUMNS,
    TITLES,
    ablation_table,
    dissertation_for_people,
    dissertation_rates,
    gain_crossing,
    gain_over,
    macs_per_pixel,
    retime_decode,
    run_ablation,
    run_ablations,
    sign_disagreements,
    spread,
    variants,
)
from comp_lib.studies.protocols import dissertation_jpeg_match
from comp_lib.train import TrainConfig

BUDGET = dict(
    epochs=1, steps=2, com_steps=1, batch=2, patch=32, channels=4, depth=3, quality=[10, 40]
)


@pytest.mark.parametrize("name", ABLATIONS)
def test_every_variant_is_a_valid_training_run(name):
    vs = variants(name, BUDGET, n_available=600)
    assert len(vs) >= 3
    assert len({v.label for v in vs}) == len(vs)
    for v in vs:
        if v.kind == "train":
            TrainConfig(**(BUDGET | v.overrides))
        else:
            assert v.kind in ("bicubic", "comcnn_only")
            assert v.source is None or v.source in [u.label for u in vs]


def test_variants_cover_what_the_issue_asks():
    lrs = {v.overrides.get("lr") for v in variants("lr", BUDGET)}
    assert {1e-2, 1e-3, 1e-4, 1e-5} <= lrs
    assert [v.n_images for v in variants("data_size", BUDGET, 600)] == [100, 250, 500, 600]
    assert {v.overrides["loss"] for v in variants("loss", BUDGET)} == {"mse", "l1", "ssim"}
    schemes = {v.overrides.get("scheme", "alternating") for v in variants("scheme", BUDGET)}
    assert schemes == {"alternating", "end_to_end", "dissertation"}
    # whole 180x180 images at the budget's pixels per step: 16 patches of 90x90 = 4 images
    for v in variants("dissertation", BUDGET | dict(batch=16, patch=90)):
        assert v.overrides["scheme"] == "dissertation" and v.overrides["batch"] == 4
    with pytest.raises(ValueError, match="unknown ablation"):
        variants("dropout", BUDGET)


def test_macs_per_pixel_counts_by_hand():
    # 1->8, 8->8 twice, 8->1, 3x3 kernels, at full resolution
    assert macs_per_pixel(RecCNN(channels=8, depth=4)) == 9 * (8 + 64 + 64 + 8)
    # the same body at half resolution on 4 planes: a quarter of the pixels
    assert macs_per_pixel(RecCNN(channels=8, depth=4, shuffle=2)) == 9 * (32 + 128 + 32) / 4
    # a U-Net: head 36, a block at each scale side 288 (the bottom one at 1/4 of the pixels:
    # 2 x 576 / 4), down 2x2 8x4 / 4 = 32, up (per input pixel) the same, tail 36
    unet = MultiScaleRecCNN(channels=4, scales=2, blocks=1)
    assert macs_per_pixel(unet) == 36 + 288 + 32 + 288 + 32 + 288 + 36
    assert macs_per_pixel(with_quality(unet)) == macs_per_pixel(unet)  # per image, not per pixel


def test_gain_over_interpolates_in_log_rate():
    anchor = pd.DataFrame({"bpp": [0.1, 0.2, 0.4, 0.8], "psnr": [24.0, 26.0, 28.0, 30.0]})
    curve = pd.DataFrame({"bpp": [0.2, np.sqrt(0.08), 0.05], "psnr": [27.0, 27.0, 30.0]})
    gain = gain_over(curve, anchor)
    assert gain[0] == pytest.approx(1.0)
    assert gain[1] == pytest.approx(0.0)  # halfway in log-rate between 0.2 and 0.4
    assert np.isnan(gain[2])  # below the anchor's rates


@pytest.fixture(scope="module")
def small_corpus(bsds_test):
    """Real 64x64 crops: 8 to train on, 3 to validate on, 4 test images."""
    crops = np.stack([img[100:164, 100:164] for _, img in bsds_test[:11]]).astype(np.float32)
    crops /= 255
    return Corpus(
        train=crops[:8],
        val=crops[8:],
        test=crops[:0],
        test_native=[],
        test_names=[],
        index=pd.DataFrame(),
        params={},
    )


def test_run_ablation_trains_evaluates_and_reads_back(small_corpus, bsds_test, tmp_path):
    test = [(name, img[100:196, 100:196]) for name, img in bsds_test[50:54]]
    jpeg_curve = rd_curves(evaluate(JPEGCodec(), test, range(1, 96, 4), "JPEG", progress=False))
    calls = []

    def corpus_for(n):
        calls.append(n)
        return small_corpus

    args = (BUDGET, corpus_for, test, [10, 30, 60, 90], jpeg_curve, tmp_path)
    results, curves = run_ablation("components", *args, progress=False)
    assert list(results.columns) == RESULT_COLUMNS
    assert list(results.variant) == [v.label for v in variants("components", BUDGET)]
    trained = results[results.steps > 0]
    assert len(trained) == 2 and calls == [500, 500]
    assert trained.wall_s.gt(0).all() and trained.params.gt(0).all()
    macs = 9 * (4 + 16 + 4)  # BUDGET's RecCNN: 1->4, 4->4, 4->1
    assert trained.gmac_per_mpx.eq(macs / 1e3).all()  # MACs/pixel x 1e6 pixels / 1e9
    assert results["bd_rate_psnr_%"].notna().all()
    assert set(curves.setting) == {10, 30, 60, 90} and len(curves) == 4 * len(results)
    # the bicubic row is the no-learning baseline, recomputed identically
    bicubic = results.set_index("variant").loc["neither (bicubic down/up)"]
    assert bicubic.steps == 0 and np.isfinite(bicubic["bd_rate_psnr_%"])
    # a second call reads every trained run back from result.json: no corpus, same numbers
    by_name, again_curves = run_ablations(["components"], *args, seeds_for={"components": [0]})
    again = by_name["components"]
    assert calls == [500, 500] and list(by_name) == ["components"]
    pd.testing.assert_frame_equal(again_curves, curves)
    timing = ["decode_ms"]  # the untrained rows are re-timed
    pd.testing.assert_frame_equal(again.drop(columns=timing), results.drop(columns=timing))
    done = json.loads(next(tmp_path.glob("*/result.json")).read_text())
    assert done["config"]["steps"] == 2 and len(done["curve"]) == 4
    # decode re-timed per trained variant from its checkpoint, one row each
    timed = retime_decode(results, tmp_path, test[0][1], 30, repeats=2)
    assert list(timed.variant) == list(trained.variant) and timed.decode_ms.gt(0).all()
    with pytest.raises(ValueError, match="repeats"):
        retime_decode(results, tmp_path, test[0][1], 30, repeats=0)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        retime_decode(results, tmp_path / "elsewhere", test[0][1], 30)


def test_spread_over_seeds():
    results = pd.DataFrame(
        {
            "ablation": "loss",
            "variant": ["a", "a", "b"],
            "seed": [0, 1, 0],
            "bd_rate_psnr_%": [-10.0, -12.0, -5.0],
            "gain_at_0.3_db": [0.5, 0.7, 0.1],
        }
    )
    s = spread(results).set_index("variant")
    assert s.loc["a", "bd_rate_psnr_%_mean"] == pytest.approx(-11.0)
    assert s.loc["a", "bd_rate_psnr_%_std"] == pytest.approx(np.sqrt(2))
    assert s.loc["a", "bd_rate_psnr_%_count"] == 2 and np.isnan(s.loc["b", "gain_at_0.3_db_std"])


def test_every_ablation_has_a_title():
    assert set(TITLES) == set(ABLATIONS)


def test_dissertation_rates_puts_each_variant_beside_jpeg_at_its_rate(bsds_test):
    curves = pd.DataFrame({
        "ablation": ["dissertation"] * 4 + ["loss"],
        "variant": ["base", "base", "fault", "fault", "x"],
        "seed": [0, 1, 0, 0, 0], "setting": [40, 40, 40, 10, 40],
        "bpp": [0.2, 0.3, 0.25, 0.1, 0.3], "psnr": [25.0, 27.0, 22.0, 20.0, 30.0],
        "ssim": [0.6, 0.7, 0.5, 0.4, 0.9], "gain_db": [0.2, 0.4, -3.0, -4.0, 1.0],
    })  # fmt: skip
    # the study's one definition of JPEG's 32.75 dB setting, on real 180x180 crops
    small = [(name, img[:180, :180]) for name, img in bsds_test[:3]]
    match = dissertation_jpeg_match(small, qualities=range(40, 96, 5))
    table = dissertation_rates(curves, match, 40).set_index("variant")
    assert table.loc["base", "bpp"] == pytest.approx(0.25)  # mean over seeds
    assert table.loc["base", "jpeg_psnr_same_bpp"] == pytest.approx(26.0 - 0.3)
    assert table.loc["fault", "psnr"] == 22.0  # only the quality asked for
    jpeg = table.loc[f"JPEG q={int(match.setting)} here (lowest quality reaching 32.75 dB)"]
    assert jpeg.bpp == pytest.approx(match.bpp, abs=5e-4) and jpeg.psnr >= 32.75
    assert "x" not in table.index
    assert list(table.index[:2]) == ["base", "fault"]  # the models first, in order
    assert np.isnan(table.loc["dissertation's model (reported)", "bpp"])
    with pytest.raises(ValueError, match="inner quality 20"):
        dissertation_rates(curves, match, 20)


def test_ablation_table_for_people_from_the_committed_runs():
    loss = pd.read_csv(PROJECT_ROOT / "reports" / "tables" / "04_loss.csv")
    table = ablation_table(loss).set_index("variant")
    ssim = loss[loss.variant == "SSIM loss"]
    assert table.loc["SSIM loss", "seeds"] == 2
    assert table.loc["SSIM loss", "BD-rate by SSIM (%)"] == f"{ssim['bd_rate_ssim_%'].mean():+.2f}"
    assert table.loc["SSIM loss", "BD-rate by PSNR (%)"] == f"{ssim['bd_rate_psnr_%'].mean():+.2f}"
    gain = f"{ssim['gain_at_0.3_db'].mean():+.2f}"
    assert table.loc["SSIM loss", "gain at 0.3 bpp (dB)"] == gain
    # a random start never reaches JPEG's PSNR range: its BD-rate is not defined, and said so
    diss = ablation_table(pd.read_csv(PROJECT_ROOT / "reports" / "tables" / "04_dissertation.csv"))
    row = diss.set_index("variant").loc["+ random initialisation"]
    assert row["BD-rate by PSNR (%)"] == "not defined: no quality range shared with JPEG"
    assert not diss.isna().any().any() and "nan" not in diss.to_string()


def test_sign_disagreements_where_bd_rate_and_the_gain_at_one_rate_differ():
    summary = pd.read_csv(PROJECT_ROOT / "reports" / "tables" / "04_summary.csv")
    out = sign_disagreements(summary).set_index(["ablation", "variant"])
    bd, gain = summary["bd_rate_psnr_%_mean"], summary["gain_at_0.3_db_mean"]
    expected = summary[((bd < 0) & (gain < 0)) | ((bd > 0) & (gain > 0))]
    assert len(out) == len(expected)
    both = out.loc[("components", "both (ComCNN + RecCNN)")]
    assert both["bd_rate_psnr_%"] < 0 and both["gain_at_0.3_db"] < 0
    assert both.verdict == "BD-rate: better; at 0.3 bpp: worse"
    assert ("components", "RecCNN only (JPEG post-filter)") not in out.index  # both better
    assert ("dissertation", "+ random initialisation") not in out.index  # no BD-rate


def test_gain_crossing_in_log_rate():
    points = pd.DataFrame({"bpp": [0.4, 0.1, 0.2, 0.05], "gain_db": [-0.5, 1.0, 0.5, np.nan]})
    assert gain_crossing(points) == pytest.approx(np.sqrt(0.2 * 0.4))  # halfway in log-rate
    assert np.isnan(gain_crossing(points.assign(gain_db=[0.1, 1.0, 0.5, 2.0])))
    assert np.isnan(gain_crossing(points.assign(gain_db=-points.gain_db)))  # only turns up


def test_dissertation_rates_for_people_say_why_a_value_is_missing():
    rates = pd.read_csv(PROJECT_ROOT / "reports" / "tables" / "04_dissertation_rates.csv")
    table = dissertation_for_people(rates).set_index("variant")
    model = rates.iloc[0]
    assert table.iloc[0]["bpp"] == f"{model.bpp:.3f}" and table.iloc[0]["PSNR (dB)"] == (
        f"{model.psnr:.2f}"
    )
    assert table.iloc[0]["gain over JPEG at equal bpp (dB)"] == f"{model.gain_db:+.2f}"
    reported = table.loc["dissertation's model (reported)"]
    assert reported["bpp"] == "not defined: not reported" and reported["PSNR (dB)"] == "24.00"
    jpeg = table[table.index.str.startswith("JPEG q=")].iloc[0]
    assert jpeg["gain over JPEG at equal bpp (dB)"] == "not defined: this row is JPEG"
    together = table.loc["all four together"]
    assert together["gain over JPEG at equal bpp (dB)"] == "not defined: below JPEG's lowest rate"
    assert "nan" not in table.to_string()


def test_the_committed_figures_are_redrawn_from_the_committed_tables(tmp_path, monkeypatch,
                                                                     bsds_test):  # fmt: skip
    from comp_lib.studies.ablations.redraw import redraw

    committed = PROJECT_ROOT / "reports" / "tables"
    tables = tmp_path / "tables"
    tables.mkdir()
    curves = pd.read_csv(committed / "04_curves.csv")
    curves[curves.ablation.isin(["loss", "pooling"])].to_csv(tables / "04_curves.csv", index=False)
    for name in ("04_size_cost.csv", "04_quality_matrix.csv"):
        (tables / name).write_bytes((committed / name).read_bytes())
    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path / "reports"))
    test = [(n, img[:180, :180]) for n, img in bsds_test[:2]]
    written = redraw(tables, test)
    names = sorted(p.name for p in written)
    assert names == ["04_loss.png", "04_pooling.png", "04_quality_matrix.png", "04_size_cost.png"]
    assert all(p.parent == tmp_path / "reports" / "figures" and p.stat().st_size > 10_000
               for p in written)  # fmt: skip
