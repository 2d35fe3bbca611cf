"""What preparing the study's images costs (comp_lib.data.preparation.shape_costs,
preparation_stats), on real files of the data folder."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from comp_lib.data import dataset_dir, list_images, resize
from comp_lib.data.preparation import preparation_stats, shape_costs


def _index(files: dict[str, list], split: str = "train") -> pd.DataFrame:
    rows = []
    for source, paths in files.items():
        for p in paths:
            with Image.open(p) as img:
                rows.append(dict(path=p.name, source=source, split=split, height=img.height,
                                 width=img.width))  # fmt: skip
    return pd.DataFrame(rows)


def test_shape_costs_from_the_original_sizes():
    photos = list_images(dataset_dir("bsds300_train"))[:6]
    gray = list_images(dataset_dir("train400"))[:4]
    index = _index({"bsds300_train": photos, "train400": gray})
    unused = index.iloc[:2].assign(split="unused", height=10, width=1000)  # not counted
    costs = shape_costs(pd.concat([index, unused]), size=180).set_index("source")
    assert costs.loc["bsds300_train", "images"] == 6
    sizes = [Image.open(p).size for p in photos]  # (W, H)
    long = np.array([max(s) for s in sizes], float)
    short = np.array([min(s) for s in sizes], float)
    pixels = long * short
    row = costs.loc["bsds300_train"]
    assert row["pixels_kept_%"] == pytest.approx(np.median(100 * 180**2 / pixels))
    assert row["shrink"] == pytest.approx(np.median(np.sqrt(pixels) / 180))
    assert row["stretch"] == pytest.approx(np.median(long / short))
    assert row["crop_discards_%"] == pytest.approx(np.median(100 * (1 - short / long)))
    assert row["stretch"] == pytest.approx(481 / 321)  # BSDS300: 481x321 or 321x481
    gray_row = costs.loc["train400"]
    assert gray_row.typical_size == "180x180"
    assert (gray_row["pixels_kept_%"], gray_row.stretch, gray_row["crop_discards_%"]) == (
        100, 1, 0)  # fmt: skip


def test_preparation_stats_of_a_colour_photo_and_a_grayscale_image():
    photo = list_images(dataset_dir("bsds300_train"))[0]
    gray = list_images(dataset_dir("train400"))[0]
    stats = preparation_stats([photo, gray], size=180)
    assert list(stats.file) == [photo.name, gray.name]
    assert list(stats.colour) == [True, False]
    # independently: JFIF's YCbCr matrix written out, differences over the whole image
    rgb = np.asarray(Image.open(photo).convert("RGB"), dtype=np.float64)
    matrix = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5],
                       [0.5, -0.418688, -0.081312]])  # fmt: skip
    ycc = rgb @ matrix.T
    energy = [np.sum(np.diff(ycc[..., c], axis=0) ** 2) + np.sum(np.diff(ycc[..., c], axis=1) ** 2)
              for c in range(3)]  # fmt: skip
    assert stats["luma_detail_%"].iloc[0] == pytest.approx(100 * energy[0] / sum(energy), abs=0.1)
    assert 80 < stats["luma_detail_%"].iloc[0] < 100
    assert stats["luma_detail_%"].iloc[1] == 100
    luma = np.asarray(Image.open(photo).convert("L"), dtype=np.float64)
    dy, dx = np.diff(luma, axis=0)[:, :-1], np.diff(luma, axis=1)[:-1, :]
    assert stats.gradient_native.iloc[0] == pytest.approx(np.mean(np.hypot(dy, dx)), rel=0.02)
    small = resize((luma / 255).astype(np.float32), 180).astype(np.float64) * 255
    dy, dx = np.diff(small, axis=0)[:, :-1], np.diff(small, axis=1)[:-1, :]
    assert stats.gradient_resized.iloc[0] == pytest.approx(np.mean(np.hypot(dy, dx)), rel=0.02)
    assert stats.gradient_resized.iloc[0] > stats.gradient_native.iloc[0]  # denser detail
    assert stats.gradient_resized.iloc[1] == pytest.approx(stats.gradient_native.iloc[1], rel=1e-3)
    assert (stats.height.iloc[1], stats.width.iloc[1]) == (180, 180)
