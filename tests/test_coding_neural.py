import numpy as np
import pytest
import torch

from comp_lib import jpeg
from comp_lib.coding import MAGIC, Codec, pack_header, parse_header
from comp_lib.metrics import bpp
from comp_lib.models import ComCNN, RecCNN


@pytest.fixture(scope="module")
def small_codec() -> Codec:
    """A narrow, shallow codec: the round-trip properties do not depend on network size."""
    torch.manual_seed(0)
    return Codec(ComCNN(channels=16), RecCNN(channels=16, depth=4)).eval()


@pytest.fixture(scope="module")
def paper_codec() -> Codec:
    torch.manual_seed(0)
    return Codec().eval()


def test_roundtrip_every_bsds300_test_image(small_codec, bsds_test):
    assert len(bsds_test) == 100
    for name, image in bsds_test:
        data = small_codec.compress(image, quality=10)
        header = parse_header(data)
        assert (header["height"], header["width"], header["quality"]) == (*image.shape, 10)
        x_hat = small_codec.decompress(data)
        assert x_hat.dtype == np.uint8 and x_hat.shape == image.shape, name
        rate = bpp(data, image.shape)
        assert rate == 8 * len(data) / (image.shape[0] * image.shape[1])
        assert 0 < rate < 8


def test_roundtrip_paper_size_networks_and_reload(paper_codec, image, tmp_path):
    data = paper_codec.compress(image, quality=20)
    x_hat = paper_codec.decompress(data)
    assert x_hat.shape == image.shape
    path = paper_codec.save(tmp_path / "paper.pt")
    again = Codec.load(path)
    # the reloaded codec is named after its file; same weights, same fingerprint and payload
    assert (paper_codec.name, again.name) == (None, "paper")
    assert again.fingerprint == paper_codec.fingerprint
    again_data = again.compress(image, quality=20)
    assert again_data[again.header_size :] == data[paper_codec.header_size :]
    assert np.array_equal(again.decompress(data), x_hat)


@pytest.mark.parametrize("size", [(8, 8), (9, 9), (8, 13), (17, 10), (33, 64)])
def test_odd_and_small_sizes(small_codec, image, size):
    crop = np.ascontiguousarray(image[: size[0], : size[1]])
    data = small_codec.compress(crop, quality=50)
    assert small_codec.decompress(data).shape == size


def test_bitstream_is_header_plus_real_jpeg(small_codec, image):
    data = small_codec.compress(image, quality=30)
    assert data[:3] == MAGIC
    assert small_codec.header_size == 9 + 2 + 0 + 8  # unnamed model
    compact = jpeg.decode(data[small_codec.header_size :])
    assert compact.shape == ((image.shape[0] + 1) // 2, (image.shape[1] + 1) // 2)
    # the compact image is what ComCNN makes of the image, coded at that quality
    x = torch.from_numpy(image.copy()).float()[None, None] / 255
    with torch.no_grad():
        expected = torch.clamp(torch.round(small_codec.comcnn(x) * 255), 0, 255)
    assert jpeg.encode(expected[0, 0].to(torch.uint8).numpy(), 30) == data[19:]


def test_forward_real_matches_compress_decompress(small_codec, image):
    x = torch.from_numpy(image.copy()).float()[None, None] / 255
    with torch.no_grad():
        out = small_codec(x, quality=10, jpeg_mode="real")
    data = small_codec.compress(image, 10)
    assert out["bpp"].item() == pytest.approx(bpp(data, image.shape))
    x_hat = np.clip(np.round(out["x_hat"][0, 0].numpy() * 255), 0, 255)
    assert np.abs(x_hat - small_codec.decompress(data)).max() <= 1


@pytest.mark.parametrize("mode", ["real", "identity", "approx"])
def test_forward_modes_and_gradients(mode, image):
    torch.manual_seed(0)
    codec = Codec(ComCNN(channels=8), RecCNN(channels=8, depth=3)).train()
    x = torch.from_numpy(np.ascontiguousarray(image[:64, :48])).float()[None, None] / 255
    out = codec(torch.cat([x, x.flip(-1)]), quality=10, jpeg_mode=mode)
    assert {"x_hat", "x_compact", "x_compact_hat", "x_up"} <= set(out)
    assert out["x_hat"].shape == (2, 1, 64, 48)
    assert out["x_compact"].shape == (2, 1, 32, 24)
    assert ("bpp" in out) == (mode == "real")
    (out["x_hat"] - torch.cat([x, x.flip(-1)])).square().mean().backward()
    com_grad = [p.grad for p in codec.comcnn.parameters()]
    assert all(p.grad is not None for p in codec.reccnn.parameters())
    if mode == "real":
        assert all(g is None for g in com_grad)  # no gradient passes the real codec
    else:
        assert all(g is not None and g.abs().sum() > 0 for g in com_grad)


def test_compress_restores_training_mode(small_codec, image):
    small_codec.train()
    small_codec.compress(image, 10)
    assert small_codec.training
    small_codec.eval()


@pytest.mark.parametrize(
    "bad,err,match",
    [
        (np.zeros((16, 16, 4), np.uint8), ValueError, "alpha"),
        (np.zeros((16, 16, 2), np.uint8), ValueError, "2-D grayscale"),
        (np.zeros((16, 16, 3, 1), np.uint8), ValueError, r"RGB \(H, W, 3\)"),
        (np.zeros((16, 16), np.float32), TypeError, "uint8"),
        (np.zeros((16, 16, 3), np.uint16), TypeError, "8 bits per sample"),
        (np.zeros((7, 16, 3), np.uint8), ValueError, "at least 8x8"),
        (np.zeros((7, 16), np.uint8), ValueError, "at least 8x8"),
        (np.zeros((0, 0), np.uint8), ValueError, "empty"),
        ([[0] * 16] * 16, TypeError, "numpy"),
    ],
)
def test_compress_bad_image(small_codec, bad, err, match):
    with pytest.raises(err, match=match):
        small_codec.compress(bad, 10)


@pytest.mark.parametrize("quality", [0, 96, 10.0, None])
def test_compress_bad_quality(small_codec, image, quality):
    with pytest.raises((TypeError, ValueError), match="quality"):
        small_codec.compress(image, quality)


def test_decompress_bad_bitstreams(small_codec, image):
    data = small_codec.compress(image, 10)
    h, w = image.shape
    jpeg_data = data[small_codec.header_size :]
    fp = small_codec.fingerprint

    def forged(height: int, width: int) -> bytes:
        return pack_header(height, width, 10, fingerprint=fp) + jpeg_data

    cases = {
        "empty": b"",
        "truncated": data[:5],
        "no JPEG payload": data[: small_codec.header_size],
        "corrupt or truncated": data[: len(data) // 2],
        "not a comp_lib bitstream": b"\xff\xd8" + data[2:],
        "unsupported bitstream version": data[:3] + b"\x09" + data[4:],
        "quality": data[:8] + b"\x00" + data[9:],
        "below 8x8": forged(4, w),
        # a forged 65535x65535 header must be refused before anything is allocated
        "above the decoder's limit": forged(65535, 65535),
        "expected": forged(h + 2, w),
        "colour mode": data[:9] + b"\x07" + data[10:],
        "name length": data[:10] + b"\xff" + data[11:],
        "not grayscale": pack_header(h, w, 10, fingerprint=fp)
        + jpeg.encode_ycbcr(np.dstack([jpeg.decode(jpeg_data)] * 3), 10, 10),
        "not 3-component": pack_header(h, w, 10, "ycbcr", fingerprint=fp) + jpeg_data,
    }
    for match, bad in cases.items():
        with pytest.raises(ValueError, match=match):
            small_codec.decompress(bad)
    with pytest.raises(TypeError):
        small_codec.decompress("not bytes")
    # above the pixel limit, the JPEG's own header is checked before any pixel is decoded
    from comp_lib.coding import BicubicCodec

    lenient = BicubicCodec()
    lenient.max_pixels = 2**32
    for version in (1, 2):
        forged_v = pack_header(65535, 65535, 10, version=version, **(
            {"fingerprint": lenient.fingerprint} if version == 2 else {}))  # fmt: skip
        with pytest.raises(ValueError, match="expected 32768x32768"):
            lenient.decompress(forged_v + jpeg_data)


def test_load_errors(tmp_path, small_codec):
    with pytest.raises(FileNotFoundError, match="no shipped model"):
        Codec.load("no-such-model")
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not a readable torch checkpoint"):
        Codec.load(text)
    # a checkpoint whose weights do not fit the networks it declares
    state = small_codec.state()
    state["reccnn_config"]["channels"] = 32
    torch.save(state, tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match="do not fit"):
        Codec.load(tmp_path / "wrong.pt")
    torch.save({"some": torch.zeros(1)}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not a comp_lib codec checkpoint"):
        Codec.load(tmp_path / "foreign.pt")


class _Payload:
    def __reduce__(self):
        return (print, ("code ran while loading",))


def test_load_refuses_pickled_code(tmp_path, small_codec):
    """Checkpoints load with weights_only=True: arbitrary objects are refused."""
    state = small_codec.state()
    state["metadata"] = {"evil": _Payload()}
    torch.save(state, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="not a readable torch checkpoint"):
        Codec.load(tmp_path / "evil.pt")


def test_save_is_atomic(tmp_path, small_codec, monkeypatch):
    path = small_codec.save(tmp_path / "model.pt")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        Codec(ComCNN(channels=16), RecCNN(channels=16, depth=4)).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_bicubic_baseline_roundtrip_and_quality(images):
    from comp_lib.coding import BicubicCodec
    from comp_lib.metrics import psnr

    baseline = BicubicCodec()
    for image in images:
        data = baseline.compress(image, 50)
        x_hat = baseline.decompress(data)
        assert x_hat.shape == image.shape and x_hat.dtype == np.uint8
        # a real reconstruction: far better than a flat image, worse than full-size JPEG q50
        flat = np.full_like(image, int(image.mean()))
        full = jpeg.decode(jpeg.encode(image, 50))
        assert psnr(image, flat) + 5 < psnr(image, x_hat) < psnr(image, full)
        assert len(data) < len(jpeg.encode(image, 50))


def test_bitstream_jpeg_is_the_anchor_behind_a_header(images):
    """The plain-JPEG rungs of a ladder: JPEG's bytes and pixels, plus the header."""
    from comp_lib.coding import BitstreamJPEG, Ladder
    from comp_lib.zoo import load_model

    coder = load_model("jpeg")
    assert isinstance(coder, BitstreamJPEG) and coder.header_size == 23
    for image in images[:2]:
        data = coder.compress(image, 75)
        assert data[coder.header_size :] == jpeg.encode(image, 75)
        assert np.array_equal(coder.decompress(data), jpeg.decode(jpeg.encode(image, 75)))
        assert parse_header(data)["model"] == "jpeg"
    rgb = np.stack([images[0]] * 3, axis=-1)
    assert coder.decompress(coder.compress(rgb, 75)).shape == rgb.shape
    ladder = Ladder({"jpeg": coder, "bicubic": load_model("bicubic")},
                    [("bicubic", 10), ("jpeg", 60)])  # fmt: skip
    low, high = (ladder.compress(images[0], i) for i in (0, 1))
    assert len(low) < len(high)
    assert np.array_equal(ladder.decompress(high), coder.decompress(high))
    with pytest.raises(ValueError, match="made by"):
        coder.decompress(load_model("bicubic").compress(images[0], 10))


def test_the_papers_ablations_leave_one_network_out(image, tmp_path):
    """Codec(None, rec) is JPEG + a post-filter; Codec(com, None) is ComCNN + bicubic x2."""
    from comp_lib.metrics import psnr

    torch.manual_seed(0)
    rec = RecCNN(channels=8, depth=3)
    last = [m for m in rec.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    post = Codec(None, rec).eval()  # RecCNN only, as the identity here
    data = post.compress(image, 20)
    assert data[post.header_size :] == jpeg.encode(image, 20)  # JPEG of the full-size image
    assert np.array_equal(post.decompress(data), jpeg.decode(jpeg.encode(image, 20)))
    com_only = Codec(ComCNN(channels=8).init_as_downsampler(), None).eval()
    data = com_only.compress(image, 50)
    assert jpeg.decode(data[com_only.header_size :]).shape == ((image.shape[0] + 1) // 2, 161)
    flat = np.full_like(image, int(image.mean()))
    assert psnr(image, com_only.decompress(data)) > psnr(image, flat) + 5  # real, if blurry
    for codec in (post, com_only):
        again = Codec.load(codec.save(tmp_path / "ablation.pt"))
        assert (again.comcnn is None) == (codec.comcnn is None)
        assert (again.reccnn is None) == (codec.reccnn is None)
    with pytest.raises(ValueError, match="without either"):
        Codec(None, None)
    with pytest.raises(TypeError, match="comcnn"):
        Codec(RecCNN(), None)


def test_shipped_models_load_offline_by_name(image):
    from comp_lib.config import WEIGHTS_DIR
    from comp_lib.metrics import psnr

    shipped = sorted(WEIGHTS_DIR.glob("*.pt"))
    assert shipped, "no shipped model"
    for path in shipped:
        assert path.with_suffix(".md").is_file() and path.with_suffix(".log.csv").is_file()
        codec = Codec.load(path.stem)
        # the file holds the weights and a little metadata, nothing else (no optimizer
        # state), fp32; the deepest, the 3-block U-Net (6.5 M parameters), is 26 MB
        state = codec.state_dict().values()
        weights = sum(v.numel() * v.element_size() for v in state)
        assert {v.dtype for v in state if v.is_floating_point()} == {torch.float32}
        assert codec.metadata["name"] == path.stem
        assert path.stat().st_size < weights + 50e3 and path.stat().st_size < 30e6
        data = codec.compress(image, 40)
        x_hat = codec.decompress(data)
        flat = np.full_like(image, int(image.mean()))
        assert psnr(image, x_hat) > psnr(image, flat) + 5  # a trained codec, not noise


def test_shipped_ladders_load_and_code(image):
    """Each shipped ladder names shipped models, has a card, and its rungs climb in rate."""
    from comp_lib.coding import FIXED_CODERS, Ladder
    from comp_lib.config import WEIGHTS_DIR
    from comp_lib.zoo import shipped_models

    files = sorted(WEIGHTS_DIR.glob("*.ladder.json"))
    assert files, "no shipped ladder"
    for path in files:
        name = path.name.removesuffix(".ladder.json")
        assert (WEIGHTS_DIR / f"{name}.ladder.md").is_file()
        ladder = Ladder.load(name)
        assert set(ladder.codecs) <= set(shipped_models()) | set(FIXED_CODERS)
        assert ladder.bpp == sorted(ladder.bpp) and len(ladder.bpp) == len(ladder.rungs)
        sizes = [len(ladder.compress(image, i)) for i in (0, len(ladder.rungs) - 1)]
        assert sizes[0] < sizes[1]
        x_hat = ladder.decompress(ladder.compress(image, len(ladder.rungs) // 2))
        assert x_hat.shape == image.shape and x_hat.dtype == np.uint8
