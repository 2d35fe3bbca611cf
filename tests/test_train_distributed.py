"""Data-parallel training: ``torchrun`` with two CPU processes (gloo) runs the one loop."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pandas as pd
import torch

from comp_lib import zoo
from comp_lib.coding import Codec


def test_torchrun_two_processes_train_in_step_and_resume(tmp_path, monkeypatch):
    """Two ranks, distinct random streams, the same weights after every epoch; world_size recorded.

    The loop gathers every rank's weights fingerprint at each save and records
    them in ``last.pt``: with different shards on each rank, they are equal only
    if DDP averaged the gradients of both networks (each in its own step). A
    second launch with more epochs resumes both ranks from ``last.pt``.
    """
    out = tmp_path / "ddp"
    args = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "-m", "comp_lib.train", "--out", str(out), "--channels", "8", "--depth", "3",
            "--epochs", "1", "--steps", "2", "--com-steps", "2", "--batch", "4", "--patch", "32",
            "--quality", "10", "40", "--val-quality", "10", "--val-images", "2",
            "--n-images", "20", "--quiet"]  # fmt: skip
    env = os.environ | {"COMP_LIB_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    last = torch.load(out / "last.pt", weights_only=True)
    assert last["world_size"] == 2 and last["epoch"] == 1 and last["step"] == 2
    assert len(last["rng"]) == 2 and last["rng"][0] != last["rng"][1]  # a stream per rank
    weights = Codec.from_state(last["codec"]).fingerprint
    assert last["fingerprints"] == [weights, weights]  # rank 0 and rank 1 hold the same weights
    assert set(last["optimisers"]) == {"com", "rec"}
    best = Codec.load(out / "best.pt")
    assert best.metadata["training"]["world_size"] == 2
    assert best.fingerprint == weights
    log = pd.read_csv(out / "log.csv")
    assert list(log.epoch) == [1] and (log.loss_rec > 0).all() and (log.loss_com > 0).all()
    # resume: every rank continues from its own random stream in last.pt
    more = args.copy()
    more[more.index("--epochs") + 1] = "2"
    run = subprocess.run(more, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    again = torch.load(out / "last.pt", weights_only=True)
    assert again["epoch"] == 2 and again["step"] == 4 and again["world_size"] == 2
    assert again["fingerprints"][0] == again["fingerprints"][1] != weights
    resumed = pd.read_csv(out / "log.csv")
    assert list(resumed.epoch) == [1, 2]
    pd.testing.assert_frame_equal(resumed.iloc[:1], log)
    print(f"torchrun, 2 processes: {seconds:.1f} s for the first run")
    # the model card of the run records its world size
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "weights")
    zoo.ship(out, "ddp-tiny")
    card = (tmp_path / "weights" / "ddp-tiny.md").read_text()
    assert "2 data-parallel processes (DDP) (world size 2)" in card
    assert "| world_size | `2` |" in card
    assert Codec.load(tmp_path / "weights" / "ddp-tiny.pt").fingerprint == again["fingerprints"][0]
