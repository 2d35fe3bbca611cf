import io
import os
import shutil

import numpy as np
import pytest
import rawpy
import tifffile
from PIL import Image

from comp_lib.config import WEIGHTS_DIR
from comp_lib.data import (
    build_corpus,
    dataset_dir,
    list_images,
    load_dataset_gray,
    load_gray,
    read_image,
    read_raw_rgb,
    resize,
)
from comp_lib.data import corpus as data_mod
from comp_lib.metrics import psnr

RAW = {"Blackmagic.dng": (2176, 4128), "RAW_CANON_D30_SRGB.CRW": (1448, 2176)}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("COMP_LIB_CACHE", str(folder))
    return folder


@pytest.fixture(scope="module")
def kodak_rgb() -> np.ndarray:
    """A real colour photo (Kodak kodim23), 8-bit RGB."""
    return np.asarray(Image.open(dataset_dir("kodak") / "kodim23.png").convert("RGB"))


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def test_load_gray_uses_bt601_luma(kodak_rgb):
    gray = load_gray(dataset_dir("kodak") / "kodim23.png")
    assert gray.dtype == np.uint8 and gray.shape == kodak_rgb.shape[:2]
    assert np.abs(gray - luma(kodak_rgb)).max() <= 1.0


def test_datasets_read_as_grayscale():
    for name, count in (("bsds300_test", 100), ("set5", 5), ("set14", 14), ("kodak", 24)):
        images = load_dataset_gray(name)
        assert len(images) == count
        assert all(img.ndim == 2 and img.dtype == np.uint8 for _, img in images)


@pytest.mark.parametrize("name", sorted(RAW))
def test_real_raw_files_decode(name):
    path = dataset_dir("raw") / name
    image = read_image(path)
    assert image.dtype == np.float32 and image.shape == RAW[name]
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert 0.05 < image.mean() < 0.95 and image.std() > 0.05  # a real scene, not black or flat
    half = read_image(path, half_size_raw=True)
    assert half.shape == ((RAW[name][0] + 1) // 2, (RAW[name][1] + 1) // 2)
    # half-size development sees the same scene
    assert abs(float(half.mean()) - float(image.mean())) < 0.05


def _write_dng(path, rgb: np.ndarray) -> None:
    """Write the RGGB Bayer mosaic of an sRGB photo as a 16-bit linear DNG (pidng)."""
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import (
        CalibrationIlluminant,
        CFAPattern,
        DNGVersion,
        Orientation,
        PhotometricInterpretation,
    )

    x = rgb.astype(np.float64) / 255
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    h, w, _ = lin.shape
    mosaic = lin[..., 1].copy()
    mosaic[0::2, 0::2] = lin[0::2, 0::2, 0]
    mosaic[1::2, 1::2] = lin[1::2, 1::2, 2]
    xyz_to_srgb = [3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570]
    t = DNGTags()
    for tag, value in [
        (Tag.ImageWidth, w),
        (Tag.ImageLength, h),
        (Tag.TileWidth, w),
        (Tag.TileLength, h),
        (Tag.Orientation, Orientation.Horizontal),
        (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
        (Tag.SamplesPerPixel, 1),
        (Tag.BitsPerSample, 16),
        (Tag.CFARepeatPatternDim, [2, 2]),
        (Tag.CFAPattern, CFAPattern.RGGB),
        (Tag.BlackLevel, 0),
        (Tag.WhiteLevel, 65535),
        (Tag.ColorMatrix1, [[round(v * 10000), 10000] for v in xyz_to_srgb]),
        (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
        (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]),
        (Tag.Make, "comp-study"),
        (Tag.Model, "Bayer mosaic"),
        (Tag.DNGVersion, DNGVersion.V1_4),
        (Tag.DNGBackwardVersion, DNGVersion.V1_2),
    ]:
        t.set(tag, value)
    writer = RAW2DNG()
    writer.options(t, path="", compress=False)
    writer.convert(np.round(mosaic * 65535).astype(np.uint16), filename=str(path.with_suffix("")))


def test_dng_from_the_bayer_mosaic_of_a_real_photo(tmp_path, kodak_rgb):
    path = tmp_path / "kodim23.dng"
    _write_dng(path, kodak_rgb)
    assert path.is_file()
    reference = luma(kodak_rgb)
    decoded = read_image(path) * 255
    # measured 38.5 dB: demosaicing error only (auto-brightening changes nothing here)
    assert psnr(reference / 255, decoded / 255) > 35
    linear = read_raw_rgb(path, gamma=(1, 1), no_auto_bright=True,
                          output_color=rawpy.ColorSpace.raw, user_wb=[1, 1, 1, 1])  # fmt: skip
    assert linear.shape == kodak_rgb.shape and linear.dtype == np.uint16


def _encode(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_every_ordinary_format(tmp_path, kodak_rgb):
    rgb = np.ascontiguousarray(kodak_rgb[100:196, 200:328])
    ref = luma(rgb) / 255
    gray8 = np.round(ref * 255).astype(np.uint8)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    cases = {
        "gray.png": (_encode(gray8, "PNG"), 1 / 255),
        "rgb.png": (_encode(rgb, "PNG"), 1e-6),
        "rgba.png": (_encode(rgba, "PNG"), 1e-6),  # alpha ignored
        "la.png": (_encode(np.dstack([gray8, gray8]), "PNG"), 1 / 255),
        "gray16.png": (_encode(np.round(ref * 65535).astype(np.uint16), "PNG"), 1 / 65535),
        "rgb.bmp": (_encode(rgb, "BMP"), 1e-6),
        "rgb.tif": (_encode(rgb, "TIFF"), 1e-6),
        "gray8.tiff": (_encode(gray8, "TIFF"), 1 / 255),
    }
    for name, (blob, tol) in cases.items():
        (tmp_path / name).write_bytes(blob)
        out = read_image(tmp_path / name)
        assert out.dtype == np.float32 and out.shape == ref.shape, name
        assert np.abs(out - ref).max() <= tol + 1e-6, name
    rgb16 = rgb.astype(np.uint16) * 257  # 16-bit colour TIFF keeps its precision
    tifffile.imwrite(tmp_path / "rgb16.tif", rgb16, photometric="rgb")
    assert np.abs(read_image(tmp_path / "rgb16.tif") - ref).max() < 1e-5
    palette = io.BytesIO()
    Image.fromarray(rgb).quantize(64).save(palette, format="PNG")  # mode P
    lossy = {
        "rgb.jpg": (_encode(rgb, "JPEG", quality=90), 30),
        "gray.jpg": (_encode(gray8, "JPEG", quality=90), 30),
        "palette.png": (palette.getvalue(), 25),
    }
    for name, (blob, min_psnr) in lossy.items():
        (tmp_path / name).write_bytes(blob)
        assert psnr(read_image(tmp_path / name), ref) > min_psnr, name


def test_unreadable_files_give_clear_errors(tmp_path):
    real = dataset_dir("bsds300_test") / "101085.jpg"
    (tmp_path / "truncated.jpg").write_bytes(real.read_bytes()[:2000])
    (tmp_path / "notes.nef").write_text("this is a text file, not a Nikon RAW\n")
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "readme.txt").write_text("x")
    assert [p.name for p in list_images(tmp_path)] == ["garbage.png", "notes.nef", "truncated.jpg"]
    for name in ("truncated.jpg", "notes.nef", "garbage.png"):
        with pytest.raises(ValueError, match=name):
            read_image(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "missing.png")
    with pytest.raises(FileNotFoundError):
        list_images(tmp_path / "missing")


def test_resize_stretch_and_crop():
    image = read_image(dataset_dir("bsds300_test") / "101085.jpg")
    assert image.shape == (481, 321)  # portrait
    stretched, cropped = resize(image, 180), resize(image, 180, crop=True)
    assert stretched.shape == cropped.shape == (180, 180)
    centre = image[80:401, :]
    assert np.allclose(cropped, resize(centre, 180))
    assert not np.allclose(stretched, cropped)


# --------------------------------------------------------------------------- corpus


def _folder(tmp_path, name, files) -> str:
    folder = tmp_path / name
    folder.mkdir()
    for f in files:
        shutil.copy(f, folder / f.name)
    return str(folder)


@pytest.fixture
def small_sources(tmp_path):
    train = list_images(dataset_dir("bsds300_train"))
    test = list_images(dataset_dir("bsds300_test"))
    return dict(
        a=_folder(tmp_path, "a", train[:10]),
        b=_folder(tmp_path, "b", list_images(dataset_dir("train400"))[:30]),
        test=_folder(tmp_path, "test", test[:4]),
    )


def test_default_corpus(cache):
    corpus = build_corpus(progress=False)
    assert corpus.train.shape == (450, 180, 180) and corpus.val.shape == (50, 180, 180)
    assert corpus.test.shape == (100, 180, 180) and len(corpus.test_native) == 100
    assert {img.shape for img in corpus.test_native} == {(321, 481), (481, 321)}
    for arr in (corpus.train, corpus.val, corpus.test):
        assert arr.dtype == np.float32 and 0 <= arr.min() and arr.max() <= 1
    counts = corpus.index.groupby(["source", "split"]).size().to_dict()
    # 500 of 600 drawn in proportion: 1/3 from BSDS300 train, 2/3 from Train400
    assert counts[("bsds300_train", "train")] + counts[("bsds300_train", "val")] == 167
    assert counts[("train400_gray180", "train")] + counts[("train400_gray180", "val")] == 333
    assert len(corpus.problems()) == 0
    drawn = corpus.index[corpus.index.split.isin(["train", "val"])]
    assert drawn.sha256.str.len().eq(64).all() and drawn.sha256.is_unique
    # the index points at the arrays: row `position` of train is that file, resized
    row = drawn[drawn.split == "train"].iloc[0]
    again = resize(read_image(data_mod.data_dir() / row.path), 180)
    assert np.allclose(corpus.train[row.position], again)


def test_bad_files_are_skipped_and_listed(tmp_path, small_sources, cache):
    real = list_images(small_sources["a"])[0]
    (tmp_path / "a" / "zz_truncated.jpg").write_bytes(real.read_bytes()[:3000])
    (tmp_path / "a" / "zz_fake.nef").write_text("not a RAW file")
    corpus = build_corpus([small_sources["a"]], n_images=12, size=32,
                          test_source=small_sources["test"], progress=False)  # fmt: skip
    problems = corpus.problems()
    assert sorted(problems.path.map(os.path.basename)) == ["zz_fake.nef", "zz_truncated.jpg"]
    assert (problems.split == "skipped").all() and problems.reason.str.contains("cannot read").all()
    assert len(corpus.train) + len(corpus.val) == 10  # every readable image, nothing fatal
    assert corpus.params["shortfall"] == 2


def test_draw_is_seeded_and_stratified(small_sources, cache):
    kw = dict(n_images=20, size=32, test_source=small_sources["test"], progress=False, cache=False)
    sources = [small_sources["a"], small_sources["b"]]
    c1, c2 = build_corpus(sources, seed=1, **kw), build_corpus(sources, seed=1, **kw)
    c3 = build_corpus(sources, seed=2, **kw)
    assert c1.index.equals(c2.index) and np.array_equal(c1.train, c2.train)
    assert not c1.index.equals(c3.index)
    drawn = c1.index[c1.index.split.isin(["train", "val"])]
    assert drawn.groupby("category").size().to_dict() == {"a": 5, "b": 15}  # 10:30 of 40
    assert len(c1.val) == 2 and set(c1.index[c1.index.split == "val"].category) == {"a", "b"}


def test_categories_from_a_csv(tmp_path, small_sources, cache):
    files = list_images(small_sources["b"])
    csv = tmp_path / "categories.csv"
    lines = [f"{f.name},{'outdoor' if i < 10 else 'indoor'}\n" for i, f in enumerate(files)]
    csv.write_text("File,Keywords\n" + "".join(lines))
    corpus = build_corpus([small_sources["b"]], n_images=15, size=32, categories=csv,
                          test_source=small_sources["test"], progress=False)  # fmt: skip
    drawn = corpus.index[corpus.index.split.isin(["train", "val"])]
    assert drawn.groupby("category").size().to_dict() == {"indoor": 10, "outdoor": 5}


def test_leakage_guard(tmp_path, small_sources, cache):
    test_image = list_images(small_sources["test"])[0]
    copy = np.asarray(Image.open(test_image).convert("L"))
    Image.fromarray(copy).save(tmp_path / "a" / "copy_of_test.jpg", quality=30)
    kw = dict(size=64, test_source=small_sources["test"], progress=False)
    corpus = build_corpus([small_sources["a"]], n_images=11, **kw)
    dropped = corpus.index[corpus.index.split == "dropped"]
    assert list(dropped.path.map(os.path.basename)) == ["copy_of_test.jpg"]
    assert test_image.stem in dropped.reason.iloc[0]
    assert len(corpus.train) + len(corpus.val) == 10
    with pytest.raises(ValueError, match="nearly duplicate test images"):
        build_corpus([small_sources["a"]], n_images=11, on_leak="error", cache=False, **kw)


def test_cache_is_reused_and_invalidated(tmp_path, small_sources, cache):
    kw = dict(n_images=8, size=32, test_source=small_sources["test"], progress=False)
    first = build_corpus([small_sources["a"]], **kw)
    assert not first.from_cache and first.path.parent == cache
    again = build_corpus([small_sources["a"]], **kw)
    assert again.from_cache and np.array_equal(again.train, first.train)
    assert again.index.equals(first.index)
    assert not build_corpus([small_sources["a"]], seed=5, **kw).from_cache  # parameters changed
    source = list_images(small_sources["a"])[0]
    os.utime(source, ns=(0, 0))  # inputs changed
    assert not build_corpus([small_sources["a"]], **kw).from_cache


def test_an_interrupted_build_is_not_trusted(small_sources, cache, monkeypatch):
    kw = dict(n_images=8, size=32, test_source=small_sources["test"], progress=False)
    real_savez = np.savez

    def killed(*args, **kwargs):
        real_savez(*args, **kwargs)
        raise KeyboardInterrupt  # the process dies after writing the arrays

    monkeypatch.setattr(data_mod.np, "savez", killed)
    with pytest.raises(KeyboardInterrupt):
        build_corpus([small_sources["a"]], **kw)
    monkeypatch.undo()
    monkeypatch.setenv("COMP_LIB_CACHE", str(cache))
    assert not any(cache.glob("corpus-*")) and not any(cache.glob(".corpus-*"))
    # a folder left by kill -9 (no params.json written) is not trusted either
    fresh = build_corpus([small_sources["a"]], **kw)
    (fresh.path / "params.json").unlink()
    rebuilt = build_corpus([small_sources["a"]], **kw)
    assert not rebuilt.from_cache and (rebuilt.path / "params.json").is_file()
    assert build_corpus([small_sources["a"]], **kw).from_cache


def test_bad_arguments(small_sources):
    with pytest.raises(ValueError, match="val_fraction"):
        build_corpus([small_sources["a"]], val_fraction=1.5)
    with pytest.raises(ValueError, match="on_leak"):
        build_corpus([small_sources["a"]], on_leak="ignore")
    with pytest.raises(FileNotFoundError):
        build_corpus(["no-such-dataset"])


def test_a_folder_of_camera_raws_builds_like_raise(tmp_path, small_sources, cache):
    """The dissertation's corpus was a folder of RAISE NEFs: real RAWs go through unchanged."""
    raws = _folder(tmp_path, "raws", list_images(dataset_dir("raw")))
    corpus = build_corpus([raws], n_images=2, size=64, val_fraction=0.0,
                          test_source=small_sources["test"], progress=False)  # fmt: skip
    assert corpus.train.shape == (2, 64, 64) and len(corpus.problems()) == 0
    assert set(corpus.index[corpus.index.split == "train"].height) == {1088, 724}  # half size
    assert all(0.05 < img.mean() < 0.95 for img in corpus.train)


def test_native_tiles_cover_each_image_at_its_own_scale(small_sources, cache):
    from comp_lib.data import native_tiles

    kw = dict(size=32, progress=False, test_source=small_sources["test"])
    corpus = build_corpus([small_sources["a"]], n_images=10, val_fraction=0.2, **kw)
    tiles = native_tiles(corpus, "train", tile=180)
    # 8 BSDS300 photos of 481x321 (or 321x481): 3 x 2 overlapping 180x180 tiles each
    assert tiles.shape == (8 * 6, 180, 180) and tiles.dtype == np.float32
    assert np.allclose(tiles * 255, np.round(tiles * 255), atol=1e-4)  # 8-bit levels
    row = corpus.index[(corpus.index.split == "train") & (corpus.index.position == 0)].iloc[0]
    native = np.round(read_image(data_mod.data_dir() / row.path) * 255) / 255
    h, w = native.shape
    assert np.array_equal(tiles[0], native[:180, :180])  # not resized: the same pixels
    assert np.array_equal(tiles[5], native[h - 180 :, w - 180 :])  # the far corner
    assert len(native_tiles(corpus, "val", tile=180)) == 2 * 6
    with pytest.warns(UserWarning, match="smaller than"):
        with pytest.raises(ValueError, match="no train image"):
            native_tiles(corpus, "train", tile=400)
    with pytest.raises(ValueError, match="split"):
        native_tiles(corpus, "test")


# --------------------------------------------------------------------------- holdout


def _split(corpus, name: str) -> set[str]:
    return set(corpus.index.path[corpus.index.split == name])


def _stems(paths) -> list[str]:
    return [os.path.splitext(os.path.basename(p))[0] for p in paths]


def test_holdout_is_validation_minus_every_training_split(small_sources, cache):
    """Two corpora of the same 10 files whose splits cross: one's val is the other's train."""
    kw = dict(size=32, test_source=small_sources["test"], progress=False, cache=False)
    one = build_corpus([small_sources["a"]], n_images=6, seed=2, val_fraction=0.34, **kw)
    two = build_corpus([small_sources["a"]], n_images=8, seed=5, val_fraction=0.25, **kw)
    val1, train1, val2, train2 = (_split(c, s) for c in (one, two) for s in ("val", "train"))
    # the draws cross as intended (else the test below proves little)
    assert val1 & train2 and val2 & train1 and val2 - val1 - train1 - train2
    expected = sorted((val1 | val2) - (train1 | train2))
    assert expected and all(os.path.isabs(p) for p in expected)
    for corpora in ([one, two], [two, one]):
        out = data_mod.holdout_images(corpora)
        assert [name for name, _ in out] == _stems(expected)
        for (_, image), path in zip(out, expected, strict=True):
            with Image.open(path) as img:  # BT.601 luma, as Pillow computes it
                assert np.array_equal(image, np.asarray(img.convert("L")))
    trained = {os.path.basename(p) for p in train1 | train2}
    assert not {os.path.basename(p) for p in expected} & trained
    # nothing left to hold out: a clear error
    with pytest.raises(ValueError, match="every validation image"):
        data_mod.holdout_images([one, build_corpus([small_sources["a"]], n_images=10,
                                                   val_fraction=0.0, **kw)])  # fmt: skip


def test_the_shipped_ladders_holdout_never_trains(tmp_path, monkeypatch):
    """The default corpora of 500 and 600 images (the shipped ladder's), built from scratch
    (about 4 s each): their holdout is val minus every train split, by path and by content."""
    monkeypatch.setenv("COMP_LIB_CACHE", str(tmp_path))
    corpora = [build_corpus(n_images=n, progress=False) for n in (500, 600)]
    train = set().union(*(_split(c, "train") for c in corpora))
    val = set().union(*(_split(c, "val") for c in corpora))
    hashes = set().union(*(c.index.sha256[c.index.split == "train"] for c in corpora))
    out = data_mod.holdout_images(corpora)
    held = sorted(val - train)
    assert [name for name, _ in out] == _stems(held)
    assert len(out) > 0 and not set(held) & train
    # the shipped ladder's card says how many images it was chosen on
    card = (WEIGHTS_DIR / "best.ladder.md").read_text()
    assert f"over {len(out)} validation images" in " ".join(card.split())
    # not the same file under another name either
    for c in corpora:
        assert not set(c.index.sha256[c.index.path.isin(held)]) & hashes
