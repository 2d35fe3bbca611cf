"""Where things live, and which device to compute on.

Every path the library and the notebooks use comes from here, so that one
environment variable moves the data and nothing is hard-coded as
``'../../data'``.

``COMP_LIB_DATA``
    Folder that holds the datasets (``bsds300_test/``, ``kodak/``, ...).
    Default: ``<project root>/data``. CI points it at ``../shared/data``.
``COMP_LIB_REPORTS``
    Folder for figures and tables. Default: ``<project root>/reports``.
``COMP_LIB_THREADS``
    CPU threads for training (default: the cores this process may use).
``COMP_LIB_CACHE``
    Folder for derived datasets (the preprocessed corpus). Default:
    ``<data folder>/cache``, or ``<project root>/.cache`` when the data folder
    is read-only (as the shared data in CI is).
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

#: Root of the project checkout (the folder that holds ``comp_lib/``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Shipped model weights.
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def data_dir() -> Path:
    """Return the data folder: ``$COMP_LIB_DATA`` or ``<project root>/data``."""
    env = os.environ.get("COMP_LIB_DATA")
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / "data"


def _writable(folder: Path) -> bool:
    """Writable for this process *and* not marked read-only: root may write anywhere, but a
    folder without write bits (the shared data in CI) is left alone."""
    try:
        marked = folder.stat().st_mode & 0o222
    except OSError:
        return False
    return bool(marked) and os.access(folder, os.W_OK)


def cache_dir() -> Path:
    """Return the cache folder for derived datasets, created if needed (see module docstring)."""
    env = os.environ.get("COMP_LIB_CACHE")
    if env:
        path = Path(env).expanduser().resolve()
    else:
        data = data_dir()
        cache = data / "cache"
        writable = _writable(cache) if cache.exists() else _writable(data)
        path = cache if writable else PROJECT_ROOT / ".cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def reports_dir() -> Path:
    """Return the reports folder: ``$COMP_LIB_REPORTS`` or ``<project root>/reports``."""
    env = os.environ.get("COMP_LIB_REPORTS")
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / "reports"


def figures_dir() -> Path:
    """Return ``reports/figures``, created if needed."""
    path = reports_dir() / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def tables_dir() -> Path:
    """Return ``reports/tables``, created if needed."""
    path = reports_dir() / "tables"
    path.mkdir(parents=True, exist_ok=True)
    return path


def device():
    """Return ``torch.device("cuda")`` when CUDA is present, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_threads() -> int:
    """CPU cores this process may run on (its affinity, so ``taskset`` limits it).

    ``COMP_LIB_THREADS`` overrides it, e.g. to run two jobs side by side on a
    small machine without oversubscribing the cores.
    """
    if os.environ.get("COMP_LIB_THREADS"):
        return max(1, int(os.environ["COMP_LIB_THREADS"]))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def git_commit() -> str:
    """Short hash of the checkout's HEAD, marked when tracked files have uncommitted changes.

    Changes under ``reports/`` do not count: they are the outputs the notebooks are
    writing (a ``make report`` run rewrites the committed tables as it goes), not
    changes to the code that produces them.
    """

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()  # fmt: skip

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!reports")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" (with uncommitted changes)" if dirty else "")


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return cpu


def cpu_description() -> str:
    """The CPU's model name and the instruction set torch uses on it, e.g. ``AMD EPYC (AVX512)``.

    One model name covers CPUs of different generations (AVX2 only, or AVX-512 with native
    bf16), whose speeds differ by 2-3x: timings say which one they ran on.
    """
    import torch

    return f"{cpu_name()} ({torch.backends.cpu.get_cpu_capability()})"
