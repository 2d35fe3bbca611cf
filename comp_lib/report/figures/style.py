"""How every figure of the study looks and where it goes: codec styles, the log-rate axis, saving.

:func:`codec_style` draws each codec the same way in every figure (JPEG, the reference,
black and dashed: :data:`REFERENCE_STYLE`; the study's own codecs bold);
:func:`bpp_log_axis` is the rate axis the rate-distortion figures share;
:func:`save_figure` writes a figure under ``reports/figures``.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.ticker import FuncFormatter, NullFormatter

from comp_lib.config import figures_dir
from comp_lib.files import atomic_write

__all__ = ["OUR_CODECS", "REFERENCE_STYLE", "bpp_log_axis", "codec_style", "save_figure"]


#: how the reference codec (JPEG) is drawn in every figure of the study: black, dashed
REFERENCE_STYLE = dict(color="black", linestyle="--", linewidth=1.6, marker="o", markersize=3)
#: the study's own codecs (drawn bold); see :mod:`comp_lib.studies.roster`
OUR_CODECS = ("ours", "ComCNN+RecCNN", "RecCNN only", "ComCNN only")
#: one colour per codec name, the same in every figure
_COLOURS = {
    "ours": "#d62728",
    "ComCNN+RecCNN": "#1f77b4",
    "RecCNN only": "#ff7f0e",
    "ComCNN only": "#9467bd",
    "bicubic+JPEG": "#8c564b",
    "WebP": "#2ca02c",
    "AVIF": "#17becf",
    "JPEG 2000": "#6b8e23",
    "JPEG XL": "#e377c2",
}


def codec_style(name: str, reference: str = "JPEG") -> dict:
    """Matplotlib line keywords for codec ``name``, the same in every figure.

    The ``reference`` is :data:`REFERENCE_STYLE` (black, dashed); the study's own codecs
    (:data:`OUR_CODECS`) are bold; every other codec is a thin line with small markers in
    its own colour (a name outside the study's list gets grey).

    Examples
    --------
    >>> codec_style("JPEG")["linestyle"]
    '--'
    """
    if name == reference:
        return dict(REFERENCE_STYLE, label=name)
    colour = _COLOURS.get(name, "0.5")
    if name in OUR_CODECS:
        return dict(color=colour, linestyle="-", linewidth=2.8, marker="o", markersize=4,
                    label=name)  # fmt: skip
    return dict(color=colour, linestyle="-", linewidth=1.1, marker=".", markersize=5, label=name)


def save_figure(fig, name: str, dpi: int = 120) -> Path:
    """Save ``fig`` as ``reports/figures/<name>.png`` (written whole, then renamed); return it."""
    path = figures_dir() / f"{name}.png"
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight"))


def bpp_log_axis(ax, lo: float, hi: float) -> None:
    """A log-rate x axis from ``lo`` to ``hi`` bpp with plain tick labels (0.1, 0.3, 1)."""
    ax.set_xscale("log")
    ticks = [t for t in (0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5) if lo <= t <= hi]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("bits per pixel (real bytes, log scale)")
    ax.grid(alpha=0.3, which="both")
