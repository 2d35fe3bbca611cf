"""comp_lib.zoo: shipping a real training run, and a ladder chosen on held-out images only."""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

import comp_lib.data
import comp_lib.evaluate
from comp_lib import zoo
from comp_lib.coding import Codec, Ladder
from comp_lib.coding.bitstream import parse_header
from comp_lib.train import TrainConfig, Trainer

TINY = dict(channels=8, depth=3, patch=32, batch=4, steps=1, quality=10, scheme="post_filter")


def train(out, n_images, crops, **config):
    """A real tiny run in ``out`` (the loop of ``python -m comp_lib.train``) and its data.json."""
    log = Trainer(TrainConfig(**TINY | config), crops[:8], crops[8:], out).fit(progress=False)
    data = dict(n_images=n_images, train_files=8, val_files=2, train=8, val=2)
    (out / "data.json").write_text(json.dumps(data, indent=1) + "\n")  # as comp_lib.train does
    return log


@pytest.fixture(scope="module")
def crops(bsds_test):
    """Real photos as float [0, 1] 64x64 crops: 8 to train on, 2 to validate on."""
    x = np.stack([img[100:164, 100:164] for _, img in bsds_test[:10]]).astype(np.float32) / 255
    return x


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, crops):
    """A two-epoch post-filter run (best.pt, last.pt, log.csv, data.json)."""
    out = tmp_path_factory.mktemp("run")
    train(out, 10, crops, epochs=2)
    return out


def squeeze(text: str) -> str:
    return " ".join(text.split())


def test_ship_writes_the_best_checkpoint_its_log_and_a_card(run_dir, tmp_path, monkeypatch, image):
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "weights")
    notes = "Test set (BSDS300): see notebook 03, a note from the test."
    path = zoo.ship(run_dir, "tiny-ship", notes=notes)
    assert path == tmp_path / "weights" / "tiny-ship.pt"
    assert zoo.shipped_models() == ["tiny-ship"]
    torch.load(path, weights_only=True)  # a plain checkpoint, no pickled objects
    codec = Codec.load(path)
    assert codec.name == "tiny-ship" and codec.metadata["name"] == "tiny-ship"
    assert Codec.load("tiny-ship").fingerprint == codec.fingerprint  # loads by name
    best = Codec.load(run_dir / "best.pt")
    assert codec.fingerprint == best.fingerprint  # the best epoch's weights, unchanged
    assert codec.metadata["data"] == json.loads((run_dir / "data.json").read_text())
    header = parse_header(codec.compress(image[:96, :128], 20))
    assert header["model"] == "tiny-ship" and header["fingerprint"] == best.fingerprint

    log = pd.read_csv(run_dir / "log.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "weights" / "tiny-ship.log.csv"), log)
    card = (tmp_path / "weights" / "tiny-ship.md").read_text()
    top = log.loc[log.val_gain_db.idxmax()]  # the best epoch, read from the log itself
    flat = squeeze(card)
    assert f"shipped epoch {int(top.epoch)} " in flat
    assert (f"PSNR {top.val_psnr:.3f} dB, SSIM {top.val_ssim:.4f}, {top.val_bpp:.4f} bpp; "
            f"JPEG at the same bpp {top.val_jpeg_psnr:.3f} dB, gain {top.val_gain_db:+.3f} dB"
            ) in flat  # fmt: skip
    assert f"{int(log.step.iloc[-1])} RecCNN steps over {int(log.epoch.max())} epochs" in flat
    assert "RecCNN only (8 channels x 3 layers)" in flat and "1 process (world size 1)" in flat
    assert card.rstrip().endswith(notes)
    if top.epoch != log.epoch.iloc[-1]:  # on this machine epoch 1 of 2 is the best
        last = log.iloc[-1]
        assert f"gain {last.val_gain_db:+.3f} dB" not in flat


def test_ship_ladder_chooses_on_the_holdout_images_only(run_dir, crops, tmp_path, monkeypatch):
    """Two shipped models (corpora of 10 and 30 images) and bicubic; the real choice.

    The corpora are real (built once into the cache, then read from it); the held-out
    images are cut to 64x96 on their way to the real ``choose_ladder``, to keep it fast.
    """
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "weights")
    second = tmp_path / "down"  # a down/up-sampling model, trained on a corpus of 30
    train(second, 30, crops, epochs=1, scheme="alternating", seed=1)
    zoo.ship(run_dir, "tiny-post")
    zoo.ship(second, "tiny-down")
    built, holdout, chosen = [], [], []
    real_build, real_holdout = comp_lib.data.build_corpus, comp_lib.data.holdout_images
    real_choose = comp_lib.evaluate.choose_ladder

    def build_corpus(**kw):
        built.append(real_build(**kw))
        return built[-1]

    def holdout_images(corpora):
        holdout.append([(n, image[:64, :96]) for n, image in real_holdout(corpora)])
        return holdout[-1]

    def choose_ladder(models, images, qualities, **kw):
        out = real_choose(models, images, qualities, **kw)
        chosen.append((dict(models), images, list(qualities), out[0]))
        return out

    monkeypatch.setattr(comp_lib.data, "build_corpus", build_corpus)
    monkeypatch.setattr(comp_lib.data, "holdout_images", holdout_images)
    monkeypatch.setattr(comp_lib.evaluate, "choose_ladder", choose_ladder)
    models, qualities = ["tiny-post", "tiny-down", "bicubic"], [5, 30, 80]
    path = zoo.ship_ladder("mix", models, qualities, progress=False)

    assert path == tmp_path / "weights" / "mix.ladder.json"
    assert sorted(c.params["n_images"] for c in built) == [10, 30]  # read from the metadata
    (used_models, images, used_qualities, picked), = chosen  # fmt: skip
    assert list(used_models) == models and used_qualities == qualities
    assert len(holdout) == 1 and images is holdout[0]  # holdout_images(corpora), as returned
    expected = real_holdout(built)
    assert [n for n, _ in images] == [n for n, _ in expected]
    pairs = zip(images, expected, strict=True)
    assert all(np.array_equal(a, b[:64, :96]) for (_, a), (_, b) in pairs)

    # independently of holdout_images: validation images of some corpus, in no training split
    def stems(split):
        return {p.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                for c in built for p in c.index.path[c.index.split == split]}  # fmt: skip

    names = {n for n, _ in images}
    assert names and names <= stems("val") and not names & (stems("train") | stems("test"))
    assert stems("val") & stems("train")  # some validation images were rightly left out

    ladder = Ladder.load(path)
    assert Ladder.load("mix").rungs == ladder.rungs  # by name
    assert ladder.name == "mix" and set(ladder.rungs) <= set(itertools.product(models, qualities))
    assert len(ladder.bpp) == len(ladder.rungs) >= 2
    assert all(a < b for a, b in itertools.pairwise(ladder.bpp))
    assert (ladder.rungs, ladder.bpp) == (picked.rungs, picked.bpp)  # what was chosen, saved
    card = (tmp_path / "weights" / "mix.ladder.md").read_text()
    table = card.split("## Curves")[0]
    rows = [line for line in table.splitlines() if re.match(r"\| (tiny-|bicubic)", line)]
    assert len(rows) == len(ladder.rungs)
    for row, (model, quality), rate in zip(rows, ladder.rungs, ladder.bpp, strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[:2] == [model, str(quality)] and float(cells[2]) == rate
    assert f"over {len(images)} validation images" in squeeze(card)
    assert "corpora of [10, 30] images" in squeeze(card)
    photo = images[0][1]
    for rung, (model, _) in enumerate(ladder.rungs):  # each rung codes with its shipped model
        data = ladder.compress(photo, rung)
        assert parse_header(data)["model"] == model
        assert ladder.decompress(data).shape == photo.shape


def test_ship_ladder_needs_a_trained_model():
    with pytest.raises(ValueError, match="none of .* is a trained model"):
        zoo.ship_ladder("fixed-only", ["bicubic", "jpeg"], [5, 30])


def test_ship_continuing_a_shipped_model_chains_the_two_logs(run_dir, tmp_path, monkeypatch):
    """A run started from a shipped model (``--init``) and shipped under the same name:
    one log of both phases, the card counting steps, epochs and time over both."""
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "weights")
    zoo.ship(run_dir, "tiny-long")
    first = pd.read_csv(tmp_path / "weights" / "tiny-long.log.csv")
    zoo.ship(run_dir, "tiny-long", continues="tiny-long")  # the same run plays phase 2
    chained = pd.read_csv(tmp_path / "weights" / "tiny-long.log.csv")
    second = first[first.epoch > 0]
    assert len(chained) == len(first) + len(second)  # phase 2's epoch-0 row dropped
    assert list(chained.phase) == [1] * len(first) + [2] * len(second)
    assert list(chained.epoch) == [*first.epoch, *(second.epoch + first.epoch.max())]
    assert chained.step.iloc[-1] == 2 * first.step.iloc[-1]
    assert chained.seconds.sum() == pytest.approx(first.seconds.sum() + second.seconds.sum())
    best = Codec.load(tmp_path / "weights" / "tiny-long.pt")
    assert best.metadata["continues"] == "tiny-long"
    flat = squeeze((tmp_path / "weights" / "tiny-long.md").read_text())
    top = int(first.loc[first.val_gain_db.idxmax()].epoch)
    assert f"shipped epoch {top + int(first.epoch.max())} " in flat
    assert (f"{int(chained.step.iloc[-1])} RecCNN steps over {int(chained.epoch.max())} "
            "epochs in 2 phases") in flat  # fmt: skip
    assert f"Wall time {chained.seconds.sum() / 3600:.2f} h" in flat
    # a third phase counts on from the chained log
    third = zoo.chained_log(chained, first)
    assert third.phase.max() == 3
    assert third.epoch.iloc[-1] == chained.epoch.max() + second.epoch.max()


def test_chained_log_drops_the_validation_of_the_starting_point_but_not_its_time():
    earlier = pd.DataFrame({"epoch": [1, 2], "step": [10, 20], "val_gain_db": [0.5, 0.6],
                            "seconds": [5.0, 5.0]})  # fmt: skip
    later = pd.DataFrame({"epoch": [0, 1, 2], "step": [0, 10, 20],
                          "val_gain_db": [0.6, 0.65, 0.7], "seconds": [2.0, 5.0, 5.0]})  # fmt: skip
    out = zoo.chained_log(earlier, later)
    assert list(out.epoch) == [1, 2, 3, 4] and list(out.step) == [10, 20, 30, 40]
    assert list(out.phase) == [1, 1, 2, 2] and list(out.val_gain_db) == [0.5, 0.6, 0.65, 0.7]
    assert list(out.seconds) == [5.0, 5.0, 7.0, 5.0]  # the start's validation time kept
    assert list(later.epoch) == [0, 1, 2]  # the inputs are left as they were
