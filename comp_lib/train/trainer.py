"""Training ComCNN and RecCNN: the paper's alternating algorithm, the dissertation's, end-to-end.

The codec in the middle (JPEG) is not differentiable, so Jiang et al. train
the two networks in turn (Sec. III-C, Algorithm 1). One *epoch* here is one
round of that algorithm::

    step A (RecCNN learns, ComCNN frozen):
        x -> ComCNN -> 8-bit -> real JPEG -> bicubic x2 -> RecCNN -> x_hat;  loss(x_hat, x)
    step B (ComCNN learns, RecCNN frozen):
        x -> ComCNN -> identity (paper) or DiffJPEG -> bicubic x2 -> RecCNN -> x_hat;  same loss

Since ``x_hat = x_up - residual``, the MSE on ``x_hat`` is the paper's MSE on
the residual. Schemes:

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

Every epoch the loop runs, in order: update lr, feed batches and optimize,
log, validate (on the validation split, with the *real* codec: PSNR, SSIM and
bpp from real bytes, and the PSNR gain over JPEG at the same bpp), save
(atomically: ``last.pt`` with the whole training state, ``best.pt`` the best
codec by that gain, ``log.csv``). :meth:`Trainer.fit` resumes from
``last.pt``, so a killed run loses at most one epoch; the same seed and
settings on the CPU give the same log.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.config import cpu_threads
from comp_lib.config import device as default_device
from comp_lib.files import atomic_write
from comp_lib.metrics import ssim_torch
from comp_lib.models import ComCNN, RecCNN
from comp_lib.train.config import LOG_COLUMNS, TrainConfig
from comp_lib.train.validation import gain_over_jpeg, jpeg_curve, validate

__all__ = ["Trainer"]


class Trainer:
    """Train a :class:`~comp_lib.coding.Codec` on a corpus; see the module docstring.

    Parameters
    ----------
    config : TrainConfig
    train, val : numpy.ndarray
        ``(N, H, W)`` float32 images in [0, 1] (e.g. ``Corpus.train`` / ``Corpus.val``).
    out_dir : path-like
        Where ``last.pt``, ``best.pt``, ``log.csv`` and ``config.json`` go.
    device : torch.device, optional
        Default: CUDA when present, else the CPU (with every core as a thread).
    """

    def __init__(self, config: TrainConfig, train: np.ndarray, val: np.ndarray, out_dir,
                 device: torch.device | None = None) -> None:  # fmt: skip
        if train.ndim != 3 or len(train) == 0:
            raise ValueError(f"train must be a non-empty (N, H, W) array, got {train.shape}")
        if val.ndim != 3 or len(val) == 0:
            raise ValueError(f"val must be a non-empty (N, H, W) array, got {val.shape}")
        self.config = config
        self.device = device or default_device()
        if self.device.type == "cpu":
            torch.set_num_threads(cpu_threads())
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.train_images = torch.from_numpy(np.ascontiguousarray(train, dtype=np.float32))
        self.val_images = np.clip(np.round(val * 255), 0, 255).astype(np.uint8)
        if config.scheme != "dissertation" and min(train.shape[1:]) < config.patch:
            raise ValueError(f"patch {config.patch} is larger than the images {train.shape[1:]}")

        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
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
        self.opt_com = (
            None
            if self.codec.comcnn is None
            else torch.optim.Adam(self.codec.comcnn.parameters(), lr=self.com_lr(0))
        )
        self.opt_rec = torch.optim.Adam(self.codec.reccnn.parameters(), lr=config.lr)
        self.epoch = 0
        self.step = 0
        self.log: list[dict] = []
        self.best_gain = -math.inf
        self.jpeg_val = jpeg_curve(self.val_images)

    def com_lr(self, epoch: int) -> float:
        c = self.config
        return (c.lr / 10 if c.com_lr is None else c.com_lr) * c.lr_decay**epoch

    def _com_train_mode(self) -> nn.Module:
        com = self.codec.comcnn.train()
        if self.config.warm_start:
            for m in com.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return com

    # ---------------------------------------------------------------- data

    def _batch(self) -> torch.Tensor:
        c = self.config
        n = len(self.train_images)
        if c.scheme == "dissertation":  # whole images, no augmentation
            idx = self.rng.choice(n, size=min(c.batch, n), replace=False)
            x = self.train_images[idx]
        else:
            idx = self.rng.integers(0, n, size=c.batch)
            h, w = self.train_images.shape[1:]
            tops = self.rng.integers(0, h - c.patch + 1, size=c.batch)
            lefts = self.rng.integers(0, w - c.patch + 1, size=c.batch)
            x = torch.stack([self.train_images[i, t : t + c.patch, s : s + c.patch]
                             for i, t, s in zip(idx, tops, lefts, strict=True)])  # fmt: skip
            if c.augment:
                flips = self.rng.integers(0, 2, size=c.batch)
                turns = self.rng.integers(0, 4, size=c.batch)
                x = torch.stack([torch.rot90(p.flip(-1) if f else p, int(k), (-2, -1))
                                 for p, f, k in zip(x, flips, turns, strict=True)])  # fmt: skip
        x = x[:, None].to(self.device)
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _quality(self) -> int:
        q = self.config.qualities
        return q[0] if len(q) == 1 else int(q[self.rng.integers(0, len(q))])

    # ---------------------------------------------------------------- steps

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16,
                              enabled=self.config.precision == "bf16")  # fmt: skip

    def _loss(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        x_hat = x_hat.float()
        if self.config.loss == "mse":
            return torch.mean((x_hat - x) ** 2)
        if self.config.loss == "l1":
            return torch.mean(torch.abs(x_hat - x))
        return 1.0 - ssim_torch(x_hat, x).mean()

    def _optimize(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> float:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    def step_rec(self, x: torch.Tensor, quality: int) -> float:
        """Step A: RecCNN learns to reconstruct from the real JPEG of ComCNN's output."""
        if self.codec.comcnn is not None:
            self.codec.comcnn.eval()
        self.codec.reccnn.train()
        with torch.no_grad(), self._autocast():
            x_compact = self.codec.analysis(x).float()
        x_compact_hat, _ = jpeg.roundtrip(x_compact, quality)
        with self._autocast():
            x_hat = self.codec.synthesis(x_compact_hat, tuple(x.shape[-2:]))["x_hat"]
        return self._optimize(self.opt_rec, self._loss(x_hat, x))

    def step_com(self, x: torch.Tensor, quality: int) -> float:
        """Step B: ComCNN learns through the frozen RecCNN and the identity or DiffJPEG."""
        self._com_train_mode()
        rec = self.codec.reccnn.eval()
        rec.requires_grad_(False)
        try:
            with self._autocast():
                out = self.codec(x, quality, jpeg_mode=self.config.com_jpeg,
                                 rounding=self.config.rounding)  # fmt: skip
            return self._optimize(self.opt_com, self._loss(out["x_hat"], x))
        finally:
            rec.requires_grad_(True)

    def step_joint(self, x: torch.Tensor, quality: int) -> float:
        """End-to-end: both networks through DiffJPEG."""
        self.codec.reccnn.train()
        self._com_train_mode()
        with self._autocast():
            out = self.codec(x, quality, jpeg_mode="approx", rounding=self.config.rounding)
        loss = self._loss(out["x_hat"], x)
        self.opt_com.zero_grad(set_to_none=True)
        self.opt_rec.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_com.step()
        self.opt_rec.step()
        return float(loss.detach())

    def _reccnn_as_identity(self) -> None:
        """Zero RecCNN's last layer: no residual, so RecCNN starts as the identity."""
        last = [m for m in self.codec.reccnn.modules() if isinstance(m, nn.Conv2d)][-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def _warm_start(self) -> None:
        """Start from the no-learning baseline: ComCNN downsamples, RecCNN is the identity."""
        self._reccnn_as_identity()
        if self.codec.comcnn is not None:
            self.codec.comcnn.init_as_downsampler(self.train_images[:64])

    def _init_from(self, start_from: Codec) -> None:
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
            self._reccnn_as_identity()

    # ---------------------------------------------------------------- persistence

    def state(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "codec": self.codec.state(),
            "opt_com": {} if self.opt_com is None else self.opt_com.state_dict(),
            "opt_rec": self.opt_rec.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "log": self.log,
            "best_gain": self.best_gain,
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
        }

    def load_state(self, state: dict) -> None:
        if state["config"] != self.config.to_dict():
            changed = {k for k, v in self.config.to_dict().items() if state["config"].get(k) != v}
            raise ValueError(f"{self.out_dir}/last.pt was trained with other settings: {changed}")
        restored = Codec.from_state(state["codec"], source="last.pt").to(self.device)
        self.codec.load_state_dict(restored.state_dict())
        if self.opt_com is not None:
            self.opt_com.load_state_dict(state["opt_com"])
        self.opt_rec.load_state_dict(state["opt_rec"])
        self.epoch, self.step = state["epoch"], state["step"]
        self.log, self.best_gain = list(state["log"]), state["best_gain"]
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])

    def save(self, is_best: bool) -> None:
        """Write ``log.csv``, ``best.pt`` (if best), then ``last.pt``, each atomically."""
        log = pd.DataFrame(self.log, columns=LOG_COLUMNS)
        atomic_write(self.out_dir / "log.csv", log.to_csv(index=False))
        if is_best:
            self.codec.metadata = {"training": self.config.to_dict(), "validation": self.log[-1]}
            self.codec.save(self.out_dir / "best.pt")
        state = self.state()
        atomic_write(self.out_dir / "last.pt", lambda f: torch.save(state, f))

    # ---------------------------------------------------------------- loop

    def fit(self, resume: bool = True, progress: bool = True) -> pd.DataFrame:
        """Train for ``config.epochs`` epochs (continuing from ``last.pt`` if ``resume``)."""
        c = self.config
        (self.out_dir / "config.json").write_text(json.dumps(c.to_dict(), indent=2))
        last = self.out_dir / "last.pt"
        if resume and last.is_file():
            self.load_state(torch.load(last, map_location=self.device, weights_only=True))
        elif c.init:
            self._init_from(Codec.load(c.init, map_location=self.device))
        elif c.warm_start:
            self._warm_start()
        while self.epoch < c.epochs:
            start = time.perf_counter()
            lr = c.lr * c.lr_decay**self.epoch  # update lr
            for opt, value in ((self.opt_rec, lr), (self.opt_com, self.com_lr(self.epoch))):
                for group in [] if opt is None else opt.param_groups:
                    group["lr"] = value
            loss_rec, loss_com = [], []
            bar = tqdm(range(c.steps), desc=f"epoch {self.epoch + 1}/{c.epochs}",
                       disable=not progress, leave=False)  # fmt: skip
            for _ in bar:  # feed batch, optimize
                if c.scheme == "end_to_end":
                    loss_rec.append(self.step_joint(self._batch(), self._quality()))
                else:
                    loss_rec.append(self.step_rec(self._batch(), self._quality()))
                self.step += 1
                bar.set_postfix(loss=f"{loss_rec[-1]:.5f}")
            if c.scheme not in ("end_to_end", "post_filter"):
                com_steps = c.steps if c.com_steps is None else c.com_steps
                for _ in tqdm(range(com_steps), desc="  ComCNN", disable=not progress, leave=False):
                    loss_com.append(self.step_com(self._batch(), self._quality()))
            self.epoch += 1
            val = [validate(self.codec, self.val_images, q) for q in c.val_quality]  # validate
            v = {k: float(np.mean([r[k] for r in val])) for k in ("psnr", "ssim", "bpp")}
            jpeg_psnr = float(
                np.mean([gain_over_jpeg(r["psnr"], r["bpp"], self.jpeg_val)[0] for r in val])
            )
            row = dict(
                epoch=self.epoch, step=self.step, lr=lr,
                loss_rec=float(np.mean(loss_rec)),
                loss_com=float(np.mean(loss_com)) if loss_com else float("nan"),
                val_psnr=v["psnr"], val_ssim=v["ssim"], val_bpp=v["bpp"],
                val_jpeg_psnr=jpeg_psnr, val_gain_db=v["psnr"] - jpeg_psnr,
                seconds=round(time.perf_counter() - start, 2),
            )  # fmt: skip
            self.log.append(row)  # log
            is_best = row["val_gain_db"] > self.best_gain
            self.best_gain = max(self.best_gain, row["val_gain_db"])
            self.save(is_best)  # save
            if progress:
                tqdm.write(
                    f"epoch {self.epoch}: loss {row['loss_rec']:.5f}, val {v['psnr']:.2f} dB "
                    f"at {v['bpp']:.3f} bpp ({row['val_gain_db']:+.2f} dB vs JPEG), "
                    f"{row['seconds']:.0f} s"
                )
        return pd.DataFrame(self.log, columns=LOG_COLUMNS)
