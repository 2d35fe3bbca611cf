"""Patches coded on the fly: the paper's alternating algorithm and its variants (a data source).

The codec in the middle (JPEG) is not differentiable, so Jiang et al. train
the two networks in turn (Sec. III-C, Algorithm 1). One *epoch* here is one
round of that algorithm::

    step A (RecCNN learns, ComCNN frozen):
        x -> ComCNN -> 8-bit -> real JPEG -> bicubic x2 -> RecCNN -> x_hat;  loss(x_hat, x)
    step B (ComCNN learns, RecCNN frozen):
        x -> ComCNN -> identity (paper) or DiffJPEG -> bicubic x2 -> RecCNN -> x_hat;  same loss

Every batch is cut from the training images and coded with real libjpeg on the
CPU as it is drawn. Since ``x_hat = x_up - residual``, the MSE on ``x_hat`` is
the paper's MSE on the residual. Schemes:

``"alternating"``
    The paper's algorithm on random patches with flips and rotations.
``"dissertation"``
    The same algorithm the way the dissertation trained: whole 180x180 images,
    no patches, no augmentation, exponential learning-rate decay.
``"end_to_end"``
    Both networks at once, through the differentiable JPEG approximation.
``"post_filter"``
    RecCNN alone as a JPEG post-filter at full resolution, no ComCNN
    (the paper's *RecCNN only* ablation): step A with the image itself coded.

:class:`Trainer` runs them in the one loop (:mod:`comp_lib.train.loop`: update
lr, feed batch, optimise, log, validate through the real bytes, save; resumable,
data-parallel under torchrun, where each network trains inside its own
:class:`~torch.nn.parallel.DistributedDataParallel`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.metrics import ssim_torch
from comp_lib.models import ComCNN, RecCNN
from comp_lib.train import distributed
from comp_lib.train.config import TrainConfig
from comp_lib.train.loop import Loop, Phase, Source

__all__ = ["Patches", "Trainer"]


class Patches(Source):
    """Random patches (or whole images) of ``train``, coded on the fly; see the module docstring.

    Parameters
    ----------
    config : TrainConfig
    train, val : numpy.ndarray
        ``(N, H, W)`` float32 images in [0, 1] (e.g. ``Corpus.train`` / ``Corpus.val``).
    device : torch.device, optional
        Default: this rank's GPU when CUDA is present, else the CPU (its cores
        shared out between the processes).
    """

    def __init__(self, config: TrainConfig, train: np.ndarray, val: np.ndarray,
                 device: torch.device | None = None) -> None:  # fmt: skip
        if train.ndim != 3 or len(train) == 0:
            raise ValueError(f"train must be a non-empty (N, H, W) array, got {train.shape}")
        if val.ndim != 3 or len(val) == 0:
            raise ValueError(f"val must be a non-empty (N, H, W) array, got {val.shape}")
        if config.scheme != "dissertation" and min(train.shape[1:]) < config.patch:
            raise ValueError(f"patch {config.patch} is larger than the images {train.shape[1:]}")
        super().__init__(config, device)
        self.train_images = torch.from_numpy(np.ascontiguousarray(train, dtype=np.float32))
        self.val_images = np.clip(np.round(val * 255), 0, 255).astype(np.uint8)
        self.codec = Codec(
            None if config.scheme == "post_filter" else ComCNN(),
            RecCNN(
                channels=config.channels,
                depth=config.depth,
                pooling=config.pooling,
                shuffle=config.shuffle,
                residual=config.residual,
            ),
            metadata={"training": config.to_dict()},
            name=config.run_name(),  # in every header: validation rates match the saved codec
        ).to(self.device)
        if config.channels_last:
            self.codec.to(memory_format=torch.channels_last)
        self.name, self.metadata = self.codec.name, {}
        if distributed.rank():  # each rank its own torch stream (the weights are drawn)
            torch.manual_seed(config.seed * 1000 + distributed.rank())

    def networks(self) -> dict[str, nn.Module]:
        nets = {"rec": self.codec.reccnn}
        return nets if self.codec.comcnn is None else {"com": self.codec.comcnn} | nets

    def lr(self, name: str, epoch: int) -> float:
        c = self.config
        if name == "com":  # lr / 10 by default: see TrainConfig.com_lr
            return (c.lr / 10 if c.com_lr is None else c.com_lr) * c.lr_decay**epoch
        return c.lr * c.lr_decay**epoch

    def phases(self, steps: int) -> list[Phase]:
        c = self.config
        if c.scheme == "end_to_end":
            return [Phase("joint", steps, ("com", "rec"))]
        rec = Phase("rec", steps)
        if c.scheme == "post_filter":
            return [rec]
        com_steps = steps if c.com_steps is None else c.com_steps
        return [rec, Phase("com", com_steps, ("com",), column="loss_com", counts=False)]

    # ---------------------------------------------------------------- data

    def images(self) -> torch.Tensor:
        """This rank's shard of a batch: ``(B, 1, P, P)`` patches, or whole images."""
        c, b = self.config, self.shard
        n = len(self.train_images)
        if c.scheme == "dissertation":  # whole images, no augmentation
            idx = self.rng.choice(n, size=min(b, n), replace=False)
            x = self.train_images[idx]
        else:
            idx = self.rng.integers(0, n, size=b)
            h, w = self.train_images.shape[1:]
            tops = self.rng.integers(0, h - c.patch + 1, size=b)
            lefts = self.rng.integers(0, w - c.patch + 1, size=b)
            x = torch.stack([self.train_images[i, t : t + c.patch, s : s + c.patch]
                             for i, t, s in zip(idx, tops, lefts, strict=True)])  # fmt: skip
            if c.augment:
                flips = self.rng.integers(0, 2, size=b)
                turns = self.rng.integers(0, 4, size=b)
                x = torch.stack([torch.rot90(p.flip(-1) if f else p, int(k), (-2, -1))
                                 for p, f, k in zip(x, flips, turns, strict=True)])  # fmt: skip
        x = x[:, None].to(self.device)
        if c.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def quality(self) -> int:
        """The JPEG quality of a step: the one, or one drawn from the list."""
        q = self.config.qualities
        return q[0] if len(q) == 1 else int(q[self.rng.integers(0, len(q))])

    def batch(self, phase: str) -> tuple[torch.Tensor, int]:
        return self.images(), self.quality()

    # ---------------------------------------------------------------- losses

    def criterion(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        x_hat = x_hat.float()
        if self.config.loss == "mse":
            return torch.mean((x_hat - x) ** 2)
        if self.config.loss == "l1":
            return torch.mean(torch.abs(x_hat - x))
        return 1.0 - ssim_torch(x_hat, x).mean()

    def loss(self, phase: str, batch, nets: dict[str, nn.Module]) -> torch.Tensor:
        x, quality = batch
        size = tuple(x.shape[-2:])
        if phase == "rec":  # step A: RecCNN learns from the real JPEG of ComCNN's output
            if self.codec.comcnn is not None:
                self.codec.comcnn.eval()
            nets["rec"].train()
            with torch.no_grad(), self.autocast():
                x_compact = self.codec.analysis(x).float()
            x_compact_hat, _ = jpeg.roundtrip(x_compact, quality)
            with self.autocast():
                x_hat = nets["rec"](self.codec.resample_up(x_compact_hat, size))
            return self.criterion(x_hat, x)
        self.com_train_mode(nets["com"])
        if phase == "joint":  # both networks through DiffJPEG
            nets["rec"].train()
            with self.autocast():
                x_hat = self.through(nets["com"], nets["rec"], x, quality, "approx")
            return self.criterion(x_hat, x)
        rec = self.codec.reccnn.eval()  # step B: through the frozen RecCNN
        rec.requires_grad_(False)
        try:
            with self.autocast():
                x_hat = self.through(nets["com"], rec, x, quality, self.config.com_jpeg)
            return self.criterion(x_hat, x)
        finally:
            rec.requires_grad_(True)

    def through(self, com: nn.Module, rec: nn.Module, x, quality: int, mode: str) -> torch.Tensor:
        """``x`` through ``com``, the identity or DiffJPEG, bicubic x2 and ``rec``.

        :meth:`Codec.forward` with ``jpeg_mode=mode``, with the networks passed in
        (DDP-wrapped under torchrun).
        """
        x_compact = com(x)
        if mode == "identity":
            x_compact_hat = x_compact
        else:
            self.codec.diff_jpeg.rounding = self.config.rounding
            x_compact_hat = self.codec.diff_jpeg(torch.clamp(x_compact, 0.0, 1.0), quality)
        return rec(self.codec.resample_up(x_compact_hat, tuple(x.shape[-2:])))

    def com_train_mode(self, com: nn.Module) -> None:
        """ComCNN in training mode; with the warm start its BatchNorm keeps its statistics."""
        com.train()
        if self.config.warm_start:
            for m in self.codec.comcnn.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()

    # ---------------------------------------------------------------- starting points

    def start(self) -> None:
        """A fresh run starts from ``init``, the warm start, or random weights."""
        if self.config.init:
            self.init_from(Codec.load(self.config.init, map_location=self.device))
        elif self.config.warm_start:
            self.warm_start()

    def warm_start(self) -> None:
        """Start from the no-learning baseline: ComCNN downsamples, RecCNN is the identity."""
        self.codec.reccnn.init_as_identity()
        if self.codec.comcnn is not None:
            self.codec.comcnn.init_as_downsampler(self.train_images[:64])

    def init_from(self, start_from: Codec) -> None:
        """Start from a trained codec: each network whose configuration matches is copied.

        A RecCNN of another shape (a new variant trained behind a trained ComCNN)
        starts as the identity, as in the warm start.
        """
        copied = []
        for name in ("comcnn", "reccnn"):
            mine, theirs = getattr(self.codec, name), getattr(start_from, name)
            if mine is not None and theirs is not None and mine.config == theirs.config:
                mine.load_state_dict(theirs.state_dict())
                copied.append(name)
        if not copied:
            raise ValueError(f"init {self.config.init}: no network matches this configuration")
        if "reccnn" not in copied:
            self.codec.reccnn.init_as_identity()


class Trainer(Loop):
    """Train a :class:`~comp_lib.coding.Codec` on patches coded on the fly (the CPU path).

    :class:`Patches` in the one loop (:class:`~comp_lib.train.loop.Loop`):
    ``Trainer(config, corpus.train, corpus.val, "runs/x").fit()`` trains, and
    resumes from ``runs/x/last.pt``.

    Parameters
    ----------
    config : TrainConfig
    train, val : numpy.ndarray
        ``(N, H, W)`` float32 images in [0, 1] (e.g. ``Corpus.train`` / ``Corpus.val``).
    out_dir : path-like
        Where ``last.pt``, ``best.pt``, ``log.csv`` and ``config.json`` go.
    device : torch.device, optional
        Default: this rank's GPU when CUDA is present, else the CPU.
    """

    def __init__(self, config: TrainConfig, train: np.ndarray, val: np.ndarray, out_dir,
                 device: torch.device | None = None) -> None:  # fmt: skip
        super().__init__(Patches(config, train, val, device), out_dir)

    @property
    def val_images(self) -> np.ndarray:
        """The validation images, 8-bit."""
        return self.source.val_images

    def step_rec(self, x: torch.Tensor, quality: int) -> float:
        """Step A: RecCNN learns to reconstruct from the real JPEG of ComCNN's output."""
        return float(self.optimise(Phase("rec", 1), (x, quality)))

    def step_com(self, x: torch.Tensor, quality: int) -> float:
        """Step B: ComCNN learns through the frozen RecCNN and the identity or DiffJPEG."""
        return float(self.optimise(Phase("com", 1, ("com",)), (x, quality)))

    def step_joint(self, x: torch.Tensor, quality: int) -> float:
        """End-to-end: both networks through DiffJPEG."""
        return float(self.optimise(Phase("joint", 1, ("com", "rec")), (x, quality)))
