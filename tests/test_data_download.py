"""comp_lib.data against a real local HTTP server that serves the real files.

The server (``http.server`` on 127.0.0.1, a free port) serves a folder filled
from the data folder: the 24 Kodak PNGs (symlinks) and a ``BSDS300-images.tgz``
built here with the official member layout from the 300 real BSDS images.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from comp_lib.data import DOWNLOADS, dataset_dir
from comp_lib.data.__main__ import main
from comp_lib.data.download import fetch, load_manifest, verify

ARCHIVE = "BSDS300-images.tgz"
KODAK = [f"kodim{i:02d}.png" for i in range(1, 25)]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> list[str]:
    """Every path under ``root`` (hidden staging folders included), relative."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _bsds_members() -> list[tuple[str, Path]]:
    """(official member name, real file) for the 300 images and iids_test.txt."""
    members = []
    for split in ("test", "train"):
        folder = dataset_dir(f"bsds300_{split}")
        members += [(f"BSDS300/images/{split}/{p.name}", p) for p in sorted(folder.glob("*.jpg"))]
    members.append(("BSDS300/iids_test.txt", dataset_dir("bsds300_test") / "iids_test.txt"))
    return members


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _build_archive(
    path: Path,
    replace: dict[str, bytes | None] | None = None,
    extra: Callable[[tarfile.TarFile], None] | None = None,
    level: int = 0,
) -> Path:
    """Write a BSDS300-images.tgz in the official layout.

    ``replace`` maps a member name to other bytes, or to None to leave it out;
    ``extra`` may add members first (so they are read before the real ones).
    ``level`` is the gzip level: 0 (stored blocks, still gzip) keeps the tests fast.
    """
    replace = replace or {}
    members = _bsds_members()
    train_ids = "".join(f"{Path(n).stem}\n" for n, _ in members if "/train/" in n)
    with tarfile.open(path, "w:gz", compresslevel=level) as tar:
        if extra is not None:
            extra(tar)
        for name, src in members:
            if name in replace:
                if replace[name] is not None:
                    _add_bytes(tar, name, replace[name])
            else:
                tar.add(src, arcname=name, recursive=False)
        _add_bytes(tar, "BSDS300/iids_train.txt", train_ids.encode())
    return path


def _flip_byte(data: bytes, at: int = 1000) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Path:
    """Folder laid out like the official servers: kodimNN.png + BSDS300-images.tgz."""
    root = tmp_path_factory.mktemp("mirror")
    kodak = dataset_dir("kodak")
    for name in KODAK:
        (root / name).symlink_to(kodak / name)
    _build_archive(root / ARCHIVE, level=1)  # really deflated, like the official file
    return root


class _Server:
    """A running HTTP server; ``hits`` lists the request paths it answered."""

    def __init__(self, directory: Path, handler: type[SimpleHTTPRequestHandler]) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(handler):
            def log_message(self, format, *args):  # quiet server
                pass

            def send_head(self):
                hits.append(self.path)
                return super().send_head()

        factory = functools.partial(Handler, directory=str(directory))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), factory)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        serve = functools.partial(self.httpd.serve_forever, poll_interval=0.02)
        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., _Server]]:
    """Start servers on demand: ``serve(folder, handler=SimpleHTTPRequestHandler)``."""
    servers: list[_Server] = []

    def start(directory: Path, handler=SimpleHTTPRequestHandler) -> _Server:
        servers.append(_Server(directory, handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def _no_mirror_env(monkeypatch):
    monkeypatch.delenv("COMP_LIB_MIRROR", raising=False)


def _served_copy(tmp_path: Path, mirror: Path, name: str = "served") -> Path:
    """A fresh folder of symlinks to the mirror, so one test can alter a file."""
    folder = tmp_path / name
    folder.mkdir()
    for src in mirror.iterdir():
        (folder / src.name).symlink_to(src.resolve())
    return folder


# --------------------------------------------------------------------------- manifests


def test_shipped_manifests_match_the_real_files():
    bsds, kodak = load_manifest("bsds300"), load_manifest("kodak")
    assert len(bsds) == 301 and len(kodak) == 24
    assert "bsds300_test/iids_test.txt" in bsds
    assert sum(r.startswith("bsds300_test/") for r in bsds) == 101
    assert sum(r.startswith("bsds300_train/") for r in bsds) == 200
    assert list(kodak) == [f"kodak/{n}" for n in KODAK]
    for sums in (bsds, kodak):
        for relpath, expected in sums.items():
            folder, fname = relpath.split("/")
            assert _sha256(dataset_dir(folder) / fname) == expected, relpath
    # The manifests cover every image in the folders, no more and no fewer.
    on_disk = {
        f"{folder}/{p.name}"
        for folder in ("bsds300_test", "bsds300_train")
        for p in dataset_dir(folder).glob("*.jpg")
    }
    assert on_disk | {"bsds300_test/iids_test.txt"} == set(bsds)
    ids = (dataset_dir("bsds300_test") / "iids_test.txt").read_text().split()
    test_jpgs = {r for r in bsds if r.startswith("bsds300_test/") and r.endswith(".jpg")}
    assert len(ids) == 100 and {f"bsds300_test/{i}.jpg" for i in ids} == test_jpgs


def test_datasets_describe_official_sources():
    assert set(DOWNLOADS) == {"bsds300", "kodak"}
    assert DOWNLOADS["bsds300"].urls == (
        "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/BSDS300-images.tgz",
    )
    assert DOWNLOADS["kodak"].urls[0] == "http://r0k.us/graphics/kodak/kodak/kodim01.png"
    assert len(DOWNLOADS["kodak"].urls) == 24
    assert DOWNLOADS["bsds300"].folders == ("bsds300_test", "bsds300_train")
    with pytest.raises(ValueError, match="unknown dataset 'set5'"):
        fetch("set5")


def test_verify_accepts_the_data_folder():
    for name in DOWNLOADS:
        assert verify(name) == []


# --------------------------------------------------------------------------- fetching


def test_fetch_kodak_end_to_end(tmp_path, mirror, serve):
    server = serve(mirror)
    dest = tmp_path / "data"
    assert fetch("kodak", dest=dest, base_url=server.url + "/") == dest
    assert verify("kodak", dest) == []
    assert _tree(dest) == ["kodak"] + [f"kodak/{n}" for n in KODAK]
    assert sorted(server.hits) == [f"/{n}" for n in KODAK]
    for name in KODAK:
        assert _sha256(dest / "kodak" / name) == _sha256(dataset_dir("kodak") / name)


def test_fetch_bsds300_end_to_end(tmp_path, mirror, serve):
    server = serve(mirror)
    dest = tmp_path / "data"
    fetch("bsds300", dest=dest, base_url=server.url)
    assert server.hits == [f"/{ARCHIVE}"]
    assert verify("bsds300", dest) == []
    assert sorted(p.name for p in dest.iterdir()) == ["bsds300_test", "bsds300_train"]
    assert len(list((dest / "bsds300_test").iterdir())) == 101  # iids_train.txt not kept
    assert len(list((dest / "bsds300_train").iterdir())) == 200
    real = dataset_dir("bsds300_test") / "iids_test.txt"
    assert (dest / "bsds300_test" / "iids_test.txt").read_bytes() == real.read_bytes()


def test_second_fetch_downloads_nothing_and_force_downloads_again(tmp_path, mirror, serve):
    server = serve(mirror)
    dest = tmp_path / "data"
    fetch("kodak", dest=dest, base_url=server.url)
    fetch("bsds300", dest=dest, base_url=server.url)
    assert len(server.hits) == 25
    fetch("kodak", dest=dest, base_url=server.url)
    fetch("bsds300", dest=dest, base_url=server.url)
    assert len(server.hits) == 25
    fetch("kodak", dest=dest, base_url=server.url, force=True)
    assert len(server.hits) == 49
    assert verify("kodak", dest) == [] and verify("bsds300", dest) == []


def test_fetch_repairs_only_what_is_missing_or_modified(tmp_path, mirror, serve):
    server = serve(mirror)
    dest = tmp_path / "data"
    fetch("kodak", dest=dest, base_url=server.url)
    (dest / "kodak" / "kodim05.png").unlink()
    bad = dest / "kodak" / "kodim11.png"
    bad.write_bytes(_flip_byte(bad.read_bytes()))
    server.hits.clear()
    fetch("kodak", dest=dest, base_url=server.url)
    assert sorted(server.hits) == ["/kodim05.png", "/kodim11.png"]
    assert verify("kodak", dest) == []
    assert _tree(dest) == ["kodak"] + [f"kodak/{n}" for n in KODAK]


def test_fetch_repairs_bsds300_from_one_archive_download(tmp_path, mirror, serve):
    server = serve(mirror)
    dest = tmp_path / "data"
    fetch("bsds300", dest=dest, base_url=server.url)
    victim = next((dest / "bsds300_train").glob("*.jpg"))
    victim.unlink()
    (dest / "bsds300_test" / "iids_test.txt").write_text("101085\n")
    assert len(verify("bsds300", dest)) == 2
    fetch("bsds300", dest=dest, base_url=server.url)
    assert server.hits == [f"/{ARCHIVE}"] * 2
    assert verify("bsds300", dest) == []
    assert [p.name for p in dest.iterdir() if p.name.startswith(".")] == []


def test_complete_dataset_needs_no_server(tmp_path):
    # The shared data folder is complete: nothing is downloaded, nothing written.
    root = dataset_dir("kodak").parent
    assert fetch("kodak", dest=root, base_url="http://127.0.0.1:9") == root
    assert fetch("bsds300", dest=root, base_url="http://127.0.0.1:9") == root


def test_mirror_environment_variable_and_file_urls(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv("COMP_LIB_MIRROR", mirror.as_uri())
    dest = tmp_path / "data"
    fetch("kodak", dest=dest)
    assert verify("kodak", dest) == []


def test_corrupted_kodak_file_is_rejected(tmp_path, mirror, serve):
    served = _served_copy(tmp_path, mirror)
    target = served / "kodim07.png"
    data = _flip_byte(target.resolve().read_bytes())
    target.unlink()
    target.write_bytes(data)
    server = serve(served)
    dest = tmp_path / "data"
    dest.mkdir()
    expected = load_manifest("kodak")["kodak/kodim07.png"]
    with pytest.raises(ValueError, match="sha256") as err:
        fetch("kodak", dest=dest, base_url=server.url)
    message = str(err.value)
    assert "kodim07.png" in message and expected in message
    assert hashlib.sha256(data).hexdigest() in message
    assert _tree(dest) == []  # no kodak folder, no partial files, no staging folder


def test_corrupted_kodak_file_keeps_existing_files_untouched(tmp_path, mirror, serve):
    served = _served_copy(tmp_path, mirror)
    (served / "kodim03.png").unlink()
    (served / "kodim03.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    dest = tmp_path / "data"
    fetch("kodak", dest=dest, base_url=serve(mirror).url)
    (dest / "kodak" / "kodim03.png").unlink()
    before = _tree(dest)
    with pytest.raises(ValueError, match="kodim03.png"):
        fetch("kodak", dest=dest, base_url=serve(served).url)
    assert _tree(dest) == before
    assert verify("kodak", dest) == [f"missing: {dest / 'kodak' / 'kodim03.png'}"]


def test_corrupted_archive_member_is_rejected(tmp_path, serve):
    served = tmp_path / "served"
    served.mkdir()
    name, src = _bsds_members()[150]
    _build_archive(served / ARCHIVE, replace={name: _flip_byte(src.read_bytes())})
    server = serve(served)
    dest = tmp_path / "data"
    dest.mkdir()
    with pytest.raises(ValueError, match="sha256 mismatch") as err:
        fetch("bsds300", dest=dest, base_url=server.url)
    assert src.name in str(err.value)
    assert _tree(dest) == []


def test_archive_missing_a_member_is_rejected(tmp_path, serve):
    served = tmp_path / "served"
    served.mkdir()
    _build_archive(served / ARCHIVE, replace={"BSDS300/iids_test.txt": None})
    dest = tmp_path / "data"
    with pytest.raises(ValueError, match="lacks 1 expected file.*BSDS300/iids_test.txt"):
        fetch("bsds300", dest=dest, base_url=serve(served).url)
    assert _tree(dest) == []


def test_archive_path_traversal_and_links_are_ignored(tmp_path, serve):
    served = tmp_path / "served"
    served.mkdir()
    target = tmp_path / "outside.txt"

    def evil(tar: tarfile.TarFile) -> None:
        _add_bytes(tar, "../evil.jpg", b"evil")
        _add_bytes(tar, "/tmp/comp_lib_evil_abs.jpg", b"evil")
        _add_bytes(tar, "BSDS300/images/test/../../../../evil2.jpg", b"evil")
        link = tarfile.TarInfo("BSDS300/images/test/link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, str(target)
        tar.addfile(link)

    _build_archive(served / ARCHIVE, extra=evil)
    dest = tmp_path / "a" / "data"
    fetch("bsds300", dest=dest, base_url=serve(served).url)
    assert verify("bsds300", dest) == []
    assert sorted(p.name for p in dest.iterdir()) == ["bsds300_test", "bsds300_train"]
    assert not list(tmp_path.rglob("evil*.jpg")) and not list(tmp_path.rglob("link.jpg"))
    assert not Path("/tmp/comp_lib_evil_abs.jpg").exists()
    assert not target.exists()


def test_symlink_in_place_of_an_expected_member_is_rejected(tmp_path, serve):
    served = tmp_path / "served"
    served.mkdir()
    name, _ = _bsds_members()[0]

    def link(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)

    _build_archive(served / ARCHIVE, replace={name: None}, extra=link)
    dest = tmp_path / "data"
    with pytest.raises(ValueError, match=f"lacks 1 expected file.*{name}"):
        fetch("bsds300", dest=dest, base_url=serve(served).url)
    assert _tree(dest) == []


def test_not_an_archive_is_rejected(tmp_path, serve):
    served = tmp_path / "served"
    served.mkdir()
    (served / ARCHIVE).write_bytes(b"<html>moved</html>")
    dest = tmp_path / "data"
    with pytest.raises(ValueError, match="cannot read archive"):
        fetch("bsds300", dest=dest, base_url=serve(served).url)
    assert _tree(dest) == []


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
    assert _tree(dest) == []


def test_connection_refused_gives_a_clear_error(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    dest = tmp_path / "data"
    with pytest.raises(ConnectionError, match=f"cannot download {url}/kodim01.png"):
        fetch("kodak", dest=dest, base_url=url)
    assert _tree(dest) == []


class _ShortReadHandler(SimpleHTTPRequestHandler):
    """Announces the full length, sends half of the file, closes the connection."""

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if self.send_head() is None:
            return
        data = path.read_bytes()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return None
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        return True


class _SlowHandler(SimpleHTTPRequestHandler):
    def do_GET(self):
        time.sleep(1.5)
        super().do_GET()


def test_connection_closed_early_gives_a_clear_error(tmp_path, mirror, serve):
    server = serve(mirror, _ShortReadHandler)
    dest = tmp_path / "data"
    with pytest.raises(ConnectionError, match=r"closed early .*kodim01\.png: got \d+ of \d+"):
        fetch("kodak", dest=dest, base_url=server.url)
    with pytest.raises(ConnectionError, match=f"closed early .*{ARCHIVE}"):
        fetch("bsds300", dest=dest, base_url=server.url)
    assert _tree(dest) == []


def test_timeout_gives_a_clear_error(tmp_path, mirror, serve):
    server = serve(mirror, _SlowHandler)
    dest = tmp_path / "data"
    with pytest.raises(ConnectionError, match=r"timed out after 0\.3 s .*kodim01\.png"):
        fetch("kodak", dest=dest, base_url=server.url, timeout=0.3)
    assert _tree(dest) == []


# --------------------------------------------------------------------------- verify


def test_verify_reports_missing_and_modified_files(tmp_path, mirror, serve):
    dest = tmp_path / "data"
    fetch("kodak", dest=dest, base_url=serve(mirror).url)
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


# --------------------------------------------------------------------------- command line


def test_cli_exit_codes(tmp_path, mirror, serve, capsys):
    server = serve(mirror)
    dest = str(tmp_path / "data")
    assert main(["verify", "kodak", "--dest", dest]) == 1
    assert "missing" in capsys.readouterr().err
    assert main(["fetch", "kodak", "bsds300", "--dest", dest, "--base-url", server.url]) == 0
    out = capsys.readouterr().out
    assert "kodak: ok (24 files" in out and "bsds300: ok (301 files" in out
    assert main(["verify", "bsds300", "kodak", "--dest", dest]) == 0
    assert main(["fetch", "kodak", "--dest", dest, "--base-url", server.url + "/x"]) == 0
    assert main(["fetch", "kodak", "--force", "--dest", dest, "--base-url", server.url + "/x"]) == 1
    assert "HTTP 404" in capsys.readouterr().err
    assert verify("kodak", dest) == []  # the failed forced fetch changed nothing
    for argv in ([], ["fetch"], ["fetch", "set5"], ["verify", "kodak", "--bogus"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2


def test_cli_runs_as_a_module():
    # One subprocess only: importing comp_lib (torch) takes seconds.
    env = {**os.environ, "COMP_LIB_DATA": str(dataset_dir("kodak").parent)}
    cmd = [sys.executable, "-m", "comp_lib.data", "verify", "kodak"]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "kodak: ok (24 files verified" in ok.stdout
