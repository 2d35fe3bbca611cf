"""The settings of a training run: :class:`TrainConfig`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from comp_lib import jpeg

__all__ = ["LOG_COLUMNS", "LOSSES", "SCHEMES", "TrainConfig"]

SCHEMES = ("alternating", "dissertation", "end_to_end", "post_filter")
LOSSES = ("mse", "l1", "ssim")
LOG_COLUMNS = [
    "epoch", "step", "lr", "loss_rec", "loss_com", "val_psnr", "val_ssim", "val_bpp",
    "val_jpeg_psnr", "val_gain_db", "seconds",
]  # fmt: skip


@dataclass
class TrainConfig:
    """Every setting of a training run (recorded with its checkpoints).

    Parameters
    ----------
    scheme : {"alternating", "dissertation", "end_to_end", "post_filter"}
        See the module docstring.
    epochs : int
        Rounds of the alternating algorithm (epochs of the others).
    steps : int
        RecCNN optimizer steps per epoch (both networks' for ``"end_to_end"``).
    com_steps : int, optional
        ComCNN optimizer steps per epoch (step B); default ``steps``.
    lr, lr_decay : float
        Adam learning rate, multiplied by ``lr_decay`` after every epoch.
    com_lr : float, optional
        ComCNN's learning rate (default ``lr / 10``: its output layer feeds JPEG
        directly, and at ``lr`` its steps overshoot; measured on the corpus).
    batch : int
        Images or patches per step.
    patch : int
        Patch side (ignored by ``"dissertation"``, which feeds whole images).
    augment : bool
        Random flips and 90-degree rotations (off for ``"dissertation"``).
    quality : int or list of int
        JPEG quality to train at; a list draws one per step.
    val_quality : list of int
        Qualities at which to validate (default: ``quality``, at most 3 of them).
    loss : {"mse", "l1", "ssim"}
    com_jpeg : {"identity", "approx"}
        What stands for JPEG in step B: the identity (paper) or DiffJPEG.
    rounding : {"ste", "cubic"}
        DiffJPEG's rounding.
    channels, depth, pooling, shuffle : int
        RecCNN variant (64, 20, 0, 1 is the paper's; see
        :class:`~comp_lib.models.RecCNN`).
    residual : bool
        RecCNN's global residual connection (on in the paper).
    warm_start : bool
        Start from the no-learning baseline: ComCNN initialised as a binomial /2
        downsampler (:meth:`~comp_lib.models.ComCNN.init_as_downsampler`) and
        RecCNN's last layer at zero (the identity). ComCNN's BatchNorm then keeps
        the statistics set by that initialisation (it trains as an affine layer):
        with batch statistics, the compact image's brightness drifted between
        training and eval mode and validation PSNR swung by 3-4 dB from one
        step to the next. Off = both networks from random initialisation, with
        ordinary BatchNorm, as the paper.
    init : str, optional
        A codec checkpoint (or shipped name) to start from instead of a fresh or
        warm-started codec; its networks must have this config's shapes.
    precision : {"fp32", "bf16"}
        bf16 autocast (fast on GPUs and CPUs with native bf16; slow on others).
    channels_last : bool
        NHWC memory layout. Off by default: on this 2-core AVX2 CPU it made the
        paper's RecCNN train 20% slower (benchmarks/train_speed.py), although it
        makes inference 1.4x faster.
    seed : int
    native_tiles : int
        Train and validate on tiles of this side cut from the corpus's images
        at their native scale (:func:`comp_lib.data.native_tiles`) instead of
        the corpus's stretched 180x180 images; 0 (default) = the corpus. Read
        by :func:`main` and the notebooks, which build the arrays.
    """

    scheme: str = "alternating"
    epochs: int = 10
    steps: int = 100
    com_steps: int | None = None
    lr: float = 1e-3
    lr_decay: float = 0.9
    com_lr: float | None = None
    batch: int = 16
    patch: int = 64
    augment: bool = True
    quality: int | list[int] = 10
    val_quality: list[int] | None = None
    loss: str = "mse"
    com_jpeg: str = "identity"
    rounding: str = "ste"
    channels: int = 64
    depth: int = 20
    pooling: int = 0
    shuffle: int = 1
    residual: bool = True
    warm_start: bool = True
    init: str | None = None
    precision: str = "fp32"
    channels_last: bool = False
    seed: int = 0
    native_tiles: int = 0
    qualities: list[int] = field(init=False, repr=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.com_jpeg not in ("identity", "approx"):
            raise ValueError(f"com_jpeg must be 'identity' or 'approx', got {self.com_jpeg!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        for name in ("epochs", "steps", "batch", "patch"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (0 < self.lr and 0 < self.lr_decay <= 1):
            raise ValueError(f"need lr > 0 and 0 < lr_decay <= 1, got {self.lr}, {self.lr_decay}")
        q = self.quality if isinstance(self.quality, (list, tuple)) else [self.quality]
        self.qualities = [jpeg.check_quality(v) for v in q]
        if self.val_quality is None:
            picks = np.linspace(0, len(self.qualities) - 1, min(3, len(self.qualities)))
            self.val_quality = sorted({self.qualities[int(round(i))] for i in picks})
        self.val_quality = [jpeg.check_quality(v) for v in self.val_quality]

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("qualities")
        if not d["native_tiles"]:  # stored only when on: older runs keep their names
            d.pop("native_tiles")
        return d

    def run_name(self) -> str:
        """``"run-"`` and 8 hex digits of a hash of the settings: the codec's name in training.

        It goes into every bitstream header (and so into every rate), and
        ``best.pt``/``last.pt`` keep it, so that the same settings give the same
        log wherever the run folder is.
        """
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return "run-" + hashlib.sha256(blob).hexdigest()[:8]
