"""Notebook 04's paper-profile figures, redrawn from its committed tables.

The paper-profile run of ``04_ablations`` trains 54 runs (hours on 2 cores). Its tables
are committed (``04_curves.csv``, ``04_size_cost.csv``, ``04_quality_matrix.csv``,
``04_dissertation_rates.csv``), its run folders are not, and a figure's drawing may
change after the run. :func:`redraw` draws each figure of that run again, under the
names the notebook gives them, from those tables and JPEG's curve on the same test
images (BSDS300 test at 180x180: JPEG alone takes seconds), with no training::

    python -m comp_lib.studies.ablations.redraw

The size figure has one point per network (the committed means over seeds) where the
notebook draws one per run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from comp_lib.baselines import JPEGCodec
from comp_lib.config import PROJECT_ROOT
from comp_lib.evaluate import evaluate
from comp_lib.rd import rd_curves
from comp_lib.report import figures
from comp_lib.studies.ablations.definitions import TITLES
from comp_lib.studies.constants import MAX_RATE

__all__ = ["METRICS", "redraw"]

#: The metrics each ablation's figure shows (PSNR only unless listed).
METRICS = {"loss": ("psnr", "ssim")}


def redraw(tables: Path, test_images, max_rate: float = MAX_RATE, prefix: str = "04") -> list[Path]:
    """Draw the per-ablation RD figures, the size cost and the quality matrix again.

    Parameters
    ----------
    tables : path
        The folder of the committed ``04_*`` tables.
    test_images : sequence of (str, uint8 image)
        The run's test images (the notebook's ``test``), for JPEG's curve.
    max_rate : float
        The rate up to which the RD figures are drawn.
    prefix : str
        The figures' name prefix (``04``: the paper run's).

    Returns
    -------
    list of Path
        The figures written (``reports/figures/<prefix>_<ablation>.png``, ...).
    """
    curves = pd.read_csv(tables / f"{prefix}_curves.csv")
    jpeg_curve = rd_curves(evaluate(JPEGCodec(), test_images, range(1, 96, 2), "JPEG",
                                    progress=False))  # fmt: skip
    written = []
    for name in curves.ablation.unique():
        mine = curves[curves.ablation == name]
        fig = figures.plot_ablation_rd(mine, jpeg_curve, TITLES[name], max_rate,
                                       METRICS.get(name, ("psnr",)))  # fmt: skip
        written.append(figures.save_figure(fig, f"{prefix}_{name}"))
    size = tables / f"{prefix}_size_cost.csv"
    if size.is_file():
        written.append(figures.save_figure(figures.plot_size_cost(pd.read_csv(size)),
                                           f"{prefix}_size_cost"))  # fmt: skip
    matrix = tables / f"{prefix}_quality_matrix.csv"
    if matrix.is_file():
        table = pd.read_csv(matrix).set_index("variant")
        table.columns = [int(c) for c in table.columns]
        written.append(figures.save_figure(figures.plot_quality_matrix(table),
                                           f"{prefix}_quality_matrix"))  # fmt: skip
    return written


def main(argv: list[str] | None = None) -> int:
    """Redraw the committed paper-profile figures of notebook 04 (no training)."""
    import matplotlib.pyplot as plt

    from comp_lib.data import build_corpus
    from comp_lib.studies.protocols import dissertation_images

    parser = argparse.ArgumentParser(prog="python -m comp_lib.studies.ablations.redraw",
                                     description=main.__doc__)  # fmt: skip
    parser.add_argument("--tables", type=Path, default=PROJECT_ROOT / "reports" / "tables")
    parser.add_argument("--test-images", type=int, default=100,
                        help="the paper run's test images (BSDS300 test at 180x180)")  # fmt: skip
    args = parser.parse_args(argv)
    test = dissertation_images(build_corpus(progress=False), args.test_images)
    for path in redraw(args.tables, test):
        print(path)
    plt.close("all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
