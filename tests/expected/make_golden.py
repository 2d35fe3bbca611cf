"""(Re)generate the golden bitstreams of ``tests/test_golden.py``: run once, commit the result.

::

    .venv/bin/python tests/expected/make_golden.py                     # every case
    .venv/bin/python tests/expected/make_golden.py v2_gray_best_rung2  # these cases only

With case names, only those cases are rewritten and the others' records are kept as
they are (new weights of one model need not touch the files of the others).

Writes into this folder (README.md says what the test checks with them):

* the source crops ``camera_*.png`` and ``astronaut_*.png``: small crops of the photos
  scikit-image ships inside its wheel (``skimage.data.camera()``, ``skimage.data.astronaut()``,
  read offline), so that no image of the study's datasets, nor anything made from one,
  is committed;
* ``<case>.cjr``, one bitstream per case of :data:`CASES`;
* ``<case>.compact.png``, the 8-bit image(s) the encoder handed to JPEG (YCbCr planes
  stored as the three channels of an RGB PNG; none where that is the source itself),
  and ``<case>.decoded.png``, the image the decoder returned;
* ``golden.json``: per case, how it was made and what was recorded.

The test never runs this; it only reads what this wrote. Regenerating changes the golden
files on purpose: say why in the commit (a new format version, new weights).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent

#: The source crops: name -> (function of skimage.data, rows, columns). Odd sizes on purpose.
SOURCES = {
    "camera_96x128": ("camera", (70, 166), (180, 308)),
    "camera_75x99": ("camera", (90, 165), (200, 299)),
    "astronaut_63x85": ("astronaut", (175, 238), (100, 185)),
}

#: The golden cases: file stem -> how the bitstream is made.
#:
#: ``coder``: ``["model", NAME]`` (:func:`comp_lib.zoo.load_model`: a shipped model or a
#: fixed coder) or ``["ladder", NAME]`` (:meth:`comp_lib.coding.Ladder.load`); ``setting``:
#: the quality (for a ladder: the rung); ``chroma``: how a colour image's chroma is coded.
#: ``version`` 1: the first release's writer, the 9-byte header and the JPEG of ComCNN's
#: compact image (such a file names no model; any codec decodes it, the test uses ``coder``).
#: ``exact``: the stages that involve no floating-point rounding on the way to 8 bits, so
#: that their result must not move by a single level on any CPU: ``"encoder"`` (the compact
#: image is the source itself: no ComCNN, no resampling) and ``"decoder"`` (no network, no
#: resampling, no colour conversion).
CASES = {
    "v1_gray_rec32x20_q10": dict(source="camera_75x99", coder=["model", "rec32x20"], setting=10,
                                 version=1),
    "v2_gray_rec32x20_q5": dict(source="camera_96x128", coder=["model", "rec32x20"], setting=5),
    "v2_gray_post64s2lo_q5": dict(source="camera_96x128", coder=["model", "post64s2lo"],
                                  setting=5, exact=["encoder"]),
    "v2_ycbcr_rec32x20_q10": dict(source="astronaut_63x85", coder=["model", "rec32x20"],
                                  setting=10, chroma="jpeg"),
    "v2_ycbcr-cnn_rec32x20_q10": dict(source="astronaut_63x85", coder=["model", "rec32x20"],
                                      setting=10, chroma="cnn"),
    "v2_gray_jpeg_q50": dict(source="camera_75x99", coder=["model", "jpeg"], setting=50,
                             exact=["encoder", "decoder"]),
    "v2_ycbcr_bicubic_q30": dict(source="astronaut_63x85", coder=["model", "bicubic"],
                                 setting=30, chroma="jpeg"),
    "v2_gray_post64s2hi_q15": dict(source="camera_96x128", coder=["model", "post64s2hi"],
                                   setting=15, exact=["encoder"]),
    "v2_gray_unet32q_q10": dict(source="camera_96x128", coder=["model", "unet32q"], setting=10,
                                exact=["encoder"]),
    "v2_gray_best_rung2": dict(source="camera_96x128", coder=["ladder", "best"], setting=2),
    "v2_gray_best_rung11": dict(source="camera_96x128", coder=["ladder", "best"], setting=11,
                                exact=["encoder"]),
}  # fmt: skip

#: The functions of :mod:`comp_lib.jpeg` that turn compact images into the payload.
ENCODERS = ("encode", "encode_ycbcr")


def sha256(data: bytes | np.ndarray) -> str:
    """sha256 of bytes, or of an array's shape, dtype and C-ordered values."""
    if isinstance(data, np.ndarray):
        head = f"{data.shape}{data.dtype.str}".encode()
        data = head + np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(data).hexdigest()


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img).copy()


def write_png(path: Path, image: np.ndarray) -> None:
    Image.fromarray(image).save(path, optimize=True)


def source(name: str) -> np.ndarray:
    """A committed source crop (``uint8``, ``(H, W)`` or ``(H, W, 3)``)."""
    return read_png(HERE / f"{name}.png")


def skimage_photo(name: str) -> np.ndarray:
    """The whole photo a source is cut from, as scikit-image ships it (no download)."""
    import skimage.data

    return getattr(skimage.data, SOURCES[name][0])()


def crop(name: str, photo: np.ndarray) -> np.ndarray:
    _, (r0, r1), (c0, c1) = SOURCES[name]
    return np.ascontiguousarray(photo[r0:r1, c0:c1])


def load_coder(spec: list):
    kind, name = spec
    if kind == "ladder":
        from comp_lib.coding import Ladder

        return Ladder.load(name)
    from comp_lib.zoo import load_model

    return load_model(name)


@contextmanager
def capture_compacts():
    """Record each call of the JPEG encoders: ``[(name, image, args, kwargs), ...]``.

    The compact image(s) a coder hands to JPEG are what its floating-point half made.
    """
    from comp_lib import jpeg

    calls: list = []
    with mock.patch.multiple(jpeg, **{name: _spy(jpeg, name, calls) for name in ENCODERS}):
        yield calls


def _spy(module, name: str, calls: list):
    real = getattr(module, name)

    def spy(image, *args, **kwargs):
        calls.append((name, np.array(image), args, kwargs))
        return real(image, *args, **kwargs)

    return spy


def encode(case: dict, coder) -> tuple[bytes, tuple | None]:
    """The bitstream of ``case`` made by today's code, and its call of the JPEG encoder.

    The call is ``(name, compact, args, kwargs)``: the function of :data:`ENCODERS` and what
    it was given (``compact``: the 8-bit image(s) it coded); ``None`` unless exactly one was made.
    """
    from comp_lib import jpeg
    from comp_lib.coding import pack_header

    image = source(case["source"])
    with capture_compacts() as calls:
        if case.get("version", 2) == 1:  # the first release's writer: 9-byte header, gray JPEG
            quality = case["setting"]
            with coder.inference():
                x = coder.infer_compact(coder.to_tensor(image[None]))
                compact = jpeg.tensor_to_uint8(x)[0]
            data = pack_header(*image.shape, quality, version=1) + jpeg.encode(compact, quality)
        else:
            data = coder.compress(image, case["setting"], chroma=case.get("chroma"))
    return data, (calls[0] if len(calls) == 1 else None)


def payload_pixels(header: dict) -> np.ndarray:
    """The JPEG payload decoded by libjpeg alone (no network): the compact image(s)."""
    from comp_lib import jpeg

    if header["colour"] == "gray":
        return jpeg.decode(header["payload"])
    return jpeg.decode_ycbcr(header["payload"])


def describe(image: np.ndarray, decoded: np.ndarray) -> dict:
    """A decoded image in numbers: shape, sha256, PSNR against its source, mean value."""
    from comp_lib.metrics import psnr

    return {
        "shape": list(decoded.shape),
        "sha256": sha256(decoded),
        "psnr": round(psnr(image, decoded), 4),
        "mean": round(float(decoded.astype(np.float64).mean()), 4),
    }


HEADER_FIELDS = ("version", "height", "width", "quality", "colour", "model", "fingerprint",
                 "header_size")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    import torch

    from comp_lib.coding import parse_header

    torch.set_num_threads(1)
    sources = {}
    for name in SOURCES:
        photo = skimage_photo(name)
        write_png(HERE / f"{name}.png", crop(name, photo))
        sources[name] = {"skimage.data": SOURCES[name][0], "rows": SOURCES[name][1],
                         "columns": SOURCES[name][2], "photo_sha256": sha256(photo)}  # fmt: skip
    only = list(sys.argv[1:] if argv is None else argv)
    unknown = sorted(set(only) - set(CASES))
    if unknown:
        raise SystemExit(f"unknown golden cases {unknown}; the cases are {sorted(CASES)}")
    golden = {"sources": sources, "cases": {}}
    if only:
        kept = json.loads((HERE / "golden.json").read_text())["cases"]
        golden["cases"] = {stem: kept[stem] for stem in CASES if stem in kept}
    for stem, case in CASES.items():
        if only and stem not in only:
            continue
        coder = load_coder(case["coder"])
        data, (_, compact, _, _) = encode(case, coder)
        header = parse_header(data)
        decoded = coder.decompress(data)
        image = source(case["source"])
        (HERE / f"{stem}.cjr").write_bytes(data)
        if "encoder" in case.get("exact", ()):  # the compact image is the source itself
            assert np.array_equal(compact, image), stem
        else:
            write_png(HERE / f"{stem}.compact.png", compact)
        write_png(HERE / f"{stem}.decoded.png", decoded)
        golden["cases"][stem] = {
            **case,
            "bytes": len(data),
            "sha256": sha256(data),
            "header": {k: header[k] for k in HEADER_FIELDS},
            "payload_sha256": sha256(header["payload"]),
            "payload_pixels_sha256": sha256(payload_pixels(header)),
            "compact_sha256": sha256(compact),
            "decoded": describe(image, decoded),
        }
        d = golden["cases"][stem]["decoded"]
        print(f"{stem}: {len(data)} bytes, PSNR {d['psnr']:.4f} dB, mean {d['mean']:.4f}")
    text = json.dumps(golden, indent=1)
    # short lists (sizes, coder specs) on one line
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: f"[{' '.join(m[1].split())}]", text)
    (HERE / "golden.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    raise SystemExit(main())
