"""Before a run of the notebooks: every dataset it needs, present and intact, or fetched.

:func:`ensure` checks each needed dataset against its sha256 manifest, fetches the
missing ones (:func:`comp_lib.data.download.fetch`: from their public sources, or from
``COMP_LIB_MIRROR``), and, when it cannot, raises :class:`DataUnavailable`, whose
message is all a user needs: which datasets, what failed (no network, an HTTP status, a
checksum mismatch), and the two ways out. It is meant to run before the first notebook
starts (``make report``: :func:`comp_lib.pipeline.run`), so that a missing dataset
never shows up as a traceback inside a notebook.

Once a server cannot be reached, the other datasets from that server are not tried
(they would only wait for the same timeout), so an offline machine gets its answer in
seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlparse

from comp_lib.config import data_dir
from comp_lib.data.download import MIRROR_ENV, WORK_FOLDER, fetch, source_urls, verify
from comp_lib.data.registry import DATASETS, DOWNLOADS

__all__ = ["DataUnavailable", "ensure", "problems"]


class DataUnavailable(RuntimeError):
    """Datasets a run needs are missing and could not be fetched; the message says
    which, why, and what to do."""


def _known(datasets: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(datasets))
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise ValueError(f"unknown datasets {unknown}; known: {', '.join(sorted(DATASETS))}")
    return names


def problems(datasets: Iterable[str], root: str | os.PathLike | None = None) -> dict[str, list]:
    """Each dataset that is not complete and intact under ``root``, with its problems.

    Parameters
    ----------
    datasets : iterable of str
        Keys of :data:`comp_lib.data.registry.DATASETS`.
    root : path-like, optional
        The data folder (default: :func:`comp_lib.config.data_dir`).

    Returns
    -------
    dict
        Dataset -> its problems (missing files, sha256 mismatches), for the datasets that
        have any; empty when all are present and intact.
    """
    root = Path(root) if root is not None else data_dir()
    out = {}
    for name in _known(datasets):
        entry = DATASETS[name]
        found = verify(entry.download, root, folder=entry.folder)
        if found:
            out[name] = found
    return out


def _describe(name: str) -> str:
    spec = DOWNLOADS[DATASETS[name].download]
    return f"{name} ({DATASETS[name].title}, {spec.size / 1e6:.1f} MB as '{spec.name}')"


def _message(failures: dict[str, str], root: Path) -> str:
    """The one message of :class:`DataUnavailable`."""
    lines = [
        f"{len(failures)} dataset(s) the notebooks need are not in the data folder {root} "
        "and could not be downloaded:"
    ]
    lines += [f"  - {_describe(name)}: {why}" for name, why in failures.items()]
    folders = ", ".join(f"{DATASETS[n].folder}/" for n in failures)
    lines += [
        "Two ways out:",
        f"  1. set COMP_LIB_DATA to a folder that already holds them ({folders}), or",
        f"  2. set {MIRROR_ENV} to a server or file:// folder that holds their files as "
        "<mirror>/<download>/<file> (`python -m comp_lib.data sources` lists them).",
    ]
    work = root / WORK_FOLDER
    if work.is_dir():
        lines.append(f"The bytes received so far are kept in {work}; the next run resumes.")
    else:
        lines.append("Nothing was written to the data folder.")
    return "\n".join(lines)


def ensure(
    datasets: Iterable[str],
    root: str | os.PathLike | None = None,
    timeout: float = 20,
    log: Callable[[str], object] = print,
) -> list[str]:
    """Make sure every dataset in ``datasets`` is present and intact, fetching what is not.

    Parameters
    ----------
    datasets : iterable of str
        Keys of :data:`comp_lib.data.registry.DATASETS`.
    root : path-like, optional
        The data folder (default: :func:`comp_lib.config.data_dir`).
    timeout : float
        Seconds to wait for a server on each connection or read.
    log : callable
        Receives one line per step (default: ``print``).

    Returns
    -------
    list of str
        The downloads fetched (empty when everything was already there).

    Raises
    ------
    DataUnavailable
        Some dataset is still missing or damaged; the message names each one, what
        failed, and the two ways out (``COMP_LIB_DATA``, ``COMP_LIB_MIRROR``). Datasets
        that were fetched stay installed; nothing half-downloaded is in a dataset folder.
    """
    root = Path(root) if root is not None else data_dir()
    names = _known(datasets)
    if not names:
        return []
    missing = problems(names, root)
    log(f"data: {len(names) - len(missing)} of {len(names)} datasets present and intact in {root}")
    downloads = list(dict.fromkeys(DATASETS[n].download for n in missing))
    failed: dict[str, str] = {}  # download -> why
    unreachable: dict[str, str] = {}  # server -> the download that could not reach it
    for download in downloads:
        server = urlparse(source_urls(download)[0]).netloc or "the mirror folder"
        if server in unreachable:
            failed[download] = f"not tried: {server} could not be reached ({unreachable[server]})"
            continue
        log(f"data: fetching '{download}' ({DOWNLOADS[download].size / 1e6:.1f} MB) from {server}")
        try:
            fetch(download, root, timeout=timeout)
        except ConnectionError as exc:
            unreachable[server] = f"see '{download}'"
            failed[download] = f"no network or server unreachable: {exc}"
        except (RuntimeError, ValueError) as exc:  # an HTTP status; a checksum or archive
            failed[download] = str(exc)
        except OSError as exc:
            failed[download] = f"cannot write the data folder: {exc}"
    failures = {n: failed[DATASETS[n].download] for n in missing if DATASETS[n].download in failed}
    if failures:
        raise DataUnavailable(_message(failures, root))
    return downloads
