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


def peak_gflops(n: int = 2048, repeat: int = 20) -> float:
    """This machine's measured fp32 peak: GFLOP/s of torch's fastest kernel on large work.

    The faster of an ``n`` x ``n`` matrix product (BLAS) and a 3x3 convolution of 128
    channels on a 128x128 map (oneDNN, channels_last, as the codecs run), each the
    fastest of ``repeat``. Both are the best case of the CPU's vector units under
    torch's threads, but which library is faster depends on the CPU: on the AMD EPYC
    with AVX-512 the convolution ran at about 1.45x MKL's matrix product (200 against
    137 GFLOP/s in one run), and a network measured against the product alone came out
    at 1.9x "peak".
    """
    a, b = torch.randn(n, n), torch.randn(n, n)
    x = torch.randn(1, 128, 128, 128).contiguous(memory_format=torch.channels_last)
    w = torch.randn(128, 128, 3, 3).contiguous(memory_format=torch.channels_last)
    work = {
        "matmul": (lambda: torch.mm(a, b), 2 * n**3),
        "conv": (lambda: torch.nn.functional.conv2d(x, w, padding=1), 2 * 128 * 128 * 9 * 128**2),
    }
    rates = []
    with torch.inference_mode():
        for run, flops in work.values():
            run()  # warm-up
            best = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - start)
            rates.append(flops / best / 1e9)
    return max(rates)
