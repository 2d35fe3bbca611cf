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

import hashlib
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from comp_lib import jpeg
from comp_lib.codec import Codec
from comp_lib.config import cpu_threads
from comp_lib.config import device as default_device
from comp_lib.metrics import psnr, ssim, ssim_torch
from comp_lib.models import ComCNN, RecCNN

__all__ = ["SCHEMES", "TrainConfig", "Trainer", "jpeg_curve", "ship", "ship_ladder", "validate"]

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


# --------------------------------------------------------------------------- validation


def jpeg_curve(images: np.ndarray, qualities=range(1, 96, 2)) -> pd.DataFrame:
    """Mean bpp and PSNR of plain JPEG over ``images`` (uint8 ``(N, H, W)``) per quality."""
    rows = []
    for q in qualities:
        bpps, psnrs = [], []
        for image in images:
            data = jpeg.encode(image, q)
            bpps.append(8 * len(data) / image.size)
            psnrs.append(psnr(image, jpeg.decode(data)))
        rows.append(dict(quality=q, bpp=float(np.mean(bpps)), psnr=float(np.mean(psnrs))))
    return pd.DataFrame(rows)


def _jpeg_psnr_at(curve: pd.DataFrame, bpp: float) -> float:
    """JPEG's mean PSNR at ``bpp``, interpolated linearly in log-rate (clamped to the curve)."""
    return float(np.interp(math.log(bpp), np.log(curve.bpp), curve.psnr))


@torch.no_grad()
def validate(codec: Codec, images: np.ndarray, quality: int, chunk: int = 10) -> dict:
    """Mean PSNR, SSIM and bpp of ``codec`` over ``images`` with the real codec.

    Runs :meth:`Codec.forward` with ``jpeg_mode="real"`` in eval mode, which codes
    the same bytes as :meth:`Codec.compress` (bpp counts the header too).
    """
    was_training = codec.training
    codec.eval()
    psnrs, ssims, bpps = [], [], []
    try:
        for i in range(0, len(images), chunk):
            batch = images[i : i + chunk]
            x = torch.from_numpy(batch).float()[:, None].to(codec.device) / 255.0
            out = codec(x, quality=quality, jpeg_mode="real")
            x_hat = jpeg.tensor_to_uint8(out["x_hat"])
            for ref, rec, rate in zip(batch, x_hat, out["bpp"].tolist(), strict=True):
                psnrs.append(psnr(ref, rec))
                ssims.append(ssim(ref, rec))
                bpps.append(rate)
    finally:
        codec.train(was_training)
    return dict(psnr=float(np.mean(psnrs)), ssim=float(np.mean(ssims)), bpp=float(np.mean(bpps)))


# --------------------------------------------------------------------------- trainer


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Trainer:
    """Train a :class:`~comp_lib.codec.Codec` on a corpus; see the module docstring.

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
        _atomic_write(self.out_dir / "log.csv", lambda f: f.write(log.to_csv(index=False).encode()))
        if is_best:
            self.codec.metadata = {"training": self.config.to_dict(), "validation": self.log[-1]}
            self.codec.save(self.out_dir / "best.pt")
        state = self.state()
        _atomic_write(self.out_dir / "last.pt", lambda f: torch.save(state, f))

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
            jpeg_psnr = float(np.mean([_jpeg_psnr_at(self.jpeg_val, r["bpp"]) for r in val]))
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


def ship(run_dir, name: str, notes: str = "") -> Path:
    """Ship a run's best checkpoint as ``comp_lib/weights/<name>.pt`` with a model card.

    Writes ``<name>.pt`` (the codec, fp32 state dicts), ``<name>.log.csv`` (the
    training log) and ``<name>.md``: data, scheme and settings, steps, wall time,
    machine, and the validation figures of the shipped epoch; ``notes`` is
    appended (e.g. the test-set results). ``Codec.load(name)`` then loads it offline.
    """
    from comp_lib.config import WEIGHTS_DIR, cpu_name, git_commit

    run_dir = Path(run_dir)
    codec = Codec.load(run_dir / "best.pt")
    log = pd.read_csv(run_dir / "log.csv")
    best = codec.metadata.get("validation", {})
    config = codec.metadata.get("training", {})
    data_file = run_dir / "data.json"
    data = (
        json.loads(data_file.read_text()) if data_file.is_file() else codec.metadata.get("data", {})
    )  # fmt: skip  (comp_lib.bank stores it there)
    codec.metadata |= {"name": name, "data": data}
    codec.name = name  # the shipped name goes into every header it writes
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    path = codec.save(WEIGHTS_DIR / f"{name}.pt")
    log.to_csv(WEIGHTS_DIR / f"{name}.log.csv", index=False)
    n_params = sum(p.numel() for p in codec.parameters())
    module = "comp_lib.bank" if config.get("scheme") == "bank" else "comp_lib.train"
    machine = best.get("machine") or f"{cpu_name()} ({os.cpu_count()} cores, CPU only)"
    hours = log.seconds.sum() / 3600
    rows = "\n".join(f"| {k} | `{v}` |" for k, v in config.items())
    rec = codec.reccnn.config
    body = f"{rec['channels']} channels x {rec['depth']} layers" + (
        f", body at 1/{rec['shuffle']} resolution" if rec.get("shuffle", 1) > 1 else ""
    )
    if codec.comcnn is None:
        what = (f"RecCNN only ({body}): a JPEG post-filter at full resolution, the *RecCNN "
                "only* configuration of Jiang et al. (2017), Table I")  # fmt: skip
    else:
        what = f"ComCNN + RecCNN ({body}) of Jiang et al. (2017)"
    if config.get("scheme") == "bank":
        data_line = (
            f"{data.get('train_files', '?')} training images at native size (the union of the "
            f"train splits of the default corpora of {data.get('n_images', '?')} images: BSDS300 "
            "train and Train400, grayscale), each coded whole at every training quality "
            f"(`comp_lib.bank`), validated on the {data.get('val_files', '?')} held-out "
            "validation images (`data.holdout_images`)"
        )
    elif config.get("native_tiles"):
        tile = config["native_tiles"]
        data_line = (
            f"{data.get('train', '?')} tiles of {tile}x{tile} cut at native scale from the "
            f"{data.get('train_files', '?')} training images of the corpus "
            f"(`notebooks/00_preprocessing` with {data.get('n_images', '?')} images: BSDS300 "
            f"train and Train400, grayscale), validated on the first {data.get('val', '?')} "
            "tiles of its validation images"
        )
    else:
        data_line = (
            f"the default corpus of `notebooks/00_preprocessing`, "
            f"{data.get('train', 450)} training images (BSDS300 train and Train400, grayscale, "
            "180x180), validated on the first validation images"
        )
    card = f"""# Model card: {name}

{what}, {n_params:,} parameters, {path.stat().st_size / 1e6:.2f} MB (fp32).
Load it with `Codec.load("{name}")`.

- **Data**: {data_line}.
- **Training**: `{module}`, scheme `{config.get("scheme")}`, {int(log.step.iloc[-1])}
  RecCNN steps over {int(log.epoch.max())} epochs; shipped epoch {best.get("epoch", "?")}
  (best validation gain over JPEG at equal bpp). Wall time {hours:.2f} h on {machine},
  git {git_commit()}.
- **Validation at the shipped epoch** (real codec, mean over qualities
  {config.get("val_quality")}): PSNR {best.get("val_psnr", float("nan")):.3f} dB, SSIM
  {best.get("val_ssim", float("nan")):.4f}, {best.get("val_bpp", float("nan")):.4f} bpp; JPEG at
  the same bpp {best.get("val_jpeg_psnr", float("nan")):.3f} dB, gain
  {best.get("val_gain_db", float("nan")):+.3f} dB.

## Settings

| setting | value |
|---|---|
{rows}

Training log: `{name}.log.csv`.
{notes}
"""
    (WEIGHTS_DIR / f"{name}.md").write_text(card)
    return path


def _corpus_sizes(codec) -> list:
    """The corpus sizes a shipped model trained on (500 by default; none for fixed coders)."""
    data = getattr(codec, "metadata", None)
    if data is None:
        return []
    data = data.get("data", {})
    sizes = data.get("n_images", 500)
    return sizes if isinstance(sizes, list) else [sizes]


def ship_ladder(name: str, models: list[str], qualities, progress: bool = True) -> Path:
    """Ship the best of several shipped models at each rate as ``weights/<name>.ladder.json``.

    The rungs come from the models' PSNR envelope
    (:func:`comp_lib.evaluate.choose_ladder`) on the validation images that
    none of them trained on (:func:`comp_lib.data.holdout_images`; each model's
    corpus size is read from its metadata, 500 by default), at native size:
    never the test set. Writes the ladder and a card ``<name>.ladder.md`` with
    the rungs and the curves they were chosen from.
    """
    from comp_lib.codec import load_model
    from comp_lib.config import WEIGHTS_DIR, git_commit
    from comp_lib.data import build_corpus, holdout_images
    from comp_lib.evaluate import choose_ladder

    codecs = {m: load_model(m) for m in models}
    sizes = sorted({int(n) for c in codecs.values() for n in _corpus_sizes(c)})
    corpora = [build_corpus(n_images=n, progress=False) for n in sizes]
    images = holdout_images(corpora)
    ladder, curves = choose_ladder(codecs, images, qualities, name=name, progress=progress)
    path = ladder.save(WEIGHTS_DIR / f"{name}.ladder.json")
    chosen = pd.DataFrame(ladder.rungs, columns=["model", "quality"])
    chosen["holdout_bpp"] = ladder.bpp
    on = curves.set_index(["codec", "setting"])
    chosen["holdout_psnr"] = [round(float(on.loc[r, "psnr"]), 3) for r in ladder.rungs]
    card = f"""# Ladder: {name}

The best of the shipped models {", ".join(f"`{m}`" for m in models)} at each rate: rung
`i` of `Ladder.load("{name}")` codes with the model and inner JPEG quality below (the
setting of `compress`), and `decompress` picks the model the header names. Chosen on the
upper PSNR envelope of the models' mean curves over {len(images)} validation images at native
size that none of them trained on (corpora of {sizes} images; qualities {list(qualities)}),
never on the test set. git {git_commit()}.

{chosen.to_markdown(index=False)}

## Curves it was chosen from

{curves[["codec", "setting", "bpp", "psnr", "ssim"]].round(4).to_markdown(index=False)}
"""
    (WEIGHTS_DIR / f"{name}.ladder.md").write_text(card)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: train on the default corpus, resuming from ``OUT/last.pt`` when present.

    ``python -m comp_lib.train --out runs/paper --epochs 15 --steps 100 --quality 10 30 50``
    """
    import argparse

    from comp_lib.data import build_corpus, native_tiles

    parser = argparse.ArgumentParser(prog="python -m comp_lib.train", description=main.__doc__)
    parser.add_argument("--out", required=True, help="run folder (checkpoints, log.csv)")
    parser.add_argument("--val-images", type=int, default=None, help="validate on the first N")
    parser.add_argument("--n-images", type=int, default=500, help="corpus size (train + val)")
    parser.add_argument("--quiet", action="store_true")
    defaults = TrainConfig()
    for name, value in (defaults.to_dict() | {"native_tiles": 0}).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(
                flag, type=lambda v: v.lower() in ("1", "true", "yes"), default=value
            )
        elif name in ("quality", "val_quality"):
            parser.add_argument(flag, type=int, nargs="+", default=value)
        elif value is None:  # optional settings
            kind = {"com_steps": int, "com_lr": float, "init": str}[name]
            parser.add_argument(flag, type=kind, default=None)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    args = vars(parser.parse_args(argv))
    out, val_images, n_images, quiet = (
        args.pop(k) for k in ("out", "val_images", "n_images", "quiet")
    )
    config = TrainConfig(**args)
    corpus = build_corpus(n_images=n_images, progress=not quiet)
    train, val = corpus.train, corpus.val
    if config.native_tiles:
        train, val = (native_tiles(corpus, s, config.native_tiles) for s in ("train", "val"))
    trainer = Trainer(config, train, val[:val_images], out)
    data = dict(n_images=n_images, corpus=corpus.params["key"][:16],
                train_files=len(corpus.train), val_files=len(corpus.val),
                train=len(train), val=len(trainer.val_images))  # fmt: skip
    (trainer.out_dir / "data.json").write_text(json.dumps(data, indent=1) + "\n")
    trainer.fit(resume=True, progress=not quiet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
