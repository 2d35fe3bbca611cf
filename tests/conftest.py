"""Shared fixtures: real images from the data folder ($COMP_LIB_DATA), and a mirror of
the datasets' sources served over HTTP on 127.0.0.1."""

from __future__ import annotations

import functools
import io
import re
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from comp_lib.baselines import JPEGCodec
from comp_lib.coding import BicubicCodec
from comp_lib.data import DOWNLOADS, dataset_dir, load_dataset_gray
from comp_lib.data.download import load_manifest
from comp_lib.evaluate import evaluate

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(scope="session")
def bsds_test() -> list[tuple[str, np.ndarray]]:
    """All 100 BSDS300 test images in grayscale, at native size (481x321 or 321x481)."""
    return load_dataset_gray("bsds300_test")


@pytest.fixture(scope="session")
def image(bsds_test) -> np.ndarray:
    """One real grayscale photo (BSDS300 test, 481x321 or 321x481)."""
    return bsds_test[0][1]


@pytest.fixture(scope="session")
def images(bsds_test) -> list[np.ndarray]:
    """Five real grayscale photos spread over the BSDS300 test set."""
    return [img for _, img in bsds_test[::20]]


@pytest.fixture(scope="session")
def rows(bsds_test) -> pd.DataFrame:
    """JPEG and bicubic+JPEG rows (comp_lib.evaluate.evaluate) on three BSDS300 images."""
    images = bsds_test[:3]
    return pd.concat([
        evaluate(JPEGCodec(), images, [5, 10, 20, 40, 70, 90], "JPEG", progress=False),
        evaluate(BicubicCodec(), images, [10, 30, 50, 70, 90], "bicubic", progress=False),
    ])  # fmt: skip


# ------------------------------------------------------------- a mirror of the sources

ARCHIVE = "BSDS300-images.tgz"


def bsds_members() -> list[tuple[str, Path]]:
    """(official member name, real file) for the 300 BSDS300 images and iids_test.txt."""
    members = []
    for split in ("test", "train"):
        folder = dataset_dir(f"bsds300_{split}")
        members += [(f"BSDS300/images/{split}/{p.name}", p) for p in sorted(folder.glob("*.jpg"))]
    members.append(("BSDS300/iids_test.txt", dataset_dir("bsds300_test") / "iids_test.txt"))
    return members


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add a regular file ``name`` holding ``data`` to ``tar``."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def build_archive(
    path: Path,
    replace: dict[str, bytes | None] | None = None,
    extra: Callable[[tarfile.TarFile], None] | None = None,
    level: int = 0,
) -> Path:
    """Write a BSDS300-images.tgz in the official layout from the real images.

    ``replace`` maps a member name to other bytes, or to None to leave it out; ``extra``
    may add members first (so they are read before the real ones). ``level`` is the gzip
    level: 0 (stored blocks, still gzip) keeps the tests fast.
    """
    replace = replace or {}
    members = bsds_members()
    train_ids = "".join(f"{Path(n).stem}\n" for n, _ in members if "/train/" in n)
    with tarfile.open(path, "w:gz", compresslevel=level) as tar:
        if extra is not None:
            extra(tar)
        for name, src in members:
            if name in replace:
                if replace[name] is not None:
                    add_bytes(tar, name, replace[name])
            else:
                tar.add(src, arcname=name, recursive=False)
        add_bytes(tar, "BSDS300/iids_train.txt", train_ids.encode())
    return path


@pytest.fixture(scope="session")
def mirror(tmp_path_factory) -> Path:
    """A folder laid out as ``COMP_LIB_MIRROR`` expects, ``<name>/<remote file>``, holding
    each source's files as it serves them: the BSDS300 archive built from the real
    images, every other file a link to the real one in the data folder."""
    root = tmp_path_factory.mktemp("mirror")
    for name, spec in DOWNLOADS.items():
        (root / name).mkdir()
        if spec.is_archive:
            build_archive(root / name / spec.files[0], level=1)  # really deflated
            continue
        for relpath in load_manifest(name):
            folder, fname = relpath.split("/")
            (root / name / fname).symlink_to(dataset_dir(folder) / fname)
    return root


class Server:
    """An HTTP server on 127.0.0.1 serving ``directory`` as a real server would.

    It sends ``Content-Length`` and answers ``Range: bytes=N-`` with 206 Partial Content
    (``ranges=False``: it ignores the header and sends the whole file). ``cut`` maps a
    request path to a byte count: the first request for it announces the whole length,
    sends that many bytes and closes the connection. ``delay`` waits before answering.
    ``hits`` lists the request paths, ``ranges`` the ``Range`` header of each (or None).
    """

    def __init__(self, directory: Path, ranges: bool = True, cut: dict[str, int] | None = None,
                 delay: float = 0.0) -> None:  # fmt: skip
        self.hits: list[str] = []
        self.ranges: list[str | None] = []
        self.cut = dict(cut or {})
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format, *args):  # quiet server
                pass

            def send_head(self):
                time.sleep(delay)
                server.hits.append(self.path)
                server.ranges.append(self.headers.get("Range"))
                path = Path(self.translate_path(self.path))
                if not path.is_file():
                    self.send_error(404)
                    return None
                data = path.read_bytes()
                asked = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                start = int(asked[1]) if asked and ranges else 0
                if start >= len(data) > 0:
                    self.send_error(416)
                    return None
                keep = server.cut.pop(self.path, None)
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if keep is not None:  # a connection that drops
                    self.wfile.write(data[start : start + keep])
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                return io.BytesIO(data[start:])

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
def serve() -> Iterator[Callable[..., Server]]:
    """Start servers on demand: ``serve(folder, ranges=True, cut=None, delay=0)``."""
    servers: list[Server] = []

    def start(directory: Path, **options) -> Server:
        servers.append(Server(directory, **options))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def tree(root: Path) -> list[str]:
    """Every path under ``root`` (hidden work folders included), relative, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))
