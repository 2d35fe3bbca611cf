"""comp_lib.data against a real local HTTP server that serves the real files.

The server (conftest.Server, on 127.0.0.1) serves a mirror laid out as COMP_LIB_MIRROR
expects (conftest.mirror): ``bsds300/BSDS300-images.tgz`` built here with the official
member layout from the 300 real BSDS images, and every other source's files (Kodak,
Set5, Set14, Train400, the camera RAWs) as single files, links to the real ones.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import ARCHIVE, add_bytes, bsds_members, build_archive, tree

from comp_lib.data import DATASETS, DOWNLOADS, dataset_dir
from comp_lib.data.__main__ import main, sources
from comp_lib.data.download import WORK_FOLDER, fetch, load_manifest, source_urls, verify

KODAK = [f"kodim{i:02d}.png" for i in range(1, 25)]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _flip_byte(data: bytes, at: int = 1000) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


@pytest.fixture(autouse=True)
def _no_mirror_env(monkeypatch):
    monkeypatch.delenv("COMP_LIB_MIRROR", raising=False)


def _served_copy(tmp_path: Path, mirror: Path, name: str = "served") -> Path:
    """A fresh copy of the mirror's layout (links), so one test can alter a file."""
    folder = tmp_path / name
    for sub in mirror.iterdir():
        (folder / sub.name).mkdir(parents=True)
        for src in sub.iterdir():
            (folder / sub.name / src.name).symlink_to(src.resolve())
    return folder


def _replace(path: Path, data: bytes) -> None:
    path.unlink()
    path.write_bytes(data)


# --------------------------------------------------------------------------- the registry


def test_every_dataset_has_a_download_with_a_manifest_that_matches_the_real_files():
    assert set(DOWNLOADS) == {"bsds300", "kodak", "set5", "set14", "train400", "raw"}
    assert {d.download for d in DATASETS.values()} == set(DOWNLOADS)
    counts = {"bsds300": 301, "kodak": 24, "set5": 5, "set14": 14, "train400": 400, "raw": 2}
    for name, spec in DOWNLOADS.items():
        sums = load_manifest(name)
        assert len(sums) == counts[name], name
        assert {rel.split("/")[0] for rel in sums} == set(spec.folders), name
        for relpath, expected in sums.items():
            folder, fname = relpath.split("/")
            assert _sha256(dataset_dir(folder) / fname) == expected, relpath
        # The manifest covers every file of its folders, no more and no fewer
        on_disk = {f"{f}/{p.name}" for f in spec.folders for p in dataset_dir(f).iterdir()
                   if p.name != "SOURCES.md"}  # fmt: skip
        assert on_disk == set(sums), name
        assert spec.size == sum((dataset_dir(r.split("/")[0]) / r.split("/")[1]).stat().st_size
                                for r in sums), name  # fmt: skip
        assert spec.terms and spec.citation, name
        if not spec.is_archive:  # one URL per file, each keeping its name
            assert sorted(spec.files) == sorted(r.split("/")[1] for r in sums), name


def test_sources_are_the_official_servers_or_repositories_pinned_to_a_commit():
    assert DOWNLOADS["bsds300"].urls == (
        "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/BSDS300-images.tgz",
    )
    assert DOWNLOADS["kodak"].urls[0] == "http://r0k.us/graphics/kodak/kodak/kodim01.png"
    github = re.compile(r"https://raw\.githubusercontent\.com/[\w-]+/[\w-]+/[0-9a-f]{40}/.+")
    for name in ("set5", "set14", "train400", "raw"):
        assert all(github.fullmatch(u) for u in DOWNLOADS[name].urls), name
    assert "cszn/DnCNN/e93b27812d3ff523a3a79d19e5e50d233d7a8d0a/testsets/Set5/baby_GT.bmp" in (
        DOWNLOADS["set5"].urls[0])  # fmt: skip
    assert DOWNLOADS["bsds300"].folders == ("bsds300_test", "bsds300_train")
    with pytest.raises(ValueError, match="unknown dataset 'set6'"):
        fetch("set6")


def test_the_mirror_replaces_every_source(monkeypatch):
    monkeypatch.setenv("COMP_LIB_MIRROR", "file:///srv/mirror/")
    assert source_urls("bsds300") == (f"file:///srv/mirror/bsds300/{ARCHIVE}",)
    assert source_urls("raw")[1] == "file:///srv/mirror/raw/RAW_CANON_D30_SRGB.CRW"
    assert source_urls("kodak", "http://x/k")[0] == "http://x/k/kodim01.png"  # base_url wins
    text = sources()
    for name, spec in DOWNLOADS.items():
        assert f"{name}: " in text and spec.citation in text and f"/{name}/" in text


def test_verify_accepts_the_data_folder():
    for name in DOWNLOADS:
        assert verify(name) == []
    assert verify("bsds300", folder="bsds300_test") == []


# --------------------------------------------------------------------------- fetching


def test_fetch_kodak_end_to_end(tmp_path, mirror, serve):
    server = serve(mirror)
    dest = tmp_path / "data"
    assert fetch("kodak", dest=dest, base_url=server.url + "/kodak/") == dest
    assert verify("kodak", dest) == []
    assert tree(dest) == ["kodak"] + [f"kodak/{n}" for n in KODAK]  # no work folder left
    assert sorted(server.hits) == [f"/kodak/{n}" for n in KODAK]
    for name in KODAK:
        assert _sha256(dest / "kodak" / name) == _sha256(dataset_dir("kodak") / name)


def test_fetch_bsds300_end_to_end(tmp_path, mirror, serve):
    server = serve(mirror)
    dest = tmp_path / "data"
    fetch("bsds300", dest=dest, base_url=f"{server.url}/bsds300")
    assert server.hits == [f"/bsds300/{ARCHIVE}"]
    assert verify("bsds300", dest) == []
    assert sorted(p.name for p in dest.iterdir()) == ["bsds300_test", "bsds300_train"]
    assert len(list((dest / "bsds300_test").iterdir())) == 101  # iids_train.txt not kept
    assert len(list((dest / "bsds300_train").iterdir())) == 200
    real = dataset_dir("bsds300_test") / "iids_test.txt"
    assert (dest / "bsds300_test" / "iids_test.txt").read_bytes() == real.read_bytes()


def test_every_download_from_the_mirror_variable(tmp_path, mirror, serve, monkeypatch):
    server = serve(mirror)
    monkeypatch.setenv("COMP_LIB_MIRROR", server.url)
    dest = tmp_path / "data"
    for name in DOWNLOADS:
        fetch(name, dest=dest)
        assert verify(name, dest) == [], name
    assert len(server.hits) == 1 + 24 + 5 + 14 + 400 + 2
    assert sorted(p.name for p in dest.iterdir()) == sorted(d.folder for d in DATASETS.values())


def test_mirror_as_a_file_url(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv("COMP_LIB_MIRROR", mirror.as_uri())
    dest = tmp_path / "data"
    fetch("raw", dest=dest)
    fetch("bsds300", dest=dest)
    assert verify("raw", dest) == [] and verify("bsds300", dest) == []


def test_second_fetch_downloads_nothing_and_force_downloads_again(tmp_path, mirror, serve):
    server = serve(mirror)
    dest = tmp_path / "data"
    fetch("kodak", dest=dest, base_url=f"{server.url}/kodak")
    fetch("bsds300", dest=dest, base_url=f"{server.url}/bsds300")
    assert len(server.hits) == 25
    fetch("kodak", dest=dest, base_url=f"{server.url}/kodak")
    fetch("bsds300", dest=dest, base_url=f"{server.url}/bsds300")
    assert len(server.hits) == 25
    fetch("kodak", dest=dest, base_url=f"{server.url}/kodak", force=True)
    assert len(server.hits) == 49
    assert verify("kodak", dest) == [] and verify("bsds300", dest) == []


def test_fetch_repairs_only_what_is_missing_or_modified(tmp_path, mirror, serve):
    server = serve(mirror)
    dest = tmp_path / "data"
    fetch("kodak", dest=dest, base_url=f"{server.url}/kodak")
    (dest / "kodak" / "kodim05.png").unlink()
    bad = dest / "kodak" / "kodim11.png"
    bad.write_bytes(_flip_byte(bad.read_bytes()))
    server.hits.clear()
    fetch("kodak", dest=dest, base_url=f"{server.url}/kodak")
    assert sorted(server.hits) == ["/kodak/kodim05.png", "/kodak/kodim11.png"]
    assert verify("kodak", dest) == []
    assert tree(dest) == ["kodak"] + [f"kodak/{n}" for n in KODAK]


def test_fetch_repairs_bsds300_from_one_archive_download(tmp_path, mirror, serve):
    server = serve(mirror)
    dest = tmp_path / "data"
    fetch("bsds300", dest=dest, base_url=f"{server.url}/bsds300")
    victim = next((dest / "bsds300_train").glob("*.jpg"))
    victim.unlink()
    (dest / "bsds300_test" / "iids_test.txt").write_text("101085\n")
    assert len(verify("bsds300", dest)) == 2
    fetch("bsds300", dest=dest, base_url=f"{server.url}/bsds300")
    assert server.hits == [f"/bsds300/{ARCHIVE}"] * 2
    assert verify("bsds300", dest) == []
    assert [p.name for p in dest.iterdir() if p.name.startswith(".")] == []


def test_complete_dataset_needs_no_server():
    # The shared data folder is complete: nothing is downloaded, nothing written.
    root = dataset_dir("kodak").parent
    for name in DOWNLOADS:
        assert fetch(name, dest=root, base_url="http://127.0.0.1:9") == root


# --------------------------------------------------------------------------- resuming


def test_an_interrupted_download_resumes_where_it_stopped(tmp_path, mirror, serve):
    size = (dataset_dir("kodak") / "kodim07.png").stat().st_size
    cut = serve(mirror, cut={"/kodak/kodim07.png": 300_000})
    dest = tmp_path / "data"
    with pytest.raises(ConnectionError, match=r"closed early .*kodim07\.png: got 300000 of "
                       rf"{size} bytes \(kept; the next fetch resumes\)"):  # fmt: skip
        fetch("kodak", dest=dest, base_url=f"{cut.url}/kodak")
    work = dest / WORK_FOLDER / "kodak" / "files" / "kodak"
    assert (work / "kodim07.png.part").stat().st_size == 300_000
    assert sorted(p.name for p in work.glob("*.png")) == KODAK[:6]  # checked, kept
    assert not (dest / "kodak").exists()  # nothing half-done where the study reads
    server = serve(mirror)
    fetch("kodak", dest=dest, base_url=f"{server.url}/kodak")
    assert server.hits == [f"/kodak/{n}" for n in KODAK[6:]]  # kodim01-06 not again
    assert server.ranges[0] == "bytes=300000-" and set(server.ranges[1:]) == {None}
    assert verify("kodak", dest) == []
    assert tree(dest) == ["kodak"] + [f"kodak/{n}" for n in KODAK]


def test_an_interrupted_archive_resumes_and_a_server_without_ranges_restarts(
    tmp_path, mirror, serve
):
    path = f"/bsds300/{ARCHIVE}"
    cut = serve(mirror, cut={path: 1_000_000})
    dest = tmp_path / "data"
    with pytest.raises(ConnectionError, match="closed early"):
        fetch("bsds300", dest=dest, base_url=f"{cut.url}/bsds300")
    part = dest / WORK_FOLDER / "bsds300" / f"{ARCHIVE}.part"
    assert part.stat().st_size == 1_000_000
    plain = serve(mirror, ranges=False)  # ignores Range: the whole file again, from 0
    fetch("bsds300", dest=dest, base_url=f"{plain.url}/bsds300")
    assert plain.ranges == ["bytes=1000000-"]
    assert verify("bsds300", dest) == [] and not (dest / WORK_FOLDER).exists()


def test_a_resumed_download_that_cannot_match_is_refused(tmp_path, mirror, serve):
    served = _served_copy(tmp_path, mirror)
    dest = tmp_path / "data"
    part = dest / WORK_FOLDER / "set5" / "files" / "set5" / "baby_GT.bmp.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"not the start of baby_GT.bmp")  # stale bytes from elsewhere
    server = serve(served)
    with pytest.raises(ValueError, match="sha256 mismatch for set5/baby_GT.bmp"):
        fetch("set5", dest=dest, base_url=f"{server.url}/set5")
    assert tree(dest) == []  # the stale bytes are gone: the next fetch starts clean
    fetch("set5", dest=dest, base_url=f"{server.url}/set5")
    assert verify("set5", dest) == []


# --------------------------------------------------------------------------- bad files


def test_corrupted_file_is_rejected(tmp_path, mirror, serve):
    served = _served_copy(tmp_path, mirror)
    target = served / "kodak" / "kodim07.png"
    data = _flip_byte(target.resolve().read_bytes())
    _replace(target, data)
    dest = tmp_path / "data"
    dest.mkdir()
    expected = load_manifest("kodak")["kodak/kodim07.png"]
    with pytest.raises(ValueError, match="sha256") as err:
        fetch("kodak", dest=dest, base_url=f"{serve(served).url}/kodak")
    message = str(err.value)
    assert "kodim07.png" in message and expected in message
    assert hashlib.sha256(data).hexdigest() in message
    assert tree(dest) == []  # no kodak folder, no partial files, no work folder


def test_corrupted_file_keeps_existing_files_untouched(tmp_path, mirror, serve):
    served = _served_copy(tmp_path, mirror)
    _replace(served / "kodak" / "kodim03.png", b"\x89PNG\r\n\x1a\nnot really")
    dest = tmp_path / "data"
    fetch("kodak", dest=dest, base_url=f"{serve(mirror).url}/kodak")
    (dest / "kodak" / "kodim03.png").unlink()
    before = tree(dest)
    with pytest.raises(ValueError, match="kodim03.png"):
        fetch("kodak", dest=dest, base_url=f"{serve(served).url}/kodak")
    assert tree(dest) == before
    assert verify("kodak", dest) == [f"missing: {dest / 'kodak' / 'kodim03.png'}"]


def _served_archive(tmp_path: Path, **options) -> Path:
    served = tmp_path / "served"
    (served / "bsds300").mkdir(parents=True)
    build_archive(served / "bsds300" / ARCHIVE, **options)
    return served


def test_corrupted_archive_member_is_rejected(tmp_path, serve):
    name, src = bsds_members()[150]
    served = _served_archive(tmp_path, replace={name: _flip_byte(src.read_bytes())})
    dest = tmp_path / "data"
    dest.mkdir()
    with pytest.raises(ValueError, match="sha256 mismatch") as err:
        fetch("bsds300", dest=dest, base_url=f"{serve(served).url}/bsds300")
    assert src.name in str(err.value)
    assert tree(dest) == []


def test_archive_missing_a_member_is_rejected(tmp_path, serve):
    served = _served_archive(tmp_path, replace={"BSDS300/iids_test.txt": None})
    dest = tmp_path / "data"
    with pytest.raises(ValueError, match="lacks 1 expected file.*BSDS300/iids_test.txt"):
        fetch("bsds300", dest=dest, base_url=f"{serve(served).url}/bsds300")
    assert tree(dest) == []


def test_archive_path_traversal_and_links_are_ignored(tmp_path, serve):
    target = tmp_path / "outside.txt"

    def evil(tar: tarfile.TarFile) -> None:
        add_bytes(tar, "../evil.jpg", b"evil")
        add_bytes(tar, "/tmp/comp_lib_evil_abs.jpg", b"evil")
        add_bytes(tar, "BSDS300/images/test/../../../../evil2.jpg", b"evil")
        link = tarfile.TarInfo("BSDS300/images/test/link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, str(target)
        tar.addfile(link)

    served = _served_archive(tmp_path, extra=evil)
    dest = tmp_path / "a" / "data"
    fetch("bsds300", dest=dest, base_url=f"{serve(served).url}/bsds300")
    assert verify("bsds300", dest) == []
    assert sorted(p.name for p in dest.iterdir()) == ["bsds300_test", "bsds300_train"]
    assert not list(tmp_path.rglob("evil*.jpg")) and not list(tmp_path.rglob("link.jpg"))
    assert not Path("/tmp/comp_lib_evil_abs.jpg").exists()
    assert not target.exists()


def test_symlink_in_place_of_an_expected_member_is_rejected(tmp_path, serve):
    name, _ = bsds_members()[0]

    def link(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)

    served = _served_archive(tmp_path, replace={name: None}, extra=link)
    dest = tmp_path / "data"
    with pytest.raises(ValueError, match=f"lacks 1 expected file.*{name}"):
        fetch("bsds300", dest=dest, base_url=f"{serve(served).url}/bsds300")
    assert tree(dest) == []


def test_not_an_archive_is_rejected(tmp_path, serve):
    served = tmp_path / "served"
    (served / "bsds300").mkdir(parents=True)
    (served / "bsds300" / ARCHIVE).write_bytes(b"<html>moved</html>")
    dest = tmp_path / "data"
    with pytest.raises(ValueError, match="cannot read archive"):
        fetch("bsds300", dest=dest, base_url=f"{serve(served).url}/bsds300")
    assert tree(dest) == []


# --------------------------------------------------------------------------- network errors


def test_http_404_gives_a_clear_error(tmp_path, serve):
    empty = tmp_path / "empty"
    empty.mkdir()
    server = serve(empty)
    dest = tmp_path / "data"
    with pytest.raises(RuntimeError, match=r"HTTP 404 .*/kodim01\.png"):
        fetch("kodak", dest=dest, base_url=server.url)
    with pytest.raises(RuntimeError, match=f"HTTP 404 .*{server.url}/{ARCHIVE}"):
        fetch("bsds300", dest=dest, base_url=server.url)
    assert tree(dest) == []


def test_connection_refused_gives_a_clear_error_and_leaves_nothing(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    dest = tmp_path / "data"
    with pytest.raises(ConnectionError, match=f"cannot download {url}/kodim01.png"):
        fetch("kodak", dest=dest, base_url=url)
    assert tree(dest) == []  # nothing received: no work folder kept


def test_timeout_gives_a_clear_error(tmp_path, mirror, serve):
    server = serve(mirror, delay=1.5)
    dest = tmp_path / "data"
    with pytest.raises(ConnectionError, match=r"timed out after 0\.3 s .*kodim01\.png"):
        fetch("kodak", dest=dest, base_url=f"{server.url}/kodak", timeout=0.3)
    assert tree(dest) == []


# --------------------------------------------------------------------------- verify


def test_verify_reports_missing_and_modified_files(tmp_path, mirror, serve):
    dest = tmp_path / "data"
    fetch("kodak", dest=dest, base_url=f"{serve(mirror).url}/kodak")
    assert verify("kodak", dest) == []
    (dest / "kodak" / "kodim02.png").unlink()
    modified = dest / "kodak" / "kodim20.png"
    modified.write_bytes(_flip_byte(modified.read_bytes()))
    problems = verify("kodak", dest)
    assert len(problems) == 2
    assert problems[0] == f"missing: {dest / 'kodak' / 'kodim02.png'}"
    expected = load_manifest("kodak")["kodak/kodim20.png"]
    assert problems[1].startswith(f"sha256 mismatch: {modified}")
    assert expected in problems[1] and _sha256(modified) in problems[1]
    assert len(verify("bsds300", tmp_path / "nowhere")) == 301
    assert len(verify("bsds300", tmp_path / "nowhere", folder="bsds300_test")) == 101


# --------------------------------------------------------------------------- command line


def test_cli_exit_codes(tmp_path, mirror, serve, capsys, monkeypatch):
    server = serve(mirror)
    dest = str(tmp_path / "data")
    assert main(["verify", "kodak", "--dest", dest]) == 1
    assert "missing" in capsys.readouterr().err
    monkeypatch.setenv("COMP_LIB_MIRROR", server.url)
    assert main(["fetch", "--dest", dest]) == 0  # no names: every download
    out = capsys.readouterr().out
    assert "kodak: ok (24 files" in out and "bsds300: ok (301 files" in out
    assert "train400: ok (400 files" in out and "raw: ok (2 files" in out
    assert main(["verify", "--dest", dest]) == 0
    assert main(["fetch", "kodak", "--dest", dest, "--base-url", server.url + "/x"]) == 0
    assert main(["fetch", "kodak", "--force", "--dest", dest, "--base-url", server.url + "/x"]) == 1
    assert "HTTP 404" in capsys.readouterr().err
    assert verify("kodak", dest) == []  # the failed forced fetch changed nothing
    assert main(["fetch", "kodak", "set5", "--base-url", server.url]) == 2
    assert "exactly one NAME" in capsys.readouterr().err
    for argv in ([], ["fetch", "set6"], ["verify", "kodak", "--bogus"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2


def test_cli_runs_as_a_module():
    # One subprocess only: importing comp_lib (torch) takes seconds.
    env = {**os.environ, "COMP_LIB_DATA": str(dataset_dir("kodak").parent)}
    cmd = [sys.executable, "-m", "comp_lib.data", "verify", "kodak", "raw"]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "kodak: ok (24 files verified" in ok.stdout and "raw: ok (2 files" in ok.stdout
