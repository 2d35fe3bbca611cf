"""Training ComCNN and RecCNN: one loop, two data sources, one process or many.

::

    config        TrainConfig (patches), BankConfig (bank): every setting of a run
    loop          the one loop (update lr, feed batch, optimise, log, validate, save),
                  its checkpoint last.pt and resume rule
    patches       source: patches coded on the fly with the real JPEG, the paper's
                  schemes (alternating, dissertation, end_to_end, post_filter); Trainer
    bank          source: whole images coded once per quality, kept on the device; packs
    validation    validation through compress/decompress, the gain over JPEG at equal rate
    distributed   data-parallel training on PyTorch DDP under torchrun

``python -m comp_lib.train --out runs/x ...`` trains on the default corpus and
resumes from ``runs/x/last.pt``; ``python -m comp_lib.train.bank pack|train`` is the
bank's command line; either runs data-parallel under
``torchrun --standalone --nproc_per_node N -m ...``. Shipping a run as a named
model: :func:`comp_lib.zoo.ship`.
"""

from comp_lib.train.config import LOG_COLUMNS, LOSSES, SCHEMES, BankConfig, TrainConfig
from comp_lib.train.loop import Loop
from comp_lib.train.patches import Trainer
from comp_lib.train.validation import gain_over_jpeg, gain_per_doubling, jpeg_curve, validate

__all__ = [
    "LOG_COLUMNS",
    "LOSSES",
    "SCHEMES",
    "BankConfig",
    "Loop",
    "TrainConfig",
    "Trainer",
    "gain_over_jpeg",
    "gain_per_doubling",
    "jpeg_curve",
    "validate",
]
