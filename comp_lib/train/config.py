"""The settings of a training run: :class:`TrainConfig` (patches), :class:`BankConfig` (bank).

Each is recorded with the run's checkpoints. Their docstrings are the command lines'
help: :func:`add_flags` makes one flag per field, with the first sentence of the
field's entry in the class docstring as its help.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import re
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from comp_lib import jpeg

__all__ = ["LOG_COLUMNS", "LOSSES", "SCHEMES", "BankConfig", "TrainConfig", "add_flags",
           "field_help"]  # fmt: skip

SCHEMES = ("alternating", "dissertation", "end_to_end", "post_filter")
LOSSES = ("mse", "l1", "ssim")
LOG_COLUMNS = [
    "epoch", "step", "lr", "loss_rec", "loss_com", "val_psnr", "val_ssim", "val_bpp",
    "val_jpeg_psnr", "val_gain_db", "seconds",
]  # fmt: skip


@dataclass
class TrainConfig:
    """Every setting of a training run on patches coded on the fly (recorded with its checkpoints).

    Parameters
    ----------
    scheme : {"alternating", "dissertation", "end_to_end", "post_filter"}
        The paper's alternating steps, the dissertation's, end to end, or RecCNN alone.
        See :mod:`comp_lib.train.patches`.
    epochs : int
        Rounds of the alternating algorithm (epochs of the others); may grow on resume.
    steps : int
        RecCNN optimizer steps per epoch (both networks' for ``"end_to_end"``).
    com_steps : int, optional
        ComCNN optimizer steps per epoch (step B); default ``steps``.
    lr : float
        Adam learning rate of RecCNN at the first epoch.
    lr_decay : float
        Factor applied to the learning rates after every epoch.
    com_lr : float, optional
        ComCNN's learning rate at the first epoch (default ``lr / 10``).
        Its output layer feeds JPEG directly, and at ``lr`` its steps overshoot
        (measured on the corpus).
    batch : int
        Images or patches per step, split evenly over the processes under torchrun.
    patch : int
        Patch side in pixels (ignored by ``"dissertation"``, which feeds whole images).
    augment : bool
        Random flips and 90-degree rotations of the patches (off for ``"dissertation"``).
    quality : int or list of int
        JPEG quality to train at; a list draws one per step.
    val_quality : list of int
        Qualities at which to validate (default: ``quality``, at most 3 of them).
    loss : {"mse", "l1", "ssim"}
        Training loss between the reconstruction and the original.
    com_jpeg : {"identity", "approx"}
        What stands for JPEG in step B: the identity (paper) or DiffJPEG.
    rounding : {"ste", "cubic"}
        DiffJPEG's rounding: straight-through or Shin and Song's cubic.
    channels : int
        RecCNN's feature channels (64 in the paper; see :class:`~comp_lib.models.RecCNN`).
    depth : int
        RecCNN's convolutional layers (20 in the paper).
    pooling : int
        RecCNN's max-pooling stages (0 in the paper).
    shuffle : int
        Pixel-shuffle factor of RecCNN's body (1 in the paper: full resolution).
    residual : bool
        RecCNN's global residual connection (on in the paper).
    warm_start : bool
        Start from the no-learning baseline (ComCNN a downsampler, RecCNN the identity).
        ComCNN is initialised as a binomial /2 downsampler
        (:meth:`~comp_lib.models.ComCNN.init_as_downsampler`) and RecCNN's last
        layer at zero. ComCNN's BatchNorm then keeps the statistics set by that
        initialisation (it trains as an affine layer): with batch statistics, the
        compact image's brightness drifted between training and eval mode and
        validation PSNR swung by 3-4 dB from one step to the next. Off = both
        networks from random initialisation, with ordinary BatchNorm, as the paper.
    init : str, optional
        A codec checkpoint or shipped model name to start from instead of a fresh codec.
        Its networks must have this config's shapes.
    precision : {"fp32", "bf16"}
        Arithmetic of training: bf16 autocast is fast on GPUs and CPUs with native bf16.
    channels_last : bool
        NHWC memory layout in training (off: 20% slower on a 2-core AVX2 CPU).
        See ``benchmarks/train_speed.py``; it makes inference 1.4x faster.
    seed : int
        Seed of the weights' initialisation and of the batches.
    native_tiles : int
        Train and validate on tiles of this side cut at native scale (0: the corpus's images).
        :func:`comp_lib.data.native_tiles` cuts them from the corpus's images at
        their native scale instead of the stretched 180x180 images. Read by the
        command line and the notebooks, which build the arrays.
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


@dataclass
class BankConfig:
    """Settings of a bank training run (recorded in its checkpoints as ``training``).

    Parameters
    ----------
    qualities : list of int
        JPEG qualities the bank codes every training image at; each crop draws one.
    val_quality : list of int
        Qualities at which to validate.
    epochs : int
        Epochs to train; may grow on resume.
    steps : int
        Optimizer steps per epoch; 0 sizes the epochs from ``budget_s``.
        A short timing probe, then as many steps as fit.
    budget_s : float
        Wall-time budget in seconds when ``steps`` is 0 (bank, validation and probe included).
    batch : int
        Crops per step, split evenly over the processes under torchrun.
    patch : int
        Crop side in pixels.
    lr : float
        Adam learning rate at the first epoch.
    lr_decay : float
        Factor applied to the learning rate after every epoch.
    warmup : int
        Optimizer steps over which the learning rate rises linearly to ``lr`` (0: none).
        See :meth:`comp_lib.train.loop.Loop.optimise`.
    init : str, optional
        A shipped model or checkpoint to start from (its ComCNN, if any, stays frozen).
        Without it a fresh post-filter (``arch``) starts from random weights with its last
        layer at zero: the identity, JPEG alone (the warm start). With it the fields that
        shape a fresh network (:data:`FRESH_NETWORK`) must stay at their defaults, and
        are not recorded.
    arch : {"reccnn", "multiscale"}
        A fresh post-filter's network: RecCNN's plain stack or the multi-scale U-Net.
        See :mod:`comp_lib.models.reconstruction`.
    channels : int
        Feature channels of a fresh network (without ``init``; the U-Net's at full size).
    depth : int
        Convolutional layers of a fresh RecCNN (without ``init``).
    shuffle : int
        Pixel-shuffle factor of a fresh RecCNN's body (body at 1/shuffle resolution).
    scales : int
        Resolutions of a fresh multi-scale network (without ``init``).
    blocks : int
        Residual blocks per scale and side of a fresh multi-scale network (without ``init``).
    quality_aware : bool
        Condition the network on the JPEG quantisation table: one model for every quality.
        With ``init``, the started model gains the conditioning, initialised to change
        nothing (:func:`comp_lib.models.with_quality`).
    grow_blocks : int
        With ``init``, deepen a started multi-scale network to this many residual blocks
        per scale and side, the new ones starting as the identity (0: keep its own; see
        :func:`comp_lib.models.with_blocks`).
    precision : {"fp32", "bf16"}
        Arithmetic of training: bf16 autocast is fast on GPUs.
    seed : int
        Seed of the weights' initialisation and of the batches.
    """

    qualities: list[int] = field(default_factory=lambda: list(range(4, 41, 2)))
    val_quality: list[int] = field(default_factory=lambda: [5, 10, 20])
    epochs: int = 10
    steps: int = 100
    budget_s: float = 0.0
    batch: int = 32
    patch: int = 96
    lr: float = 3e-4
    lr_decay: float = 0.8
    warmup: int = 0
    init: str | None = None
    arch: str = "reccnn"
    channels: int = 64
    depth: int = 20
    shuffle: int = 2
    scales: int = 4
    blocks: int = 2
    quality_aware: bool = False
    grow_blocks: int = 0
    precision: str = "fp32"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.arch not in ("reccnn", "multiscale"):
            raise ValueError(f"arch must be 'reccnn' or 'multiscale', got {self.arch!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        for name in ("epochs", "batch", "patch"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.steps < 0 or (self.steps == 0 and self.budget_s <= 0):
            raise ValueError("give steps > 0 or a time budget budget_s > 0")
        self.qualities = [jpeg.check_quality(q) for q in self.qualities]
        self.val_quality = [jpeg.check_quality(q) for q in self.val_quality]
        if self.grow_blocks < 0 or (self.grow_blocks and self.init is None):
            raise ValueError(
                "grow_blocks deepens a started model: give init and a count >= 0, got "
                f"grow_blocks={self.grow_blocks}, init={self.init!r}"
            )
        if self.init is not None:
            given = [k for k in FRESH_NETWORK if getattr(self, k) != _DEFAULTS[k]]
            if given:
                raise ValueError(f"{', '.join(given)} set a fresh network's shape; with init "
                                 f"the network is the started model's ({self.init!r})")  # fmt: skip

    def to_dict(self) -> dict:
        d = asdict(self)
        defaults = {"warmup": 0, "arch": "reccnn", "scales": 4, "blocks": 2,
                    "quality_aware": False, "grow_blocks": 0}  # fmt: skip
        for key, value in defaults.items():  # stored only when set: older runs resume as they were
            if d[key] == value:
                d.pop(key)
        return applied_settings({"scheme": "bank"} | d)

    def network(self):
        """A fresh post-filter network of these settings, its last layer at zero."""
        from comp_lib.models import MultiScaleRecCNN, RecCNN

        aware = self.quality_aware
        if self.arch == "multiscale":
            net = MultiScaleRecCNN(
                channels=self.channels, scales=self.scales, blocks=self.blocks, quality_aware=aware
            )
        else:
            net = RecCNN(
                channels=self.channels, depth=self.depth, shuffle=self.shuffle, quality_aware=aware
            )
        return net.init_as_identity()


FRESH_NETWORK = ("arch", "channels", "depth", "shuffle", "scales", "blocks")
"""The :class:`BankConfig` fields that shape a fresh network: they do not apply with ``init``."""

_DEFAULTS = {k: f.default for k, f in BankConfig.__dataclass_fields__.items() if k in FRESH_NETWORK}


def applied_settings(settings: dict) -> dict:
    """Recorded training settings without those that did not apply.

    A ``bank`` run with ``init`` trains the started model's network, so the
    :data:`FRESH_NETWORK` fields are dropped from its record. Runs and shipped
    models recorded before this rule kept them at their defaults; passing their
    records through here makes them compare equal to today's (resume) and keeps
    them off model cards. Other records come back unchanged.
    """
    if settings.get("scheme") != "bank" or settings.get("init") is None:
        return dict(settings)
    return {k: v for k, v in settings.items() if k not in FRESH_NETWORK}


# --------------------------------------------------------------------------- command lines


def field_help(cls) -> dict[str, tuple[str, str]]:
    """``{field: (type, help)}`` from a config class's numpy-style ``Parameters`` section.

    The help is the first sentence of the field's entry. Raises ``ValueError``
    when a field of ``cls`` has no entry or an empty one: every flag gets a help.
    """
    doc = inspect.cleandoc(cls.__doc__ or "")
    section = doc.split("Parameters\n----------\n", 1)[-1]
    entries, name = {}, None
    for line in section.splitlines():
        if line and not line[0].isspace():  # "name : type"
            name, _, kind = line.partition(" : ")
            entries[name.strip()] = [kind.strip(), ""]
        elif name and line.strip() and not entries[name][1].endswith("."):
            entries[name][1] = (entries[name][1] + " " + line.strip()).strip()
    wanted = [f.name for f in fields(cls) if f.init]
    missing = [n for n in wanted if not entries.get(n, ["", ""])[1]]
    if missing:
        raise ValueError(f"{cls.__name__} documents no help for {missing}")
    return {n: (entries[n][0], re.sub(r"``|:\w+:`~?|`", "", entries[n][1])) for n in wanted}


def _flag_bool(text: str) -> bool:
    if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text.lower() in ("1", "true", "yes")


def add_flags(parser: argparse.ArgumentParser, cls, defaults: dict | None = None) -> None:
    """One flag per field of the config class ``cls`` (``--lr-decay`` for ``lr_decay``).

    Helps and choices (``{"a", "b"}`` types) come from :func:`field_help`;
    ``defaults`` overrides the fields' defaults.
    """
    values = {f.name: getattr(cls(), f.name) for f in fields(cls) if f.init} | (defaults or {})
    for name, (kind, text) in field_help(cls).items():
        value = values[name]
        flag, extra = "--" + name.replace("_", "-"), {}
        if kind.startswith("{"):
            extra["choices"] = re.findall(r'"([^"]+)"', kind)
        if isinstance(value, bool):
            extra |= dict(type=_flag_bool, metavar="{true,false}")
        elif "list" in kind or isinstance(value, list):
            extra |= dict(type=int, nargs="+")
        elif "float" in kind:
            extra["type"] = float
        elif "int" in kind:
            extra["type"] = int
        text = text.replace("%", "%%") + " (default: %(default)s)"
        parser.add_argument(flag, default=value, help=text, **extra)
