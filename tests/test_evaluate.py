import json

import numpy as np
import pandas as pd
import pytest

from comp_lib import jpeg
from comp_lib.baselines import JPEGCodec
from comp_lib.coding import BicubicCodec
from comp_lib.evaluate import ROW_COLUMNS, evaluate, to_compressai_json
from comp_lib.metrics import psnr
from comp_lib.rd import rd_curves


@pytest.fixture(scope="module")
def rows(bsds_test):
    images = bsds_test[:3]
    return pd.concat([
        evaluate(JPEGCodec(), images, [5, 10, 20, 40, 70, 90], "JPEG", progress=False),
        evaluate(BicubicCodec(), images, [10, 30, 50, 70, 90], "bicubic", progress=False),
    ])  # fmt: skip


def test_rows_are_measured_from_real_bytes(rows, bsds_test):
    assert list(rows.columns) == ROW_COLUMNS and len(rows) == 3 * 6 + 3 * 5
    name, image = bsds_test[0]
    r = rows[(rows.codec == "JPEG") & (rows.setting == 10) & (rows.image == name)].iloc[0]
    data = jpeg.encode(image, 10)
    assert r.bytes == len(data) and r.bpp == 8 * len(data) / image.size
    assert r.psnr == pytest.approx(psnr(image, jpeg.decode(data)))
    assert (rows.encode_ms > 0).all() and (rows.decode_ms > 0).all()


def test_compressai_json(rows, tmp_path):
    curves = rd_curves(rows)
    out = to_compressai_json(curves, "JPEG", "libjpeg via Pillow", tmp_path / "jpeg.json")
    saved = json.loads((tmp_path / "jpeg.json").read_text())
    assert saved == out and saved["name"] == "JPEG"
    assert len(saved["results"]["bpp"]) == 6 and np.all(np.diff(saved["results"]["bpp"]) > 0)


def test_a_codec_that_changes_the_size_is_caught(bsds_test):
    class Cropper(JPEGCodec):
        def decompress(self, data):
            return super().decompress(data)[1:]

    with pytest.raises(ValueError, match="returned"):
        evaluate(Cropper(), bsds_test[:1], [10], "cropper", progress=False)


def _identity_post_filter(name: str):
    """JPEG + a RecCNN that starts as the identity: a real Codec that codes like JPEG."""
    import torch

    from comp_lib.coding import Codec
    from comp_lib.models import RecCNN

    rec = RecCNN(channels=4, depth=2)
    for m in rec.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.zeros_(m.weight)
            torch.nn.init.zeros_(m.bias)
    return Codec(None, rec, name=name).eval()


def test_choose_ladder_on_real_images_and_code_with_it(bsds_test, tmp_path):
    """Bicubic down/up wins at the lowest rates, JPEG at full size above: both are rungs."""
    from comp_lib.coding import Ladder
    from comp_lib.evaluate import choose_ladder

    models = {"bicubic": BicubicCodec(), "post": _identity_post_filter("post")}
    ladder, curves = choose_ladder(models, bsds_test[:2], [2, 10, 40, 90], progress=False)
    assert {m for m, _ in ladder.rungs} == {"bicubic", "post"}
    assert ladder.rungs[0][0] == "bicubic" and ladder.rungs[-1] == ("post", 90)
    assert ladder.bpp == sorted(ladder.bpp) and len(ladder.bpp) == len(ladder.rungs)
    # coding through the ladder is coding with the rung's model at the rung's quality
    rows = evaluate(ladder, bsds_test[:2], ladder.settings, "ladder", progress=False)
    for r in rows.itertuples():
        model, quality = ladder.rungs[r.setting]
        ref = curves[(curves.codec == model) & (curves.setting == quality)]
        assert r.bytes > 0 and model in ladder.codecs and len(ref) == 1
    mean = rd_curves(rows)
    assert np.allclose(mean.bpp.to_numpy(), ladder.bpp, atol=1e-4)
    name, image = bsds_test[0]
    data = ladder.compress(image, len(ladder.rungs) - 1)
    assert np.array_equal(ladder.decompress(data), models["post"].decompress(data))
    assert ladder.setting_for_bpp(0.0) == 0 and ladder.setting_for_bpp(99) == len(ladder.rungs) - 1
    # errors name the problem
    with pytest.raises(ValueError, match="rung"):
        ladder.compress(image, len(ladder.rungs))
    with pytest.raises(ValueError, match="not on ladder"):
        ladder.decompress(_identity_post_filter("other").compress(image, 10))
    with pytest.raises(ValueError, match="no codec named"):
        Ladder(models, [("nope", 10)])
    with pytest.raises(ValueError, match="writes the name"):
        Ladder({"x": models["post"]}, [("x", 10)])
    saved = ladder.save(tmp_path / "mine.ladder.json")
    assert json.loads(saved.read_text())["rungs"][-1] == ["post", 90]
    with pytest.raises(FileNotFoundError, match="no shipped ladder"):
        Ladder.load("no-such-ladder")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a ladder file"):
        Ladder.load(tmp_path / "bad.json")


def test_ladder_rows_are_the_rows_of_running_the_ladder(bsds_test):
    from comp_lib.coding import Ladder
    from comp_lib.evaluate import ladder_rows

    models = {"bicubic": BicubicCodec(), "post": _identity_post_filter("post")}
    ladder = Ladder(models, [("bicubic", 10), ("post", 5), ("post", 30)], name="mine")
    images = bsds_test[:2]
    parts = pd.concat([
        evaluate(models["bicubic"], images, [10, 50], "bicubic+JPEG", progress=False),
        evaluate(models["post"], images, [5, 30], "post", progress=False),
    ])  # fmt: skip
    copied = ladder_rows(parts, ladder, "mine", models={"bicubic": "bicubic+JPEG"})
    ran = evaluate(ladder, images, ladder.settings, "mine", progress=False)
    cols = ["image", "codec", "setting", "bytes", "bpp", "psnr", "ssim"]
    key = ["setting", "image"]
    pd.testing.assert_frame_equal(copied[cols].sort_values(key).reset_index(drop=True),
                                  ran[cols].sort_values(key).reset_index(drop=True))  # fmt: skip
    with pytest.raises(ValueError, match="rung 0"):
        ladder_rows(parts, ladder, "mine")  # bicubic's rows are under another name


def test_ladder_subset_keeps_every_nth_rung_and_the_last(bsds_test):
    from comp_lib.coding import Ladder
    from comp_lib.evaluate import ladder_rows, ladder_subset

    post = _identity_post_filter("post")
    ladder = Ladder({"post": post}, [("post", q) for q in (3, 5, 8, 12, 20)], name="five")
    assert ladder_subset(ladder) == [0, 1, 2, 3, 4]
    assert ladder_subset(ladder, 2) == [0, 2, 4]
    assert ladder_subset(ladder, 3) == [0, 3, 4]  # the top rung is always kept
    with pytest.raises(ValueError, match="positive"):
        ladder_subset(ladder, 0)
    rows = evaluate(post, bsds_test[:1], [3, 8, 20], "post", progress=False)
    sub = ladder_rows(rows, ladder, "five", rungs=ladder_subset(ladder, 2))
    assert sub.setting.tolist() == [0, 2, 4]
    assert sub.bytes.tolist() == rows.sort_values("setting").bytes.tolist()
    with pytest.raises(ValueError, match="rung 1"):
        ladder_rows(rows, ladder, "five")  # q5 was not run
    with pytest.raises(ValueError, match="out of range"):
        ladder_rows(rows, ladder, "five", rungs=[7])
