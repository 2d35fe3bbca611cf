import dataclasses
import shutil

import pandas as pd
import pytest

from comp_lib.config import PROJECT_ROOT, tables_dir
from comp_lib.files import atomic_write
from comp_lib.report import Provenance, read_provenance, write_readme


@pytest.fixture
def reports(tmp_path, monkeypatch):
    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path))
    shutil.copytree(PROJECT_ROOT / "reports" / "tables", tmp_path / "tables")
    return tmp_path


def set_provenance(name: str, source: Provenance) -> None:
    """Replace table ``name``'s provenance sidecar."""
    atomic_write(tables_dir() / f"{name}.json", source.to_json())


def test_the_committed_report_is_what_the_committed_tables_give(reports):
    """reports/README.md regenerated from the committed tables is the committed one, byte
    for byte: every number and every parameter it states is read from a table."""
    committed = (PROJECT_ROOT / "reports" / "README.md").read_bytes()
    assert write_readme().read_bytes() == committed


def test_every_committed_table_with_a_markdown_file_has_its_provenance(reports):
    """The sidecar is what the report reads; the .md line is the same provenance for people
    (a benchmark's own line format aside)."""
    for md in sorted((reports / "tables").glob("*.md")):
        source = read_provenance(md.stem)
        assert source is not None, md.name
        if source.profile is not None:
            assert str(source) in md.read_text().splitlines(), md.name


def test_report_numbers_come_from_the_tables(reports):
    text = write_readme().read_text()
    bd = pd.read_csv(reports / "tables" / "03_standard_bd.csv")
    for codec, value in zip(bd.codec, bd["bd_rate_psnr_%"], strict=True):
        assert f"{codec} {value:+.2f} %" in text, codec
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
    set_provenance("04_summary", Provenance("abc", "paper", {"budget": {"steps": 9}}))
    text = write_readme().read_text()
    assert "MSE loss -12.34 ± 0.50 % / +0.42 ± 0.01 dB" in text
    assert "L1 loss -10.00 % / +0.30 dB" in text
    assert "random init BD-rate undefined (no PSNR range shared with JPEG) / -13.60 dB" in text
    assert "(tables/04_pooling.md)" in text and "Smoke profile" not in text
    assert "Provenance: git abc; profile `paper`; parameters" in text
    assert "same small budget" not in text  # no epochs in the budget: not stated
    # findings: pooled seed std sqrt((0.5**2 + 1.0**2) / 2) = 0.79; 3x = 2.4 > the 2.3 gap
    assert "pooled over the 2 distinct repeated variants: 0.79 points" in text
    assert "best MSE loss (-12.34 %), worst L1 loss (-10.00 %): 2.34 points apart, within" in text
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
    assert f"ours {lo:.3f}-{hi:.3f}" in text
    assert "Each BD-rate is over the rates" in text
    (reports / "tables" / "03_rows.csv").unlink()  # no rows: no ranges, no error
    assert "Each BD-rate is over the rates" not in write_readme().read_text()


def test_report_says_when_ours_ran_at_some_rungs_only(reports):
    source = read_provenance("03_standard_bd")
    rows = pd.read_csv(reports / "tables" / "03_rows.csv")
    n = rows[rows.codec == "ours"].setting.nunique()
    for step, shown in ((None, False), (1, False), (2, True)):
        params = {k: v for k, v in source.parameters.items() if k != "ladder_step"}
        if step is not None:
            params = {"ladder_step": step, **params}  # its place in the dict does not matter
        set_provenance("03_standard_bd", dataclasses.replace(source, parameters=params))
        said = f'"ours" ran at {n} rungs of its ladder (one in 2' in write_readme().read_text()
        assert said == shown


@pytest.mark.parametrize("profile", ["smoke", "smoke-gpu", "default"])
def test_only_the_smoke_profile_is_flagged_as_not_results(reports, profile):
    for name in ("03_standard_bd", "04_summary"):
        set_provenance(name, dataclasses.replace(read_provenance(name), profile=profile))
    text = write_readme().read_text()
    assert ("from the smoke profile" in text) == (profile == "smoke")
    assert ("**Smoke profile: a few training steps" in text) == (profile == "smoke")


def test_the_budget_is_read_from_the_parameters(reports):
    source = read_provenance("04_summary")
    budget = {"steps": 7, "lr": 0.1, "epochs": 3}  # any order
    set_provenance("04_summary", dataclasses.replace(source, parameters={"budget": budget}))
    assert "same small budget (3 epochs of 7 steps)" in write_readme().read_text()
    (reports / "tables" / "04_summary.json").unlink()  # no provenance: no line, no budget
    text = write_readme().read_text()
    assert "what makes the method win\n\nBD-rate (PSNR) against JPEG" in text
    assert "same small budget" not in text


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
    line = next(x for x in text.splitlines() if x.startswith(f"- Kodak ({lo:.2f}-{hi:.2f} bpp): "))
    assert f"ours {table.loc['ours', 'bd_psnr_db']:+.2f} dB" in line
    assert f"JPEG 2000 {table.loc['JPEG 2000', 'bd_psnr_db']:+.2f} dB" in line
    assert "(tables/03_standard_bd_common.md)" in text
    (reports / "tables" / "03_standard_bd_common.csv").unlink()  # no table: no section
    assert "To rank every codec over one range" not in write_readme().read_text()


def test_the_report_answers_first_with_a_figure_and_the_summary_table(reports):
    """Issue 17: the answer in three sentences, then the headline figure and the summary
    table within the first 40 lines; no ``nan``; no table number with more than 3 decimals."""
    import re

    text = write_readme().read_text()
    lines = text.splitlines()
    assert lines[2] == "## The answer"
    head = "\n".join(lines[:40])
    assert "![PSNR against bpp on BSDS300 test" in head
    assert (reports / "figures" / "report_headline_rd.png").stat().st_size > 10_000
    assert "| test set " in head and "framework (ComCNN+RecCNN): BD-rate" in head
    rows = pd.read_csv(reports / "tables" / "03_rows.csv", dtype={"image": str})
    n = rows[rows.dataset == "bsds300_test"].image.nunique()  # how many images the numbers cover
    assert f"| BSDS300 test ({n} images) " in head and f"BSDS300 test ({n} images; BD-rate" in head
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    for line in lines:
        if line.startswith("|"):
            assert not re.search(r"\d\.\d{4,}", line), line
    bd = pd.read_csv(reports / "tables" / "03_standard_bd.csv")
    ours = bd[(bd.dataset == "bsds300_test") & (bd.codec == "ours")]["bd_rate_psnr_%"].item()
    assert (
        f"needs {abs(ours):.2f} % fewer bits than JPEG for the same PSNR on BSDS300 test"
        in (lines[4])
    )


def test_summary_numbers_by_hand(reports):
    """The summary's BD-rates, gain and best classical codec, read by hand off the tables."""
    from comp_lib.report.summary import summary_numbers, summary_table

    bd = pd.read_csv(reports / "tables" / "03_standard_bd.csv")
    fixed = pd.read_csv(reports / "tables" / "03_standard_at_rates.csv")
    rows = pd.read_csv(reports / "tables" / "03_rows.csv")
    numbers = summary_numbers(bd, fixed, rows).set_index("dataset")
    kodak = bd[bd.dataset == "kodak"].set_index("codec")["bd_rate_psnr_%"]
    at = fixed[(fixed.dataset == "kodak") & (fixed.bpp == 0.3)].set_index("codec").psnr
    assert numbers.loc["kodak", "ladder_bd"] == kodak["ours"]
    assert numbers.loc["kodak", "framework_bd"] == kodak["ComCNN+RecCNN"]
    assert numbers.loc["kodak", "gain_db"] == pytest.approx(at["ours"] - at["JPEG"])
    classical = kodak[["WebP", "AVIF", "JPEG 2000", "JPEG XL"]]
    assert numbers.loc["kodak", "classical"] == classical.idxmin()
    table = summary_table(numbers.reset_index())
    assert table.iloc[1, 4] == f"{classical.idxmin()}: {classical.min():+.2f} %"
    numbers.loc["kodak", "gain_db"] = float("nan")
    assert summary_table(numbers.reset_index()).iloc[1, 3].startswith("not defined: ")


def test_report_states_the_post_filter_against_its_target(reports):
    summary = pd.DataFrame([dict(images=8, quality=10, gain_db=1.234, gain_100_images_db=1.27,
                                 target_db=1.4, missing_db=0.13, doublings=2.91,
                                 more_hours_here=28.2, best_ensemble_gain_db=0.05)])  # fmt: skip
    summary.to_csv(reports / "tables" / "05_post_filter_summary.csv", index=False)
    set_provenance("05_post_filter_summary", Provenance("abc", "default", {"n_images": 8}))
    text = write_readme().read_text()
    assert "At quality 10 it gains +1.23 dB over JPEG on the same bytes on the notebook's 8" in text
    assert "+1.27 dB on the 100 BSDS300 test images" in text
    assert "0.13 dB short, 2.9 more doublings" in text and "about 28 more hours" in text
    assert "at most +0.05 dB more" in text
    assert "- 05 post-filter (`05_post_filter_summary`): Provenance: git abc" in text
    (reports / "tables" / "05_post_filter_summary.csv").unlink()  # not run: no section
    assert "### 05 ·" not in write_readme().read_text()
