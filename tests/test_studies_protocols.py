"""Notebook 03's three protocols on real images, and the study's constants, defined once."""

import ast
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from comp_lib import jpeg
from comp_lib.baselines import JPEG2000Codec, JPEGCodec
from comp_lib.coding import BicubicCodec, Ladder
from comp_lib.data import load_dataset_gray
from comp_lib.evaluate import evaluate
from comp_lib.metrics import bpp, psnr
from comp_lib.rd import at_rates, bd_rate, bd_table, common_range_table, rd_curves, stops_beating
from comp_lib.studies import constants, protocols
from comp_lib.studies.ablations import results as ablation_results
from comp_lib.zoo import load_model

ROOT = Path(__file__).resolve().parent.parent


def _log_interp(curve: pd.DataFrame, rate: float, metric: str = "psnr") -> float:
    """By hand: linear in log-rate between the two points around ``rate``."""
    cur = curve.sort_values("bpp")
    i = int(np.searchsorted(cur.bpp.to_numpy(), rate))
    lo, hi = cur.iloc[i - 1], cur.iloc[i]
    t = (np.log(rate) - np.log(lo.bpp)) / (np.log(hi.bpp) - np.log(lo.bpp))
    return float(lo[metric] + t * (hi[metric] - lo[metric]))


@pytest.fixture(scope="module")
def rows():
    """JPEG (with the paper's qualities) and bicubic+JPEG as "ours" on two Set5 images and,
    as a test set the paper's protocol leaves out, one Kodak image (real images, cropped)."""
    frames = []
    for dataset, n in (("set5", 2), ("kodak", 1)):
        images = [(name, img[:192, :192]) for name, img in load_dataset_gray(dataset, limit=n)]
        for codec, settings, label in ((JPEGCodec(), [3, 5, 10, 20, 40, 80], "JPEG"),
                                       (BicubicCodec(), [10, 30, 50, 70, 90], "ours")):  # fmt: skip
            frame = evaluate(codec, images, settings, label, progress=False)
            frames.append(frame.assign(dataset=dataset))
    return pd.concat(frames, ignore_index=True)


def test_the_standard_tables_are_rd_on_each_test_set(rows, tmp_path):
    standard = protocols.standard_tables(rows, max_rate=0.6, fixed_rates=[0.2, 0.5])
    assert list(standard.curves) == ["set5", "kodak"]
    for name, curves in standard.curves.items():
        pd.testing.assert_frame_equal(curves, rd_curves(rows[rows.dataset == name]))
        bd = standard.bd[standard.bd.dataset == name].drop(columns="dataset")
        expected = bd_table(curves, "JPEG", max_rate=0.6).round(3)
        pd.testing.assert_frame_equal(bd.reset_index(drop=True), expected)
        common = standard.bd_common[standard.bd_common.dataset == name].drop(columns="dataset")
        expected = common_range_table(curves, "JPEG", 0.6).round(3)
        pd.testing.assert_frame_equal(common.reset_index(drop=True), expected)
        fixed = standard.at_rates[standard.at_rates.dataset == name].drop(columns="dataset")
        pd.testing.assert_frame_equal(fixed.reset_index(drop=True),
                                      at_rates(curves, [0.2, 0.5]).round(3))  # fmt: skip
    paths = protocols.write_compressai(standard.curves, tmp_path / "json")
    assert sorted(p.name for p in paths) == sorted(
        f"{d}_{c}.json" for d in ("set5", "kodak") for c in ("jpeg", "ours")
    )
    saved = json.loads((tmp_path / "json" / "set5_jpeg.json").read_text())
    assert saved["description"] == "JPEG on set5 (grayscale)" and len(saved["results"]["bpp"]) == 6


def test_the_paper_protocol_is_ours_minus_jpeg_at_jpegs_rate(rows):
    paper = protocols.paper_table(rows)
    assert list(paper.dataset) == ["set5", "set5"]  # Kodak is not one of the paper's sets
    assert list(paper.jpeg_quality) == list(constants.PAPER_JPEG_QUALITIES)
    set5 = rows[rows.dataset == "set5"]
    ours = rd_curves(set5[set5.codec == "ours"])
    for r in paper.itertuples():
        jq = set5[(set5.codec == "JPEG") & (set5.setting == r.jpeg_quality)]
        assert r.bpp == round(jq.bpp.mean(), 4) and r.jpeg_psnr == round(jq.psnr.mean(), 4)
        assert ours.bpp.min() < jq.bpp.mean() < ours.bpp.max()  # ours reaches JPEG's rate
        assert r.ours_psnr == pytest.approx(_log_interp(ours, jq.bpp.mean()), abs=1e-4)
        assert r.ours_ssim == pytest.approx(_log_interp(ours, jq.bpp.mean(), "ssim"), abs=1e-4)
        assert r.gain_db == pytest.approx(r.ours_psnr - r.jpeg_psnr, abs=2e-4)
    alone = protocols.paper_table(rows[rows.codec == "JPEG"])  # without ours: JPEG only
    assert list(alone.columns) == ["dataset", "jpeg_quality", "bpp", "jpeg_psnr", "jpeg_ssim"]
    assert protocols.paper_table(rows, qualities=[5, 7]).jpeg_quality.tolist() == [5]  # q7 not run


def test_the_dissertation_protocol_reads_ours_at_the_jpeg_match(bsds_test):
    # the corpus's test set: BSDS300 test at 180x180, floats in 0..1
    small = [img[:180, :180].astype(np.float32) / 255 for _, img in bsds_test[:2]]
    corpus = SimpleNamespace(test_names=[n for n, _ in bsds_test[:3]], test=small + small[:1])
    images = protocols.dissertation_images(corpus, limit=2)
    assert [n for n, _ in images] == [n for n, _ in bsds_test[:2]]
    assert all(np.array_equal(img, raw[:180, :180]) for (_, img), (_, raw) in
               zip(images, bsds_test, strict=False))  # fmt: skip
    fixed = {m: load_model(m) for m in ("bicubic", "jpeg")}
    ladder = Ladder(fixed, [("bicubic", 20), ("bicubic", 60), ("jpeg", 40), ("jpeg", 95)], "two")
    codecs = {"WebP": (None, []), "JPEG": (JPEGCodec(), [20, 40, 50, 60, 70, 80, 90]),
              "ours": (ladder, list(ladder.settings))}  # fmt: skip
    rows = protocols.dissertation_rows(codecs, images)
    assert list(dict.fromkeys(rows.codec)) == ["JPEG", "ours"]
    match = protocols.dissertation_jpeg_match(images, qualities=range(50, 96, 5))
    table = protocols.dissertation_table(rows, match, ladder, "two")
    assert table.codec.tolist() == [
        "model", "JPEG", f"JPEG q={int(match.setting)}", "ours (two) at the same bpp",
        "ours at its top rung (jpeg q95)",
    ]  # fmt: skip
    dissertation = table.iloc[:2][["psnr", "ssim"]].to_dict("records")
    assert dissertation == [constants.DISSERTATION_MODEL, constants.DISSERTATION_JPEG]
    assert table.bpp.iloc[:2].isna().all()
    # the JPEG setting is the one definition's, rounded for people
    assert table.bpp[2] == round(match.bpp, 3) and table.psnr[2] == round(match.psnr, 2)
    assert table.ssim[2] == round(match.ssim, 3)
    mine = rd_curves(rows[rows.codec == "ours"])
    assert table.psnr[3] == pytest.approx(_log_interp(mine, match.bpp), abs=0.005)
    assert table.bpp[4] == round(mine.bpp.max(), 3)
    jpeg_only = protocols.dissertation_table(rows[rows.codec == "JPEG"], match)
    assert len(jpeg_only) == 3
    ours_only = protocols.dissertation_rows(codecs, images, names=("ours",))
    pd.testing.assert_frame_equal(
        protocols.dissertation_table(ours_only, match, ladder, "two"), table
    )


def test_codec_panels_show_each_codec_near_the_rate(rows):
    name, image = [(n, img[:192, :192]) for n, img in load_dataset_gray("set5", limit=1)][0]
    codecs = {"JPEG": (JPEGCodec(), []), "ours": (BicubicCodec(), [])}
    panels = protocols.codec_panels(codecs, rows[rows.dataset == "set5"], name, image, rate=0.3)
    assert list(panels)[0] == "original" and len(panels) == 3
    for (key, x_hat), codec_name in zip(list(panels.items())[1:], codecs, strict=True):
        sub = rows[(rows.image == name) & (rows.codec == codec_name)]
        best = sub.loc[(sub.bpp - 0.3).abs().idxmin()]
        assert key == f"{codec_name}: {best.bpp:.3f} bpp, {best.psnr:.2f} dB"
        codec = codecs[codec_name][0]
        assert np.array_equal(x_hat, codec.decompress(codec.compress(image, int(best.setting))))


def _float_literals(path: Path) -> set[float]:
    return {n.value for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Constant) and isinstance(n.value, float)}  # fmt: skip


def test_the_dissertations_figures_are_typed_once():
    figures = {v for d in (constants.DISSERTATION_MODEL, constants.DISSERTATION_JPEG)
               for v in d.values()}  # fmt: skip
    typed = {str(p.relative_to(ROOT)) for p in sorted((ROOT / "comp_lib").rglob("*.py"))
             if _float_literals(p) & figures}  # fmt: skip
    assert typed == {"comp_lib/studies/constants.py"}
    assert ablation_results.DISSERTATION_MODEL is constants.DISSERTATION_MODEL
    assert ablation_results.DISSERTATION_JPEG is constants.DISSERTATION_JPEG
    assert not _float_literals(ROOT / "notebooks" / "03_evaluation.py") & figures


def test_notebook_03_defaults_are_the_constants():
    source = (ROOT / "notebooks" / "03_evaluation.py").read_text()
    cell = source.split('# %% tags=["parameters"]\n', 1)[1].split("# %%", 1)[0]
    defaults = {t.id: ast.literal_eval(n.value) for n in ast.parse(cell).body
                if isinstance(n, ast.Assign) for t in n.targets}  # fmt: skip
    assert defaults["max_rate"] == constants.MAX_RATE
    assert defaults["fixed_rates"] == list(constants.FIXED_RATES)
    assert set(constants.PAPER_DATASETS) <= set(defaults["datasets"])


def test_the_dissertation_jpeg_match_is_the_lowest_quality_reaching_its_psnr(bsds_test):
    images = [(n, img[:180, :180]) for n, img in bsds_test[:4]]
    match = protocols.dissertation_jpeg_match(images, qualities=range(40, 96, 5))

    def mean_psnr(q):  # by hand, from Pillow's bytes
        return np.mean([psnr(img, jpeg.decode(jpeg.encode(img, q))) for _, img in images])

    q = int(match.setting)
    assert mean_psnr(q) >= constants.DISSERTATION_JPEG["psnr"] > mean_psnr(q - 5)
    assert match.psnr == pytest.approx(mean_psnr(q))
    rate = np.mean([bpp(jpeg.encode(img, q), img.shape) for _, img in images])
    assert match.bpp == pytest.approx(rate)
    with pytest.raises(ValueError, match=r"no quality of 1\.\.20 reaches 32\.75 dB on these 4"):
        protocols.dissertation_jpeg_match(images, qualities=range(1, 21))


def test_bd_per_image_beside_the_mean_curves(rows):
    standard = protocols.standard_tables(rows, max_rate=2.0)
    per_image, summary = protocols.bd_per_image_tables(rows, standard.bd, max_rate=2.0)
    assert list(per_image.columns) == ["dataset", "image", "codec", "bd_rate_psnr_%", "reason"]
    assert len(per_image) == 3 and set(per_image.codec) == {"ours"}  # 2 Set5 + 1 Kodak image
    set5 = per_image[per_image.dataset == "set5"]["bd_rate_psnr_%"]
    for r in per_image.itertuples():  # each image's own curves, by the library's bd_rate
        mine = rows[(rows.dataset == r.dataset) & (rows.image == r.image)]
        a, t = (mine[mine.codec == c].sort_values("bpp") for c in ("JPEG", "ours"))
        assert r._4 == pytest.approx(bd_rate(a.bpp, a.psnr, t.bpp, t.psnr, max_rate=2.0))
    s = summary.set_index("dataset")
    assert s.loc["set5", "bd_rate_per_image_mean_%"] == pytest.approx(set5.mean())
    assert s.loc["set5", "bd_rate_per_image_std_%"] == pytest.approx(set5.std())
    assert s.loc["set5", "bd_rate_per_image_min_%"] == set5.min()
    assert (s.loc["set5", "images"], s.loc["kodak", "images_defined"]) == (2, 1)
    mean_curve = standard.bd.set_index(["dataset", "codec"])["bd_rate_psnr_%"]
    assert s.loc["kodak", "bd_rate_mean_curve_%"] == mean_curve["kodak", "ours"]
    # one image: its BD-rate and that of the mean curve agree (up to the table's rounding)
    assert s.loc["kodak", "bd_rate_per_image_mean_%"] == pytest.approx(
        s.loc["kodak", "bd_rate_mean_curve_%"], abs=1e-3
    )


def test_one_codec_spread_two_ways_gives_one_bd_rate_per_image(bsds_test):
    images = [(n, img[:180, :180]) for n, img in bsds_test[:6]]
    table, rows = protocols.setting_spread(images)
    assert table.driven_by.tolist() == ["compression ratio", "PSNR target"]
    # a PSNR target gives nearly one PSNR on every image, a ratio one rate
    targets = rows[rows.codec == "JPEG 2000 (PSNR targets)"]
    ratios = rows[rows.codec == "JPEG 2000 (compression ratios)"]
    at_34 = targets[targets.setting == 34].psnr
    assert at_34.max() - at_34.min() < 1.0
    at_20 = ratios[ratios.setting == 20].bpp
    assert at_20.max() / at_20.min() < 1.05
    assert targets[targets.setting == 34].bpp.max() / targets[targets.setting == 34].bpp.min() > 2
    t = table.set_index("driven_by")
    expected = bd_table(rd_curves(rows), max_rate=0.6).set_index("codec")["bd_rate_psnr_%"]
    assert t.loc["PSNR target", "bd_rate_mean_curve_%"] == expected["JPEG 2000 (PSNR targets)"]
    # the same coder: per image the two agree within a few %, their mean curves do not
    per_image = t["bd_rate_per_image_mean_%"]
    mean_curve = t["bd_rate_mean_curve_%"]
    assert abs(per_image.iloc[0] - per_image.iloc[1]) < 3
    assert abs(mean_curve.iloc[0] - mean_curve.iloc[1]) > 3 * abs(
        per_image.iloc[0] - per_image.iloc[1]
    )
    assert (t.images_defined == 6).all()


def test_where_the_framework_stops_beating_the_post_filter(rows):
    # bicubic+JPEG ("ours" in these rows) against JPEG: ahead at low rates, behind above
    table = protocols.crossing_table(rows, "ours", "JPEG")
    assert table.dataset.tolist() == ["set5", "kodak"]
    for r in table.itertuples():
        curves = rd_curves(rows[rows.dataset == r.dataset])
        a, b = curves[curves.codec == "ours"], curves[curves.codec == "JPEG"]
        assert r.bpp == stops_beating(a, b) and r.from_bpp == max(a.bpp.min(), b.bpp.min())
        assert _log_interp(a, r.bpp) == pytest.approx(_log_interp(b, r.bpp), abs=1e-9)
        assert _log_interp(a, r.bpp * 0.97) > _log_interp(b, r.bpp * 0.97)
    assert protocols.crossing_table(rows, "WebP", "JPEG").empty


def test_setting_near_rate_is_the_nearest_of_every_setting(bsds_test):
    image = bsds_test[0][1]
    for codec, rate in ((JPEGCodec(), 0.3), (JPEG2000Codec(), 0.3), (BicubicCodec(), 0.25)):
        by_hand = {s: bpp(codec.compress(image, s), image.shape)
                   for s in protocols.setting_range(codec)}  # fmt: skip
        nearest = min(by_hand, key=lambda s: abs(np.log(by_hand[s] / rate)))
        known = {s: by_hand[s] for s in protocols.setting_range(codec)[::7]}
        for start in ({}, known):
            assert protocols.setting_near_rate(codec, image, rate, start) == (
                nearest,
                by_hand[nearest],
            )
    assert protocols.setting_near_rate(JPEGCodec(), image, 1e-4)[0] == 1  # below every setting
    assert protocols.setting_near_rate(JPEGCodec(), image, 50.0)[0] == 95  # above


def test_crops_at_matched_rates(bsds_test):
    name, image = bsds_test[0]
    fixed = {m: load_model(m) for m in ("bicubic", "jpeg")}
    ladder = Ladder(fixed, [("bicubic", q) for q in (10, 30, 50)] + [("jpeg", 10)], "lad")
    codecs = {"JPEG": (JPEGCodec(), []), "bicubic+JPEG": (BicubicCodec(), []),
              "ours": (ladder, []), "JPEG 2000": (JPEG2000Codec(), [])}  # fmt: skip
    crops = protocols.matched_crops(codecs, name, image, rate=0.3, tolerance=0.10)
    table = crops.table.set_index("codec")
    jpeg_rate = table.loc["JPEG", "bpp"]  # the target: JPEG's rate nearest 0.3 bpp
    assert crops.target == jpeg_rate and abs(np.log(jpeg_rate / 0.3)) < 0.1
    assert crops.low == pytest.approx(jpeg_rate / 1.1**0.5)
    assert crops.high == pytest.approx(jpeg_rate * 1.1**0.5)
    for codec_name, (codec, _) in codecs.items():
        r = table.loc[codec_name]
        assert r.bpp == bpp(codec.compress(image, int(r.setting)), image.shape)
        assert r.shown == (crops.low <= r.bpp <= crops.high)
    shown = table[table.shown]
    assert shown.bpp.max() / shown.bpp.min() <= 1.10  # within 10 % of each other
    assert table.loc["ours", "note"].startswith(f"rung {table.loc['ours', 'setting']}: ")
    assert list(crops.panels)[0] == "original"
    for title, x_hat in list(crops.panels.items())[1:]:
        first = title.split(":")[0].split(" = ")[0]
        r = table.loc[first]
        assert title.endswith(f"{r.bpp:.3f} bpp, {r.psnr:.2f} dB")
        assert r.psnr == pytest.approx(psnr(image, x_hat))
    # ours at rung jpeg q10 on this image is JPEG at quality 10: one panel for both, if shown
    if table.loc["ours", "setting"] == 3 and table.loc["JPEG", "setting"] == 10:
        assert "the same image as JPEG" in table.loc["ours", "note"]
    strict = protocols.matched_crops({"ours": (ladder, [])}, name, image, 0.3, tolerance=0.0)
    assert not strict.table.shown.any() and list(strict.panels) == ["original"]
    assert "left out: its nearest rate is" in strict.table.note[0]


def test_the_same_image_from_two_codecs_is_one_panel(bsds_test):
    name, image = bsds_test[0]
    codecs = {"JPEG": (JPEGCodec(), []), "JPEG again": (JPEGCodec(), [])}
    crops = protocols.matched_crops(codecs, name, image, rate=0.3)
    assert [k.split(":")[0] for k in crops.panels] == ["original", "JPEG = JPEG again"]
    assert crops.table.note.tolist() == ["", "the same image as JPEG"]


def test_the_headline_keeps_framework_post_filter_and_ladder_apart():
    bd = pd.DataFrame(
        {
            "dataset": ["a"] * 5,
            "codec": ["ComCNN+RecCNN", "RecCNN only", "ours", "AVIF", "WebP"],
            "bd_rate_psnr_%": [-30.0, -20.0, -28.0, -40.0, -25.0],
        }
    )
    fixed = pd.DataFrame(
        {
            "dataset": ["a"] * 3,
            "codec": ["ours", "JPEG", "AVIF"],
            "bpp": [0.3] * 3,
            "psnr": [30.0, 29.0, 31.0],
        }
    )
    summary = pd.DataFrame({"dataset": ["a"] * 2, "codec": ["ours", "AVIF"],
                            "bd_rate_per_image_mean_%": [-27.0, -35.0]})  # fmt: skip
    row = protocols.headline_table(bd, fixed, summary).iloc[0]
    assert (row["framework_bd_rate_%"], row["post-filter_bd_rate_%"], row["ours_bd_rate_%"]) == (
        -30.0,
        -20.0,
        -28.0,
    )
    assert row["ours_per_image_%"] == -27.0 and np.isnan(row["framework_per_image_%"])
    assert row["ours_gain_at_0.3_bpp_db"] == 1.0
    assert row["beat_ours"] == "AVIF (-40.00 %)"  # WebP does not; ours' own models are not listed
