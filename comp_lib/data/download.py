"""Download BSDS300 and Kodak from their official servers, checked file by file.

Two datasets can be fetched into the data folder (:func:`comp_lib.config.data_dir`):

``bsds300``
    The Berkeley Segmentation Dataset, one gzipped tar,
    ``BSDS300-images.tgz``, whose members ``BSDS300/images/test/<iid>.jpg``
    (100), ``BSDS300/images/train/<iid>.jpg`` (200) and ``BSDS300/iids_test.txt``
    become ``bsds300_test/<iid>.jpg``, ``bsds300_train/<iid>.jpg`` and
    ``bsds300_test/iids_test.txt``. Every other member (``iids_train.txt``,
    folders, links, unexpected names) is ignored.
``kodak``
    The 24 Kodak PhotoCD PCD0992 images ``kodim01.png`` ... ``kodim24.png``,
    one download each, into ``kodak/``.

Every file is checked against the sha256 manifest shipped with the package
(``comp_lib/data/manifests/<name>.sha256``, ``sha256sum`` format, paths relative to
the data folder). The sha256 of the BSDS300 *archive* is not pinned (it could
not be checked when the manifest was written), so the archive is verified
member by member: each of the 301 kept files must match its manifest entry.

Files are moved into place only after *all* of a dataset's files match, so a
failed or interrupted fetch never leaves a folder that looks complete. Work
happens in a hidden staging folder ``<dest>/.<name>-*.partial`` (same file
system, so the final moves are renames), removed on success and on error.

Command line::

    python -m comp_lib.data fetch bsds300 kodak [--dest DIR] [--base-url URL] [--force]
    python -m comp_lib.data verify bsds300 kodak [--dest DIR]

Exit status: 0 success, 1 failure (download, checksum, missing files), 2 usage.

``COMP_LIB_MIRROR``
    Default for ``base_url``: a server (or ``file://`` folder) that holds
    ``BSDS300-images.tgz`` and ``kodim01.png`` ... ``kodim24.png`` side by side.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import ssl
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from comp_lib.config import data_dir
from comp_lib.data.registry import DOWNLOADS, DatasetSpec
from comp_lib.files import move_into_place, sha256_file

__all__ = ["MIRROR_ENV", "fetch", "load_manifest", "verify"]

#: Environment variable that replaces the official servers (see ``base_url`` of :func:`fetch`).
MIRROR_ENV = "COMP_LIB_MIRROR"

_CHUNK = 1 << 20
_USER_AGENT = "comp-lib-datasets/0.1 (+python urllib)"


# --------------------------------------------------------------------------- manifests


def _spec(name: str) -> DatasetSpec:
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
    """Return the shipped manifest of a dataset.

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


def verify(name: str, dest: str | os.PathLike[str] | None = None) -> list[str]:
    """Check a dataset on disk against its shipped manifest.

    Parameters
    ----------
    name : str
        ``"bsds300"`` or ``"kodak"``.
    dest : path-like, optional
        Data folder that holds the dataset's folders. Default:
        :func:`comp_lib.config.data_dir`.

    Returns
    -------
    list of str
        One line per problem (a missing file, a sha256 mismatch); empty when
        the dataset is complete and intact. Extra files are not reported.
    """
    root = Path(dest) if dest is not None else data_dir()
    return list(_problems(load_manifest(name), root).values())


# --------------------------------------------------------------------------- downloading


def _resolve_base(spec: DatasetSpec, base_url: str | None) -> str:
    base = base_url if base_url is not None else os.environ.get(MIRROR_ENV) or None
    return (base or spec.official_base).rstrip("/")


def _download(url: str, target: Path, timeout: float) -> str:
    """Stream ``url`` into ``target`` with a progress bar; return the sha256.

    Raises
    ------
    RuntimeError
        The server answered with an HTTP error status.
    ConnectionError
        The server could not be reached, timed out or closed the connection early.
    """
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp, target.open("wb") as out:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=url.rsplit("/", 1)[-1],
                leave=False,
                disable=None,
            ) as bar:
                while chunk := resp.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"download failed: HTTP {exc.code} {exc.reason} for {url}") from exc
    except urllib.error.URLError as exc:
        raise ConnectionError(f"cannot download {url}: {exc.reason}") from exc
    except TimeoutError as exc:
        raise ConnectionError(f"timed out after {timeout} s downloading {url}") from exc
    except (http.client.HTTPException, ConnectionError, ssl.SSLError) as exc:
        raise ConnectionError(
            f"connection error downloading {url}: {type(exc).__name__}: {exc}"
        ) from exc
    if total is not None and received != total:
        raise ConnectionError(
            f"connection closed early downloading {url}: got {received} of {total} bytes"
        )
    return digest.hexdigest()


def _mismatch(relpath: str, expected: str, actual: str, source: str) -> ValueError:
    return ValueError(
        f"sha256 mismatch for {relpath} from {source}: expected {expected}, actual {actual}; "
        "nothing was installed"
    )


def _stage_files(needed: dict[str, str], base: str, staging: Path, timeout: float) -> None:
    """Download each needed file of a plain-file dataset into ``staging``, verified."""
    for relpath, expected in needed.items():
        url = f"{base}/{PurePosixPath(relpath).name}"
        target = staging / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        actual = _download(url, target, timeout)
        if actual != expected:
            raise _mismatch(relpath, expected, actual, url)


def _stage_archive(
    spec: DatasetSpec, sums: dict[str, str], base: str, staging: Path, timeout: float
) -> None:
    """Download the archive, extract the expected members into ``staging``, verified."""
    url = f"{base}/{spec.files[0]}"
    archive = staging / spec.files[0]
    _download(url, archive, timeout)
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
                target = staging / relpath
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
    finally:
        archive.unlink(missing_ok=True)
    missing = sorted(set(sums) - found)
    if missing:
        shown = ", ".join(spec.member_name(rel) for rel in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ValueError(
            f"archive from {url} lacks {len(missing)} expected file(s) "
            f"(as regular files): {shown}{more}; nothing was installed"
        )


def _install(spec: DatasetSpec, staging: Path, root: Path, relpaths: Iterable[str]) -> None:
    """Move verified files from ``staging`` into ``root``.

    A folder that does not exist yet is renamed into place in one step, so it
    appears complete or not at all; into an existing folder, files are
    replaced one by one (each replacement is atomic).
    """
    relpaths = list(relpaths)
    for folder in spec.folders:
        staged = staging / folder
        final = root / folder
        if not staged.is_dir():
            continue
        if not final.exists() and not final.is_symlink():
            try:
                move_into_place(staged, final)
                continue
            except OSError:  # appeared meanwhile: fall back to file by file
                pass
        final.mkdir(exist_ok=True)
        for relpath in relpaths:
            if relpath.startswith(folder + "/") and (staging / relpath).exists():
                move_into_place(staging / relpath, root / relpath)


def fetch(
    name: str,
    dest: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    force: bool = False,
    timeout: float = 60,
) -> Path:
    """Download a dataset, verify every file's sha256, then move it into place.

    Files already present with the right sha256 are kept and not downloaded
    again; a complete, intact dataset returns at once without network access.
    Missing or damaged files are downloaded again (for BSDS300: the whole
    archive, since it is one download). Nothing is installed unless every
    downloaded file matches the manifest.

    Parameters
    ----------
    name : str
        ``"bsds300"`` or ``"kodak"`` (see :data:`DOWNLOADS`).
    dest : path-like, optional
        Data folder that receives ``bsds300_test/``, ``bsds300_train/`` or
        ``kodak/``; created if needed. Default: :func:`comp_lib.config.data_dir`.
    base_url : str, optional
        Replaces the official server: the BSDS300 archive is fetched from
        ``<base_url>/BSDS300-images.tgz`` and Kodak from
        ``<base_url>/kodimNN.png``. Default: ``$COMP_LIB_MIRROR`` if set,
        else the official URLs (:attr:`DatasetSpec.urls`).
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
        Unknown dataset; a file whose sha256 differs from the manifest (the
        message names the file, the expected and the actual sha256); an
        unreadable archive or one that lacks expected files.
    RuntimeError
        The server answered with an HTTP error (e.g. 404); the URL is named.
    ConnectionError
        The server could not be reached, timed out, or closed the connection
        before sending the whole file; the URL is named.

    Notes
    -----
    On any error the staging folder is removed: no temporary files stay
    behind and files already in ``dest`` are left as they were.
    """
    spec = _spec(name)
    sums = load_manifest(name)
    root = Path(dest) if dest is not None else data_dir()
    base = _resolve_base(spec, base_url)

    needed = dict(sums) if force else {rel: sums[rel] for rel in _problems(sums, root)}
    if not needed:
        return root

    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", suffix=".partial", dir=root))
    try:
        if spec.is_archive:
            _stage_archive(spec, sums, base, staging, timeout)
        else:
            _stage_files(needed, base, staging, timeout)
        _install(spec, staging, root, needed)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root
