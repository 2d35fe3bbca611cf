"""The numbers that README.md quotes by hand match the committed tables they cite.

``reports/README.md`` is generated from the tables; the project README's "Measured so
far" is written by hand. When a table is regenerated, these tests fail until the README
says what the new table says.
"""

import re

import pandas as pd
import pytest

from comp_lib.config import PROJECT_ROOT

TABLES = PROJECT_ROOT / "reports" / "tables"


@pytest.fixture(scope="module")
def readme() -> str:
    """README.md with its line breaks and repeated spaces folded into single spaces."""
    return re.sub(r"\s+", " ", (PROJECT_ROOT / "README.md").read_text())


def _table(name: str) -> pd.DataFrame:
    return pd.read_csv(TABLES / name)


def test_shipped_ladder_against_jpeg(readme):
    bd = _table("model_quality_best_bd.csv").set_index("codec")
    assert f"**{bd.loc['best', 'bd_rate_psnr_%']:.1f} %**" in readme
    assert f"**{bd.loc['best', 'bd_rate_ssim_%']:.1f} %**" in readme
    gains = _table("model_quality_best.csv").set_index("bpp")["psnr gain best - JPEG"]
    at = " / ".join(f"{gains.loc[r]:+.2f}" for r in (0.1, 0.2, 0.3, 0.5))
    assert f"{at} dB" in readme
    assert f"its +1.5 dB at 0.3 bpp is **not** ({gains.loc[0.3]:+.2f} dB)" in readme


def test_equal_rate_headline(readme):
    bd = _table("03_standard_bd.csv")
    ours = bd[bd.codec == "ours"].set_index("dataset")["bd_rate_psnr_%"]
    names = {"bsds300_test": "BSDS300 test", "kodak": "Kodak", "set5": "Set5", "set14": "Set14"}
    for dataset, label in names.items():
        assert f"{ours.loc[dataset]:.1f} % on {label}" in readme, dataset
    fixed = _table("03_standard_at_rates.csv")
    at = fixed[fixed.bpp == 0.3].pivot_table(index="dataset", columns="codec", values="psnr")
    gains = " / ".join(f"{at.loc[d, 'ours'] - at.loc[d, 'JPEG']:+.2f}" for d in names)
    assert f"{gains} dB at 0.3 bpp" in readme
    common = _table("03_standard_bd_common.csv")
    table = common[common.dataset == "bsds300_test"].set_index("codec")
    lo, hi = table.min_rate.iloc[0], table.max_rate.iloc[0]
    db = table.bd_psnr_db
    assert (
        f"every codec covers on BSDS300 test ({lo:.2f}-{hi:.2f} bpp), BD-PSNR against JPEG is "
        f"{db.loc['ours']:+.2f} dB for ours, {db.loc['ComCNN+RecCNN']:+.2f} dB for "
        f"ComCNN+RecCNN, {db.loc['AVIF']:+.2f} dB for AVIF"
    ) in readme


def test_pipeline_time_and_evaluation_speed(readme):
    times = _table("pipeline_default.csv").set_index("notebook").minutes
    assert f"took {times.loc['total']:.1f} minutes on the 2 cores" in readme
    assert f"`03_evaluation` {times.loc['03_evaluation']:.1f} of them" in readme
    speed = _table("eval_speed.csv")
    for prefix in ("paper-size", "rec32x20", "post64s2"):
        row = speed[speed.codec.str.startswith(prefix)].iloc[0]
        assert f"about {row.ms_per_image / 10:.0f} s" in readme, prefix


def test_ablation_summary(readme):
    summary = _table("04_summary.csv").set_index(["ablation", "variant"])
    bd = summary["bd_rate_psnr_%_mean"]
    gain = summary["gain_at_0.3_db_mean"]
    pooling = bd.loc["pooling"]
    assert (
        f"max pooling raises BD-rate from {pooling.loc['0 max-pooling stages']:.1f} % to "
        f"{pooling.loc['2 max-pooling stages']:.1f} %"
    ) in readme
    assert f"an SSIM loss loses ({bd.loc[('loss', 'SSIM loss')]:+.1f} %)" in readme
    post = gain.loc[("components", "RecCNN only (JPEG post-filter)")]
    both = gain.loc[("components", "both (ComCNN + RecCNN)")]
    assert f"post-filter ({post:+.2f} dB) beats the down/up framework ({both:+.2f} dB)" in readme
    rates = _table("04_dissertation_rates.csv").set_index("variant")
    model = rates.loc["dissertation protocol"]
    assert f"scores {model.psnr:.1f} dB at {model.bpp:.3f} bpp, {model.gain_db:+.2f} dB" in readme
    jpeg = rates[rates.index.str.startswith("JPEG q=")].iloc[0]
    quality = re.search(r"q=(\d+)", jpeg.name).group(1)
    assert f"JPEG needs q{quality}, {jpeg.bpp:.2f} bpp, for 32.75 dB" in readme


def test_colour_against_pillow_jpeg(readme):
    row = _table("colour.csv").set_index("codec").loc["ours, chroma jpeg qc=q"]
    gains = " / ".join(f"{row[f'gain_db_at_{r}_bpp']:+.2f}" for r in (0.1, 0.2, 0.3, 0.5))
    assert f"BD-rate {row.bd_rate_pct:.1f} %; {gains} dB at 0.1 / 0.2 / 0.3 / 0.5 bpp" in readme
