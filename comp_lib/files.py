"""Putting files in place atomically: the one place that renames a finished file into place.

A long run never leaves a half-written checkpoint, table or download behind: every
file is written to a temporary file in the target's folder and renamed over the
target only once it is complete (:func:`os.replace` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "move_into_place", "sha256_file"]


def atomic_write(
    path: str | os.PathLike, content: bytes | str | Callable[[BinaryIO], object]
) -> Path:
    """Write ``content`` to ``path`` atomically, creating its folder.

    Parameters
    ----------
    path : path-like
        The target; an existing file is replaced only once the new one is complete.
    content : bytes, str or callable
        The bytes (a ``str`` is encoded as UTF-8), or a function that writes
        into the binary file object it is given (e.g. ``lambda f: torch.save(state, f)``).

    Returns
    -------
    Path
        ``path``. The file gets mode 0644 (an ordinary file, not ``mkstemp``'s 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode() if isinstance(content, str) else bytes(content))
        os.chmod(tmp, 0o644)
        move_into_place(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def move_into_place(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Rename a finished file or folder ``source`` over ``target`` atomically (same file system)."""
    os.replace(source, target)
    return Path(target)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The sha256 of a file's bytes, as 64 hex digits, read in chunks of ``chunk`` bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
