"""One training loop for both data sources, on one process or many (DDP).

Every epoch the loop runs, in this order::

    update lr    each optimizer's learning rate for the epoch (exponential decay)
    feed batch   the source's next batch: this rank's shard, from its own random stream
    optimise     the source's loss, backward (gradients averaged over the ranks), step
    log          the epoch's row: lr, steps, mean losses over the steps and the ranks
    validate     rank 0: the codec through compress/decompress (:mod:`~comp_lib.train.validation`)
    save         rank 0: log.csv, best.pt (the highest validation gain so far), last.pt

A *source* (:class:`Source`) says what is trained and on what: patches coded on
the fly with the real JPEG, with the paper's schemes (:mod:`comp_lib.train.patches`),
or a bank of whole images coded once per quality (:mod:`comp_lib.train.bank`).

``last.pt``, the one checkpoint schema of both (``torch.save`` of plain values,
read back with ``weights_only=True``)::

    format "comp_lib.train", version 1
    config           the source's settings (to_dict())
    codec            Codec.state(): networks, name, metadata
    optimisers       {name: state_dict} ("rec", and "com" where ComCNN trains)
    epoch, step      epochs done, RecCNN (or joint) optimizer steps done
    steps_per_epoch  as configured, or as sized from a time budget
    log, best_gain   the log's rows, the best validation gain so far
    rng, torch_rng   every rank's numpy and torch random states, in rank order
    world_size       the processes that trained (resume needs as many)
    fingerprints     every rank's weights fingerprint (all equal: checked at each save)

Resume rule: :meth:`Loop.fit` continues from ``last.pt`` when it exists (the
settings must be the same, except ``epochs``, which may grow). ``last.pt`` is
written after every epoch, so a killed run loses at most one epoch, and since
it holds every random state, the same seed and settings on the CPU give the
same log whether or not the run was killed. Every file is written with
:func:`comp_lib.files.atomic_write`. ``best.pt`` is a plain codec checkpoint
whose metadata hold ``training`` (the settings, ``steps_per_epoch``,
``world_size``) and ``validation`` (the chosen epoch's row, per-quality
figures and the machine).
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from comp_lib.coding import Codec
from comp_lib.coding.checkpoint import read_checkpoint, weights_fingerprint, write_checkpoint
from comp_lib.files import atomic_write
from comp_lib.train import distributed
from comp_lib.train.config import LOG_COLUMNS, applied_settings
from comp_lib.train.validation import jpeg_curve, validation_row

__all__ = ["CHECKPOINT_FORMAT", "Loop", "Phase", "Source", "machine_name"]

CHECKPOINT_FORMAT = "comp_lib.train"


@dataclass(frozen=True)
class Phase:
    """A run of ``steps`` optimizer steps within an epoch, each optimising ``optimisers``.

    ``name`` tells the source which loss (``"rec"``: step A, ``"com"``: step B,
    ``"joint"``: both networks); the losses are logged in ``column``; ``counts``:
    whether its steps count in the log's ``step`` column.
    """

    name: str
    steps: int
    optimisers: tuple[str, ...] = ("rec",)
    column: str = "loss_rec"
    counts: bool = True


class Source:
    """What the loop trains and on what: a codec, its batches and its losses (a base class).

    The constructor joins the process group under torchrun, picks the device
    (``device``, else this rank's: :func:`comp_lib.train.distributed.device`),
    seeds torch with ``config.seed`` (the same weights on every rank) and makes
    this rank's random stream ``rng``. Subclasses set ``codec``, ``name``,
    ``val_images`` (8-bit images), ``metadata`` (added to ``best.pt``'s) and
    implement :meth:`networks`, :meth:`batch` and :meth:`loss`.

    Attributes
    ----------
    log_start : bool
        Validate the starting point as epoch 0 before training.
    keeps_start : bool
        The starting point may be ``best.pt`` (a fine-tuned model).
    shard : int
        This rank's share of ``config.batch``.
    """

    log_start = False
    keeps_start = False

    def __init__(self, config, device=None) -> None:
        self.started = time.perf_counter()
        world = distributed.setup()
        if config.batch % world:
            raise ValueError(f"batch {config.batch} does not split over {world} processes")
        self.config = config
        self.shard = config.batch // world
        self.device = torch.device(device) if device is not None else distributed.device()
        if self.device.type == "cpu":
            torch.set_num_threads(distributed.threads())
        rank = distributed.rank()
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed if rank == 0 else [config.seed, rank])

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch; 0: size them from ``config.budget_s``."""
        return self.config.steps

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16,
                              enabled=self.config.precision == "bf16")  # fmt: skip

    def networks(self) -> dict[str, nn.Module]:
        """``{optimizer name: the network it trains}``."""
        raise NotImplementedError

    def lr(self, name: str, epoch: int) -> float:
        """Learning rate of optimizer ``name`` at ``epoch`` (counted from 0)."""
        return self.config.lr * self.config.lr_decay**epoch

    def start(self) -> None:
        """Set the starting point of a fresh run (not called on resume)."""

    def phases(self, steps: int) -> list[Phase]:
        """The phases of an epoch of ``steps`` steps."""
        return [Phase("rec", steps)]

    def batch(self, phase: str):
        """This rank's next batch for ``phase``."""
        raise NotImplementedError

    def loss(self, phase: str, batch, nets: dict[str, nn.Module]) -> torch.Tensor:
        """The loss of ``batch`` for ``phase``, through ``nets`` (DDP-wrapped under torchrun)."""
        raise NotImplementedError


def machine_name(device: torch.device) -> str:
    """The GPU or CPU that trained, and the torch version."""
    from comp_lib.config import cpu_description, cpu_threads

    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    return f"{cpu_description()}, {cpu_threads()} threads (torch {torch.__version__})"


class Loop:
    """Train ``source``'s codec in ``out_dir``; see the module docstring.

    Parameters
    ----------
    source : Source
    out_dir : path-like
        Where ``last.pt``, ``best.pt``, ``log.csv`` and ``config.json`` go.
    """

    def __init__(self, source: Source, out_dir) -> None:
        self.source = source
        self.out_dir = Path(out_dir)
        self.device = source.device
        self.world_size = distributed.world_size()
        if distributed.is_main():
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.optimisers = {
            name: torch.optim.Adam(net.parameters(), lr=source.lr(name, 0))
            for name, net in source.networks().items()
        }
        self.nets, self.wrapped = source.networks(), False  # DDP-wrapped by fit() under torchrun
        self.epoch, self.step, self.steps = 0, 0, source.steps_per_epoch
        self.log: list[dict] = []
        self.best_gain = -math.inf
        self.curve = None  # JPEG's validation curve (rank 0, on first use)

    @property
    def codec(self) -> Codec:
        return self.source.codec

    @property
    def config(self):
        return self.source.config

    # ---------------------------------------------------------------- the loop

    def fit(self, resume: bool = True, progress: bool = True) -> pd.DataFrame:
        """Train until ``config.epochs`` epochs are done (from ``last.pt`` if ``resume``).

        Returns the log (every epoch's, across resumed sessions), on every rank.
        """
        src, c = self.source, self.config
        main = distributed.is_main()
        progress = progress and main
        if main:
            atomic_write(self.out_dir / "config.json", json.dumps(c.to_dict(), indent=2))
        last = self.out_dir / "last.pt"
        if resume and last.is_file():
            self.load_state(read_checkpoint(last, map_location=self.device))
        else:
            src.start()
        if not self.wrapped:  # DDP copies rank 0's weights to every rank here
            self.nets = {n: distributed.wrap(net, self.device) for n, net in src.networks().items()}
            self.wrapped = True
        if src.log_start and not self.log:
            self.validate_start(progress)
        elif not self.steps:
            self.steps = self.size_epochs(0.0, progress)
        while self.epoch < c.epochs:
            start = time.perf_counter()
            lrs = self.update_lr()  # 1. update lr
            losses: dict[str, list[torch.Tensor]] = {}
            for phase in src.phases(self.steps):
                desc = f"epoch {self.epoch + 1}/{c.epochs} {phase.name}"
                bar = tqdm(range(phase.steps), desc=desc, disable=not progress, leave=False)
                for i in bar:
                    batch = src.batch(phase.name)  # 2. feed batch
                    loss = self.optimise(phase, batch)  # 3. optimise
                    losses.setdefault(phase.column, []).append(loss)
                    self.step += phase.counts
                    if progress and i % 10 == 0:
                        bar.set_postfix(loss=f"{float(loss):.5f}")
            self.epoch += 1
            row = dict(epoch=self.epoch, step=self.step, lr=lrs["rec"])  # 4. log
            for column in ("loss_rec", "loss_com"):
                mine = losses.get(column)
                mean = float(torch.stack(mine).double().mean()) if mine else math.nan
                row[column] = distributed.mean(mean) if mine else math.nan
            row, per_quality = self.validate(row)  # 5. validate
            row["seconds"] = round(time.perf_counter() - start, 2)
            self.save(row, per_quality, progress)  # 6. save
        return pd.DataFrame(self.log, columns=LOG_COLUMNS)

    def update_lr(self) -> dict[str, float]:
        lrs = {name: self.source.lr(name, self.epoch) for name in self.optimisers}
        for name, optimiser in self.optimisers.items():
            for group in optimiser.param_groups:
                group["lr"] = lrs[name]
        return lrs

    def optimise(self, phase: Phase, batch) -> torch.Tensor:
        """One optimizer step of ``phase`` on ``batch``; returns the (detached) loss.

        Over the run's first ``config.warmup`` steps (where the config has it) the
        learning rate rises linearly to the epoch's: Adam's first steps move every
        weight by about the learning rate at once, which knocked a warm-started
        post-filter from JPEG's PSNR to about 4 dB below it in one step.
        """
        warmup = getattr(self.config, "warmup", 0)
        if warmup and self.step < warmup:
            for name in phase.optimisers:
                for group in self.optimisers[name].param_groups:
                    group["lr"] = self.source.lr(name, self.epoch) * (self.step + 1) / warmup
        loss = self.source.loss(phase.name, batch, self.nets)
        optimisers = [self.optimisers[name] for name in phase.optimisers]
        for optimiser in optimisers:
            optimiser.zero_grad(set_to_none=True)
        loss.backward()
        for optimiser in optimisers:
            optimiser.step()
        return loss.detach()

    def validate(self, row: dict) -> tuple[dict, dict | None]:
        """Rank 0 validates a copy of the codec; every rank gets the row back."""
        per_quality = None
        if distributed.is_main():
            images = self.source.val_images
            if self.curve is None:
                self.curve = jpeg_curve(images)
            with torch.random.fork_rng(devices=[]):  # building the copy draws weights
                codec = Codec.from_state(self.codec.state(), source="training").to(self.device)
            columns, per_quality = validation_row(codec, images, self.config.val_quality,
                                                  self.curve)  # fmt: skip
            row = row | columns
        return distributed.broadcast((row, per_quality))

    def validate_start(self, progress: bool) -> None:
        """Epoch 0: the starting point's validation (and the epochs sized from the budget)."""
        t = time.perf_counter()
        row = dict(epoch=0, step=0, lr=math.nan, loss_rec=math.nan, loss_com=math.nan)
        row, per_quality = self.validate(row)
        if not self.steps:
            self.steps = self.size_epochs(time.perf_counter() - t, progress)
        row["seconds"] = round(time.perf_counter() - self.source.started, 2)
        self.save(row, per_quality, progress)

    def size_epochs(self, val_s: float, progress: bool, n: int = 12) -> int:
        """Steps per epoch that fit ``config.budget_s``, from a timing probe of ``n`` steps.

        The probe's weights and optimizer states are put back afterwards.
        """
        c, src = self.config, self.source
        budget = getattr(c, "budget_s", 0.0)
        if budget <= 0:
            raise ValueError("give steps > 0 or a time budget budget_s > 0")
        nets = {name: copy.deepcopy(net.state_dict()) for name, net in src.networks().items()}
        states = {name: copy.deepcopy(o.state_dict()) for name, o in self.optimisers.items()}
        phase, times = src.phases(1)[0], []
        for i in range(n):
            t = time.perf_counter()
            self.optimise(phase, src.batch(phase.name))
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            if i >= n // 2:
                times.append(time.perf_counter() - t)
        for name, net in src.networks().items():
            net.load_state_dict(nets[name])
        for name, optimiser in self.optimisers.items():
            optimiser.load_state_dict(states[name])
        probe = float(np.median(times))
        left = budget - (time.perf_counter() - src.started)
        steps = distributed.broadcast(max(1, int((left / c.epochs - 1.2 * val_s) / probe)))
        if progress:
            tqdm.write(f"{src.name}: {probe * 1000:.1f} ms/step, validation {val_s:.1f} s -> "
                       f"{steps} steps x {c.epochs} epochs")  # fmt: skip
        return steps

    # ---------------------------------------------------------------- persistence

    def save(self, row: dict, per_quality: dict | None, progress: bool = False) -> None:
        """Log ``row``; rank 0 writes ``log.csv``, ``best.pt`` (if best) and ``last.pt``."""
        self.log.append(row)
        candidate = row["epoch"] > 0 or self.source.keeps_start
        is_best = candidate and row["val_gain_db"] > self.best_gain
        if is_best:
            self.best_gain = row["val_gain_db"]
        randomness = distributed.gather((self.source.rng.bit_generator.state,
                                         torch.get_rng_state()))  # fmt: skip
        distributed.sync_buffers(self.codec)  # rank 0's BatchNorm statistics, as DDP's
        fingerprints = distributed.gather(weights_fingerprint(self.codec.comcnn, self.codec.reccnn))
        if len(set(fingerprints)) > 1:  # DDP keeps them equal; every rank raises together
            raise RuntimeError(f"the ranks hold different weights: {fingerprints}")
        if distributed.is_main():
            log = pd.DataFrame(self.log, columns=LOG_COLUMNS)
            atomic_write(self.out_dir / "log.csv", log.to_csv(index=False))
            if is_best:
                training = self.config.to_dict() | {"steps_per_epoch": self.steps,
                                                    "world_size": self.world_size}  # fmt: skip
                validation = row | {"per_quality": per_quality,
                                    "machine": machine_name(self.device)}  # fmt: skip
                self.codec.metadata = self.source.metadata | {"training": training,
                                                              "validation": validation}  # fmt: skip
                self.codec.save(self.out_dir / "best.pt")
            state = self.state(randomness, fingerprints)
            write_checkpoint(state, self.out_dir / "last.pt")
            if progress:
                loss = "" if math.isnan(row["loss_rec"]) else f"loss {row['loss_rec']:.5f}, "
                tqdm.write(
                    f"{self.source.name} epoch {row['epoch']}: {loss}val {row['val_psnr']:.3f} dB "
                    f"at {row['val_bpp']:.4f} bpp ({row['val_gain_db']:+.3f} dB vs JPEG), "
                    f"{row['seconds']:.0f} s"
                )
        distributed.barrier()

    def state(self, randomness: list, fingerprints: list) -> dict:
        """The ``last.pt`` dict (see the module docstring)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "version": 1,
            "config": self.config.to_dict(),
            "codec": self.codec.state(),
            "optimisers": {name: o.state_dict() for name, o in self.optimisers.items()},
            "epoch": self.epoch,
            "step": self.step,
            "steps_per_epoch": self.steps,
            "log": self.log,
            "best_gain": self.best_gain,
            "rng": [r for r, _ in randomness],
            "torch_rng": [t for _, t in randomness],
            "world_size": self.world_size,
            "fingerprints": fingerprints,
        }

    def load_state(self, state: dict) -> None:
        """Continue from a ``last.pt`` dict (this schema, or the patch trainer's before it)."""
        where = self.out_dir / "last.pt"
        state = upgrade(state, where)
        mine, theirs = self.config.to_dict(), applied_settings(state["config"])
        changed = sorted(k for k in set(mine) | set(theirs)
                         if k != "epochs" and theirs.get(k) != mine.get(k))  # fmt: skip
        if changed:
            raise ValueError(f"{where} was trained with other settings: {changed}")
        if state["world_size"] != self.world_size:
            raise ValueError(f"{where} was trained by {state['world_size']} processes; resume "
                             f"it with as many (this run has {self.world_size})")  # fmt: skip
        with torch.random.fork_rng(devices=[]):
            restored = Codec.from_state(state["codec"], source=str(where))
        self.codec.load_state_dict(restored.state_dict())
        for name, optimiser in self.optimisers.items():
            optimiser.load_state_dict(state["optimisers"][name])
        self.epoch, self.step, self.steps = state["epoch"], state["step"], state["steps_per_epoch"]
        self.log, self.best_gain = list(state["log"]), state["best_gain"]
        rank = distributed.rank()
        self.source.rng.bit_generator.state = state["rng"][rank]
        torch.set_rng_state(state["torch_rng"][rank])


def upgrade(state: dict, where) -> dict:
    """A ``last.pt`` dict in this module's schema (the patch trainer's older one converted)."""
    if state.get("format") == CHECKPOINT_FORMAT:
        return state
    if "opt_rec" not in state:  # comp_lib.train.bank before issue 15 kept no codec state
        raise ValueError(f"{where} was written by an older comp_lib.train.bank: start a new run")
    optimisers = {"rec": state["opt_rec"]} | ({"com": state["opt_com"]} if state["opt_com"] else {})
    return state | {"optimisers": optimisers, "rng": [state["rng"]],
                    "torch_rng": [state["torch_rng"]], "world_size": 1,
                    "steps_per_epoch": state["config"]["steps"]}  # fmt: skip
