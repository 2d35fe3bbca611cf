"""Golden bitstreams: files written by earlier code still decode to the same images, and
today's encoder still writes them.

``tests/expected/`` holds bitstreams of every kind the package writes or has written
(a version 1 file, version 2 grayscale and colour with both chroma modes, a RecCNN-only
post-filter, the fixed coders, rungs of the shipped ladder), made from crops of photos
that scikit-image ships, with what they decoded to. A change of the format, of the
decoder or of a shipped model's weights fails here; regenerating the files
(``tests/expected/make_golden.py``) is a deliberate act, never done by this test.

Exact where the arithmetic is exact: the files' bytes, every header field, the JPEG
payload and what libjpeg decodes it to. The networks, bicubic resampling and the colour
transform compute in floating point, whose last bits may differ between CPUs (AVX2,
AVX-512): there a decoded or compact image must equal the recorded one, or differ from it
in at most :data:`MAX_CHANGED` of its samples, by one level each (tests/expected/README.md).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from comp_lib.coding import Codec, parse_header

EXPECTED = Path(__file__).resolve().parent / "expected"
_spec = importlib.util.spec_from_file_location("make_golden", EXPECTED / "make_golden.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

RECORD = json.loads((EXPECTED / "golden.json").read_text())
CASES = RECORD["cases"]

#: Where floating point is involved, the fraction of an image's samples that may differ
#: from the recorded image (at least :data:`MIN_CHANGED` samples), each by one level.
#: Decoding with other arithmetic (no SIMD in ATen, SSE4.1-only oneDNN, no channels_last,
#: one or two threads) changed at most one sample of any image; multiplying one layer of
#: RecCNN by 1.001 changes 0.2 to 0.9 % of them (tests/expected/README.md: the measurements).
MAX_CHANGED = 0.0005
MIN_CHANGED = 2
#: The recorded PSNR (against the source) and mean of a decoded image are to 4 decimals;
#: within the pixel tolerance above they move by less than 0.001.
PSNR_TOLERANCE_DB = 0.01
MEAN_TOLERANCE = 0.01


def mismatch(image: np.ndarray, reference: np.ndarray) -> str | None:
    """``None`` when ``image`` is ``reference`` up to float rounding; else what differs."""
    if image.shape != reference.shape or image.dtype != reference.dtype:
        return f"{image.shape} {image.dtype}, recorded {reference.shape} {reference.dtype}"
    diff = np.abs(image.astype(np.int16) - reference.astype(np.int16))
    changed = int(np.count_nonzero(diff))
    allowed = max(MIN_CHANGED, math.ceil(MAX_CHANGED * diff.size))
    if diff.max() > 1 or changed > allowed:
        return (f"{changed} of {diff.size} samples differ (at most {allowed} allowed), "
                f"by up to {int(diff.max())} levels (at most 1 allowed)")  # fmt: skip
    return None


@functools.cache
def coder(kind: str, name: str):
    return golden.load_coder([kind, name])


def _data(stem: str) -> bytes:
    return (EXPECTED / f"{stem}.cjr").read_bytes()


def _compact(stem: str) -> np.ndarray:
    case = CASES[stem]
    if "encoder" in case.get("exact", ()):
        return golden.source(case["source"])
    return golden.read_png(EXPECTED / f"{stem}.compact.png")


def test_the_cases_cover_every_kind_of_bitstream():
    kinds = {(c["header"]["version"], c["header"]["colour"]) for c in CASES.values()}
    assert kinds == {(1, "gray"), (2, "gray"), (2, "ycbcr"), (2, "ycbcr-cnn")}
    models = {c["header"]["model"] for c in CASES.values()}
    shipped = {"rec32x20", "post64s2lo", "jpeg", "bicubic", "rec32x20n", "post64s2hi", "unet32q"}
    assert shipped <= models
    assert {tuple(c["coder"]) for c in CASES.values()} >= {("ladder", "best")}


@pytest.mark.parametrize("name", sorted(RECORD["sources"]))
def test_the_sources_are_crops_of_the_photos_scikit_image_ships(name):
    pytest.importorskip("skimage")
    photo = golden.skimage_photo(name)
    if golden.sha256(photo) != RECORD["sources"][name]["photo_sha256"]:
        pytest.skip(f"this scikit-image ships another {golden.SOURCES[name][0]} photo")
    assert np.array_equal(golden.source(name), golden.crop(name, photo))


@pytest.mark.parametrize("stem", sorted(CASES))
def test_a_golden_file_decodes_as_it_did(stem):
    case, data = CASES[stem], _data(stem)
    assert golden.sha256(data) == case["sha256"], f"{stem}.cjr itself changed"
    header = parse_header(data)
    assert {k: header[k] for k in golden.HEADER_FIELDS} == case["header"]
    assert golden.sha256(header["payload"]) == case["payload_sha256"]
    # libjpeg's decoding (integer IDCT) is exact on every CPU
    assert golden.sha256(golden.payload_pixels(header)) == case["payload_pixels_sha256"]

    decoded = coder(*case["coder"]).decompress(data)
    reference = golden.read_png(EXPECTED / f"{stem}.decoded.png")
    recorded = case["decoded"]
    assert golden.sha256(reference) == recorded["sha256"], f"{stem}.decoded.png itself changed"
    if "decoder" in case.get("exact", ()):
        assert golden.sha256(decoded) == recorded["sha256"], f"{stem} decodes to another image"
    elif golden.sha256(decoded) != recorded["sha256"]:
        problem = mismatch(decoded, reference)
        assert problem is None, f"{stem} decodes to another image: {problem}"
    now = golden.describe(golden.source(case["source"]), decoded)
    assert abs(now["psnr"] - recorded["psnr"]) <= PSNR_TOLERANCE_DB, (now, recorded)
    assert abs(now["mean"] - recorded["mean"]) <= MEAN_TOLERANCE, (now, recorded)


@pytest.mark.parametrize("stem", sorted(CASES))
def test_todays_encoder_writes_the_golden_file(stem):
    """The same compact image (up to float rounding) and the same bytes; where rounding moved
    a sample of the compact image, the same header and the same JPEG of the recorded one."""
    case, expected = CASES[stem], _data(stem)
    data, call = golden.encode(case, coder(*case["coder"]))
    if call is None:  # the compact image was not seen: the bytes alone are compared
        assert data == expected, (
            f"{stem}: other bytes (and no single call of comp_lib.jpeg.{golden.ENCODERS} "
            "to see the compact image by)"
        )
        return
    name, compact, args, kwargs = call
    reference = _compact(stem)
    assert golden.sha256(reference) == case["compact_sha256"], f"{stem}.compact.png changed"
    if "encoder" in case.get("exact", ()):
        assert np.array_equal(compact, reference), f"{stem}: the compact image changed"
    elif golden.sha256(compact) != case["compact_sha256"]:
        problem = mismatch(compact, reference)
        assert problem is None, f"{stem}: the encoder made another compact image: {problem}"
    if data == expected:
        return
    size = case["header"]["header_size"]
    assert data[:size] == expected[:size], f"{stem}: the header changed"
    from comp_lib import jpeg

    payload = getattr(jpeg, name)(reference, *args, **kwargs)
    assert payload == expected[size:], f"{stem}: the JPEG settings changed"


def test_a_version_1_file_names_no_model_so_any_codec_decodes_it():
    data = _data("v1_gray_rec32x20_q10")
    other = coder("model", "rec32x20n").decompress(data)  # no fingerprint to refuse it by
    assert other.shape == tuple(CASES["v1_gray_rec32x20_q10"]["decoded"]["shape"])


def test_the_ladder_decodes_with_the_model_its_rung_names():
    ladder = coder("ladder", "best")
    for case in CASES.values():
        if case["coder"] == ["ladder", "best"]:
            model, quality = ladder.rungs[case["setting"]]
            assert (case["header"]["model"], case["header"]["quality"]) == (model, quality)


def test_the_tolerance_accepts_one_level_on_a_few_samples_only():
    rng = np.random.default_rng(0)
    reference = rng.integers(1, 255, (96, 128), dtype=np.uint8)
    image = reference.copy()
    assert mismatch(image, reference) is None
    image.flat[rng.choice(image.size, 7, replace=False)] += 1  # ceil(0.05 % of 12288) = 7
    assert mismatch(image, reference) is None
    image.flat[np.flatnonzero(image == reference)[0]] += 1
    assert "8 of 12288 samples differ" in mismatch(image, reference)
    image = reference.copy()
    image[0, 0] += 2
    assert "by up to 2 levels" in mismatch(image, reference)
    assert "recorded (96, 128)" in mismatch(reference[:, :-1], reference)


def test_the_tolerance_catches_a_reccnn_weight_changed_by_a_thousandth():
    """A bug of this size (one layer of RecCNN off by 0.1 %) is caught, and so is another model."""
    stem = "v2_gray_rec32x20_q5"
    data, reference = _data(stem), golden.read_png(EXPECTED / f"{stem}.decoded.png")
    codec = Codec.load("rec32x20")
    convs = [p for p in codec.reccnn.parameters() if p.ndim == 4]
    with torch.no_grad():
        convs[len(convs) // 2].mul_(1.001)
    with pytest.raises(ValueError, match="made by model 'rec32x20'"):
        codec.decompress(data)  # the fingerprint changed with the weights
    assert mismatch(codec.decompress(data, check_model=False), reference) is not None
    other = coder("model", "rec32x20n").decompress(data, check_model=False)
    assert mismatch(other, reference) is not None
