"""Tables with a provenance sidecar, read back as data."""

import json

import pandas as pd
import pytest

from comp_lib.report import Provenance, provenance, read_provenance, read_table, write_table
from comp_lib.report.tables import write_csv

PARAMS = {"datasets": ["kodak"], "limit": None, "max_rate": 0.6, "ladder_step": 3,
          "budget": {"epochs": 4, "steps": 50}, "sizes": [(16, 8, 1)]}  # fmt: skip


@pytest.fixture
def reports(tmp_path, monkeypatch):
    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path))
    return tmp_path


def test_a_table_and_its_provenance_round_trip(reports):
    df = pd.DataFrame({"codec": ["ours", "JPEG"], "bd_rate_psnr_%": [-30.0, 0.0]})
    source = provenance("default", PARAMS, "d97a")
    path = write_table("03_x", "A title", df, source, "A note.")
    assert path == reports / "tables" / "03_x.md"
    assert sorted(p.name for p in path.parent.iterdir()) == ["03_x.csv", "03_x.json", "03_x.md"]
    table, back = read_table("03_x")
    pd.testing.assert_frame_equal(table, df)
    assert back == source and back.parameters["ladder_step"] == 3
    assert back.parameters["sizes"] == [[16, 8, 1]]  # JSON: tuples are lists
    sidecar = json.loads((reports / "tables" / "03_x.json").read_text())
    assert set(sidecar) == {"commit", "profile", "parameters", "index_sha256", "machine"}
    assert sidecar["profile"] == "default" and sidecar["index_sha256"] == "d97a"
    md = path.read_text().splitlines()
    assert md[:5] == ["# A title", "", "A note.", "", str(source)]


def test_the_markdown_line_is_the_one_of_before():
    source = Provenance("abc1234", "paper", {"budget": {"epochs": 4}, "seeds": [0]}, "ff00")
    assert str(source) == ('Provenance: git abc1234; profile `paper`; parameters '
                           '`{"budget": {"epochs": 4}, "seeds": [0]}`; data index sha256 '
                           '`ff00`.')  # fmt: skip
    timing = Provenance("abc1234", "default", machine="AMD EPYC, 2 threads")
    line = "Provenance: git abc1234; profile `default`; machine: AMD EPYC, 2 threads."
    assert str(timing) == line
    assert str(provenance("smoke", {})).endswith("; profile `smoke`; parameters `{}`.")


def test_provenance_is_frozen_and_owns_its_parameters():
    params = {"a": [1]}
    source = Provenance("abc", "smoke", params)
    params["a"].append(2)
    assert source.parameters == {"a": [1]}
    with pytest.raises(AttributeError):
        source.profile = "default"
    with pytest.raises(TypeError):
        Provenance("abc", "smoke", {"a": object()})  # not JSON


def test_reading_what_is_not_there(reports):
    assert read_table("nothing") == (None, None)
    write_csv("rows", pd.DataFrame({"a": [1]}))  # no source: no sidecar
    table, source = read_table("rows")
    assert table.a.tolist() == [1] and source is None
    assert not (reports / "tables" / "rows.json").exists()


def test_unknown_sidecar_keys_are_ignored(reports):
    write_csv("rows", pd.DataFrame({"a": [1]}), Provenance("abc", "smoke", {"x": 1}))
    path = reports / "tables" / "rows.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "written_by": "a later version"}))
    assert read_provenance("rows") == Provenance("abc", "smoke", {"x": 1})


def test_a_table_needs_a_provenance(reports):
    with pytest.raises(TypeError, match="Provenance"):
        write_table("x", "X", pd.DataFrame({"a": [1]}), "Provenance: git abc")
    assert not (reports / "tables" / "x.csv").exists()
