"""Download the study's datasets from their public sources, checked file by file, resumable.

Every dataset of :data:`comp_lib.data.registry.DOWNLOADS` can be fetched into the data
folder (:func:`comp_lib.config.data_dir`):

``bsds300``
    One gzipped tar from Berkeley, ``BSDS300-images.tgz``, whose members
    ``BSDS300/images/test/<iid>.jpg`` (100), ``BSDS300/images/train/<iid>.jpg`` (200) and
    ``BSDS300/iids_test.txt`` become ``bsds300_test/<iid>.jpg``, ``bsds300_train/<iid>.jpg``
    and ``bsds300_test/iids_test.txt``. Every other member is ignored.
``kodak``, ``set5``, ``set14``, ``train400``, ``raw``
    One download per file (r0k.us; public GitHub repositories pinned to a commit), each
    into the dataset's folder under its remote name.

Every file is checked against the sha256 manifest shipped with the package
(``comp_lib/data/manifests/<name>.sha256``, ``sha256sum`` format, paths relative to the
data folder). The BSDS300 archive is verified member by member.

**Nothing half-done is ever in a dataset's folder.** Work happens in the hidden
``<data>/.downloads/<name>/``; files move into place only after *all* of a dataset's
files match. **An interrupted download resumes**: the bytes already received stay in
``.downloads/<name>/`` (a ``.part`` file; whole files already checked are kept too) and
the next fetch asks the server for the rest (an HTTP ``Range`` request; a server that
ignores it sends the whole file again). A file whose sha256 is wrong, an unreadable
archive or an HTTP error discards the dataset's work folder; a complete fetch removes it.

Command line (:mod:`comp_lib.data.__main__`)::

    python -m comp_lib.data fetch [NAME ...] [--dest DIR] [--base-url URL] [--force]
    python -m comp_lib.data verify [NAME ...] [--dest DIR]
    python -m comp_lib.data sources

``COMP_LIB_MIRROR``
    Replaces every source: a server (``http://...``) or a folder (``file:///...``) that
    holds each download's files as ``<mirror>/<name>/<file>`` (for example
    ``<mirror>/bsds300/BSDS300-images.tgz``, ``<mirror>/kodak/kodim01.png``,
    ``<mirror>/train400/test_001.png``).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import ssl
import tarfile
import urllib.error
import urllib.request
import zlib
from importlib import resources
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from comp_lib.config import data_dir
from comp_lib.data.registry import DOWNLOADS, Download
from comp_lib.files import move_into_place, sha256_file

__all__ = [
    "MIRROR_ENV",
    "WORK_FOLDER",
    "fetch",
    "load_manifest",
    "mirror_folder",
    "source_urls",
    "verify",
]

#: Environment variable that replaces every source (see :func:`source_urls`).
MIRROR_ENV = "COMP_LIB_MIRROR"

#: The hidden folder of the data folder where downloads are received and checked.
WORK_FOLDER = ".downloads"

_CHUNK = 1 << 20
_USER_AGENT = "comp-lib-datasets/0.2 (+python urllib)"


# --------------------------------------------------------------------------- manifests


def _spec(name: str) -> Download:
    try:
        return DOWNLOADS[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; downloadable: {', '.join(sorted(DOWNLOADS))}"
        ) from None


def _check_relpath(relpath: str, where: str) -> str:
    path = PurePosixPath(relpath)
    if path.is_absolute() or ".." in path.parts or "\\" in relpath or len(path.parts) != 2:
        raise ValueError(f"{where}: unsafe or unexpected path {relpath!r}")
    return relpath


def load_manifest(name: str) -> dict[str, str]:
    """Return the shipped manifest of a download.

    Parameters
    ----------
    name : str
        A key of :data:`DOWNLOADS`.

    Returns
    -------
    dict
        Path relative to the data folder (e.g. ``"kodak/kodim01.png"``) ->
        lower-case hex sha256, in file order.
    """
    spec = _spec(name)
    text = resources.files("comp_lib.data").joinpath("manifests", spec.manifest).read_text("utf-8")
    sums: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"manifest {spec.manifest} line {lineno}"
        digest, sep, relpath = line.partition(" ")
        relpath = relpath[1:] if relpath[:1] in (" ", "*") else relpath
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"{where}: expected '<sha256>  <path>', got {line!r}")
        sums[_check_relpath(relpath, where)] = digest
    if not sums:
        raise ValueError(f"manifest {spec.manifest} is empty")
    return sums


def _problems(sums: dict[str, str], root: Path) -> dict[str, str]:
    """Map each bad entry of ``sums`` under ``root`` to a description."""
    bad: dict[str, str] = {}
    for relpath, expected in sums.items():
        path = root / relpath
        if not path.exists():
            bad[relpath] = f"missing: {path}"
        elif not path.is_file():
            bad[relpath] = f"not a regular file: {path}"
        else:
            actual = sha256_file(path)
            if actual != expected:
                bad[relpath] = f"sha256 mismatch: {path} (expected {expected}, actual {actual})"
    return bad


def verify(
    name: str, dest: str | os.PathLike[str] | None = None, folder: str | None = None
) -> list[str]:
    """Check a download's files on disk against its shipped manifest.

    Parameters
    ----------
    name : str
        A key of :data:`DOWNLOADS` (``"bsds300"``, ``"kodak"``, ...).
    dest : path-like, optional
        Data folder that holds the dataset's folders. Default:
        :func:`comp_lib.config.data_dir`.
    folder : str, optional
        Check only the files of this folder (``"bsds300_test"`` of ``"bsds300"``).

    Returns
    -------
    list of str
        One line per problem (a missing file, a sha256 mismatch); empty when the files
        are complete and intact. Extra files are not reported.
    """
    root = Path(dest) if dest is not None else data_dir()
    sums = load_manifest(name)
    if folder is not None:
        sums = {rel: digest for rel, digest in sums.items() if rel.startswith(folder + "/")}
    return list(_problems(sums, root).values())


def mirror_folder(mirror: str, name: str) -> str:
    """The folder of download ``name`` in a mirror: ``<mirror>/<name>`` (the one layout)."""
    return f"{mirror.rstrip('/')}/{name}"


def source_urls(name: str, base_url: str | None = None) -> tuple[str, ...]:
    """The URLs a fetch of ``name`` reads, in order.

    Parameters
    ----------
    name : str
        A key of :data:`DOWNLOADS`.
    base_url : str, optional
        A folder (server or ``file://``) that holds this download's files side by side:
        ``<base_url>/<file>``. Default: ``$COMP_LIB_MIRROR/<name>/<file>`` when
        ``COMP_LIB_MIRROR`` is set, else the official sources (:attr:`Download.urls`).
    """
    spec = _spec(name)
    if base_url is None and os.environ.get(MIRROR_ENV):
        base_url = mirror_folder(os.environ[MIRROR_ENV], name)
    if base_url is None:
        return spec.urls
    return tuple(f"{base_url.rstrip('/')}/{f}" for f in spec.files)


# --------------------------------------------------------------------------- downloading


def _open(url: str, offset: int, timeout: float):
    """Open ``url``, asking for the bytes from ``offset`` on; return (response, resumed)."""
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    status = getattr(resp, "status", None) or 200  # file:// URLs have no status
    content_range = resp.headers.get("Content-Range", "")
    resumed = status == 206 and content_range.startswith(f"bytes {offset}-")
    if status == 206 and not resumed:
        resp.close()
        raise ConnectionError(
            f"server answered {url} with an unexpected range {content_range!r} "
            f"(asked for bytes {offset}-)"
        )
    return resp, resumed


def _download(url: str, target: Path, timeout: float) -> str:
    """Stream ``url`` into ``target`` with a progress bar; return its sha256.

    The bytes arrive in ``<target>.part``, renamed to ``target`` once complete. A
    ``.part`` left by an interrupted download is resumed (HTTP ``Range``); it stays on
    disk when this download is interrupted too.

    Raises
    ------
    RuntimeError
        The server answered with an HTTP error status, or a ``file://`` mirror lacks the file.
    ConnectionError
        The server could not be reached, timed out or closed the connection early.
    """
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    digest = hashlib.sha256()
    try:
        resp, resumed = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the .part is whole or stale: start again
            part.unlink()
            return _download(url, target, timeout)
        raise RuntimeError(f"download failed: HTTP {exc.code} {exc.reason} for {url}") from exc
    except urllib.error.URLError as exc:
        if url.startswith("file:"):  # a mirror folder without the file: not a network error
            raise RuntimeError(f"download failed: {exc.reason} for {url}") from exc
        raise ConnectionError(f"cannot download {url}: {exc.reason}") from exc
    except TimeoutError as exc:
        raise ConnectionError(f"timed out after {timeout} s downloading {url}") from exc
    except (http.client.HTTPException, OSError) as exc:
        raise ConnectionError(f"cannot download {url}: {type(exc).__name__}: {exc}") from exc
    if resumed:
        with part.open("rb") as kept:
            while block := kept.read(_CHUNK):
                digest.update(block)
    else:
        offset = 0
    length = resp.headers.get("Content-Length")
    total = offset + int(length) if length and length.isdigit() else None
    received = offset
    try:
        with resp, part.open("ab" if resumed else "wb") as out, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=url.rsplit("/", 1)[-1], leave=False, disable=None,
        ) as bar:  # fmt: skip
            while chunk := resp.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    except TimeoutError as exc:
        raise ConnectionError(f"timed out after {timeout} s downloading {url}") from exc
    except (http.client.HTTPException, ConnectionError, ssl.SSLError, OSError) as exc:
        raise ConnectionError(
            f"connection error downloading {url}: {type(exc).__name__}: {exc}"
        ) from exc
    if total is not None and received != total:
        raise ConnectionError(
            f"connection closed early downloading {url}: got {received} of {total} bytes "
            f"(kept; the next fetch resumes)"
        )
    move_into_place(part, target)
    return digest.hexdigest()


def _mismatch(relpath: str, expected: str, actual: str, source: str) -> ValueError:
    return ValueError(
        f"sha256 mismatch for {relpath} from {source}: expected {expected}, actual {actual}; "
        "nothing was installed"
    )


def _stage_files(needed: dict[str, str], urls: dict[str, str], staged: Path, timeout: float):
    """Download each needed file into ``staged``, checked; files already there and
    intact (from an interrupted fetch) are kept."""
    bar = tqdm(needed.items(), unit="file", leave=False, disable=None if len(needed) > 1 else True)
    for relpath, expected in bar:
        target = staged / relpath
        if target.is_file() and sha256_file(target) == expected:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        url = urls[PurePosixPath(relpath).name]
        actual = _download(url, target, timeout)
        if actual != expected:
            target.unlink()
            raise _mismatch(relpath, expected, actual, url)


def _stage_archive(
    spec: Download, sums: dict[str, str], url: str, work: Path, timeout: float
) -> None:
    """Download the archive, extract the expected members into ``work/files``, checked."""
    archive = work / spec.files[0]
    if not archive.is_file():
        _download(url, archive, timeout)
    staged = work / "files"
    wanted = {spec.member_name(rel): rel for rel in sums}
    found: set[str] = set()
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                relpath = wanted.get(name)
                # Only regular files with exactly an expected name are read; the
                # output path comes from the manifest, never from the member name.
                if relpath is None or not member.isreg():
                    continue
                source = tar.extractfile(member)
                if source is None:  # pragma: no cover - isreg() members always have data
                    continue
                target = staged / relpath
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with source, target.open("wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                actual = digest.hexdigest()
                if actual != sums[relpath]:
                    raise _mismatch(relpath, sums[relpath], actual, f"{url} member {name}")
                found.add(relpath)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"cannot read archive downloaded from {url}: {exc}") from exc
    missing = sorted(set(sums) - found)
    if missing:
        shown = ", ".join(spec.member_name(rel) for rel in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ValueError(
            f"archive from {url} lacks {len(missing)} expected file(s) "
            f"(as regular files): {shown}{more}; nothing was installed"
        )


def _install(spec: Download, staged: Path, root: Path, relpaths: list[str]) -> None:
    """Move checked files from ``staged`` into ``root``.

    A folder that does not exist yet is renamed into place in one step, so it
    appears complete or not at all; into an existing folder, files are
    replaced one by one (each replacement is atomic).
    """
    for folder in spec.folders:
        source = staged / folder
        final = root / folder
        if not source.is_dir():
            continue
        if not final.exists() and not final.is_symlink():
            try:
                move_into_place(source, final)
                continue
            except OSError:  # appeared meanwhile: fall back to file by file
                pass
        final.mkdir(exist_ok=True)
        for relpath in relpaths:
            if relpath.startswith(folder + "/") and (staged / relpath).exists():
                move_into_place(staged / relpath, root / relpath)


def _received_bytes(work: Path) -> bool:
    """True when ``work`` holds anything an interrupted fetch can resume from."""
    return work.is_dir() and any(p.is_file() and p.stat().st_size for p in work.rglob("*"))


def _discard(work: Path) -> None:
    """Remove a dataset's work folder, and ``.downloads`` when nothing else is in it."""
    shutil.rmtree(work, ignore_errors=True)
    try:
        work.parent.rmdir()
    except OSError:  # other downloads' work, or already gone
        pass


def fetch(
    name: str,
    dest: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    force: bool = False,
    timeout: float = 60,
) -> Path:
    """Download a dataset, verify every file's sha256, then move it into place.

    Files already present with the right sha256 are kept and not downloaded again; a
    complete, intact dataset returns at once without network access. Missing or
    damaged files are downloaded again (for BSDS300: the whole archive, since it is one
    download). Nothing is installed unless every downloaded file matches the manifest.

    Parameters
    ----------
    name : str
        A key of :data:`DOWNLOADS`: ``"bsds300"``, ``"kodak"``, ``"set5"``, ``"set14"``,
        ``"train400"`` or ``"raw"``.
    dest : path-like, optional
        Data folder that receives the dataset's folders; created if needed. Default:
        :func:`comp_lib.config.data_dir`.
    base_url : str, optional
        A folder that holds this download's files side by side (:func:`source_urls`).
        Default: ``$COMP_LIB_MIRROR/<name>`` if set, else the official sources.
    force : bool
        Download and replace every file even when present and intact.
    timeout : float
        Seconds to wait for the server on each connection or read.

    Returns
    -------
    Path
        The data folder ``dest``.

    Raises
    ------
    ValueError
        Unknown dataset; a file whose sha256 differs from the manifest (the message
        names the file, the expected and the actual sha256); an unreadable archive or one
        that lacks expected files.
    RuntimeError
        The server answered with an HTTP error (e.g. 404); the URL is named.
    ConnectionError
        The server could not be reached, timed out, or closed the connection before
        sending the whole file; the URL is named.

    Notes
    -----
    Files already in ``dest`` are left as they were on any error. After a
    :class:`ConnectionError` the bytes received so far stay in
    ``<dest>/.downloads/<name>/`` and the next fetch resumes from them; after any other
    error, or when nothing was received, that folder is removed.
    """
    spec = _spec(name)
    sums = load_manifest(name)
    root = Path(dest) if dest is not None else data_dir()
    urls = source_urls(name, base_url)
    needed = dict(sums) if force else {rel: sums[rel] for rel in _problems(sums, root)}
    if not needed:
        return root

    root.mkdir(parents=True, exist_ok=True)
    work = root / WORK_FOLDER / spec.name
    work.mkdir(parents=True, exist_ok=True)
    try:
        if spec.is_archive:
            _stage_archive(spec, sums, urls[0], work, timeout)
        else:
            by_file = dict(zip(spec.files, urls, strict=True))
            _stage_files(needed, by_file, work / "files", timeout)
        _install(spec, work / "files", root, list(needed))
    except (ConnectionError, KeyboardInterrupt):  # interrupted: keep what arrived
        if not _received_bytes(work):
            _discard(work)
        raise
    except BaseException:  # a bad file or archive, an HTTP error: nothing to resume
        _discard(work)
        raise
    _discard(work)
    return root
