import shutil

import pandas as pd
import pytest

from comp_lib.config import PROJECT_ROOT
from comp_lib.report import write_readme


@pytest.fixture
def reports(tmp_path, monkeypatch):
    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path))
    shutil.copytree(PROJECT_ROOT / "reports" / "tables", tmp_path / "tables")
    return tmp_path


def test_report_numbers_come_from_the_tables(reports):
    text = write_readme().read_text()
    bd = pd.read_csv(reports / "tables" / "03_standard_bd.csv")
    for codec, value in zip(bd.codec, bd["bd_rate_psnr_%"], strict=True):
        assert f"{codec} {value:+.1f}%" in text, codec
    fixed = pd.read_csv(reports / "tables" / "03_standard_at_rates.csv")
    at = fixed[(fixed.bpp == 0.3) & (fixed.codec == "JPEG") & fixed.psnr.notna()]
    assert all(f"JPEG {v:.2f} dB" in text for v in at.psnr)
    assert "(tables/03_standard_bd.md)" in text and "Provenance: git" in text


def test_report_without_tables_still_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path))
    (tmp_path / "tables").mkdir()
    assert write_readme().read_text().startswith("# comp-study: the report")


def test_report_lists_every_ablation_from_its_summary(reports):
    summary = pd.DataFrame({
        "ablation": ["loss", "loss", "pooling", "dissertation"],
        "variant": ["MSE loss", "L1 loss", "2 max-pooling stages", "random init"],
        "bd_rate_psnr_%_mean": [-12.34, -10.0, 5.0, float("nan")],
        "bd_rate_psnr_%_std": [0.5, float("nan"), 1.0, float("nan")],
        "bd_rate_psnr_%_count": [2, 1, 2, 0], "gain_at_0.3_db_mean": [0.42, 0.3, -0.7, -13.6],
        "gain_at_0.3_db_std": [0.01, float("nan"), 0.1, float("nan")],
        "gain_at_0.3_db_count": [2, 1, 2, 1],
    })  # fmt: skip
    summary.to_csv(reports / "tables" / "04_summary.csv", index=False)
    provenance = "# x\n\nProvenance: git abc; profile `paper`\n"
    (reports / "tables" / "04_summary.md").write_text(provenance)
    text = write_readme().read_text()
    assert "MSE loss -12.3 ± 0.50% / +0.42 ± 0.01 dB" in text
    assert "L1 loss -10.0% / +0.30 dB" in text
    assert "random init BD-rate undefined (no PSNR range shared with JPEG) / -13.60 dB" in text
    assert "(tables/04_pooling.md)" in text and "Smoke profile" not in text
    # findings: pooled seed std sqrt((0.5**2 + 1.0**2) / 2) = 0.79; 3x = 2.4 > the 2.3 gap
    assert "pooled over the 2 distinct repeated variants: 0.79 points" in text
    assert "best MSE loss (-12.3%), worst L1 loss (-10.0%): 2.3 points apart, within" in text
    rates = pd.read_csv(reports / "tables" / "04_dissertation_rates.csv")
    model, jpeg = rates.iloc[0], rates[rates.variant.str.startswith("JPEG q=")].iloc[0]
    assert f"only at {jpeg.bpp:.3f} bpp ({jpeg.bpp / model.bpp:.1f} times the model's" in text


def test_report_states_the_rate_range_of_each_bd_rate(reports):
    """A curve that stops early is judged at low rates only: the report says over which."""
    from comp_lib.rd import rd_curves

    text = write_readme().read_text()
    rows = pd.read_csv(reports / "tables" / "03_rows.csv")
    sub = rows[rows.dataset == "bsds300_test"]
    span = rd_curves(sub).groupby("codec").bpp.agg(["min", "max"])
    lo = max(span.loc["ours", "min"], span.loc["JPEG", "min"])
    hi = min(span.loc["ours", "max"], span.loc["JPEG", "max"], 0.6)
    assert f"ours {lo:.2f}-{hi:.2f}" in text
    assert "Each BD-rate is over the rates" in text
    (reports / "tables" / "03_rows.csv").unlink()  # no rows: no ranges, no error
    assert "Each BD-rate is over the rates" not in write_readme().read_text()


def test_report_says_when_ours_ran_at_some_rungs_only(reports):
    import re

    md = reports / "tables" / "03_standard_bd.md"
    text = md.read_text()
    line = next(x for x in text.splitlines() if x.startswith("Provenance:"))
    line = re.sub(r'"ladder_step": \d+, ', "", line)
    rows = pd.read_csv(reports / "tables" / "03_rows.csv")
    n = rows[rows.codec == "ours"].setting.nunique()
    for step, shown in ((1, False), (2, True)):
        stepped = line.replace('"max_rate"', f'"ladder_step": {step}, "max_rate"')
        md.write_text(text.replace(next(x for x in text.splitlines()
                                         if x.startswith("Provenance:")), stepped))  # fmt: skip
        said = f'"ours" ran at {n} rungs of its ladder (one in 2' in write_readme().read_text()
        assert said == shown


def test_report_states_the_evaluation_speed_against_60_s(reports):
    speed = pd.read_csv(reports / "tables" / "eval_speed.csv")
    text = write_readme().read_text()
    for r in speed.itertuples():
        verdict = "within" if r.meets_60s else "over"
        assert f"{r.codec} {r.ms_per_image / 10:.0f} s ({verdict} 60 s)" in text


def test_report_ranks_every_codec_over_one_common_range(reports):
    text = write_readme().read_text()
    common = pd.read_csv(reports / "tables" / "03_standard_bd_common.csv")
    table = common[common.dataset == "kodak"].set_index("codec")
    lo, hi = table.min_rate.iloc[0], table.max_rate.iloc[0]
    line = next(x for x in text.splitlines() if x.startswith(f"- kodak ({lo:.2f}-{hi:.2f} bpp): "))
    assert f"ours {table.loc['ours', 'bd_psnr_db']:+.2f} dB" in line
    assert f"JPEG 2000 {table.loc['JPEG 2000', 'bd_psnr_db']:+.2f} dB" in line
    assert "(tables/03_standard_bd_common.md)" in text
    (reports / "tables" / "03_standard_bd_common.csv").unlink()  # no table: no section
    assert "To rank every codec over one range" not in write_readme().read_text()
