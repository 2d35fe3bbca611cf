"""Coding to a budget (compress_at_bpp) and the shipped ladder against its committed rows.

Every rate here is counted from the bytes: ``8 * len(data) / (H * W)``, never from a helper
of the library, and every reference (the rung that fits, the committed row) is found
independently of the function under test.
"""

import numpy as np
import pandas as pd
import pytest
from skimage.metrics import peak_signal_noise_ratio

from comp_lib.coding import Ladder, compress_at_bpp, parse_header
from comp_lib.config import PROJECT_ROOT
from comp_lib.zoo import load_model

BUDGETS = (0.3, 0.5, 1.0)  # bits per pixel
LADDER = "best"  # the shipped ladder of notebook 03's "ours"


def _rate(data: bytes, image: np.ndarray) -> float:
    return 8 * len(data) / (image.shape[0] * image.shape[1])


def _memoize(monkeypatch, codec) -> None:
    """Code each (image, setting) once: the coders are deterministic, the test is faster."""
    cache, compress = {}, codec.compress

    def memo(image, setting, chroma=None):
        key = (id(image), int(setting), chroma)
        if key not in cache:
            cache[key] = compress(image, setting, chroma=chroma)
        return cache[key]

    monkeypatch.setattr(codec, "compress", memo)


#: The shipped models' whole validation envelope (the shipped ladder of git 8e8383f): the
#: shipped rungs and three more where the two models alternate, whose rates need not rise
#: with the rung on one image
WHOLE_ENVELOPE = [("rec32x20n", q) for q in (2, 3, 4, 5, 6)] + [
    ("unet32q", 2), ("rec32x20n", 8), ("unet32q", 3), ("rec32x20n", 10)
] + [("unet32q", q) for q in (4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 90)]  # fmt: skip


@pytest.fixture(scope="module")
def crops(bsds_test) -> list[np.ndarray]:
    """Three non-square 96x128 crops of BSDS300 test photos: textured, mixed, and sky (where
    the whole envelope's first full-resolution rung, 5, codes more bytes than rungs 6 and
    7)."""
    images = dict(bsds_test)
    picks = [("101085", 0, 0), ("21077", 160, 100), ("299086", 0, 0)]  # (image, top, left)
    return [np.ascontiguousarray(images[n][y : y + 96, x : x + 128]) for n, y, x in picks]


@pytest.fixture(scope="module")
def ladder() -> Ladder:
    return Ladder.load(LADDER)


@pytest.mark.parametrize(("model", "n_crops"), [("rec32x20", 2), ("jpeg", 3)])
def test_compress_at_bpp_takes_the_highest_quality_whose_bytes_fit(
    crops, model, n_crops, monkeypatch
):
    """The chosen quality's real bytes fit the budget and quality + 1's do not (or q is 95)."""
    codec = load_model(model)
    _memoize(monkeypatch, codec)
    inner = 0  # cases with a quality below and above the chosen one
    for crop in crops[:n_crops]:
        for budget in BUDGETS:
            data, q = compress_at_bpp(codec, crop, budget)
            assert data == codec.compress(crop, q)  # the stream is that quality's
            assert _rate(data, crop) <= budget, (budget, q)
            if q < 95:
                assert _rate(codec.compress(crop, q + 1), crop) > budget, (budget, q)
            inner += 1 < q < 95
    assert inner >= 2 * n_crops
    data, q = compress_at_bpp(codec, crops[0], 8.0)  # every quality fits: the highest
    assert q == 95 and data == codec.compress(crops[0], 95)
    data, q = compress_at_bpp(codec, crops[0], 0.01)  # nothing fits: the lowest quality
    assert q == 1 and data == codec.compress(crops[0], 1)


@pytest.mark.parametrize("rungs", ["shipped", "whole envelope"])
def test_compress_at_bpp_with_a_ladder_takes_the_highest_rung_whose_bytes_fit(
    crops, ladder, rungs, monkeypatch
):
    """Every rung's real bytes decide, not the rates stored in the ladder (validation means);
    on the whole envelope, a rung below the chosen one may not fit."""
    if rungs == "whole envelope":
        assert set(ladder.rungs) < set(WHOLE_ENVELOPE)  # the hull left some out
        ladder = Ladder(ladder.codecs, WHOLE_ENVELOPE, name=ladder.name)
    _memoize(monkeypatch, ladder)
    top = len(ladder.rungs) - 1
    inner = 0  # cases with a choice below and above the chosen rung
    skipped = 0  # cases where a rung below the chosen one does not fit (rates not monotone)
    for crop in crops:
        streams = [ladder.compress(crop, s) for s in ladder.settings]
        rates = [_rate(d, crop) for d in streams]
        for budget in (0.15, *BUDGETS):  # 0.15: no rung of the textured crop fits
            data, s = compress_at_bpp(ladder, crop, budget)
            fits = [i for i, r in enumerate(rates) if r <= budget]
            assert s == (fits[-1] if fits else 0), (budget, rates)  # none fits: the lowest
            assert data == streams[s]
            assert parse_header(data)["model"] == ladder.rungs[s][0]
            if fits:
                assert rates[s] <= budget
                assert s == top or rates[s + 1] > budget  # the next rung up does not fit
            inner += 0 < s < top
            skipped += any(r > budget for r in rates[:s])
    assert inner >= 5 and (skipped >= 1 or rungs == "shipped")


# --------------------------------------------------------------------------- committed rows

ROWS = PROJECT_ROOT / "reports" / "tables" / "03_rows.csv"


@pytest.fixture(scope="module")
def committed() -> pd.DataFrame:
    """The ladder's rows ("ours", setting = rung) on BSDS300 test, from notebook 03."""
    rows = pd.read_csv(ROWS, dtype={"image": str})
    return rows[(rows.codec == "ours") & (rows.dataset == "bsds300_test")]


# rungs the default profile evaluates (ladder_step 4): rec32x20n (ComCNN+RecCNN) at 0 and 4,
# the unet32q post-filter (RecCNN only) at 12 and at the top rung, 20
@pytest.mark.parametrize(("image", "rungs"), [("101085", (0, 20)), ("148026", (4,)),
                                              ("210088", (12,))])  # fmt: skip
def test_shipped_ladder_reproduces_its_committed_rows(bsds_test, ladder, committed, image, rungs):
    """Notebook 03 codes the whole grayscale image (load_dataset_gray): the same bytes and
    PSNR (scikit-image's) now."""
    x = dict(bsds_test)[image]
    for s in rungs:
        row = committed[(committed.image == image) & (committed.setting == s)]
        assert len(row) == 1, (image, s)
        row = row.iloc[0]
        data = ladder.compress(x, s)
        assert parse_header(data)["model"] == ladder.rungs[s][0]
        assert len(data) == row.bytes
        assert _rate(data, x) == pytest.approx(row.bpp, rel=1e-12, abs=1e-9)
        x_hat = ladder.decompress(data)
        assert x_hat.shape == x.shape
        got = peak_signal_noise_ratio(x, x_hat, data_range=255)
        assert got == pytest.approx(row.psnr, abs=0.05), (image, s)


def test_compress_at_bpp_with_a_baseline_codec(crops):
    """A baseline of comp_lib.baselines (the RateCodec protocol: compress(image, setting),
    no chroma argument) is searched the same way: quality q fits, q + 1 does not."""
    from comp_lib.baselines import JPEGCodec

    codec, crop = JPEGCodec(), crops[0]
    data, q = compress_at_bpp(codec, crop, 0.5)
    assert data == codec.compress(crop, q) and _rate(data, crop) <= 0.5
    assert _rate(codec.compress(crop, q + 1), crop) > 0.5


def test_ladder_file_round_trip_and_setting_for_bpp(tmp_path):
    """A ladder written by save() is plain JSON (read here with json, not Ladder.load) with
    its name, rungs and rates; it loads back equal; setting_for_bpp is the highest rung whose
    validation rate is at most the target, by hand."""
    import json

    codecs = {m: load_model(m) for m in ("bicubic", "jpeg")}
    rungs, rates = [("bicubic", 10), ("jpeg", 5), ("jpeg", 30)], [0.1, 0.2, 0.4]
    ladder = Ladder(codecs, rungs, name="three", bpp=rates)
    path = ladder.save(tmp_path / "three.ladder.json")
    assert path == tmp_path / "three.ladder.json"
    assert json.loads(path.read_text()) == {"name": "three", "rungs": [list(r) for r in rungs],
                                            "bpp": rates}  # fmt: skip
    again = Ladder.load(path)
    assert (again.name, again.rungs, again.bpp) == ("three", rungs, rates)
    assert ladder.to_dict() == json.loads(path.read_text())
    for target, rung in ((0.05, 0), (0.1, 0), (0.15, 0), (0.2, 1), (0.39, 1), (0.4, 2), (9, 2)):
        assert ladder.setting_for_bpp(target) == rung, target
    with pytest.raises(ValueError, match="ladder 'bare' has no validation rates"):
        Ladder(codecs, rungs, name="bare").setting_for_bpp(0.2)


def test_ladder_arguments_are_checked_with_their_reason(tmp_path):
    import json

    codecs = {m: load_model(m) for m in ("bicubic", "jpeg")}
    plain = Ladder(codecs, [("jpeg", 5)])
    assert plain.name == "ladder" and plain.bpp is None and plain.rungs == [("jpeg", 5)]
    with pytest.raises(ValueError, match="^a Ladder needs at least one rung$"):
        Ladder(codecs, [])
    with pytest.raises(ValueError, match=r"^rung \('post', 5\): no codec named 'post'$"):
        Ladder(codecs, [("post", 5)])
    with pytest.raises(ValueError, match=r"^codec under 'other' writes the name 'jpeg'$"):
        Ladder({"other": codecs["jpeg"]}, [("other", 5)])
    with pytest.raises(ValueError, match="^1 rates for 2 rungs$"):
        Ladder(codecs, [("jpeg", 5), ("jpeg", 9)], bpp=[0.1])
    # a file without a name is named after its stem; a file that is not a ladder is refused
    (tmp_path / "stem.json").write_text(json.dumps({"rungs": [["jpeg", 5]], "bpp": [0.2]}))
    loaded = Ladder.load(tmp_path / "stem.json")
    assert (loaded.name, loaded.bpp) == ("stem", [0.2])
    (tmp_path / "bad.json").write_text(json.dumps({"steps": []}))
    with pytest.raises(ValueError, match=r"bad.json is not a ladder file: 'rungs'"):
        Ladder.load(tmp_path / "bad.json")


def test_compress_at_bpp_at_a_budget_met_exactly_and_in_colour(crops):
    """A budget of exactly a setting's bytes takes that setting (it fits: <=), for a codec
    and for a ladder; 64x128 pixels, so that the bpp of a byte count is exact in binary. In
    colour, the chroma mode reaches compress; a budget of 0 is refused."""
    from comp_lib.data import load_image
    from comp_lib.data.registry import dataset_dir

    crop = np.ascontiguousarray(crops[1][:64, :128])
    jpeg_coder = load_model("jpeg")
    for q in (12, 40, 77):
        exact = 8 * len(jpeg_coder.compress(crop, q)) / crop.size
        data, got = compress_at_bpp(jpeg_coder, crop, exact)
        assert got >= q and len(data) * 8 / crop.size <= exact
    # the sky: qualities 1-3 code to the same bytes, so a budget of exactly quality 1's bytes
    # still lets the search climb past it (to the highest quality it finds that fits)
    sky = np.ascontiguousarray(crops[2][:64, :128])
    lowest = 8 * len(jpeg_coder.compress(sky, 1)) / sky.size
    data, got = compress_at_bpp(jpeg_coder, sky, lowest)
    assert got > 1 and len(data) * 8 / sky.size <= lowest
    assert len(jpeg_coder.compress(sky, got + 1)) * 8 / sky.size > lowest
    ladder = Ladder.load(LADDER)
    for rung in (3, 9):
        exact = 8 * len(ladder.compress(crop, rung)) / crop.size
        fits = [
            s for s in ladder.settings if len(ladder.compress(crop, s)) * 8 / crop.size <= exact
        ]
        assert compress_at_bpp(ladder, crop, exact)[1] == max(fits) >= rung
    with pytest.raises(ValueError, match="^bpp must be > 0, got 0$"):
        compress_at_bpp(jpeg_coder, crop, 0)
    rgb = np.ascontiguousarray(load_image(dataset_dir("kodak") / "kodim23.png")[0][:64, :128])
    codec = load_model("rec32x20")
    data, q = compress_at_bpp(codec, rgb, 1.0, chroma="cnn")
    assert data == codec.compress(rgb, q, chroma="cnn") != codec.compress(rgb, q, chroma="jpeg")
    assert (
        len(data) * 8 / (64 * 128)
        <= 1.0
        < len(codec.compress(rgb, q + 1, chroma="cnn")) * 8 / (64 * 128)
    )


def test_a_ladder_refuses_a_file_of_a_model_it_does_not_hold(crops):
    from comp_lib.coding import BitstreamJPEG

    other = BitstreamJPEG()
    other.name = "other"
    ladder = Ladder({"jpeg": load_model("jpeg"), "other": other}, [("jpeg", 5), ("other", 9)],
                    name="duo")  # fmt: skip
    data = load_model("bicubic").compress(crops[0], 10)
    with pytest.raises(ValueError, match=r"^bitstream was made by model 'bicubic', which is not "
                       r"on ladder 'duo' \(jpeg, other\)$"):  # fmt: skip
        ladder.decompress(data)
    # a rung out of range, with the range in the message
    for bad in (-1, 2):
        with pytest.raises(ValueError, match=rf"^setting must be a rung 0..1, got {bad}$"):
            ladder.compress(crops[0], bad)


def test_a_ladder_passes_the_chroma_mode_to_its_model():
    from comp_lib.data import load_image
    from comp_lib.data.registry import dataset_dir

    rgb = np.ascontiguousarray(load_image(dataset_dir("kodak") / "kodim23.png")[0][:64, :64])
    model = load_model("rec32x20")
    ladder = Ladder({"rec32x20": model}, [("rec32x20", 20)])
    for chroma in ("jpeg", "cnn"):
        assert ladder.compress(rgb, 0, chroma=chroma) == model.compress(rgb, 20, chroma=chroma)
    assert ladder.compress(rgb, 0, chroma="cnn") != ladder.compress(rgb, 0)


def test_a_ladder_decodes_its_post_filter_rungs_as_a_self_ensemble(crops):
    """Only the post-filter rung takes the ensemble; the down/up and fixed rungs decode once,
    and the same bytes decode to what the post-filter alone gives with that setting."""
    ladder = Ladder.load("best")
    ladder.codecs["jpeg"] = load_model("jpeg")
    ladder.rungs.append(("jpeg", 30))
    assert ladder.set_self_ensemble(2) == ["unet32q"]
    assert ladder.codecs["unet32q"].self_ensemble == 2
    assert ladder.codecs["rec32x20n"].self_ensemble == 1  # down/up: measured for post-filters only
    image = crops[0]
    rung = next(i for i, (m, _) in enumerate(ladder.rungs) if m == "unet32q")
    data = ladder.compress(image, rung)
    alone = load_model("unet32q")
    once = alone.decompress(data)
    alone.self_ensemble = 2
    assert np.array_equal(ladder.decompress(data), alone.decompress(data))
    assert not np.array_equal(ladder.decompress(data), once)  # it does change the decode
    assert ladder.set_self_ensemble(1) == ["unet32q"]
    assert np.array_equal(ladder.decompress(data), once)
    with pytest.raises(ValueError, match="self_ensemble must be one of"):
        ladder.set_self_ensemble(3)
