"""Training ComCNN and RecCNN.

::

    config       TrainConfig: every setting of a run (recorded with its checkpoints)
    trainer      Trainer: the paper's alternating algorithm and its variants on patches
                 coded on the fly with the real JPEG (the CPU path)
    bank         RecCNN from a bank of images coded once per quality (the GPU path), packs
    validation   real-codec validation and the gain over JPEG at equal rate

``python -m comp_lib.train --out runs/x ...`` trains on the default corpus and
resumes from ``runs/x/last.pt``; ``python -m comp_lib.train.bank pack|train`` is the
bank's command line. Shipping a run as a named model: :func:`comp_lib.zoo.ship`.
"""

from comp_lib.train.config import LOG_COLUMNS, LOSSES, SCHEMES, TrainConfig
from comp_lib.train.trainer import Trainer
from comp_lib.train.validation import gain_over_jpeg, jpeg_curve, validate

__all__ = [
    "LOG_COLUMNS",
    "LOSSES",
    "SCHEMES",
    "TrainConfig",
    "Trainer",
    "gain_over_jpeg",
    "jpeg_curve",
    "validate",
]
