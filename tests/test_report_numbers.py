"""One rounding rule for every table people read (comp_lib.report.numbers)."""

import numpy as np
import pandas as pd
import pytest

from comp_lib.report import for_people, provenance, write_for_people
from comp_lib.report.numbers import BD_MISSING, decimals, markdown, number, percent


@pytest.mark.parametrize(
    ("column", "places"),
    [
        ("bd_rate_psnr_%", 2),  # a % even though it names a rate
        ("rate_vs_ours_%", 2),
        ("ssim", 3),
        ("bd_ssim", 3),
        ("psnr", 2),
        ("gain_db", 2),
        ("bpp", 3),
        ("min_rate", 3),
        ("encode_ms", 1),
        ("seconds", 1),
        ("minutes", 1),
        ("images", 2),  # no rule: 2
    ],
)
def test_decimals_follow_the_column_name(column, places):
    assert decimals(column) == places


def test_number_says_why_a_value_is_missing():
    assert number(1.23456) == "1.23"
    assert number(-0.5, "+.1f") == "-0.5"
    assert number(float("nan"), missing="not reached") == "not reached"
    assert number(None) == "not defined"
    assert number(np.float32("nan"), ".3f", "x") == "x"


def test_percent_signs_and_says_why_a_bd_rate_is_missing():
    assert percent(-29.4949) == "-29.49 %" and percent(3.0) == "+3.00 %"
    assert percent(float("nan"), BD_MISSING).startswith("not defined (fewer than 4 points")
    assert "nan" not in percent(np.nan)


TABLE = pd.DataFrame({"codec": ["a", "b"], "bpp": [0.30049, np.nan], "psnr": [31.234, 30.0],
                      "ssim": [0.91234, 0.9], "bd_rate_psnr_%": [-30.456, 1.0],
                      "encode_ms": [12.345, 3.0], "images": [3, 4]})  # fmt: skip


def test_for_people_rounds_by_column_and_keeps_integers():
    people = for_people(TABLE, {"bpp": "not reported"})
    assert people.iloc[0].tolist() == ["a", "0.300", "31.23", "0.912", "-30.46", "12.3", 3]
    assert people.bpp[1] == "not reported"
    assert for_people(TABLE).bpp[1] == "not defined"  # one text for every column


def test_markdown_keeps_trailing_zeros_and_has_no_nan():
    text = markdown(TABLE, "not reported")
    assert "| 0.300 " in text and "| 30.00 " in text and "| 0.900 " in text
    assert "not reported" in text and "nan" not in text and "| 3 " in text


def test_write_for_people_writes_rounded_markdown_and_exact_csv(tmp_path, monkeypatch):
    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path))
    path = write_for_people("t", "T", TABLE, provenance("smoke", {}), "note.",
                            {"bpp": "not reported"})  # fmt: skip
    rows_of_the_table = path.read_text().split("| codec")[1]
    assert "nan" not in rows_of_the_table and "not reported" in rows_of_the_table
    assert "| 0.300 " in rows_of_the_table  # tabulate does not re-parse "0.300" as 0.3
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "tables" / "t.csv"), TABLE)
