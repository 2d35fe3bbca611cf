import numpy as np
import pytest
import torch

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.coding.ensemble import SELF_ENSEMBLE_SIZES, self_ensemble, transform, untransform
from comp_lib.metrics import psnr
from comp_lib.models import ComCNN, RecCNN


def test_transforms_are_the_eight_symmetries_and_invert():
    x = torch.arange(35.0).reshape(1, 1, 5, 7)
    seen = set()
    for k in range(8):
        y = transform(x, k)
        seen.add(tuple(y.flatten().tolist()) + tuple(y.shape))
        assert torch.equal(untransform(y, k), x), k
    assert len(seen) == 8  # all different: the whole dihedral group of the square


@pytest.mark.parametrize("n", SELF_ENSEMBLE_SIZES)
def test_an_equivariant_network_is_unchanged(n):
    x = torch.rand(2, 1, 21, 13)
    out = self_ensemble(lambda t, q: t * 2.0, x, None, n)
    assert out.shape == x.shape
    torch.testing.assert_close(out, x * 2.0)


def _grid_probe(x: torch.Tensor, quant) -> torch.Tensor:
    """A 'network' whose output is the distance to the nearest 8x8 block edge in its own
    input's frame, rows weighted by ``quant[0, 1]`` and columns by ``quant[1, 0]``."""
    h, w = x.shape[-2:]
    q = np.asarray(quant, dtype=np.float32)
    i, j = torch.arange(h) % 8, torch.arange(w) % 8
    rows, cols = torch.minimum(i, 7 - i).float(), torch.minimum(j, 7 - j).float()
    return (q[0, 1] * rows[:, None] + q[1, 0] * cols[None, :]).expand_as(x).clone()


def test_the_block_grid_and_the_table_follow_the_transforms():
    x = torch.zeros(1, 1, 21, 13)  # odd sizes: padded to 24x16, flipped, cropped back
    quant = jpeg.quant_table(50)
    assert quant[0, 1] != quant[1, 0]  # so a transpose without its table would show
    expected = _grid_probe(x, quant)
    torch.testing.assert_close(self_ensemble(_grid_probe, x, quant, 8), expected)
    # without the padding, a flip moves the block edges: the probe sees it
    assert not torch.allclose(self_ensemble(_grid_probe, x, quant, 2, grid=1), expected)


@pytest.mark.parametrize("n", [0, 3, 16, "8"])
def test_bad_sizes_are_refused(n):
    with pytest.raises(ValueError, match="self-ensemble size must be one of"):
        self_ensemble(lambda t, q: t, torch.zeros(1, 1, 8, 8), None, n)


def test_shipped_post_filter_gains_on_real_images_with_the_same_bytes(bsds_test):
    """The shipped post-filter (told the table) averaged over the 8 symmetries
    reconstructs the same JPEG file better, on crops of odd sizes."""
    codec = Codec.load("unet32q")
    gains = []
    for _, image in bsds_test[:3]:
        crop = image[5:210, 3:166]  # 205 x 163
        data = codec.compress(crop, 10)
        codec.self_ensemble = 1
        single = codec.decompress(data)
        codec.self_ensemble = 8
        assert codec.compress(crop, 10) == data  # decoding only: the bitstream is the same
        gains.append(psnr(crop, codec.decompress(data)) - psnr(crop, single))
    assert min(gains) > 0.0 and np.mean(gains) > 0.02, gains


@pytest.mark.parametrize("down_up, grid", [(True, 16), (False, 8)])
def test_the_codec_keeps_the_grid_of_its_jpeg(down_up, grid, image, monkeypatch):
    """JPEG's 8x8 blocks are 16x16 in the full-size image of a down/up model."""
    import comp_lib.coding.neural as neural

    seen = []

    def spy(run, x, quant, n, grid):
        seen.append((n, grid))
        return run(x, quant)

    monkeypatch.setattr(neural, "self_ensemble", spy)
    torch.manual_seed(0)
    codec = Codec(ComCNN(channels=8) if down_up else None, RecCNN(channels=8, depth=3)).eval()
    codec.self_ensemble = 4
    codec.decompress(codec.compress(image[:40, :48], 10))
    assert seen == [(4, grid)]


def test_the_trade_table_measures_each_size_against_jpeg_and_decoding_once(bsds_test, monkeypatch):
    import comp_lib.evaluate
    from comp_lib.baselines import JPEGCodec
    from comp_lib.studies.post_filters import self_ensemble_table

    evaluated, evaluate = [], comp_lib.evaluate.evaluate

    def counting_evaluate(coder, *args, **kwargs):
        evaluated.append((type(coder).__name__, getattr(coder, "self_ensemble", None)))
        return evaluate(coder, *args, **kwargs)

    monkeypatch.setattr(comp_lib.evaluate, "evaluate", counting_evaluate)
    torch.manual_seed(0)
    codec = Codec(None, RecCNN(channels=8, depth=3), name="tiny").eval()
    unit = Codec(None, RecCNN(channels=8, depth=3), name="unit").eval()
    images = [(name, image[:64, :72]) for name, image in bsds_test[:2]]
    table = self_ensemble_table(codec, images, [10, 30], [1, 2], images[0][1], unit, repeat=1)
    assert evaluated == [("JPEGCodec", None), ("Codec", 1), ("Codec", 2)]  # JPEG once
    assert codec.self_ensemble == 1  # put back
    assert list(table.self_ensemble) == [1, 1, 2, 2] and list(table.quality) == [10, 30, 10, 30]
    jpeg_psnr = np.mean([psnr(im, jpeg.decode(JPEGCodec().compress(im, 10))) for _, im in images])
    row = table.iloc[2]
    assert row.gain_db == pytest.approx(row.psnr - jpeg_psnr)
    assert row.ensemble_gain_db == pytest.approx(row.psnr - table.iloc[0].psnr)
    assert (table.ensemble_gain_db[:2] == 0).all() and (table.decode_x > 0).all()
    assert table.iloc[2].ensemble_gain_db != 0  # a random network is not equivariant
    with pytest.raises(ValueError, match="not a post-filter"):
        self_ensemble_table(Codec(ComCNN(channels=8), None), images, [10], [1], images[0][1], unit)


def test_the_trade_table_times_in_interleaved_rounds(bsds_test, monkeypatch):
    """Each round times the unit and every size once, so a slow spell of the machine falls
    on all of them; decode_x is the ratio of the medians."""
    import comp_lib.studies.post_filters as post_filters

    codec = Codec(None, RecCNN(channels=8, depth=3), name="tiny").eval()
    unit = Codec(None, RecCNN(channels=8, depth=3), name="unit").eval()
    order, clock = [], iter([10.0, 20, 40, 99, 21, 41, 10, 22, 39])  # round 2's unit slow

    def fake_decode_ms(c, image, quality=10, repeat=3):
        order.append((c.name, c.self_ensemble, repeat))
        return next(clock)

    monkeypatch.setattr(post_filters, "decode_ms", fake_decode_ms)
    images = [(name, image[:48, :56]) for name, image in bsds_test[:1]]
    table = post_filters.self_ensemble_table(codec, images, [10], [1, 2], images[0][1], unit,
                                             repeat=3)  # fmt: skip
    assert order == [("unit", 1, 1), ("tiny", 1, 1), ("tiny", 2, 1)] * 3
    assert list(table.decode_ms) == [21.0, 40.0]  # medians
    assert list(table.decode_x) == [2.1, 4.0]  # over the unit's median, 10


def test_interleaved_timings_call_each_once_per_round_and_take_medians():
    from comp_lib.studies.post_filters import interleaved_decode_ms

    calls, clock = [], {"a": iter([5.0, 50.0, 6.0]), "b": iter([1.0, 2.0, 30.0])}

    def timing(key):
        def run():
            calls.append(key)
            return next(clock[key])

        return run

    assert interleaved_decode_ms({"a": timing("a"), "b": timing("b")}, rounds=3) == {
        "a": 6.0,
        "b": 2.0,
    }
    assert calls == ["a", "b"] * 3
    with pytest.raises(ValueError, match="rounds must be >= 1, got 0"):
        interleaved_decode_ms({"a": timing("a")}, rounds=0)
