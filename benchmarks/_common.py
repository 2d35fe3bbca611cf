"""Helpers shared by the benchmark scripts: machine description and table writing."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from comp_lib.config import cpu_name, git_commit
from comp_lib.report import tables


def machine() -> str:
    """One line naming the CPU, cores and torch version (threads, CPU capability)."""
    return (
        f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()})"
    )


def provenance(params: dict | None = None) -> tables.Provenance:
    """A benchmark's provenance: git commit, this machine, and its ``params`` if given."""
    return tables.Provenance(git_commit(), parameters=params, machine=machine())


def write_table(
    df: pd.DataFrame, name: str, title: str, notes: str = "", params: dict | None = None
) -> Path:
    """Write ``reports/tables/<name>.{csv,json,md}`` (:func:`comp_lib.report.write_table`).

    The provenance (JSON sidecar, and its line in the ``.md``) names the git commit
    and this machine, and ``params`` where given. Returns the ``.md`` path.
    """
    return tables.write_table(name, title, df, provenance(params), notes.strip())


def write_csv(df: pd.DataFrame, name: str, params: dict | None = None) -> Path:
    """Write ``reports/tables/<name>.csv`` and its provenance sidecar; return the CSV's path."""
    return tables.write_csv(name, df, provenance(params))


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


def peak_gflops(n: int = 2048, repeat: int = 5) -> float:
    """This machine's measured fp32 peak: GFLOP/s of the fastest of ``repeat`` n x n matmuls.

    A large matrix product is the best case of the CPU's vector units under torch's
    threads; a network that reaches a fraction of it uses the machine that well.
    """
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9
