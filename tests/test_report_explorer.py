"""The quality explorer of notebook 01 (comp_lib.report.explorer), on a real BSDS300 photo."""

import math

import matplotlib
import numpy as np
import pytest

from comp_lib import jpeg
from comp_lib.coding import BicubicCodec, Codec
from comp_lib.models import downsample
from comp_lib.report import for_people
from comp_lib.report.explorer import (
    CODECS,
    QualityExplorer,
    closest_quality,
    jpeg_costs,
    scan_start,
)

matplotlib.use("Agg")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255**2 / mse)


@pytest.fixture(scope="module")
def photo(image) -> np.ndarray:
    """A 96x144 crop of a real photo: small enough for the shipped model to run in a second."""
    return np.ascontiguousarray(image[100:196, 60:204])


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec.load("rec32x20")


@pytest.fixture(scope="module")
def explorer(photo, codec) -> QualityExplorer:
    return QualityExplorer(photo, codec, crop=(slice(0, 64), slice(0, 96)))


def test_scan_start_is_the_end_of_the_scan_header(image):
    data = jpeg.encode(image, 10)
    sos = data.index(b"\xff\xda")  # the tables before it contain no marker bytes
    assert scan_start(data) == sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    with pytest.raises(ValueError, match="not a JPEG"):
        scan_start(b"\x89PNG")


def test_jpeg_costs_charge_the_compact_image_to_the_original_pixels(image):
    x = np.ascontiguousarray(image)
    compact = jpeg.tensor_to_uint8(downsample(BicubicCodec().to_tensor(x[None])))[0]
    costs = jpeg_costs({"x": x, "compact": compact}, [5, 40], pixels=x.size)
    assert list(costs.image) == ["x", "x", "compact", "compact"]
    for r in costs.itertuples():
        img = x if r.image == "x" else compact
        data = jpeg.encode(img, r.quality)
        assert r.bytes == len(data) == r.header_bytes + r.scan_bytes
        assert r.blocks == -(-img.shape[0] // 8) * -(-img.shape[1] // 8)
        assert r.bpp == pytest.approx(8 * len(data) / x.size)
        assert r.bits_per_block == pytest.approx(8 * r.scan_bytes / r.blocks)
    assert costs.blocks.iloc[0] > 3.5 * costs.blocks.iloc[2]  # a quarter of the blocks
    full, half = costs[costs.quality == 5].bytes
    assert half < full / 2  # fewer blocks, fewer bytes: the reason for half resolution


def test_rows_are_the_three_codecs_at_one_quality(explorer, photo, codec):
    rows = explorer.rows(20)
    assert tuple(rows.codec) == CODECS
    ours = codec.compress(photo, 20)
    ours_bpp = 8 * len(ours) / photo.size
    jpeg_quality, jpeg_data = jpeg.quality_for_bpp(photo, ours_bpp)
    # the baseline at every quality: the one closest to our rate
    bases = {q: BicubicCodec().compress(photo, q) for q in range(1, 96)}
    base_quality = min(bases, key=lambda q: abs(8 * len(bases[q]) / photo.size - ours_bpp))
    base = bases[base_quality]
    expected = [
        (20, len(ours), _psnr(photo, codec.decompress(ours))),
        (jpeg_quality, len(jpeg_data), _psnr(photo, jpeg.decode(jpeg_data))),
        (base_quality, len(base), _psnr(photo, BicubicCodec().decompress(base))),
    ]
    for r, (quality, n_bytes, psnr) in zip(rows.itertuples(), expected, strict=True):
        assert (r.quality, r.bytes) == (quality, n_bytes)
        assert r.bpp == pytest.approx(8 * n_bytes / photo.size)
        assert r.psnr == pytest.approx(psnr, abs=1e-9)
        assert 0 < r.ssim <= 1
    assert rows["rate_vs_ours_%"].tolist() == pytest.approx(
        [100 * (b / ours_bpp - 1) for b in rows.bpp]
    )
    assert rows["rate_vs_ours_%"].iloc[0] == 0
    assert rows["rate_vs_ours_%"].abs().max() < 10  # all three at (nearly) the same rate
    assert explorer.code(20) is explorer.code(20)  # cached


def test_closest_quality_brackets_the_target(image):
    coder = BicubicCodec()
    for target in (0.05, 0.2, 0.6):
        quality, data = closest_quality(coder, image, target)
        rate = 8 * len(data) / image.size
        neighbours = [8 * len(coder.compress(image, q)) / image.size
                      for q in (max(1, quality - 1), min(95, quality + 1))]  # fmt: skip
        assert all(abs(rate - target) <= abs(n - target) for n in neighbours)
        assert data == coder.compress(image, quality)


def test_table_stacks_the_rows_of_each_quality(explorer):
    table = explorer.table([5, 20])
    assert list(table.columns[:3]) == ["inner_quality", "codec", "quality"]
    assert list(table.inner_quality) == [5, 5, 5, 20, 20, 20]
    ours = table[table.codec == CODECS[0]]
    assert ours.bpp.is_monotonic_increasing  # a higher inner quality costs more bits
    people = for_people(table)
    assert people.bpp.tolist() == [f"{b:.3f}" for b in table.bpp]
    assert people.psnr.tolist() == [f"{p:.2f}" for p in table.psnr]


def test_grid_is_the_static_stand_in_of_the_slider(explorer):
    fig = explorer.grid([5, 20])
    axes = fig.axes
    assert len(axes) == 6
    rows = explorer.table([5, 20])
    for ax, r in zip(axes, rows.itertuples(), strict=True):
        assert f"{r.codec} q={r.quality}" in ax.get_title()
        assert f"{r.bpp:.3f} bpp, {r.psnr:.2f} dB" in ax.get_title()
        assert ax.images[0].get_array().shape == (64, 96)  # the crop
    assert axes[0].get_ylabel() == "inner quality 5"
    matplotlib.pyplot.close(fig)


def test_slider_updates_the_table_and_the_images(explorer):
    box = explorer.widget(value=5)
    slider, table, picture = box.children
    assert (slider.value, slider.min, slider.max) == (5, 1, 95)
    first = table.value
    assert f"{explorer.rows(5).bpp.iloc[0]:.3f}" in first
    assert picture.value[:8] == b"\x89PNG\r\n\x1a\n"
    slider.value = 20
    assert table.value != first
    for r in for_people(explorer.rows(20)).itertuples():
        assert f"<td>{r.codec}</td>" in table.value and f"{r.psnr}" in table.value
    assert len(explorer.widget(value=20, images=False).children) == 2
