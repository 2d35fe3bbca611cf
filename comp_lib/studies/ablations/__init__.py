"""Ablations (notebook 04): why the dissertation lost to JPEG and what makes the method win.

Each ablation is a list of :class:`Variant` s, each variant a training run
(:class:`comp_lib.train.Trainer`) on top of one shared *budget* (the base
:class:`~comp_lib.train.TrainConfig` settings), trained and tested the same way.

::

    definitions   the ablations, their titles, their variants around one budget
    runs          each variant trained once (or read back) and tested against JPEG;
                  its cost (GMAC per pixel, decode time)
    results       the results for people: spread over seeds, each ablation's table,
                  the dissertation's comparison with rates, where measures disagree

=================  ==========================================================
``components``     Jiang et al. Table I: both networks, RecCNN only (a JPEG
                   post-filter), ComCNN only (bicubic up), neither (bicubic).
``scheme``         alternating (identity / DiffJPEG in step B), end-to-end,
                   the dissertation's (whole images, no augmentation; as
                   many whole images per step as give the budget's pixels
                   per step, so that every scheme gets the same compute).
``lr``             learning rate 1e-2 .. 1e-5 and the exponential decay rate.
``pooling``        the dissertation's max pooling in RecCNN (0, 1, 2 stages).
``data_size``      100, 250, 500 and all available training + validation images.
``loss``           MSE, L1, SSIM.
``size``           RecCNN width and depth against decode time and GMAC/pixel.
``quality``        the JPEG quality trained at against the quality tested at.
``dissertation``   the dissertation's protocol and its suspected faults, alone
                   and together (max pooling, no residual connection, random
                   initialisation, too few steps).
=================  ==========================================================
"""

from comp_lib.studies.ablations.definitions import ABLATIONS, SIZES, TITLES, Variant, variants
from comp_lib.studies.ablations.results import (
    ablation_table,
    dissertation_for_people,
    dissertation_rates,
    gain_crossing,
    sign_disagreements,
    spread,
)
from comp_lib.studies.ablations.runs import (
    RESULT_COLUMNS,
    gain_over,
    macs_per_pixel,
    retime_decode,
    run_ablation,
    run_ablations,
)

__all__ = [
    "ABLATIONS",
    "RESULT_COLUMNS",
    "SIZES",
    "TITLES",
    "Variant",
    "ablation_table",
    "dissertation_for_people",
    "dissertation_rates",
    "gain_crossing",
    "gain_over",
    "macs_per_pixel",
    "retime_decode",
    "run_ablation",
    "run_ablations",
    "sign_disagreements",
    "spread",
    "variants",
]
