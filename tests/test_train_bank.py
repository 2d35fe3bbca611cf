"""comp_lib.train.bank: what the decoder feeds RecCNN; crops, packs, training, resume."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from comp_lib import jpeg, zoo
from comp_lib.coding import Codec
from comp_lib.coding.checkpoint import read_checkpoint, write_checkpoint
from comp_lib.metrics import to_uint8
from comp_lib.models import MultiScaleRecCNN
from comp_lib.train import Loop
from comp_lib.train.bank import (
    BankConfig,
    BankSource,
    build_bank,
    load_pack,
    reccnn_input,
    sample_batch,
    save_pack,
    train_bank,
)
from comp_lib.train.config import FRESH_NETWORK


@pytest.fixture(scope="module")
def crops(bsds_test):
    """Three real photos cut small (one portrait), to keep the networks cheap."""
    landscape = [im for _, im in bsds_test if im.shape[0] < im.shape[1]][:2]
    portrait = next(im for _, im in bsds_test if im.shape[0] > im.shape[1])
    return [landscape[0][:72, :120], landscape[1][:72, :120], portrait[:120, :72]]


@pytest.mark.parametrize("model", ["rec32x20", "post64s2"])
def test_reccnn_input_is_what_the_decoder_feeds_reccnn(model, crops):
    codec = Codec.load(model).eval()
    image = crops[2][:, :71]  # odd width: the compact image is cropped back after upsampling
    x_in, n_bytes = reccnn_input(codec, image, 10)
    data = codec.compress(image, 10)
    assert n_bytes + codec.header_size == len(data)
    assert x_in.shape == image.shape
    with torch.no_grad():
        x_hat = codec.reccnn(torch.from_numpy(x_in)[None, None])
    ours, decoded = to_uint8(x_hat[0, 0]).astype(int), codec.decompress(data).astype(int)
    assert np.abs(ours - decoded).max() <= 1  # float rounding only
    assert (ours == decoded).mean() > 0.99


def test_bank_holds_every_quality_and_transposes_portraits(crops):
    codec = Codec.load("post64s2").eval()
    bank = build_bank(codec, crops, [5, 30], device="cpu", workers=2)
    assert bank["qualities"] == [5, 30] and bank["post"]
    ((x, x_in),) = bank["groups"]  # fmt: skip  (72x120 and the transposed 120x72: one shape)
    assert x.shape == (3, 72, 120) and x_in.shape == (2, 3, 72, 120) and x_in.dtype == torch.uint8
    assert np.array_equal(x[2].numpy(), crops[2].T)
    for qi, q in enumerate([5, 30]):
        decoded = jpeg.decode(jpeg.encode(crops[2], q))
        assert np.array_equal(x_in[qi, 2].numpy(), decoded.T)
        assert bank["bytes"][qi, 2] == len(jpeg.encode(crops[2], q))
    assert (bank["bytes"][0] < bank["bytes"][1]).all()


def test_bank_of_a_down_up_model_is_upsampled_compact_images(crops):
    codec = Codec.load("rec32x20").eval()
    bank = build_bank(codec, crops[:1], [10], device="cpu", workers=1)
    (x, x_in), = bank["groups"]  # fmt: skip
    assert x_in.dtype == torch.float16 and x_in.shape == (1, 1, 72, 120)
    expected, _ = reccnn_input(codec, crops[0], 10)
    assert np.abs(x_in[0, 0].float().numpy() - expected).max() < 2e-3  # float16 storage


def test_crops_are_aligned_to_the_jpeg_grid(crops):
    codec = Codec.load("post64s2").eval()
    bank = build_bank(codec, crops, [10, 40], device="cpu", workers=1)
    x_in, x, quality = sample_batch(bank, 12, 32, np.random.default_rng(0), align=8, augment=False)
    assert x_in.shape == x.shape == (12, 1, 32, 32) and quality.shape == (12,)
    assert 0 <= x.min() and x.max() <= 1 and x_in.dtype == torch.float32
    assert set(quality.tolist()) == {10, 40}  # each crop draws its quality, and says which
    images, bank_inputs = bank["groups"][0][0].numpy(), bank["groups"][0][1].numpy()
    as_u8 = lambda t: np.round(t[:, 0].numpy() * 255).astype(np.uint8)  # noqa: E731
    for crop, crop_in, q in zip(as_u8(x), as_u8(x_in), quality.tolist(), strict=True):
        inputs = bank_inputs[[10, 40].index(q)]
        found = [
            (i, t, s)
            for i in range(len(images))
            for t in range(0, 72 - 32 + 1)
            for s in range(0, 120 - 32 + 1)
            if np.array_equal(images[i, t : t + 32, s : s + 32], crop)
        ]
        assert found, "a crop that is in no image"
        assert any(t % 8 == 0 and s % 8 == 0 for _, t, s in found)
        i, t, s = next(f for f in found if f[1] % 8 == 0 and f[2] % 8 == 0)
        assert np.array_equal(inputs[i, t : t + 32, s : s + 32], crop_in)


def test_patch_larger_than_every_image_is_refused(crops):
    bank = build_bank(Codec.load("post64s2").eval(), crops[:1], [10], device="cpu", workers=1)
    with pytest.raises(ValueError, match="patch 96 is larger"):
        sample_batch(bank, 2, 96, np.random.default_rng(0), align=8)


def test_pack_round_trip_and_bad_input(tmp_path, crops):
    path = save_pack(tmp_path / "p.npz", crops[:2], [("v", crops[2])], {"n_images": [500]})
    train, val, info = load_pack(path)
    assert all(np.array_equal(a, b) for a, b in zip(train, crops[:2], strict=True))
    assert val[0][0] == "v" and np.array_equal(val[0][1], crops[2])
    assert info["n_images"] == [500] and info["val_names"] == ["v"]
    with pytest.raises(ValueError, match="train image 0: expected a 2-D uint8"):
        save_pack(tmp_path / "q.npz", [crops[0].astype(np.float32)], [("v", crops[2])], {})
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a comp_lib.train.bank pack"):
        load_pack(tmp_path / "foreign.npz")


def test_training_logs_keeps_the_best_and_resumes(tmp_path, crops):
    config = BankConfig(qualities=[5, 10], val_quality=[10], epochs=2, steps=2, batch=2,
                        patch=32, init="post64s2")  # fmt: skip
    val = [("v", crops[2])]
    log = train_bank(config, crops[:2], val, tmp_path, "tiny", device="cpu", progress=False)
    assert list(log.epoch) == [0, 1, 2] and list(log.step) == [0, 2, 4]
    assert np.isnan(log.loss_rec[0]) and (log.loss_rec[1:] > 0).all()
    assert log.val_bpp.nunique() == 1  # same rate at every epoch: only RecCNN learns
    best = Codec.load(tmp_path / "best.pt")
    assert best.name == "tiny" and best.metadata["training"]["scheme"] == "bank"
    chosen = best.metadata["validation"]
    assert chosen["val_gain_db"] == pytest.approx(log.val_gain_db.max())
    data = best.compress(crops[2], 10)
    assert best.decompress(data).shape == crops[2].shape
    # resume: two more epochs continue the same log, the first two are kept
    more = train_bank(BankConfig(**{**config.__dict__, "epochs": 4}), crops[:2], val, tmp_path,
                      "tiny", device="cpu", progress=False)  # fmt: skip
    assert list(more.epoch) == [0, 1, 2, 3, 4] and list(more.step) == [0, 2, 4, 6, 8]
    pd.testing.assert_frame_equal(more.iloc[:3], log, check_dtype=False)


def test_a_run_from_a_shipped_model_records_only_the_settings_that_apply(
    tmp_path, crops, monkeypatch
):
    """With init the network is the started model's: a fresh network's shape is refused,
    not recorded, and a run (or shipped model) recorded before that rule, with those
    fields at their defaults, still resumes and ships without them on its card."""
    with pytest.raises(ValueError, match="channels, shuffle set a fresh network's shape"):
        BankConfig(init="post64s2", channels=32, shuffle=1)
    config = BankConfig(qualities=[5, 10], val_quality=[10], epochs=1, steps=1, batch=2,
                        patch=32, init="post64s2")  # fmt: skip
    assert not set(FRESH_NETWORK) & set(config.to_dict())
    assert {"channels", "depth", "shuffle"} <= set(BankConfig().to_dict())  # fresh: recorded
    val = [("v", crops[2])]
    train_bank(config, crops[:2], val, tmp_path, "tiny", device="cpu", progress=False)
    old_way = {"channels": 64, "depth": 20, "shuffle": 2}  # what to_dict recorded before
    state = read_checkpoint(tmp_path / "last.pt")
    state["config"] |= old_way
    write_checkpoint(state, tmp_path / "last.pt")
    best = read_checkpoint(tmp_path / "best.pt")
    best["metadata"]["training"] |= old_way
    more = train_bank(BankConfig(**{**config.__dict__, "epochs": 2}), crops[:2], val, tmp_path,
                      "tiny", device="cpu", progress=False)  # fmt: skip
    assert list(more.epoch) == [0, 1, 2]  # resumed, not refused
    state["config"]["batch"] = 4  # a setting that applies still has to match
    write_checkpoint(state, tmp_path / "last.pt")
    with pytest.raises(ValueError, match=r"other settings: \['batch'\]"):
        train_bank(BankConfig(**{**config.__dict__, "epochs": 3}), crops[:2], val, tmp_path,
                   "tiny", device="cpu", progress=False)  # fmt: skip
    write_checkpoint(best, tmp_path / "best.pt")  # a model recorded the old way ships
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "weights")
    zoo.ship(tmp_path, "tiny")
    card = (tmp_path / "weights" / "tiny.md").read_text()
    assert "| init | `post64s2` |" in card and "| batch | `2` |" in card
    assert not re.search(r"\| (channels|depth|shuffle) \|", card)
    assert not set(old_way) & set(Codec.load(tmp_path / "weights" / "tiny.pt").metadata["training"])


@pytest.mark.parametrize(
    "settings",
    [dict(arch="multiscale", channels=4, scales=3, blocks=1),
     dict(arch="multiscale", channels=4, scales=2, blocks=1, quality_aware=True),
     dict(init="post64s2", quality_aware=True)],
    ids=["multiscale", "multiscale-quality-aware", "post64s2-made-quality-aware"],
)  # fmt: skip
def test_post_filter_variants_train_on_the_bank(tmp_path, crops, settings):
    config = BankConfig(qualities=[5, 20], val_quality=[10], epochs=1, steps=2, batch=4,
                        patch=32, **settings)  # fmt: skip
    source = BankSource(config, crops[:2], [("v", crops[2])], "variant", device="cpu")
    if config.init:  # gaining the conditioning changes nothing until it trains
        image = crops[2]
        data = Codec.load("post64s2").compress(image, 10)
        assert np.array_equal(Codec.load("post64s2").decompress(data),
                              source.codec.decompress(data, check_model=False))  # fmt: skip
    log = Loop(source, tmp_path).fit(progress=False)
    assert list(log.step) == [0, 2] and log.loss_rec.iloc[1] > 0
    best = Codec.load(tmp_path / "best.pt")
    assert best.quality_aware == config.quality_aware
    assert best.metadata["training"].get("arch", "reccnn") == config.arch
    assert best.decompress(best.compress(crops[2], 10)).shape == crops[2].shape


def test_a_started_multi_scale_network_grows_blocks_and_trains_on(tmp_path, crops):
    """``grow_blocks``: the run starts deeper but decodes as the started model, then trains."""
    with pytest.raises(ValueError, match="grow_blocks deepens a started model"):
        BankConfig(grow_blocks=3)
    net = MultiScaleRecCNN(channels=4, scales=3, blocks=1, quality_aware=True)
    with torch.no_grad():  # a started model that has learned something, conditioning included
        for p in net.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=torch.Generator().manual_seed(0)))
    started = Codec(None, net, name="small")
    path = started.save(tmp_path / "small.pt")
    config = BankConfig(qualities=[5, 20], val_quality=[10], epochs=1, steps=2, batch=4,
                        patch=32, init=str(path), grow_blocks=2)  # fmt: skip
    assert config.to_dict()["grow_blocks"] == 2 and "grow_blocks" not in BankConfig().to_dict()
    source = BankSource(config, crops[:2], [("v", crops[2])], "deeper", device="cpu")
    assert source.codec.reccnn.config["blocks"] == 2
    data = started.compress(crops[2], 10)
    assert np.array_equal(started.decompress(data),
                          source.codec.decompress(data, check_model=False))  # fmt: skip
    log = Loop(source, tmp_path / "run").fit(progress=False)
    assert list(log.step) == [0, 2] and log.loss_rec.iloc[1] > 0
    best = Codec.load(tmp_path / "run" / "best.pt")
    assert best.reccnn.config["blocks"] == 2 and best.quality_aware
    assert best.metadata["training"]["grow_blocks"] == 2


def test_the_learning_rate_warms_up_over_the_first_steps(tmp_path, crops):
    config = BankConfig(qualities=[10], val_quality=[10], epochs=2, steps=3, batch=2, patch=32,
                        lr=1e-3, lr_decay=0.5, warmup=4, channels=8, depth=3)  # fmt: skip
    loop = Loop(BankSource(config, crops[:2], [("v", crops[2])], "tiny", device="cpu"), tmp_path)
    seen = []
    step = loop.optimise

    def spy(phase, batch):
        loss = step(phase, batch)
        seen.append(loop.optimisers["rec"].param_groups[0]["lr"])
        return loss

    loop.optimise = spy
    loop.fit(progress=False)
    # 1/4, 2/4, 3/4 of 1e-3; the fourth step, in the second epoch, reaches its (decayed) rate
    assert seen == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 5e-4, 5e-4, 5e-4])
    assert "warmup" not in BankConfig().to_dict()  # runs without warm-up resume as before


def test_epochs_sized_from_a_time_budget_leave_the_weights_as_they_were(tmp_path, crops):
    config = BankConfig(qualities=[10], val_quality=[10], epochs=2, steps=0, budget_s=60.0,
                        batch=2, patch=32, channels=8, depth=3, shuffle=1)  # fmt: skip
    source = BankSource(config, crops[:2], [("v", crops[2])], "tiny", device="cpu")
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():  # a fresh post-filter starts as the identity: JPEG alone
        assert torch.equal(source.codec.reccnn.eval()(x), x)
    loop = Loop(source, tmp_path)
    before = source.codec.state()["reccnn"]
    steps = loop.size_epochs(0.0, progress=False)
    assert steps >= 1
    after = source.codec.state()["reccnn"]
    assert all(torch.equal(before[k], after[k]) for k in before)  # the probe's steps undone
    assert not loop.optimisers["rec"].state_dict()["state"]
    with pytest.raises(ValueError, match="budget"):
        BankConfig(steps=0)


def test_resume_after_kill_9(tmp_path, crops):
    """kill -9 during training: the resumed run loses at most an epoch and ends as a clean run."""
    pack = save_pack(tmp_path / "p.npz", crops[:2], [("v", crops[2])], {"n_images": [0]})
    settings = dict(qualities=[5, 10], val_quality=[10], epochs=3, steps=40, batch=2, patch=32,
                    channels=8, depth=3, shuffle=1)  # fmt: skip
    flags = [str(x) for k, v in settings.items()
             for x in ["--" + k.replace("_", "-"), *np.atleast_1d(v)]]  # fmt: skip
    run = tmp_path / "killed"
    args = [sys.executable, "-m", "comp_lib.train.bank", "train", "--pack", str(pack), "--out",
            str(run), "--name", "tiny", "--quiet", *flags]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (run / "log.csv").is_file() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = pd.read_csv(run / "log.csv")
    assert 1 <= len(done) < 4, "the kill should land after epoch 0 and before the last"
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    clean = train_bank(BankConfig(**settings), crops[:2], [("v", crops[2])], tmp_path / "clean",
                       "tiny", device="cpu", progress=False)  # fmt: skip
    resumed = pd.read_csv(run / "log.csv")
    assert list(resumed.epoch) == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(resumed.drop(columns="seconds"), clean.drop(columns="seconds"))
