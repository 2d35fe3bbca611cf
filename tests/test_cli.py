import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from comp_lib.cli import main
from comp_lib.config import dataset_dir
from comp_lib.data import load_gray
from comp_lib.metrics import psnr


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("baby_GT.bmp", "bird_GT.bmp"):
        shutil.copy(dataset_dir("set5") / name, src / name)
    return src


def test_compress_info_decompress_one_file(tmp_path, capsys):
    image = dataset_dir("set5") / "bird_GT.bmp"
    assert main(["compress", str(image), str(tmp_path / "bird.cjr"), "-q", "30", "--quiet"]) == 0
    data = (tmp_path / "bird.cjr").read_bytes()
    assert main(["info", str(tmp_path / "bird.cjr")]) == 0
    out = capsys.readouterr().out
    gray = load_gray(image)
    assert f"{gray.shape[0]}x{gray.shape[1]}, quality 30, {len(data)} bytes" in out
    assert (
        main(["decompress", str(tmp_path / "bird.cjr"), str(tmp_path / "bird.png"), "--quiet"]) == 0
    )
    x_hat = np.asarray(Image.open(tmp_path / "bird.png"))
    assert x_hat.shape == gray.shape and psnr(gray, x_hat) > 25


def test_a_bad_file_in_a_folder_is_reported_and_skipped(folder, tmp_path, capsys):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "out"
    assert main(["compress", str(folder), str(out), "-q", "20", "--quiet"]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["baby_GT.cjr", "bird_GT.cjr"]
    assert "broken.png" in capsys.readouterr().err
    (out / "junk.cjr").write_bytes(b"CJR\x01 truncated")
    assert main(["decompress", str(out), str(tmp_path / "png"), "--quiet"]) == 1
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["baby_GT.png", "bird_GT.png"]
    assert main(["info", str(out / "junk.cjr")]) == 1


def test_globs(folder, tmp_path):
    assert main(["compress", str(folder / "b*_GT.bmp"), str(tmp_path / "o"), "-q", "10",
                 "--quiet"]) == 0  # fmt: skip
    assert len(list((tmp_path / "o").glob("*.cjr"))) == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["compress", "no-such-file.png", "out.cjr", "-q", "10"],
        ["compress", "x.png", "out.cjr", "-q", "0"],
        ["compress", "x.png", "out.cjr", "-q", "10", "--model", "no-such-model"],
        ["evaluate", "/nonexistent-folder", "--codecs", "jpeg"],
    ],
)
def test_usage_errors_exit_2(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(dataset_dir("set5") / "bird_GT.bmp", tmp_path / "x.png")
    assert main(argv) == 2


def test_argparse_usage_exits_2():
    with pytest.raises(SystemExit) as err:
        main(["compress"])
    assert err.value.code == 2


def test_evaluate_prints_and_writes_csv(folder, tmp_path, capsys):
    csv = tmp_path / "rows.csv"
    assert main(["evaluate", str(folder), "--codecs", "jpeg", "ours", "--qualities", "10", "40",
                 "--csv", str(csv), "--quiet"]) == 0  # fmt: skip
    rows = pd.read_csv(csv)
    assert set(rows.codec) == {"jpeg", "ours"} and set(rows.image) == {"baby_GT", "bird_GT"}
    assert "psnr" in capsys.readouterr().out
    assert main(["evaluate", str(folder), "--codecs", "mpeg"]) == 2
