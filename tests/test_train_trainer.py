import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from comp_lib.coding import Codec
from comp_lib.train import LOG_COLUMNS, TrainConfig, Trainer, jpeg_curve, validate
from comp_lib.train.__main__ import main as train_main

TINY = dict(channels=8, depth=3, patch=32, batch=4, steps=3, com_steps=2, quality=[10, 40])


@pytest.fixture(scope="module")
def images(bsds_test):
    """Real photos as float [0, 1] 96x96 crops: 12 to train on, 4 to validate on."""
    crops = [img[100:196, 100:196] for _, img in bsds_test[:16]]
    x = np.stack(crops).astype(np.float32) / 255
    return x[:12], x[12:]


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(scheme="sgd"),
        dict(loss="psnr"),
        dict(com_jpeg="real"),
        dict(quality=0),
        dict(quality=[10, 99]),
        dict(steps=0),
        dict(lr=0),
        dict(lr_decay=1.5),
        dict(precision="fp16"),
    ],
)
def test_bad_config(kwargs):
    with pytest.raises((ValueError, TypeError)):
        TrainConfig(**kwargs)


def test_each_step_trains_only_its_network(images, tmp_path):
    t = Trainer(TrainConfig(**TINY), *images, tmp_path)
    t.source.warm_start()
    com, rec = params(t.codec.comcnn), params(t.codec.reccnn)
    t.step_rec(t.source.images(), 10)
    assert same(com, params(t.codec.comcnn)) and not same(rec, params(t.codec.reccnn))
    rec = params(t.codec.reccnn)
    t.step_com(t.source.images(), 10)
    assert not same(com, params(t.codec.comcnn)) and same(rec, params(t.codec.reccnn))
    assert all(p.requires_grad for p in t.codec.reccnn.parameters())
    com = params(t.codec.comcnn)
    t.step_joint(t.source.images(), 10)
    assert not same(com, params(t.codec.comcnn)) and not same(rec, params(t.codec.reccnn))


def test_warm_start_is_the_no_learning_baseline(images, tmp_path):
    t = Trainer(TrainConfig(**TINY), *images, tmp_path)
    t.source.warm_start()
    x = t.source.images()
    t.codec.eval()
    with torch.no_grad():
        out = t.codec(x, 10, jpeg_mode="identity")
    assert torch.allclose(out["x_hat"], out["x_up"])  # RecCNN starts as the identity
    err = torch.mean((out["x_hat"] - x) ** 2).item()
    assert 10 * np.log10(1 / err) > 25  # down + up alone keeps most of a real photo


def test_batches(images, tmp_path):
    t = Trainer(TrainConfig(**TINY), *images, tmp_path)
    assert t.source.images().shape == (4, 1, 32, 32)
    d = Trainer(TrainConfig(**TINY | dict(scheme="dissertation")), *images, tmp_path)
    whole = d.source.images()
    assert whole.shape == (4, 1, 96, 96)  # whole images, no patches
    rows = [torch.from_numpy(img) for img in images[0]]
    assert all(any(torch.equal(w[0], r) for r in rows) for w in whole)  # and no augmentation


def test_fit_logs_validates_and_saves(images, tmp_path):
    config = TrainConfig(**TINY | dict(epochs=2, lr_decay=0.5, loss="l1"))
    log = Trainer(config, *images, tmp_path).fit(progress=False)
    assert list(log.columns) == LOG_COLUMNS and list(log.epoch) == [1, 2]
    assert list(log.step) == [3, 6] and list(log.lr) == [1e-3, 5e-4]
    assert pd.read_csv(tmp_path / "log.csv").shape == log.shape
    best = Codec.load(tmp_path / "best.pt")
    assert best.metadata["training"]["loss"] == "l1"
    # the logged validation is the real codec's, and best.pt holds the best epoch
    k = int(log.val_gain_db.idxmax())
    val8 = np.round(images[1] * 255).astype(np.uint8)
    again = [validate(best, val8, q) for q in config.val_quality]
    assert np.mean([r["psnr"] for r in again]) == pytest.approx(log.val_psnr[k], abs=1e-6)
    assert np.mean([r["bpp"] for r in again]) == pytest.approx(log.val_bpp[k])
    data = best.compress(val8[0], 10)
    assert best.decompress(data).shape == val8[0].shape


def test_validation_gain_is_against_jpeg_at_equal_rate(images):
    val8 = np.round(images[1] * 255).astype(np.uint8)
    curve = jpeg_curve(val8, qualities=range(5, 96, 10))
    assert curve.bpp.is_monotonic_increasing and curve.psnr.is_monotonic_increasing


def test_same_seed_same_log(images, tmp_path):
    config = TrainConfig(**TINY | dict(epochs=2, scheme="end_to_end", loss="ssim"))
    a = Trainer(config, *images, tmp_path / "a").fit(progress=False)
    b = Trainer(config, *images, tmp_path / "b").fit(progress=False)
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))


def test_resume_refuses_other_settings(images, tmp_path):
    Trainer(TrainConfig(**TINY | dict(epochs=1)), *images, tmp_path).fit(progress=False)
    with pytest.raises(ValueError, match="other settings"):
        Trainer(TrainConfig(**TINY | dict(epochs=1, lr=0.01)), *images, tmp_path).fit(
            progress=False
        )


def test_resume_after_kill_9(tmp_path, monkeypatch):
    """kill -9 during epoch 2: the resumed run loses at most that epoch and ends as a clean run."""
    flags = ["--epochs", "3", "--steps", "8", "--channels", "8", "--depth", "3", "--patch", "32",
             "--batch", "4", "--n-images", "20", "--val-images", "2", "--quiet"]  # fmt: skip
    args = [sys.executable, "-m", "comp_lib.train", *flags]
    env = os.environ | {"COMP_LIB_CACHE": str(tmp_path / "cache")}
    run = tmp_path / "killed"
    proc = subprocess.Popen(args + ["--out", str(run)], env=env)
    deadline = time.time() + 120
    while not (run / "log.csv").is_file() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = pd.read_csv(run / "log.csv")
    assert 1 <= len(done) < 3, "the kill should land after the first epoch and before the last"
    subprocess.run(args + ["--out", str(run)], env=env, check=True)
    monkeypatch.setenv("COMP_LIB_CACHE", str(tmp_path / "cache"))
    assert train_main([*flags, "--out", str(tmp_path / "clean")]) == 0  # in-process: one start less
    resumed = pd.read_csv(run / "log.csv").drop(columns="seconds")
    clean = pd.read_csv(tmp_path / "clean" / "log.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(resumed, clean)


def test_post_filter_trains_reccnn_alone(images, tmp_path):
    config = TrainConfig(**TINY | dict(epochs=1, scheme="post_filter"))
    log = Trainer(config, *images, tmp_path).fit(progress=False)
    assert log.loss_com.isna().all()
    best = Codec.load(tmp_path / "best.pt")
    assert best.comcnn is None and best.reccnn is not None
    val8 = np.round(images[1][0] * 255).astype(np.uint8)
    assert best.decompress(best.compress(val8, 10)).shape == val8.shape


def test_init_from_a_checkpoint_and_frozen_comcnn(images, tmp_path):
    Trainer(TrainConfig(**TINY | dict(epochs=1)), *images, tmp_path / "a").fit(progress=False)
    start = Codec.load(tmp_path / "a" / "best.pt")
    config = TrainConfig(**TINY | dict(epochs=1, com_steps=0, init=str(tmp_path / "a" / "best.pt")))
    t = Trainer(config, *images, tmp_path / "b")
    t.fit(progress=False)
    assert same(params(start.comcnn), params(t.codec.comcnn))  # ComCNN frozen: the rate is kept
    assert not same(params(start.reccnn), params(t.codec.reccnn))


def test_native_tiles_setting_names_the_run_only_when_on():
    """Adding the setting kept every earlier run's name (and its bitstream headers)."""
    off, on = TrainConfig(), TrainConfig(native_tiles=180)
    assert "native_tiles" not in off.to_dict() and on.to_dict()["native_tiles"] == 180
    assert off.run_name() != on.run_name()
    assert off.run_name() == TrainConfig(native_tiles=0).run_name()
