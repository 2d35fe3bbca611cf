"""Helpers shared by the benchmark scripts: machine description and table writing."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from comp_lib.config import cpu_name, git_commit, tables_dir
from comp_lib.files import atomic_write


def machine() -> str:
    """One line naming the CPU, cores, torch version and git commit."""
    cpu, commit = cpu_name(), git_commit()
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}), git {commit}"
    )


def write_table(df: pd.DataFrame, name: str, title: str, notes: str = "") -> Path:
    """Write ``df`` as ``reports/tables/<name>.csv`` and ``.md`` (atomically), return the .md."""
    out = tables_dir()
    md = f"# {title}\n\n{notes.strip()}\n\nMachine: {machine()}\n\n{df.to_markdown(index=False)}\n"
    atomic_write(out / f"{name}.csv", df.to_csv(index=False))
    return atomic_write(out / f"{name}.md", md)


def median_seconds(fn, repeat: int, warm_up: bool = True) -> float:
    """Median wall time of ``repeat`` calls of ``fn`` (after one untimed call if ``warm_up``)."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
