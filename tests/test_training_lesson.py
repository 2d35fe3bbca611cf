"""What notebook 02 (training) teaches, checked against the library on real images.

* the alternating step written out in plain torch (the notebook's ``alternating_step``)
  gives the same losses and the same updated weights as ``Trainer.step_rec`` and
  ``Trainer.step_com``;
* ``torch.round`` passes no gradient, the straight-through estimator passes 1, the cubic
  rounding ``3 (x - round(x))**2``, and DiffJPEG with ``"hard"`` rounding leaves ComCNN still;
* :func:`comp_lib.evaluate.at_equal_rate` compares reconstructions at rates within 10%;
* :func:`comp_lib.report.figures.plot_training_curves` draws the gain over JPEG with JPEG
  as the dashed black line at 0 dB.
"""

from __future__ import annotations

import copy

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.config import WEIGHTS_DIR
from comp_lib.evaluate import at_equal_rate
from comp_lib.metrics import psnr
from comp_lib.models import upsample
from comp_lib.report import figures
from comp_lib.train import TrainConfig, Trainer

matplotlib.use("Agg")

TINY = dict(channels=8, depth=3, patch=32, batch=4, steps=3, com_steps=2, quality=[10, 40],
            com_jpeg="approx")  # fmt: skip


@pytest.fixture(scope="module")
def crops(bsds_test):
    """Real photos as float [0, 1] 96x96 crops: 12 to train on, 2 to validate on."""
    x = np.stack([img[100:196, 100:196] for _, img in bsds_test[:14]]).astype(np.float32) / 255
    return x[:12], x[12:]


def alternating_step(codec, opt_rec, opt_com, x, quality, virtual_codec, frozen_bn):
    """The notebook's step A then step B, as written there (section 3)."""
    com, rec, size = codec.comcnn, codec.reccnn, x.shape[-2:]
    com.eval()
    rec.train()
    with torch.no_grad():
        x_compact = com(x)
    x_compact_hat, _ = jpeg.roundtrip(x_compact, quality)
    x_hat = rec(upsample(x_compact_hat, size))
    loss_rec = torch.mean((x_hat - x) ** 2)
    opt_rec.zero_grad(set_to_none=True)
    loss_rec.backward()
    opt_rec.step()
    com.train()
    if frozen_bn:
        com.body[3].eval()
    rec.eval().requires_grad_(False)
    x_hat = rec(upsample(virtual_codec(com(x), quality), size))
    loss_com = torch.mean((x_hat - x) ** 2)
    rec.requires_grad_(True)
    opt_com.zero_grad(set_to_none=True)
    loss_com.backward()
    opt_com.step()
    return loss_rec.item(), loss_com.item()


def by_hand_and_by_library(crops, tmp_path, **settings):
    """Both steps on one batch, by hand on a copy and by the library; both codecs, losses."""
    config = TrainConfig(**(TINY | settings))
    demo = Trainer(config, *crops, tmp_path, device="cpu")
    demo.source.start()
    mine = copy.deepcopy(demo.codec)
    opt_rec = torch.optim.Adam(mine.reccnn.parameters(), lr=demo.source.lr("rec", 0))
    opt_com = torch.optim.Adam(mine.comcnn.parameters(), lr=demo.source.lr("com", 0))
    diff_jpeg = jpeg.DiffJPEG(rounding=config.rounding)
    virtual = {"identity": lambda c, q: c, "approx": lambda c, q: diff_jpeg(c.clamp(0, 1), q)}
    x, q = demo.source.batch("rec")
    start = copy.deepcopy(mine.state_dict())
    hand = alternating_step(mine, opt_rec, opt_com, x, q, virtual[config.com_jpeg],
                            config.warm_start)  # fmt: skip
    library = (demo.step_rec(x, q), demo.step_com(x, q))
    return start, mine, demo.codec, hand, library


@pytest.mark.parametrize(
    "settings",
    [dict(), dict(com_jpeg="identity"), dict(warm_start=False), dict(rounding="cubic")],
    ids=["approx-ste-warm", "identity", "random-start", "cubic"],
)
def test_the_lessons_step_is_the_librarys_step(crops, tmp_path, settings):
    start, mine, theirs, hand, library = by_hand_and_by_library(crops, tmp_path, **settings)
    assert hand == library
    assert all(np.isfinite(hand)) and min(hand) > 0
    for name, tensor in mine.state_dict().items():
        assert torch.equal(tensor, theirs.state_dict()[name]), name
    moved = {n for n, t in mine.state_dict().items() if not torch.equal(t, start[n])}
    assert any(n.startswith("reccnn.") for n in moved) and any(
        n.startswith("comcnn.") for n in moved
    )


def test_hard_rounding_leaves_comcnn_still(crops, tmp_path):
    """Exercise 2 of the notebook: DiffJPEG with torch.round passes no gradient to ComCNN."""
    start, mine, theirs, hand, library = by_hand_and_by_library(crops, tmp_path, rounding="hard")
    assert hand == library
    for name, tensor in theirs.comcnn.state_dict().items():
        assert torch.equal(tensor, start[f"comcnn.{name}"]), name
    assert not all(
        torch.equal(t, start[f"reccnn.{n}"]) for n, t in theirs.reccnn.state_dict().items()
    )


def test_rounding_gradients(image):
    x = torch.from_numpy(image[:4, :6].astype(np.float32) / 7.0).requires_grad_(True)
    (g,) = torch.autograd.grad(torch.round(x).sum(), x)
    assert torch.count_nonzero(g) == 0
    (g,) = torch.autograd.grad(jpeg.diff_round(x, "ste").sum(), x)
    assert torch.equal(g, torch.ones_like(x))
    (g,) = torch.autograd.grad(jpeg.diff_round(x, "cubic").sum(), x)
    values = x.detach().double().numpy()
    expected = 3 * (values - np.round(values)) ** 2  # numpy rounds half to even, as torch
    np.testing.assert_allclose(g.double().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_diffjpeg_with_the_ste_decodes_as_libjpeg_and_passes_a_gradient(image):
    crop = image[:96, :128]
    x = torch.from_numpy(crop / 255.0).float()[None, None].requires_grad_(True)
    libjpeg = jpeg.decode(jpeg.encode(crop, 10))
    for rounding, has_gradient in (("hard", False), ("ste", True)):
        x_hat = jpeg.DiffJPEG(rounding=rounding)(x, 10)
        assert psnr(libjpeg, jpeg.tensor_to_uint8(x_hat)[0]) > 40
        (g,) = torch.autograd.grad(torch.mean((x_hat - x.detach()) ** 2), x)
        assert bool(torch.count_nonzero(g)) is has_gradient


@pytest.fixture(scope="module")
def rec32x20():
    return Codec.load("rec32x20")


def jpeg_rate(image, quality):
    return 8 * len(jpeg.encode(image, quality)) / image.size


def test_at_equal_rate_on_real_images(images, rec32x20):
    for image in images[:2]:
        crop = image[:160, :240]
        rows = at_equal_rate({"ours": rec32x20}, crop, 0.3)
        assert [r["codec"] for r in rows] == ["ours", "JPEG"]
        ours, anchor = rows
        assert ours["bpp"] <= 0.3
        if ours["setting"] < 95:  # the highest inner quality that fits
            assert 8 * len(rec32x20.compress(crop, ours["setting"] + 1)) / crop.size > 0.3
        assert ours["psnr"] == psnr(
            crop, rec32x20.decompress(rec32x20.compress(crop, ours["setting"]))
        )

        q = anchor["setting"]
        assert anchor["bpp"] == jpeg_rate(crop, q)
        for other in (q - 1, q + 1):  # JPEG's quality is the nearest to our rate
            if 1 <= other <= 95:
                assert abs(jpeg_rate(crop, q) - ours["bpp"]) <= abs(
                    jpeg_rate(crop, other) - ours["bpp"]
                )
        assert anchor["psnr"] == psnr(crop, jpeg.decode(jpeg.encode(crop, q)))
        assert max(ours["bpp"], anchor["bpp"]) / min(ours["bpp"], anchor["bpp"]) < 1.10
        assert ours["x_hat"].shape == anchor["x_hat"].shape == crop.shape


def test_at_equal_rate_keeps_the_anchors_name(image, rec32x20):
    with pytest.raises(ValueError, match="JPEG"):
        at_equal_rate({"JPEG": rec32x20}, image[:64, :64], 0.3)


def test_training_curves_of_a_bank_log(tmp_path, monkeypatch):
    """A post-filter's log with epoch 0 (the starting point, no loss): gain and JPEG at 0 dB."""
    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path))
    log = pd.read_csv(WEIGHTS_DIR / "post64s2hi.log.csv")
    fig = figures.plot_training_curves(log, "post64s2hi", "RecCNN only")
    loss_ax, gain_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["RecCNN, step A"]
    assert len(loss_ax.lines[0].get_xdata()) == log.loss_rec.notna().sum()
    jpeg_line, ours = gain_ax.lines
    assert jpeg_line.get_linestyle() == "--" and jpeg_line.get_color() == "black"
    assert ours.get_label() == "RecCNN only" and ours.get_linewidth() > 2
    assert list(ours.get_xdata()) == list(log.epoch) and list(ours.get_ydata()) == list(
        log.val_gain_db
    )
    assert gain_ax.get_ylabel() == "validation PSNR gain over JPEG (dB)"
    path = figures.save_figure(fig, "bank")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_the_shipped_models_gains_on_one_axis(tmp_path, monkeypatch):
    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path))
    logs = {m: pd.read_csv(WEIGHTS_DIR / f"{m}.log.csv") for m in ("rec32x20", "post64s2")}
    kinds = {"rec32x20": "ComCNN+RecCNN", "post64s2": "RecCNN only"}
    fig = figures.plot_training_gains(logs, kinds)
    (ax,) = fig.axes
    jpeg_line, *runs = ax.lines
    assert jpeg_line.get_linestyle() == "--" and list(jpeg_line.get_ydata()) == [0.0, 0.0]
    assert [line.get_linestyle() for line in runs] == ["-", "-."]
    for line, (name, log) in zip(runs, logs.items(), strict=True):
        assert line.get_label().startswith(f"{name} ({kinds[name]})")
        assert f"{log.val_bpp.iloc[-1]:.3f} bpp" in line.get_label()
        assert list(line.get_ydata()) == list(log.val_gain_db)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "validation PSNR gain over JPEG (dB)")
    assert figures.save_figure(fig, "gains").read_bytes()[:4] == b"\x89PNG"
