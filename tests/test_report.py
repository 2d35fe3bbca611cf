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
