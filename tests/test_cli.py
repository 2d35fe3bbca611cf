import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from comp_lib.cli import ALPHA_CHOICES, main
from comp_lib.coding import Codec, pack_header, parse_header
from comp_lib.data import dataset_dir, load_gray
from comp_lib.metrics import psnr


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("baby_GT.bmp", "bird_GT.bmp"):
        shutil.copy(dataset_dir("set5") / name, src / name)
    return src


def test_compress_info_decompress_one_file(tmp_path, capsys):
    image = dataset_dir("set5") / "bird_GT.bmp"  # a colour photo
    assert main(["compress", str(image), str(tmp_path / "bird.cjr"), "-q", "30", "--quiet"]) == 0
    data = (tmp_path / "bird.cjr").read_bytes()
    assert main(["info", str(tmp_path / "bird.cjr")]) == 0
    out = capsys.readouterr().out
    rgb = np.asarray(Image.open(image).convert("RGB"))
    assert (
        f"format version 2, {rgb.shape[0]}x{rgb.shape[1]}, quality 30, colour ycbcr, model "
        f"rec32x20 (fingerprint {Codec.load('rec32x20').fingerprint}), {len(data)} bytes "
        f"(27 header + {len(data) - 27} JPEG), {8 * len(data) / rgb[..., 0].size:.4f} bpp"
    ) in out
    assert (
        main(["decompress", str(tmp_path / "bird.cjr"), str(tmp_path / "bird.png"), "--quiet"]) == 0
    )
    with Image.open(tmp_path / "bird.png") as png:
        assert png.mode == "RGB"
        x_hat = np.asarray(png)
    assert x_hat.shape == rgb.shape and psnr(rgb, x_hat) > 25
    # a grayscale file stays grayscale: a grayscale PNG comes back
    gray = dataset_dir("train400") / "test_001.png"
    assert main(["compress", str(gray), str(tmp_path / "g.cjr"), "-q", "30", "--quiet"]) == 0
    assert main(["decompress", str(tmp_path / "g.cjr"), str(tmp_path / "g.png"), "--quiet"]) == 0
    with Image.open(tmp_path / "g.png") as png:
        assert png.mode == "L" and psnr(load_gray(gray), np.asarray(png)) > 22


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
        ["compress", "x.png", "out.cjr"],  # neither --quality nor --bpp
        ["compress", "x.png", "out.cjr", "-q", "10", "--bpp", "0.3"],  # both
        ["compress", "x.png", "out.cjr", "--bpp", "-1"],
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


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    """A 96x128 RGB crop of a real photo (Kodak kodim15)."""
    with Image.open(dataset_dir("kodak") / "kodim15.png") as img:
        return np.ascontiguousarray(np.asarray(img.convert("RGB"))[100:196, 300:428])


def _png(path, array):
    """Write a PNG; 16-bit ones through imagecodecs (Pillow cannot write 16-bit colour)."""
    if array.dtype == np.uint16:
        import imagecodecs

        path.write_bytes(imagecodecs.png_encode(np.ascontiguousarray(array)))
    else:
        Image.fromarray(array).save(path)
    return path


def test_16_bit_inputs_are_reduced_to_8_bits_with_a_notice(crop, tmp_path, capsys):
    """v * 257 in 16 bits reduces exactly to v: the same bitstream as the 8-bit file."""
    gray = np.asarray(Image.fromarray(crop).convert("L"))
    cases = {
        "rgb": (crop, crop.astype(np.uint16) * 257),
        "gray": (gray, (gray.astype(np.uint16) * 257)),
    }
    for name, (eight, sixteen) in cases.items():
        src8 = _png(tmp_path / f"{name}8.png", eight)
        src16 = _png(tmp_path / f"{name}16.png", sixteen)
        with Image.open(src16) as img:
            assert img.mode in ("RGB", "I;16")  # Pillow alone would give 8 bits (RGB) or "I;16"
        out8, out16 = tmp_path / f"{name}8.cjr", tmp_path / f"{name}16.cjr"
        assert main(["compress", str(src8), str(out8), "-q", "20", "--quiet"]) == 0
        assert "note" not in capsys.readouterr().err
        assert main(["compress", str(src16), str(out16), "-q", "20", "--quiet"]) == 0
        err = capsys.readouterr().err
        assert f"note: {src16}: 16-bit image reduced to 8 bits per sample" in err
        assert out8.read_bytes() == out16.read_bytes()
    # not a multiple of 257: rounded to the nearest 8-bit level
    odd = crop.astype(np.uint16) * 257 + np.where(crop < 255, 128, 0).astype(np.uint16)
    odd = _png(tmp_path / "odd.png", odd)
    assert main(["compress", str(odd), str(tmp_path / "odd.cjr"), "-q", "20", "--quiet"]) == 0
    assert (tmp_path / "odd.cjr").read_bytes() == (tmp_path / "rgb8.cjr").read_bytes()


def test_transparency_is_refused_unless_asked(crop, tmp_path, capsys):
    alpha = np.full(crop.shape[:2], 255, np.uint8)
    alpha[:, :40] = 0  # a transparent band
    rgba = _png(tmp_path / "rgba.png", np.dstack([crop, alpha]))
    out = tmp_path / "out.cjr"
    assert main(["compress", str(rgba), str(out), "-q", "30", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"{rgba} has transparency" in err and "--alpha flatten" in err and not out.exists()
    # --alpha drop: the colours as stored, the same bitstream as the RGB file
    rgb = _png(tmp_path / "rgb.png", crop)
    assert main(["compress", str(rgb), str(tmp_path / "rgb.cjr"), "-q", "30", "--quiet"]) == 0
    assert main(["compress", str(rgba), str(out), "-q", "30", "--alpha", "drop", "--quiet"]) == 0
    assert "alpha channel dropped" in capsys.readouterr().err
    assert out.read_bytes() == (tmp_path / "rgb.cjr").read_bytes()
    # --alpha flatten: onto white
    assert main(["compress", str(rgba), str(out), "-q", "30", "--alpha", "flatten",
                 "--quiet"]) == 0  # fmt: skip
    assert "flattened onto white" in capsys.readouterr().err
    assert main(["decompress", str(out), str(tmp_path / "flat.png"), "--quiet"]) == 0
    with Image.open(tmp_path / "flat.png") as png:
        band = np.asarray(png)[:, 4:36]
    assert band.mean() > 240
    # an opaque alpha channel holds nothing: dropped without a word
    opaque = _png(tmp_path / "opaque.png", np.dstack([crop, np.full_like(alpha, 255)]))
    assert main(["compress", str(opaque), str(out), "-q", "30", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert out.read_bytes() == (tmp_path / "rgb.cjr").read_bytes()
    # palette images with a transparent colour count too
    palette = Image.fromarray(crop).quantize(16)
    palette.info["transparency"] = 0
    palette.save(tmp_path / "p.png", transparency=0)
    assert main(["compress", str(tmp_path / "p.png"), str(out), "-q", "30", "--quiet"]) == 1
    assert "has transparency" in capsys.readouterr().err


def test_decompress_picks_the_model_the_file_names(crop, tmp_path, capsys):
    import torch

    from comp_lib.models import ComCNN, RecCNN

    torch.manual_seed(0)
    tiny = Codec(ComCNN(channels=8), RecCNN(channels=8, depth=3))
    ckpt = tiny.save(tmp_path / "tiny.pt")
    src = _png(tmp_path / "photo.png", crop)
    assert main(["compress", str(src), str(tmp_path / "t.cjr"), "-q", "30", "-m", str(ckpt),
                 "--quiet"]) == 0  # fmt: skip
    assert parse_header((tmp_path / "t.cjr").read_bytes())["model"] == "tiny"
    # not shipped: the file names it, the user must pass it
    assert main(["decompress", str(tmp_path / "t.cjr"), str(tmp_path / "t.png"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "made by model 'tiny'" in err and "not shipped" in err and "--model" in err
    assert main(["decompress", str(tmp_path / "t.cjr"), str(tmp_path / "t.png"), "-m", str(ckpt),
                 "--quiet"]) == 0  # fmt: skip
    # another model is refused by name
    assert main(["decompress", str(tmp_path / "t.cjr"), str(tmp_path / "u.png"), "-m",
                 "rec32x20", "--quiet"]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert "made by model 'tiny'" in err and "this codec is model 'rec32x20'" in err
    # a version 1 file names no model: decoded with the default, and said so
    gray = np.asarray(Image.fromarray(crop).convert("L"))
    data = Codec.load("rec32x20").compress(gray, 30)
    v1 = tmp_path / "old.cjr"
    v1.write_bytes(pack_header(*gray.shape, 30, version=1) + data[27:])
    assert main(["info", str(v1)]) == 0
    assert "format version 1" in capsys.readouterr().out
    assert main(["decompress", str(v1), str(tmp_path / "old.png"), "--quiet"]) == 0
    assert "version 1 file names no model; decoding with rec32x20" in capsys.readouterr().err
    with Image.open(tmp_path / "old.png") as png:
        assert psnr(gray, np.asarray(png)) > 22


def test_alpha_choices_match_the_library():
    from comp_lib.data import ALPHA_POLICIES

    assert ALPHA_CHOICES == ALPHA_POLICIES


def test_photos_are_turned_upright_by_their_exif_orientation(crop, tmp_path, capsys):
    img = Image.fromarray(crop)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    img.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    out = tmp_path / "phone.cjr"
    assert main(["compress", str(tmp_path / "phone.jpg"), str(out), "-q", "30", "--quiet"]) == 0
    assert "turned upright as its EXIF orientation (6) says" in capsys.readouterr().err
    header = parse_header(out.read_bytes())
    assert (header["height"], header["width"]) == (crop.shape[1], crop.shape[0])


def test_compress_to_a_rate(tmp_path, capsys):
    """--bpp picks the highest quality whose real bytes fit; the next one would not."""
    from comp_lib.coding import compress_at_bpp

    src = dataset_dir("set5") / "bird_GT.bmp"
    image = load_gray(src)
    out = tmp_path / "bird.cjr"
    assert main(["compress", str(src), str(out), "--bpp", "0.5"]) == 0
    assert "quality " in capsys.readouterr().out
    data = out.read_bytes()
    pixels = image.shape[0] * image.shape[1]
    quality = parse_header(data)["quality"]
    codec = Codec.load("rec32x20")
    rgb = np.asarray(Image.open(src).convert("RGB"))
    assert 8 * len(data) / pixels <= 0.5
    assert 8 * len(codec.compress(rgb, quality + 1)) / pixels > 0.5
    gray, q = compress_at_bpp(codec, image, 0.3)
    assert 8 * len(gray) / pixels <= 0.3 < 8 * len(codec.compress(image, q + 1)) / pixels
    tiny, q = compress_at_bpp(codec, image, 1e-4)  # nothing fits: the lowest setting
    assert q == 1 and tiny == codec.compress(image, 1)
    with pytest.raises(ValueError, match="bpp"):
        compress_at_bpp(codec, image, 0)


def test_compress_with_the_shipped_ladder(tmp_path, capsys):
    """--model best: a rung within the rate, from the model the header then names."""
    from comp_lib.coding import Ladder

    src = dataset_dir("set14") / "lenna.bmp"
    ladder = Ladder.load("best")
    out = tmp_path / "lenna.cjr"
    assert main(["compress", str(src), str(out), "-m", "best", "--bpp", "0.4"]) == 0
    assert "rung " in capsys.readouterr().out
    header = parse_header(out.read_bytes())
    assert header["model"] in ladder.codecs
    assert main(["decompress", str(out), str(tmp_path / "lenna.png"), "--quiet"]) == 0
    assert main(["compress", str(src), str(out), "-m", "best", "-q", "10"]) == 2
    assert "give --bpp" in capsys.readouterr().err
    # a rate above every rung: the top rung, whose model the header names (no --model needed)
    top = tmp_path / "top.cjr"
    assert main(["compress", str(src), str(top), "-m", "best", "--bpp", "8", "--quiet"]) == 0
    assert parse_header(top.read_bytes())["model"] == ladder.rungs[-1][0]
    assert main(["decompress", str(top), str(tmp_path / "top.png"), "--quiet"]) == 0
    assert (tmp_path / "top.png").stat().st_size > 0


# --------------------------------------------------------------------------- as a process


def _run(*args: str, exe: list[str] | None = None) -> subprocess.CompletedProcess:
    """The command in its own process: exit status and streams as a shell sees them."""
    cmd = (exe or [sys.executable, "-m", "comp_lib"]) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_process_exits_0_for_a_compress_decompress_round_trip(crop, tmp_path):
    src = _png(tmp_path / "photo.png", crop)
    cjr, png = tmp_path / "photo.cjr", tmp_path / "photo.out.png"
    done = _run("compress", str(src), str(cjr), "-q", "30", "--quiet")
    assert (done.returncode, done.stderr) == (0, "")
    codec = Codec.load("rec32x20")
    data = codec.compress(crop, 30)
    assert cjr.read_bytes() == data  # the library's bytes
    done = _run("decompress", str(cjr), str(png), "--quiet")
    assert (done.returncode, done.stderr) == (0, "")
    with Image.open(png) as img:
        assert img.mode == "RGB" and np.array_equal(np.asarray(img), codec.decompress(data))


def test_process_exits_1_when_one_file_of_a_folder_is_bad(crop, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    gray = np.asarray(Image.fromarray(crop).convert("L"))
    _png(folder / "good.png", gray)
    (folder / "x.png").write_text("a text file, not a PNG\n")
    csv = tmp_path / "rows.csv"
    done = _run("evaluate", str(folder), "--codecs", "jpeg", "--csv", str(csv), "--quiet")
    assert done.returncode == 1
    assert f"error: cannot read image {folder / 'x.png'}" in done.stderr
    assert "good.png" not in done.stderr
    # the good file was still evaluated: its rates are those of Pillow's JPEG files
    rows = pd.read_csv(csv)
    assert set(rows.image) == {"good"} and len(rows) == 18
    row = rows[rows.setting == 30].iloc[0]
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="JPEG", quality=30, optimize=True)
    assert row.bpp == pytest.approx(8 * len(buf.getvalue()) / gray.size, rel=1e-12)
    assert "psnr" in done.stdout


def test_process_exits_2_for_bad_usage(tmp_path):
    script = Path(sys.executable).with_name("comp-lib")  # the console script, when installed
    done = _run("frobnicate", exe=[str(script)] if script.is_file() else None)
    assert done.returncode == 2
    assert "invalid choice: 'frobnicate'" in done.stderr and done.stdout == ""
    done = _run("compress", str(tmp_path / "in.png"))
    assert done.returncode == 2
    assert "the following arguments are required: output" in done.stderr
    assert not any(tmp_path.iterdir())


def test_decompress_as_a_self_ensemble(crop, tmp_path, capsys):
    gray = np.ascontiguousarray(np.asarray(Image.fromarray(crop).convert("L")))
    src = _png(tmp_path / "gray.png", gray)
    for model in ("unet32q", "rec32x20"):
        assert main(["compress", str(src), str(tmp_path / f"{model}.cjr"), "-q", "10", "-m", model,
                     "--quiet"]) == 0  # fmt: skip
        assert main(["decompress", str(tmp_path / f"{model}.cjr"), str(tmp_path / f"{model}.png"),
                     "--self-ensemble", "2", "--quiet"]) == 0  # fmt: skip
    data = (tmp_path / "unet32q.cjr").read_bytes()
    post = Codec.load("unet32q")
    post.self_ensemble = 2
    assert np.array_equal(np.asarray(Image.open(tmp_path / "unet32q.png")), post.decompress(data))
    # a down/up model decodes once, and says so
    err = capsys.readouterr().err
    assert "model rec32x20 is not a post-filter: --self-ensemble does not apply" in err
    data = (tmp_path / "rec32x20.cjr").read_bytes()
    once = Codec.load("rec32x20").decompress(data)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "rec32x20.png")), once)
    with pytest.raises(SystemExit):  # argparse: not one of 1, 2, 4, 8
        main(["decompress", str(tmp_path / "unet32q.cjr"), str(tmp_path / "x.png"),
              "--self-ensemble", "3"])  # fmt: skip
