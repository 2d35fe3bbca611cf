"""Figures of the post-filter lesson (``05_post_filter``): shape, quality, conditioning.

:func:`plot_variant_shapes` sets each variant's receptive field against its cost;
:func:`plot_gain_by_quality` draws post-filters' gains over JPEG quality by quality,
JPEG itself as the dashed line at 0 dB; :func:`plot_film_response` shows how far the
quantisation table moves each conditioned layer of a quality-aware network;
:func:`plot_ensemble_cost` sets a self-ensemble's gain against its decode time.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter

from comp_lib.report.figures.style import REFERENCE_STYLE

__all__ = [
    "plot_ensemble_cost",
    "plot_film_response",
    "plot_gain_by_quality",
    "plot_variant_shapes",
]


def plot_variant_shapes(shapes: pd.DataFrame, gains: pd.Series | None = None):
    """Receptive radius against multiply-adds per pixel, one point per variant.

    Parameters
    ----------
    shapes : pandas.DataFrame
        :func:`comp_lib.studies.post_filters.variant_shapes`.
    gains : pandas.Series, optional
        Variant -> a gain in dB (the screening's, say), printed beside each point.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.scatter(shapes.gmac_per_mpx, shapes.receptive_radius_px, s=40, color="#ff7f0e", zorder=3)
    # variants of one shape (told the table or not) share a point: one label line each
    for (gmac, radius), rows in shapes.groupby(["gmac_per_mpx", "receptive_radius_px"]):
        lines = []
        for variant in rows.variant:
            known = gains is not None and variant in gains.index
            lines.append(f"{variant} ({gains[variant]:+.2f} dB)" if known else variant)
        ax.annotate("\n".join(lines), (gmac, radius), fontsize=8, xytext=(6, 4),
                    textcoords="offset points")  # fmt: skip
    ax.set_xlabel("multiply-adds per megapixel (billions, GMAC/Mpx)")
    ax.set_ylabel("measured receptive radius (pixels)")
    ax.set_xlim(0, shapes.gmac_per_mpx.max() * 1.35)
    ax.set_ylim(0, shapes.receptive_radius_px.max() * 1.25)
    ax.grid(alpha=0.3)
    title = "How far each post-filter sees, for what it costs (upper left is better)"
    if gains is not None:
        title += "\nin brackets: gain over JPEG after the same training time"
    ax.set_title(title, fontsize=9)
    return fig


def plot_gain_by_quality(table: pd.DataFrame, target: tuple[int, float, str] | None = None):
    """Each post-filter's PSNR gain over JPEG on the same bytes, against the JPEG quality.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`comp_lib.studies.post_filters.gain_by_quality` (JPEG's rows are the
        dashed reference at 0 dB).
    target : (int, float, str), optional
        ``(quality, gain_db, label)`` of a published result, drawn as a star.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for codec, rows in table.groupby("codec", sort=False):
        rows = rows.sort_values("quality")
        if codec == "JPEG":
            ax.plot(rows.quality, rows.gain_db, **dict(REFERENCE_STYLE, label="JPEG (the bytes)"))
        else:
            ax.plot(rows.quality, rows.gain_db, marker="o", linewidth=1.8, label=codec)
    if target is not None:
        quality, gain, label = target
        ax.plot([quality], [gain], marker="*", markersize=13, color="black", linestyle="none",
                label=label)  # fmt: skip
    ax.set_xscale("log")
    qualities = sorted(table.quality.unique())
    ax.set_xticks(qualities, [str(q) for q in qualities])
    ax.minorticks_off()
    ax.set_xlabel("JPEG quality of the bytes (log scale)")
    ax.set_ylabel("PSNR gain over JPEG, same bytes (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")  # the specialists fall away to the right
    ax.set_title("One model for every quality against specialists", fontsize=9)
    return fig


def plot_film_response(response: pd.DataFrame):
    """Mean ``|gamma|`` and ``|beta|`` of each conditioned layer, one line per quality.

    Parameters
    ----------
    response : pandas.DataFrame
        :func:`comp_lib.models.conditioning.film_response`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8), layout="constrained", sharex=True)
    layers = response.groupby("layer").channels.first()
    cmap = plt.get_cmap("viridis")
    qualities = sorted(response.quality.unique())
    for k, quality in enumerate(qualities):
        rows = response[response.quality == quality].sort_values("layer")
        colour = cmap(k / max(1, len(qualities) - 1))
        for ax, column in zip(axes, ("gamma_abs", "beta_abs"), strict=True):
            ax.plot(rows.layer, rows[column], marker="o", markersize=3, color=colour,
                    label=f"quality {quality}")  # fmt: skip
    axes[0].set_ylabel("mean |gamma| (scale 1 + gamma, per channel)")
    axes[1].set_ylabel("mean |beta| (shift, per channel)")
    for ax in axes:
        ax.set_xticks(layers.index, [str(c) for c in layers])
        ax.set_xlabel("conditioned layer, in order (its channels)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle("How far the JPEG quantisation table moves each layer (0: not at all)",
                 fontsize=10)  # fmt: skip
    return fig


def plot_ensemble_cost(ensemble: pd.DataFrame, target_db: float | None = None,
                       budget_x: float | None = 4.0):  # fmt: skip
    """Gain over JPEG against decode time for each self-ensemble size, one line per quality.

    Parameters
    ----------
    ensemble : pandas.DataFrame
        :func:`comp_lib.studies.post_filters.self_ensemble_table`.
    target_db : float, optional
        A gain to reach, drawn as a horizontal line.
    budget_x : float, optional
        The decode-time budget (in ``decode_x`` units), drawn as a vertical line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for quality, rows in ensemble.groupby("quality"):
        rows = rows.sort_values("self_ensemble")
        model = rows.model.iloc[0]
        ax.plot(rows.decode_x, rows.gain_db, marker="o", linewidth=1.8,
                label=f"{model} at quality {quality}")  # fmt: skip
        for row in rows.itertuples():
            ax.annotate(f"x{row.self_ensemble}", (row.decode_x, row.gain_db), fontsize=8,
                        xytext=(4, -10), textcoords="offset points")  # fmt: skip
    if target_db is not None:
        ax.axhline(target_db, color="black", linestyle=":", label=f"target {target_db:+.2f} dB")
    if budget_x is not None:
        ax.axvline(budget_x, color="0.5", linestyle="-.", label=f"decode budget ({budget_x:g}x)")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
    ax.set_xlabel("decode time of a 481x321 image (x post64s2's, log scale)")
    ax.set_ylabel("PSNR gain over JPEG, same bytes (dB)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title("Self-ensemble: what each doubling of the decoding buys", fontsize=9)
    return fig
