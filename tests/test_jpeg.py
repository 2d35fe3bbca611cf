import io
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from comp_lib import jpeg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from jpeg_approx import measure, summarize  # noqa: E402


def test_quant_table_matches_libjpeg_at_every_quality(image):
    for q in range(1, 96):
        tables = Image.open(io.BytesIO(jpeg.encode(image, q))).quantization
        assert len(tables) == 1  # one component: grayscale
        assert np.array_equal(np.array(tables[0]).reshape(8, 8), jpeg.quant_table(q)), q


def test_quant_table_formula():
    assert np.array_equal(jpeg.quant_table(50), jpeg.LUMA_TABLE)
    assert jpeg.quant_table(1).max() == 255  # baseline clamp
    assert jpeg.quant_table(95)[0, 0] == (16 * 10 + 50) // 100


def test_encode_settings_baseline_grayscale_optimized(image):
    data = jpeg.encode(image, 10)
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    assert b"\xff\xc0" in data  # SOF0: baseline sequential
    assert b"\xff\xc2" not in data  # not progressive
    sof = data.index(b"\xff\xc0")
    assert data[sof + 9] == 1  # number of components
    plain = io.BytesIO()
    Image.fromarray(image).save(plain, format="JPEG", quality=10)
    assert len(data) < len(plain.getvalue())  # optimized Huffman tables are in use


def test_roundtrip_and_rate_falls_with_quality(images):
    for image in images:
        sizes = []
        for q in (5, 10, 30, 50, 75, 95):
            data = jpeg.encode(image, q)
            decoded = jpeg.decode(data)
            assert decoded.dtype == np.uint8 and decoded.shape == image.shape
            sizes.append(len(data))
        assert sizes == sorted(sizes) and sizes[0] < sizes[-1] / 4


@pytest.mark.parametrize("bad", [0, 96, -3, 10.5, True, "10", None])
def test_bad_quality(image, bad):
    with pytest.raises((TypeError, ValueError), match="quality"):
        jpeg.encode(image, bad)


@pytest.mark.parametrize(
    "bad,err",
    [
        (np.zeros((8, 8, 3), np.uint8), ValueError),
        (np.zeros((8, 8), np.float32), TypeError),
        (np.zeros((0, 8), np.uint8), ValueError),
        ([[1, 2], [3, 4]], TypeError),
    ],
)
def test_encode_bad_image(bad, err):
    with pytest.raises(err, match="image"):
        jpeg.encode(bad, 10)


def test_decode_errors(image):
    data = jpeg.encode(image, 30)
    with pytest.raises(ValueError, match="empty"):
        jpeg.decode(b"")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        jpeg.decode(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        jpeg.decode(b"this is not a jpeg file at all")
    with pytest.raises(ValueError, match="expected 10x10"):
        jpeg.decode(data, expected_size=(10, 10))
    rgb = io.BytesIO()
    Image.fromarray(np.stack([image] * 3, -1)).save(rgb, format="JPEG")
    with pytest.raises(ValueError, match="not grayscale"):
        jpeg.decode(rgb.getvalue())
    with pytest.raises(TypeError):
        jpeg.decode("text")


def test_quality_for_bpp(image):
    q, data = jpeg.quality_for_bpp(image, 0.5)
    rate = 8 * len(data) / image.size
    neighbours = [8 * len(jpeg.encode(image, k)) / image.size for k in (q - 1, q + 1) if 1 <= k]
    assert all(abs(rate - 0.5) <= abs(r - 0.5) for r in neighbours)


def test_diff_round_values_and_gradients():
    x = torch.tensor([0.2, 0.5, 1.7, -2.4], requires_grad=True)
    ste = jpeg.diff_round(x, "ste")
    assert torch.equal(ste, torch.round(x))
    ste.sum().backward()
    assert torch.equal(x.grad, torch.ones(4))
    x.grad = None
    cubic = jpeg.diff_round(x, "cubic")
    r = torch.round(x.detach())
    assert torch.allclose(cubic, r + (x.detach() - r) ** 3)
    cubic.sum().backward()
    assert torch.allclose(x.grad, 3 * (x.detach() - r) ** 2)
    with pytest.raises(ValueError, match="rounding"):
        jpeg.diff_round(x, "floor")


@pytest.mark.parametrize("size", [(8, 8), (13, 21), (481, 321)])
def test_diffjpeg_shapes_and_gradient(size):
    x = torch.rand(2, 1, *size, requires_grad=True)
    y = jpeg.DiffJPEG(20, "ste")(x)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    y.sum().backward()
    assert x.grad.abs().sum() > 0


def test_diffjpeg_agrees_with_libjpeg(images):
    """Bounds measured on all 100 BSDS300 test images (reports/tables/diffjpeg_agreement.md):

    ste: PSNR against libjpeg >= 43.6 dB on every image and quality; the PSNR of the
    approximation against the original is within 0.1 dB of libjpeg's up to quality 85.
    cubic: >= 37.4 dB (its forward pass is not rounding, by design).
    """
    table = summarize(measure(images, qualities=(5, 10, 20, 50, 75, 95)))
    ste, cubic = table[table.rounding == "ste"], table[table.rounding == "cubic"]
    assert (ste.min_psnr_vs_libjpeg >= 43.0).all(), ste
    assert (ste[ste.quality <= 85].max_psnr_gap <= 0.1).all(), ste
    assert (cubic.min_psnr_vs_libjpeg >= 37.0).all(), cubic
    # the approximation is a JPEG, not the identity: it loses what libjpeg loses
    assert (ste.mean_psnr_approx < 35).sum() >= 4


# --------------------------------------------------------------------------- colour tables

#: T.81 figure A.6: the natural (row-major) position of each zigzag index (DQT stores zigzag).
ZIGZAG = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34,
          27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37,
          44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63]  # fmt: skip


@pytest.fixture(scope="module")
def kodak_rgb() -> Image.Image:
    """A 48x64 RGB crop of a real colour photo (Kodak kodim23)."""
    from comp_lib.data import dataset_dir

    with Image.open(dataset_dir("kodak") / "kodim23.png") as img:
        return img.convert("RGB").crop((300, 200, 364, 248))


def _pillow_jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **kw)
    return buf.getvalue()


def _tables(data: bytes) -> dict[int, np.ndarray]:
    """Pillow's quantization tables of a JPEG file as 8x8 arrays (Pillow lists natural order)."""
    return {
        k: np.array(v).reshape(8, 8) for k, v in Image.open(io.BytesIO(data)).quantization.items()
    }


def _dqt_tables(data: bytes) -> dict[int, np.ndarray]:
    """The 8-bit tables of the DQT segments, read from the bytes and put in natural order."""
    out, i = {}, 2
    while data[i : i + 2] != b"\xff\xda":  # up to the start of scan
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if data[i + 1] == 0xDB:
            seg = data[i + 4 : i + 2 + length]
            for k in range(0, len(seg), 65):
                assert seg[k] >> 4 == 0  # 8-bit precision (baseline)
                table = np.zeros(64, np.int64)
                table[ZIGZAG] = list(seg[k + 1 : k + 65])
                out[seg[k] & 15] = table.reshape(8, 8)
        i += 2 + length
    return out


def test_pillow_lists_quant_tables_in_natural_order(kodak_rgb):
    """The helper's assumption, pinned: Pillow's ``quantization`` is the DQT in natural order."""
    for q in (3, 50, 90):
        data = _pillow_jpeg(kodak_rgb, quality=q)
        pillow, dqt = _tables(data), _dqt_tables(data)
        assert pillow.keys() == dqt.keys() == {0, 1}
        assert all(np.array_equal(pillow[k], dqt[k]) for k in (0, 1)), q
    # Annex K.1's first row, natural order, at quality 50 (scale 100: the base table itself)
    first_row = _tables(_pillow_jpeg(kodak_rgb, quality=50))[0][0]
    assert first_row.tolist() == [16, 11, 10, 16, 24, 40, 51, 61]


def test_quant_tables_match_pillows_colour_jpeg_at_every_quality(kodak_rgb):
    """Luma and chroma tables at each quality of the study, against libjpeg's own (via Pillow)."""
    lo, hi = jpeg.QUALITY_RANGE
    assert (lo, hi) == (1, 95)
    for q in range(lo, hi + 1):
        tables = _tables(_pillow_jpeg(kodak_rgb, quality=q))  # colour, default 4:2:0
        assert len(tables) == 2, q  # 0: luma, 1: chroma
        assert np.array_equal(jpeg.quant_table(q), tables[0]), q
        assert np.array_equal(jpeg.quant_table(q, chroma=True), tables[1]), q
        assert jpeg.quant_table(q).dtype.kind == "i"


@pytest.mark.parametrize("quality,chroma_quality", [(1, 95), (10, 10), (37, 63), (95, 1)])
def test_encode_ycbcr_writes_libjpegs_tables(kodak_rgb, quality, chroma_quality):
    """The file holds the luma table of ``quality`` and the chroma table of ``chroma_quality``."""
    planes = np.ascontiguousarray(np.asarray(kodak_rgb.convert("YCbCr")))
    data = jpeg.encode_ycbcr(planes, quality, chroma_quality)
    got = _tables(data)
    assert got.keys() == {0, 1}
    # libjpeg's tables at those qualities, from plain colour JPEGs that Pillow makes
    assert np.array_equal(got[0], _tables(_pillow_jpeg(kodak_rgb, quality=quality))[0])
    assert np.array_equal(got[1], _tables(_pillow_jpeg(kodak_rgb, quality=chroma_quality))[1])
    dqt = _dqt_tables(data)
    assert np.array_equal(got[0], dqt[0]) and np.array_equal(got[1], dqt[1])
    # Y on table 0, Cb and Cr on table 1, all 1x1 sampled (4:4:4)
    assert Image.open(io.BytesIO(data)).layer == [(1, 1, 1, 0), (2, 1, 1, 1), (3, 1, 1, 1)]


def test_quality_for_bpp_is_the_closest_quality(image):
    """Against a scan of every quality: the returned quality's rate is the closest to the
    target of all of them, for several targets; a rate of 0 is refused."""
    crop = image[:96, :128]
    rates = {q: 8 * len(jpeg.encode(crop, q)) / crop.size for q in range(1, 96)}
    for target in (0.3, 0.55, 0.9, 1.4, 2.2, rates[37]):
        q, data = jpeg.quality_for_bpp(crop, target)
        assert data == jpeg.encode(crop, q)
        assert abs(rates[q] - target) == min(abs(r - target) for r in rates.values())
    with pytest.raises(ValueError, match="bpp must be positive, got 0"):
        jpeg.quality_for_bpp(crop, 0)


@pytest.mark.parametrize("rounding", ["ste", "cubic", "hard"])
def test_diffjpeg_is_the_jpeg_pipeline_written_with_scipy(image, rounding):
    """Forward pass against the same pipeline built here from scipy's orthonormal DCT: level
    shift, 8x8 DCT, quantise with the quality's table and the rounding, dequantise, inverse
    DCT, clamp and round; a size that is not a multiple of 8 in one direction only (padded
    by replicating the edge)."""
    from scipy.fft import dctn, idctn

    def rnd(v):
        r = np.round(v)
        return r + (v - r) ** 3 if rounding == "cubic" else r

    x = image[:13, :16].astype(np.float64) / 255
    x[:8, :8] = 0.0  # a black block: its output is near 0, where the clamp matters
    table = jpeg.quant_table(30).astype(np.float64)
    y = np.pad(x * 255 - 128, ((0, 3), (0, 0)), mode="edge")
    out = np.empty_like(y)
    for i in range(0, 16, 8):
        for j in range(0, 16, 8):
            coef = rnd(dctn(y[i : i + 8, j : j + 8], norm="ortho") / table) * table
            out[i : i + 8, j : j + 8] = idctn(coef, norm="ortho")
    want = rnd(np.clip(out[:13] + 128, 0, 255)) / 255
    model = jpeg.DiffJPEG(5, rounding)
    got = model(torch.from_numpy(x)[None, None], quality=30)  # the call's quality wins
    assert got.dtype == torch.float64 and got.shape == (1, 1, 13, 16)
    np.testing.assert_allclose(got[0, 0].numpy(), want, atol=1e-5)
    with pytest.raises(ValueError, match=r"DiffJPEG expects \(N, 1, H, W\) grayscale tensors, "
                       r"got \(1, 3, 8, 8\)"):  # fmt: skip
        model(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"got \(1, 8, 8\)"):
        model(torch.zeros(1, 8, 8))


def test_encode_ycbcr_refuses_bad_planes_with_their_reason():
    with pytest.raises(TypeError, match="^planes must be a numpy.ndarray, got list$"):
        jpeg.encode_ycbcr([[[0, 0, 0]]], 50, 50)
    for bad, shown in [(np.zeros((8, 8, 4), np.uint8), r"\(8, 8, 4\) uint8"),
                       (np.zeros((8, 8, 3), np.float32), r"\(8, 8, 3\) float32"),
                       (np.zeros((8, 8), np.uint8), r"\(8, 8\) uint8"),
                       (np.zeros((0, 8, 3), np.uint8), r"\(0, 8, 3\) uint8")]:  # fmt: skip
        with pytest.raises(ValueError, match=r"^planes must be \(H, W, 3\) uint8, got " + shown):
            jpeg.encode_ycbcr(bad, 50, 50)


def test_rgb_to_ycbcr_computes_in_the_dtype_asked():
    rgb = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)
    for dtype in (np.float32, np.float64):
        ycc = jpeg.rgb_to_ycbcr(rgb, dtype=dtype)
        assert ycc.dtype == dtype
        # JFIF: Y = 0.299 R + 0.587 G + 0.114 B, Cb = 128 - 0.168736 R ..., Cr = 128 + 0.5 R ...
        np.testing.assert_allclose(ycc[0], [76.245, 84.97232, 255.5], atol=1e-3)
        back = jpeg.ycbcr_to_rgb(ycc, dtype=dtype)
        assert back.dtype == dtype
        np.testing.assert_allclose(back, rgb, atol=1e-3)


def test_roundtrip_is_the_real_codec_image_by_image(images):
    """The training path's JPEG: each image rounded to 8 bits, encoded, decoded, /255, in the
    input's dtype; the sizes are the files' bytes."""
    crops = np.stack([im[:40, :56] for im in images[:2]])
    for dtype in (torch.float32, torch.float64):
        x = torch.from_numpy(crops).to(dtype)[:, None] / 255
        x_hat, sizes = jpeg.roundtrip(x, 20)
        assert x_hat.shape == x.shape and x_hat.dtype == dtype and not x_hat.requires_grad
        for i, crop in enumerate(crops):
            data = jpeg.encode(crop, 20)
            assert sizes[i] == len(data)
            expect = torch.from_numpy(jpeg.decode(data)).to(dtype) / 255.0
            assert torch.equal(x_hat[i, 0], expect)


def test_the_jpeg_layer_says_exactly_what_is_wrong(image):
    def message(call, *args, **kwargs):
        with pytest.raises((TypeError, ValueError)) as err:
            call(*args, **kwargs)
        return str(err.value)

    gray = jpeg.encode(image[:8, :8], 50)
    assert message(jpeg.encode, [[1, 2]], 10) == "image must be a numpy.ndarray, got list"
    assert message(jpeg.encode, np.zeros((8, 8, 3), np.uint8), 10) == (
        "image must be 2-D (grayscale H x W), got shape (8, 8, 3); "
        "convert colour images to grayscale first"
    )
    assert message(jpeg.encode, np.zeros((0, 5), np.uint8), 10) == "image is empty (shape (0, 5))"
    assert message(jpeg.check_quality, 2.5) == "quality must be an integer, got float 2.5"
    assert message(jpeg.decode, "text") == "data must be bytes, got str"
    assert message(jpeg.decode, b"") == "JPEG data is empty"
    assert message(jpeg.decode, gray, expected_size=(4, 16)) == "JPEG image is 8x8, expected 4x16"
    assert message(jpeg.decode_ycbcr, gray) == "JPEG image is not 3-component YCbCr (mode L)"
    assert message(jpeg.ycbcr_to_rgb, np.zeros((4, 2))) == (
        "expected (..., 3) YCbCr values, got shape (4, 2)"
    )
    assert message(jpeg.DiffJPEG, rounding="round") == (
        "rounding must be 'ste', 'cubic' or 'hard', got 'round'"
    )
    png = io.BytesIO()  # another format is refused, not decoded
    Image.fromarray(image[:8, :8]).save(png, format="PNG")
    assert message(jpeg.decode, png.getvalue()).startswith(
        f"corrupt or truncated JPEG data ({len(png.getvalue())} bytes): cannot identify image file"
    )


def test_decode_refuses_a_decompression_bomb(image, monkeypatch):
    """Pillow's bomb warning (over MAX_IMAGE_PIXELS) and error (over twice that) both stop
    decoding with one message."""
    data = jpeg.encode(image[:40, :40], 50)  # 1600 pixels
    for limit in (1000, 500):  # a warning, then an error
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        with pytest.raises(ValueError) as err:
            jpeg.decode(data)
        assert str(err.value).startswith("JPEG image too large: Image size (1600 pixels) exceeds")


def test_a_one_pixel_image_is_an_image():
    pixel = np.full((1, 1), 77, np.uint8)
    assert jpeg.decode(jpeg.encode(pixel, 90)).shape == (1, 1)


def test_diffjpeg_defaults_dtype_and_its_dct_matrix():
    """Quality 10 and straight-through rounding by default; the DCT matrix is the orthonormal
    DCT-II computed in float64 (then stored as float32) and is not saved with a model; the
    output keeps the input's dtype."""
    from scipy.fft import dct

    model = jpeg.DiffJPEG()
    assert (model.quality, model.rounding) == (10, "ste")
    expect = torch.from_numpy(dct(np.eye(8), axis=0, norm="ortho")).float()
    assert torch.equal(model.dct, expect)
    assert "dct" not in model.state_dict()
    x = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    for dtype in (torch.float32, torch.float64):
        assert model(x.to(dtype)).dtype == dtype
    # diff_round's default is the straight-through estimator: gradient 1
    t = torch.tensor([0.3, 1.7], requires_grad=True)
    jpeg.diff_round(t).sum().backward()
    assert torch.equal(t.grad, torch.ones(2))


def test_colour_transforms_take_integer_input_in_the_dtype_asked():
    """An int64 RGB array in float32 gives float32; uint8 YCbCr planes (as decoded) convert
    back to RGB without overflowing."""
    rgb = np.array([[255, 0, 0], [12, 200, 255]], np.int64)
    assert jpeg.rgb_to_ycbcr(rgb, dtype=np.float32).dtype == np.float32
    ycc = np.array([[76, 85, 255], [150, 128, 128]], np.uint8)
    np.testing.assert_array_equal(jpeg.ycbcr_to_rgb(ycc), jpeg.ycbcr_to_rgb(ycc.astype(float)))
