"""Shared fixtures: real images from the data folder ($COMP_LIB_DATA)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from comp_lib.baselines import JPEGCodec
from comp_lib.coding import BicubicCodec
from comp_lib.data import load_dataset_gray
from comp_lib.evaluate import evaluate

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(scope="session")
def bsds_test() -> list[tuple[str, np.ndarray]]:
    """All 100 BSDS300 test images in grayscale, at native size (481x321 or 321x481)."""
    return load_dataset_gray("bsds300_test")


@pytest.fixture(scope="session")
def image(bsds_test) -> np.ndarray:
    """One real grayscale photo (BSDS300 test, 481x321 or 321x481)."""
    return bsds_test[0][1]


@pytest.fixture(scope="session")
def images(bsds_test) -> list[np.ndarray]:
    """Five real grayscale photos spread over the BSDS300 test set."""
    return [img for _, img in bsds_test[::20]]


@pytest.fixture(scope="session")
def rows(bsds_test) -> pd.DataFrame:
    """JPEG and bicubic+JPEG rows (comp_lib.evaluate.evaluate) on three BSDS300 images."""
    images = bsds_test[:3]
    return pd.concat([
        evaluate(JPEGCodec(), images, [5, 10, 20, 40, 70, 90], "JPEG", progress=False),
        evaluate(BicubicCodec(), images, [10, 30, 50, 70, 90], "bicubic", progress=False),
    ])  # fmt: skip
