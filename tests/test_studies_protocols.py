"""Notebook 03's three protocols on real images, and the study's constants, defined once."""

import ast
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from comp_lib import jpeg
from comp_lib.baselines import JPEGCodec
from comp_lib.coding import BicubicCodec, Ladder
from comp_lib.data import load_dataset_gray
from comp_lib.evaluate import evaluate
from comp_lib.metrics import bpp, psnr
from comp_lib.rd import at_rates, bd_table, common_range_table, rd_curves
from comp_lib.studies import ablations, constants, protocols
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


def test_the_dissertation_protocol_reads_ours_at_jpegs_rate_near_its_psnr(bsds_test):
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
    table = protocols.dissertation_table(rows, ladder, "two")
    curves = rd_curves(rows)
    jpeg = curves[curves.codec == "JPEG"]
    match = jpeg.loc[(jpeg.psnr - 32.75).abs().idxmin()]
    assert table.codec.tolist() == [
        "model", "JPEG", f"JPEG q={int(match.setting)}", "ours (two) at the same bpp",
        "ours at its top rung (jpeg q95)",
    ]  # fmt: skip
    dissertation = table.iloc[:2][["psnr", "ssim"]].to_dict("records")
    assert dissertation == [constants.DISSERTATION_MODEL, constants.DISSERTATION_JPEG]
    assert table.bpp.iloc[:2].isna().all()
    assert table.bpp[2] == round(match.bpp, 4) and table.psnr[2] == round(match.psnr, 4)
    mine = curves[curves.codec == "ours"]
    assert table.psnr[3] == pytest.approx(_log_interp(mine, match.bpp), abs=1e-4)
    assert table.bpp[4] == round(mine.bpp.max(), 4)
    jpeg_only = protocols.dissertation_table(rows[rows.codec == "JPEG"])
    assert len(jpeg_only) == 3


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
    assert ablations.DISSERTATION_MODEL is constants.DISSERTATION_MODEL
    assert ablations.DISSERTATION_JPEG is constants.DISSERTATION_JPEG
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
