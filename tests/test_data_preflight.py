"""The preflight of `make report` (comp_lib.data.preflight, comp_lib.pipeline): every
dataset the notebooks need, fetched from a mirror on 127.0.0.1 into an empty data
folder, or one clear message and exit status 1 before any notebook starts."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tree

from comp_lib.config import PROJECT_ROOT
from comp_lib.data import CORPUS_DATASETS, DATASETS, DOWNLOADS
from comp_lib.data.download import WORK_FOLDER, verify
from comp_lib.data.preflight import DataUnavailable, ensure, problems
from comp_lib.pipeline import NOTEBOOK_DATASETS, load_profile, needed_datasets, notebooks


@pytest.fixture(autouse=True)
def _no_mirror_env(monkeypatch):
    monkeypatch.delenv("COMP_LIB_MIRROR", raising=False)


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# --------------------------------------------------------------------------- what is needed


def test_each_notebook_declares_every_dataset_it_reads():
    for nb in notebooks():
        text = nb.with_suffix(".py").read_text()
        named = {n for n in DATASETS if re.search(rf"[\"']{n}[\"']", text)}
        if "build_corpus(" in text:
            named |= set(CORPUS_DATASETS)
        assert named <= set(needed_datasets({}, only=[nb.stem])), nb.name
        assert nb.stem in NOTEBOOK_DATASETS, nb.name


def test_the_profiles_need_what_their_parameters_name():
    default = needed_datasets(load_profile("default"))
    assert set(default) == set(DATASETS)  # all seven
    only_01 = needed_datasets(load_profile("default"), only=["01_method"])
    assert only_01 == ["bsds300_test"]
    fewer = needed_datasets({"03_evaluation": {"datasets": ["kodak"]}}, only=["03_evaluation"])
    assert set(fewer) == {"kodak", *CORPUS_DATASETS}
    assert "set14" not in fewer


# --------------------------------------------------------------------------- fetching


def test_an_empty_data_folder_is_filled_from_the_mirror(tmp_path, mirror, serve, monkeypatch):
    server = serve(mirror)
    monkeypatch.setenv("COMP_LIB_MIRROR", server.url)
    root = tmp_path / "data"
    lines = []
    fetched = ensure(needed_datasets(load_profile("default")), root, log=lines.append)
    assert set(fetched) == set(DOWNLOADS)
    assert problems(DATASETS, root) == {}
    assert lines[0] == f"data: 0 of 7 datasets present and intact in {root}"
    assert sum("fetching" in line for line in lines) == len(DOWNLOADS)
    assert not (root / WORK_FOLDER).exists()
    hits = len(server.hits)
    assert ensure(DATASETS, root, log=lines.append) == []  # all there: no request
    assert len(server.hits) == hits and lines[-1].startswith("data: 7 of 7 datasets present")


def test_only_the_missing_and_damaged_datasets_are_fetched(tmp_path, mirror, serve, monkeypatch):
    server = serve(mirror)
    monkeypatch.setenv("COMP_LIB_MIRROR", server.url)
    root = tmp_path / "data"
    ensure(["set5", "bsds300_test"], root, log=lambda _: None)
    damaged = root / "set5" / "bird_GT.bmp"
    damaged.write_bytes(damaged.read_bytes()[:-1])
    server.hits.clear()
    assert ensure(["set5", "bsds300_test", "raw"], root, log=lambda _: None) == ["set5", "raw"]
    assert sorted(server.hits) == ["/raw/Blackmagic.dng", "/raw/RAW_CANON_D30_SRGB.CRW",
                                   "/set5/bird_GT.bmp"]  # fmt: skip
    assert verify("set5", root) == []


# --------------------------------------------------------------------------- failing


def test_an_unreachable_server_gives_one_message_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("COMP_LIB_MIRROR", _closed_port())
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(DataUnavailable) as err:
        ensure(["kodak", "set5", "bsds300_test", "bsds300_train"], root, log=lambda _: None)
    message = str(err.value)
    assert message.startswith(f"4 dataset(s) the notebooks need are not in the data folder {root}")
    for name in ("kodak", "set5", "bsds300_test", "bsds300_train"):
        assert f"  - {name} ({DATASETS[name].title}" in message
    assert message.count("no network or server unreachable") == 1  # the first download
    assert message.count("not tried: 127.0.0.1:") == 3  # the others skip the dead server
    assert "COMP_LIB_DATA" in message and "COMP_LIB_MIRROR" in message
    assert message.endswith("Nothing was written to the data folder.")
    assert tree(root) == []


def test_http_status_and_checksum_are_named(tmp_path, mirror, serve, monkeypatch):
    served = tmp_path / "served"
    (served / "set5").mkdir(parents=True)
    for src in (mirror / "set5").iterdir():
        (served / "set5" / src.name).write_bytes(src.read_bytes())
    (served / "set5" / "head_GT.bmp").write_bytes(b"BM not the real one")
    monkeypatch.setenv("COMP_LIB_MIRROR", serve(served).url)  # no kodak/ there: 404
    root = tmp_path / "data"
    with pytest.raises(DataUnavailable) as err:
        ensure(["set5", "kodak"], root, log=lambda _: None)
    message = str(err.value)
    assert re.search(r"  - set5 .*: sha256 mismatch for set5/head_GT\.bmp", message)
    assert re.search(r"  - kodak .*: download failed: HTTP 404 .*/kodak/kodim01\.png", message)
    assert tree(root) == []


def test_a_mirror_folder_without_the_files_is_not_called_a_network_failure(tmp_path, monkeypatch):
    (tmp_path / "mirror").mkdir()
    monkeypatch.setenv("COMP_LIB_MIRROR", (tmp_path / "mirror").as_uri())
    with pytest.raises(DataUnavailable) as err:
        ensure(["raw", "set5"], tmp_path / "data", log=lambda _: None)
    message = str(err.value)
    assert "no network" not in message and "not tried" not in message  # each one tried
    assert re.search(r"  - raw .*: download failed: .* for file://.*/mirror/raw/Blackmagic\.dng",
                     message)  # fmt: skip


def test_a_read_only_data_folder_is_named(tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root may write into a read-only folder")
    root = tmp_path / "data"
    root.mkdir()
    root.chmod(0o555)
    monkeypatch.setenv("COMP_LIB_MIRROR", _closed_port())
    try:
        with pytest.raises(DataUnavailable, match="cannot write the data folder"):
            ensure(["set5"], root, log=lambda _: None)
    finally:
        root.chmod(0o755)


def test_make_report_without_data_or_network_stops_before_any_notebook(tmp_path):
    env = {**os.environ, "COMP_LIB_DATA": str(tmp_path / "data"), "COMP_LIB_MIRROR": _closed_port(),
           "COMP_LIB_REPORTS": str(tmp_path / "reports")}  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "comp_lib.pipeline", "--profile", "default"],
                          capture_output=True, text=True, env=env, cwd=PROJECT_ROOT,
                          timeout=120, check=False)  # fmt: skip
    seconds = time.perf_counter() - start
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("error: ") == 1 and "Traceback" not in done.stderr
    assert "7 dataset(s) the notebooks need" in done.stderr and "Two ways out" in done.stderr
    assert "ipynb" not in done.stdout  # no notebook started
    assert not (tmp_path / "reports" / "notebooks").exists()
    assert tree(tmp_path / "data") == []
    print(f"make report, offline, no data: exit 1 after {seconds:.1f} s")


def test_the_readme_lists_every_download_with_its_size():
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name, spec in DOWNLOADS.items():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}` ")), "")
        assert row, f"README has no row for the download {name!r}"
        assert f"{spec.size / 1e6:.1f} MB" in row, row
        assert Path(spec.manifest).stem == name
