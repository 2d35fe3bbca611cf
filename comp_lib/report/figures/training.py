"""Training figures: a run's losses and validation gain over JPEG, and several runs' gains.

Each ``plot_*`` function returns the figure; :func:`comp_lib.report.figures.save_figure`
writes it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from comp_lib.report.figures.style import codec_style

__all__ = [
    "plot_gain_by_steps",
    "plot_gain_over_time",
    "plot_training_curves",
    "plot_training_gains",
]


def plot_training_curves(log: pd.DataFrame, title: str = "", name: str = "ComCNN+RecCNN"):
    """A training run by epoch: each network's training loss, and the validation gain over JPEG.

    Left, each network's training loss (the mean over the epoch's steps): RecCNN's in
    step A and, where it trains, ComCNN's in step B. Right, the validation
    PSNR of the real bytes minus JPEG's PSNR at the same bpp, in dB: JPEG itself is the
    black dashed line at 0 dB (:func:`codec_style`), above it the model beats JPEG.

    Parameters
    ----------
    log : pandas.DataFrame
        A training log (:data:`comp_lib.train.LOG_COLUMNS`: ``epoch``, ``loss_rec``,
        ``loss_com``, ``val_gain_db``); a bank log's epoch 0 (the starting point, no loss)
        is drawn as the gain's first point.
    title : str
        Above both panels.
    name : str
        The trained codec's name in :func:`codec_style` (``"ComCNN+RecCNN"`` or
        ``"RecCNN only"``), its line in the gain panel.
    """
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), layout="constrained")
    for column, label, colour in (("loss_rec", "RecCNN, step A", "C0"),
                                  ("loss_com", "ComCNN, step B", "C1")):  # fmt: skip
        rows = log[["epoch", column]].dropna() if column in log else log.iloc[:0]
        if len(rows):
            axes[0].plot(rows.epoch, rows[column], marker="o", color=colour, label=label)
    axes[0].ticklabel_format(axis="y", style="sci", scilimits=(-2, 3), useMathText=True)
    axes[0].set_ylabel("training loss, mean over the epoch")
    axes[0].set_title("training: each network's loss (on its own batches)", fontsize=9)
    reference = codec_style("JPEG") | {"marker": None, "label": "JPEG at the same bpp (0 dB)"}
    axes[1].axhline(0.0, **reference)
    axes[1].plot(log.epoch, log.val_gain_db, **codec_style(name))
    axes[1].set_ylabel("validation PSNR gain over JPEG (dB)")
    axes[1].set_title("validation through the real bytes; above 0 beats JPEG", fontsize=9)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False,
                      fontsize=9)  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _plot_gains(lines: list[tuple], xlabel: str, title: str):
    """Validation gains over JPEG on one axis: ``lines`` of ``(x, gain_db, style)``; JPEG at 0."""
    fig, ax = plt.subplots(figsize=(10, 4.2), layout="constrained")
    reference = codec_style("JPEG") | {"marker": None, "label": "JPEG at the same bpp (0 dB)"}
    ax.axhline(0.0, **reference)
    for x, gain, style in lines:
        ax.plot(x, gain, **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("validation PSNR gain over JPEG (dB)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
    ax.set_title(title, fontsize=10)
    return fig, ax


def plot_training_gains(logs: dict[str, pd.DataFrame], kinds: dict[str, str], title: str = ""):
    """Several training runs' validation gain over JPEG, epoch by epoch, on one axis.

    Each run is a bold line (our codecs, :func:`codec_style`'s width) in its own colour,
    labelled with its name, its kind and its validation rate; JPEG is the black dashed
    line at 0 dB. The gains are each run's own (its validation images and qualities).

    Parameters
    ----------
    logs : dict
        Run name -> its training log (``epoch``, ``val_gain_db``, ``val_bpp``).
    kinds : dict
        Run name -> what it trains (``"ComCNN+RecCNN"`` or ``"RecCNN only"``); a run
        of kind ``"RecCNN only"`` is dashed-dotted.
    title : str
        Above the axis.
    """
    from matplotlib.ticker import MaxNLocator

    lines = []
    for i, (name, log) in enumerate(logs.items()):
        kind = kinds.get(name, "ComCNN+RecCNN")
        bpp = float(log.val_bpp.iloc[-1])
        style = codec_style(kind) | {
            "color": f"C{i}",
            "markersize": 4,
            "linestyle": "-." if kind == "RecCNN only" else "-",
            "label": f"{name} ({kind}), validated at {bpp:.3f} bpp",
        }
        lines.append((log.epoch, log.val_gain_db, style))
    title = title or "above 0 dB the run beats JPEG at equal rate"
    fig, ax = _plot_gains(lines, "epoch", title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def plot_gain_over_time(logs: dict[str, pd.DataFrame], labels: dict[str, str], title: str = ""):
    """Training runs' validation gain over JPEG against the machine time they have had.

    For runs screened at an equal time budget (:mod:`comp_lib.studies.post_filters`):
    the x axis is each run's cumulative wall time (its log's ``seconds``: the bank and
    the validation included), so a cheaper network's extra steps show as a steeper
    start. JPEG is the black dashed line at 0 dB.

    Parameters
    ----------
    logs : dict
        Run name -> its training log (``seconds``, ``val_gain_db``; a ``phase`` column,
        as :func:`comp_lib.zoo.chained_log` writes, marks where each later phase began
        with a dotted vertical line).
    labels : dict
        Run name -> what it is, for the legend.
    title : str
        Above the axis.
    """
    lines, starts = [], []
    for i, (name, log) in enumerate(logs.items()):
        style = codec_style("RecCNN only") | {
            "color": f"C{i}",
            "markersize": 4,
            "label": f"{name}: {labels.get(name, '')}",
        }
        minutes = log.seconds.cumsum() / 60
        lines.append((minutes, log.val_gain_db, style))
        if "phase" in log:
            first = log.phase.ne(log.phase.shift()) & (log.index > log.index[0])
            starts += [(float(minutes[j - 1]), int(log.phase[j]), f"C{i}")
                       for j in log.index[first]]  # fmt: skip
    xlabel = "training wall time (minutes, bank and validation included)"
    title = title or "above 0 dB the post-filter beats JPEG at equal rate"
    fig, ax = _plot_gains(lines, xlabel, title)
    for minute, phase, color in starts:
        ax.axvline(minute, color=color, linestyle=":", linewidth=1.2,
                   label=f"phase {phase} starts (training continued)")  # fmt: skip
    if starts:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
    return fig


def plot_gain_by_steps(log: pd.DataFrame, label: str, title: str = ""):
    """A long run's validation gain against its steps on a log2 axis, with each phase's pace.

    On a log2 axis of steps a curve that gains a constant amount per doubling is a
    straight line: how far it is from flat is the pace
    (:func:`comp_lib.train.validation.gain_per_doubling`), drawn for each phase as a
    dashed segment over the stretch it is measured on and written in the legend. Each
    phase's epochs are points in its own colour.

    Parameters
    ----------
    log : pandas.DataFrame
        A training log (``step``, ``val_gain_db``, ``seconds``; ``phase`` optional).
        The row at step 0 (the starting point) cannot sit on a log axis and is left out.
    label : str
        What the run is, for the legend.
    title : str
        Above the axis.
    """
    from matplotlib.ticker import ScalarFormatter

    from comp_lib.train.validation import gain_per_doubling

    log = log if "phase" in log else log.assign(phase=1)
    pace = gain_per_doubling(log)
    fig, ax = plt.subplots(figsize=(10, 4.2), layout="constrained")
    for i, row in enumerate(pace.itertuples()):
        rows = log[(log.phase == row.phase) & (log.step > 0)]
        ax.plot(rows.step, rows.val_gain_db, "o", color=f"C{i}", markersize=4,
                label=f"phase {row.phase}: epochs of {label}")  # fmt: skip
        steps = f"steps {row.start_step}-{row.end_step}, {row.minutes:.0f} min"
        pace_label = f"phase {row.phase}: {row.db_per_doubling:+.3f} dB per doubling ({steps})"
        ax.plot([row.start_step, row.end_step], [row.start_gain_db, row.end_gain_db], "--",
                color=f"C{i}", linewidth=1.5, label=pace_label)  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("optimizer steps since the start of training (log2 scale)")
    ax.set_ylabel("validation PSNR gain over JPEG (dB)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
    ax.set_title(title or "a straight line here is a constant gain per doubling of the steps",
                 fontsize=10)  # fmt: skip
    return fig
