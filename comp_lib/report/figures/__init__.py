"""Figures of the notebooks, drawn from their tables and logs, saved under ``reports/figures``.

Each ``plot_*`` and ``show_*`` function returns the figure; :func:`save_figure` writes it.

::

    style      codec_style, REFERENCE_STYLE (JPEG black and dashed), bpp_log_axis,
               save_figure
    images     image grids, images to scale, signed images, error maps, crops with errors
    rd         RD curves, the headline RD figure, BD area, BD-rate and gain per image
    training   a run's training curves, several runs' validation gains, gain by steps
    ablations  ablation RD and gain curves, the dissertation's RD, size cost, quality matrix
    post_filters  receptive field against cost, gain by quality, what the table changes,
                  self-ensemble gain against decode time
"""

from comp_lib.report.figures.ablations import (
    plot_ablation_rd,
    plot_dissertation_rd,
    plot_gain_curves,
    plot_quality_matrix,
    plot_size_cost,
)
from comp_lib.report.figures.images import (
    show_crops_with_errors,
    show_error_maps,
    show_images,
    show_images_to_scale,
    show_signed,
)
from comp_lib.report.figures.post_filters import (
    plot_ensemble_cost,
    plot_film_response,
    plot_gain_by_quality,
    plot_variant_shapes,
)
from comp_lib.report.figures.rd import (
    plot_bd_area,
    plot_bd_per_image,
    plot_gain_per_image,
    plot_headline_rd,
    plot_rd,
)
from comp_lib.report.figures.style import (
    OUR_CODECS,
    REFERENCE_STYLE,
    bpp_log_axis,
    codec_style,
    save_figure,
)
from comp_lib.report.figures.training import (
    plot_gain_by_steps,
    plot_gain_over_time,
    plot_training_curves,
    plot_training_gains,
)

__all__ = [
    "OUR_CODECS",
    "REFERENCE_STYLE",
    "bpp_log_axis",
    "codec_style",
    "plot_ablation_rd",
    "plot_bd_area",
    "plot_bd_per_image",
    "plot_dissertation_rd",
    "plot_ensemble_cost",
    "plot_film_response",
    "plot_gain_by_quality",
    "plot_gain_by_steps",
    "plot_gain_curves",
    "plot_gain_per_image",
    "plot_headline_rd",
    "plot_quality_matrix",
    "plot_rd",
    "plot_size_cost",
    "plot_training_curves",
    "plot_gain_over_time",
    "plot_training_gains",
    "plot_variant_shapes",
    "save_figure",
    "show_crops_with_errors",
    "show_error_maps",
    "show_images",
    "show_images_to_scale",
    "show_signed",
]
