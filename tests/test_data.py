import numpy as np
import pytest
from PIL import Image

from comp_lib.config import dataset_dir
from comp_lib.data import list_images, load_dataset_gray, load_gray


def test_load_gray_uses_bt601_luma():
    path = dataset_dir("kodak") / "kodim23.png"
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(np.float64)
    gray = load_gray(path)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    assert gray.dtype == np.uint8 and gray.shape == rgb.shape[:2]
    assert np.abs(gray - luma).max() <= 1.0


def test_datasets_read_as_grayscale():
    for name, count in (("bsds300_test", 100), ("set5", 5), ("set14", 14), ("kodak", 24)):
        images = load_dataset_gray(name)
        assert len(images) == count
        assert all(img.ndim == 2 and img.dtype == np.uint8 for _, img in images)


def test_unreadable_file_gives_a_clear_error(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="cannot read image"):
        load_gray(bad)
    (tmp_path / "notes.txt").write_text("x")
    assert list_images(tmp_path) == [bad]
    with pytest.raises(FileNotFoundError):
        list_images(tmp_path / "missing")
