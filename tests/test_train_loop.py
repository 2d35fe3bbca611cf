"""comp_lib.train.loop: which epoch best.pt keeps, the checkpoint schema, the resume rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from comp_lib.coding import Codec
from comp_lib.train import TrainConfig, Trainer, loop

TINY = dict(channels=8, depth=3, patch=32, batch=4, steps=1, quality=10, scheme="post_filter")


@pytest.fixture(scope="module")
def images(bsds_test):
    """Real photos as float [0, 1] 64x64 crops: 8 to train on, 2 to validate on."""
    x = np.stack([img[100:164, 100:164] for _, img in bsds_test[:10]]).astype(np.float32) / 255
    return x[:8], x[8:]


def test_best_is_the_epoch_with_the_highest_gain_negative_or_not(images, tmp_path, monkeypatch):
    """Gains -2, -0.5, -1, -3 dB: best.pt is epoch 2 (not the largest magnitude, not none)."""
    gains, seen = [-2.0, -0.5, -1.0, -3.0], []

    def scripted(codec, val, qualities, curve):
        seen.append(codec.fingerprint)  # the weights validated at this epoch
        g = gains[len(seen) - 1]
        columns = dict(val_psnr=30.0 + g, val_ssim=0.9, val_bpp=0.5, val_jpeg_psnr=30.0,
                       val_gain_db=g)  # fmt: skip
        return columns, {"quality": [10], "psnr": [30.0 + g], "ssim": [0.9], "bpp": [0.5]}

    monkeypatch.setattr(loop, "validation_row", scripted)
    log = Trainer(TrainConfig(**TINY | dict(epochs=4)), *images, tmp_path).fit(progress=False)
    assert list(log.val_gain_db) == gains and len(set(seen)) == 4
    best = Codec.load(tmp_path / "best.pt")
    assert best.metadata["validation"]["epoch"] == 2
    assert best.metadata["validation"]["val_gain_db"] == -0.5
    assert best.fingerprint == seen[1]
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["best_gain"] == -0.5 and last["epoch"] == 4 and last["world_size"] == 1


def test_resume_reads_the_older_trainer_checkpoint(images, tmp_path):
    """A ``last.pt`` of the patch trainer before issue 15 resumes, and ends as a clean run."""
    config = TrainConfig(**TINY | dict(epochs=1))
    Trainer(config, *images, tmp_path / "old").fit(progress=False)
    new = torch.load(tmp_path / "old" / "last.pt", weights_only=True)
    old = {k: new[k] for k in ("config", "codec", "epoch", "step", "log", "best_gain")}
    old |= dict(opt_com={}, opt_rec=new["optimisers"]["rec"], rng=new["rng"][0],
                torch_rng=new["torch_rng"][0])  # fmt: skip
    torch.save(old, tmp_path / "old" / "last.pt")
    longer = TrainConfig(**TINY | dict(epochs=2))  # epochs may grow on resume
    resumed = Trainer(longer, *images, tmp_path / "old").fit(progress=False)
    clean = Trainer(longer, *images, tmp_path / "clean").fit(progress=False)
    pd.testing.assert_frame_equal(resumed.drop(columns="seconds"), clean.drop(columns="seconds"))


def test_resume_refuses_another_world_size(images, tmp_path):
    config = TrainConfig(**TINY | dict(epochs=1))
    Trainer(config, *images, tmp_path).fit(progress=False)
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    torch.save(state | {"world_size": 2}, tmp_path / "last.pt")
    with pytest.raises(ValueError, match="trained by 2 processes"):
        Trainer(TrainConfig(**TINY | dict(epochs=2)), *images, tmp_path).fit(progress=False)


@pytest.mark.parametrize("keeps_start", [False, True])
def test_best_pt_log_and_last_pt_of_a_scripted_run(images, tmp_path, monkeypatch, capsys,
                                                   keeps_start):  # fmt: skip
    """Epoch 0 (the starting point) is a candidate for best.pt only if the source keeps it;
    a tie keeps the earlier epoch; log.csv, best.pt's metadata, last.pt and the progress
    lines say what the run did."""
    from comp_lib.coding.checkpoint import weights_fingerprint

    gains = [0.5, -1.0, -1.0, -2.0]  # epochs 0..3

    def scripted(codec, val, qualities, curve):
        g = gains.pop(0)  # the columns in another order than log.csv's: save puts them in order
        columns = dict(val_gain_db=g, val_jpeg_psnr=30.0, val_bpp=0.5, val_ssim=0.9,
                       val_psnr=30.0 + g)  # fmt: skip
        return columns, {"quality": [10], "psnr": [30.0 + g], "ssim": [0.9], "bpp": [0.5]}

    monkeypatch.setattr(loop, "validation_row", scripted)
    trainer = Trainer(TrainConfig(**TINY | dict(epochs=3)), *images, tmp_path)
    trainer.source.log_start, trainer.source.keeps_start = True, keeps_start
    log = trainer.fit(progress=True)
    best = Codec.load(tmp_path / "best.pt")
    assert best.metadata["validation"]["epoch"] == (0 if keeps_start else 1)
    # log.csv: the returned log, its columns, no index column
    on_disk = pd.read_csv(tmp_path / "log.csv")
    assert on_disk.columns.tolist() == loop.LOG_COLUMNS == log.columns.tolist()
    pd.testing.assert_frame_equal(on_disk, log, check_dtype=False)
    # best.pt says how it was trained and validated
    training, validation = best.metadata["training"], best.metadata["validation"]
    assert training["steps_per_epoch"] == trainer.steps and training["world_size"] == 1
    assert validation["per_quality"] == {"quality": [10], "psnr": [30.5 if keeps_start else 29.0],
                                         "ssim": [0.9], "bpp": [0.5]}  # fmt: skip
    assert validation["machine"] == loop.machine_name(trainer.device)
    # last.pt: the weights of the last epoch, by fingerprint
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["fingerprints"] == [weights_fingerprint(trainer.codec.comcnn, trainer.codec.reccnn)]
    out = capsys.readouterr().out
    assert "epoch 0: val 30.500 dB at 0.5000 bpp (+0.500 dB vs JPEG)" in out  # no loss yet
    assert f"epoch 1: loss {log.loss_rec[1]:.5f}, val 29.000 dB at 0.5000 bpp (-1.000 dB" in out


def test_save_makes_the_ranks_agree_and_refuses_ranks_that_do_not(images, tmp_path, monkeypatch):
    """Every save copies rank 0's BatchNorm statistics (of the whole codec) to the others,
    gathers each rank's weights fingerprint (ComCNN's and RecCNN's) and stops when two differ.
    One process plays two ranks here: ``gather`` answers with a second, different rank."""
    from comp_lib.coding.checkpoint import weights_fingerprint
    from comp_lib.train import distributed

    trainer = Trainer(TrainConfig(**TINY | dict(epochs=1, scheme="alternating")), *images,
                      tmp_path)  # fmt: skip
    synced, gathered = [], []
    monkeypatch.setattr(distributed, "sync_buffers", synced.append)
    trainer.fit(progress=False)
    assert synced and all(m is trainer.codec for m in synced)
    expected = weights_fingerprint(trainer.codec.comcnn, trainer.codec.reccnn)
    assert expected != weights_fingerprint(None, trainer.codec.reccnn)
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["fingerprints"] == [expected]

    def two_ranks(obj):
        gathered.append(obj)
        return [obj, "0" * 16] if isinstance(obj, str) else [obj, obj]

    monkeypatch.setattr(distributed, "gather", two_ranks)
    row = dict(trainer.log[-1], epoch=2)
    with pytest.raises(RuntimeError) as err:
        trainer.save(row, None)
    assert str(err.value) == f"the ranks hold different weights: {[expected, '0' * 16]}"
    assert expected in gathered
