"""The bitstream: version 2 header, model identity, version 1 files, and fuzzing the decoder."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from comp_lib import jpeg
from comp_lib.coding import (
    FORMAT_VERSION,
    MAGIC,
    MAX_NAME_LENGTH,
    MAX_PIXELS,
    MIN_SIZE,
    BicubicCodec,
    Codec,
    header_size,
    pack_header,
    parse_header,
)
from comp_lib.coding.bitstream import MAX_SIZE, check_input
from comp_lib.data import dataset_dir
from comp_lib.models import ComCNN, RecCNN
from comp_lib.zoo import shipped_models

#: The shipped model's fingerprint. If this changes, every file made by it can no longer be
#: decoded: ship changed weights under a new name rather than changing this.
REC32X20_FINGERPRINT = "9fb39cfa555433d5"


@pytest.fixture(scope="module")
def shipped() -> Codec:
    return Codec.load("rec32x20").eval()


@pytest.fixture(scope="module")
def tiny() -> Codec:
    """A small random codec: decoding is fast, so the fuzzer can try many inputs."""
    torch.manual_seed(0)
    return Codec(ComCNN(channels=8), RecCNN(channels=8, depth=3), name="tiny").eval()


@pytest.fixture(scope="module")
def kodak_crop() -> np.ndarray:
    """A 48x64 RGB crop of a real photo (Kodak kodim23)."""
    with Image.open(dataset_dir("kodak") / "kodim23.png") as img:
        return np.ascontiguousarray(np.asarray(img.convert("RGB"))[200:248, 300:364])


@pytest.fixture(scope="module")
def streams(tiny, kodak_crop) -> list[bytes]:
    """Real bitstreams to mutate: gray (even and odd sizes), colour (both chroma modes), v1."""
    gray = np.asarray(Image.fromarray(kodak_crop).convert("L"))
    v2 = tiny.compress(gray, 30)
    return [
        v2,
        tiny.compress(np.ascontiguousarray(gray[:41, :37]), 5),
        tiny.compress(kodak_crop, 20),
        tiny.compress(kodak_crop, 60, chroma="cnn"),
        pack_header(*gray.shape, 30, version=1) + v2[tiny.header_size :],
    ]


def test_version_2_header_layout(shipped, image):
    data = shipped.compress(image, 25)
    h, w = image.shape
    fp = bytes.fromhex(shipped.fingerprint)
    assert data[:27] == (b"CJR\x02" + h.to_bytes(2, "big") + w.to_bytes(2, "big") + b"\x19"
                         + b"\x00" + b"\x08" + b"rec32x20" + fp)  # fmt: skip
    assert data[27:29] == b"\xff\xd8"  # the JPEG file starts right after the header
    header = parse_header(data)
    assert {k: v for k, v in header.items() if k != "payload"} == dict(
        version=FORMAT_VERSION, height=h, width=w, quality=25, colour="gray", model="rec32x20",
        fingerprint=shipped.fingerprint, header_size=27,
    )  # fmt: skip
    assert header["payload"] == data[27:] and shipped.header_size == header_size("rec32x20") == 27


def test_shipped_model_identity_is_stable(shipped, tmp_path):
    assert shipped.name == "rec32x20" and "rec32x20" in shipped_models()
    assert shipped.fingerprint == REC32X20_FINGERPRINT
    # neither the memory format, a copy on disk under another name, nor a reload changes it
    shipped.to(memory_format=torch.channels_last)
    copy = Codec.load(shipped.save(tmp_path / "copy.pt"))
    # the name it was saved with, not the file's stem: same weights, same identity
    assert copy.fingerprint == REC32X20_FINGERPRINT and copy.name == "rec32x20"
    # weights changed in place: the cached fingerprint is recomputed
    with torch.no_grad():
        next(copy.reccnn.parameters()).add_(1e-3)
    assert copy.fingerprint != REC32X20_FINGERPRINT


def test_name_is_stored_and_checked(tiny, tmp_path):
    assert Codec.load(tiny.save(tmp_path / "tiny.pt")).name == "tiny"
    assert Codec.from_state(tiny.state()).name == "tiny"
    assert Codec(ComCNN(channels=8), None, metadata={"name": "meta"}).name == "meta"
    unnamed = Codec(ComCNN(channels=8), RecCNN(channels=8, depth=3))
    assert unnamed.name is None and unnamed.header_size == 19
    with pytest.raises(ValueError, match="an unnamed model"):
        tiny.decompress(unnamed.compress(np.zeros((16, 16), np.uint8), 50))
    assert Codec.load(unnamed.save(tmp_path / "mödel-v2.pt")).name == "m_del-v2"  # file stem
    for bad in ("x" * 33, "naïve", "tab\there"):
        with pytest.raises(ValueError, match="printable ASCII"):
            Codec(ComCNN(channels=8), None, name=bad)


def test_a_file_from_another_model_is_refused_by_name(shipped, tiny, image):
    image = np.ascontiguousarray(image[:160, :128])  # a crop: three decodes below
    data = shipped.compress(image, 20)
    with pytest.raises(ValueError, match=r"made by model 'rec32x20' \(fingerprint 9fb39cfa"):
        tiny.decompress(data)
    with pytest.raises(ValueError, match=r"this codec is model 'tiny'.*Codec.load\('rec32x20'\)"):
        tiny.decompress(data)
    with pytest.raises(ValueError, match="'bicubic'"):
        BicubicCodec().decompress(data)
    assert tiny.decompress(data, check_model=False).shape == image.shape  # on request
    # the same weights under another name decode it: the fingerprint is the identity
    renamed = Codec(shipped.comcnn, shipped.reccnn, name="renamed")
    assert np.array_equal(renamed.decompress(data), shipped.decompress(data))


def test_version_1_files_still_decode(shipped, tiny, image):
    """A version 1 file is the 9-byte header + the same JPEG payload; it names no model.

    (Checked once against the version 1 writer of git 931db78: on BSDS300 test images its
    files are exactly ``pack_header(..., version=1)`` + the payload written here.)
    """
    image = np.ascontiguousarray(image[:160, :128])
    data = shipped.compress(image, 15)
    v1 = pack_header(*image.shape, 15, version=1) + data[shipped.header_size :]
    header = parse_header(v1)
    assert (header["version"], header["model"], header["fingerprint"]) == (1, None, None)
    assert header["header_size"] == 9 and header["colour"] == "gray"
    assert np.array_equal(shipped.decompress(v1), shipped.decompress(data))
    assert tiny.decompress(v1).shape == image.shape  # no identity to check
    with pytest.raises(ValueError, match="neither colour nor a model"):
        pack_header(*image.shape, 15, colour="ycbcr", version=1)


def test_huge_headers_are_refused_before_decoding(tiny, streams):
    payload = streams[0][tiny.header_size :]
    fp = tiny.fingerprint
    side = int(MAX_PIXELS**0.5)
    for h, w in ((65535, 65535), (side + 1, side), (65535, 8 * 1024)):
        for bad in (pack_header(h, w, 10, "ycbcr", "tiny", fp) + payload,
                    pack_header(h, w, 10, version=1) + payload):  # fmt: skip
            start = time.perf_counter()
            with pytest.raises(ValueError, match="above the decoder's limit"):
                tiny.decompress(bad)
            assert time.perf_counter() - start < 0.1
    # at the limit, the JPEG's own header is checked before any pixel is decoded
    with pytest.raises(ValueError, match=f"expected {side // 2}x{side // 2}"):
        tiny.decompress(pack_header(side, side, 10, "gray", "tiny", fp) + payload)
    with pytest.raises(ValueError, match="above the limit"):
        tiny.compress(np.zeros((side + 2, side), np.uint8), 10)


# --------------------------------------------------------------------------- fuzzing

FUZZ = settings(
    max_examples=250,
    deadline=None,  # a mutated stream may still decode in full; time is bounded below
    derandomize=True,  # the same inputs on every run: CI does not flake
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _peak_rss_reset() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux)
        return True
    except OSError:
        return False


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _decode_or_valueerror(codec, data: bytes) -> None:
    """Decoding either succeeds with the header's shape or raises ValueError; nothing else."""
    start = time.perf_counter()
    try:
        out = codec.decompress(data)
    except ValueError as err:
        assert str(err)
    else:
        header = parse_header(data)
        channels = () if header["colour"] == "gray" else (3,)
        assert out.shape == (header["height"], header["width"], *channels)
        assert out.dtype == np.uint8
    assert time.perf_counter() - start < 5.0


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data):
    try:
        parse_header(data)
    except ValueError:
        pass
    try:
        parse_header(MAGIC + data)
    except ValueError:
        pass


@FUZZ
@given(version=st.sampled_from([1, 2]), rest=st.binary(max_size=300))
def test_fuzz_random_bytes_after_a_valid_start(tiny, version, rest):
    _decode_or_valueerror(tiny, MAGIC + bytes([version]) + rest)


@st.composite
def mutated(draw, streams):
    data = bytearray(draw(st.sampled_from(streams)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "byte", "header"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[i:]
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[i : i + draw(st.integers(1, 16))]
        elif kind == "byte":
            data[i] = draw(st.integers(0, 255))
        else:  # the header's fields, where a flip matters most
            data[draw(st.integers(0, min(len(data), 40) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def test_fuzz_mutated_real_bitstreams(tiny, streams):
    """Bit flips, truncations, insertions and deletions of real streams: ValueError or an image."""
    for data in streams:  # the unmutated streams decode
        _decode_or_valueerror(tiny, data)
    reset = _peak_rss_reset()
    before = _status("VmRSS")
    start = time.perf_counter()

    @settings(FUZZ, max_examples=600)
    @given(mutated(streams))
    def check(data):
        _decode_or_valueerror(tiny, data)

    check()
    assert time.perf_counter() - start < 60
    if reset:  # memory did not blow up: at most ~100 MB above where it started
        assert _status("VmHWM") - before < 100 * 2**20


def test_the_jpeg_layer_refuses_foreign_payloads(tiny, kodak_crop, streams):
    """Valid headers around payloads that are not what the header says."""
    gray_header = streams[0][: tiny.header_size]
    h, w = parse_header(streams[0])["height"], parse_header(streams[0])["width"]
    png = Image.fromarray(kodak_crop)
    import io

    buf = io.BytesIO()
    png.save(buf, format="PNG")
    cmyk = io.BytesIO()
    png.convert("CMYK").resize((w // 2, h // 2)).save(cmyk, format="JPEG")
    rgb = io.BytesIO()  # a 4:2:0 colour JPEG of the right size, colour-converted by libjpeg
    png.resize((w // 2, h // 2)).save(rgb, format="JPEG")
    colour_header = pack_header(h, w, 30, "ycbcr", "tiny", tiny.fingerprint)
    for bad, match in [
        (gray_header + buf.getvalue(), "corrupt or truncated JPEG"),
        (gray_header + cmyk.getvalue(), "not grayscale"),
        (colour_header + cmyk.getvalue(), "not 3-component"),
        (gray_header + jpeg.encode(np.zeros((h, w), np.uint8), 50), f"expected {h // 2}x{w // 2}"),
    ]:
        with pytest.raises(ValueError, match=match):
            tiny.decompress(bad)
    # a standard colour JPEG of the right size is read as its stored YCbCr planes
    assert tiny.decompress(colour_header + rgb.getvalue()).shape == (h, w, 3)


# --------------------------------------------------------------------------- limits at their edges


def test_a_name_of_exactly_the_longest_length_round_trips(kodak_crop):
    assert MAX_NAME_LENGTH == 32
    name = ("A long model name ~ v2 " * 2)[:32]  # printable ASCII, spaces and "~" included
    assert len(name) == MAX_NAME_LENGTH
    fp = bytes(range(8))
    head = pack_header(48, 64, 95, "ycbcr-cnn", name, fp)
    assert len(head) == 9 + 2 + 32 + 8 == header_size(name)
    header = parse_header(head + b"\xff\xd8")
    assert (header["model"], header["fingerprint"], header["header_size"]) == (name, fp.hex(), 51)
    assert (header["height"], header["width"], header["quality"]) == (48, 64, 95)
    assert header["colour"] == "ycbcr-cnn" and header["payload"] == b"\xff\xd8"
    # a codec of that name writes and reads its own files
    torch.manual_seed(0)
    codec = Codec(ComCNN(channels=8), RecCNN(channels=8, depth=3), name=name).eval()
    gray = np.ascontiguousarray(kodak_crop[..., 1])
    data = codec.compress(gray, 30)
    assert data[10] == 32 and data[11:43] == name.encode()
    assert parse_header(data)["model"] == name
    assert codec.decompress(data).shape == gray.shape


def test_a_name_one_over_the_limit_is_refused():
    name = "n" * (MAX_NAME_LENGTH + 1)
    with pytest.raises(ValueError, match="at most 32 characters"):
        pack_header(48, 64, 30, "gray", name)
    # forged by hand: the parser refuses the length byte before reading the name
    forged = b"CJR\x02" + (48).to_bytes(2, "big") + (64).to_bytes(2, "big") + bytes([30, 0, 33])
    forged += name.encode() + bytes(8) + b"\xff\xd8"
    with pytest.raises(ValueError, match="model name length 33 > 32"):
        parse_header(forged)
    with pytest.raises(ValueError, match="printable ASCII"):
        Codec(ComCNN(channels=8), None, name=name)


def _fields(head: bytes) -> tuple[int, int]:
    header = parse_header(head + b"\xff\xd8")
    return header["height"], header["width"]


def test_size_limits_of_the_header_at_their_edges():
    assert (MIN_SIZE, MAX_SIZE, MAX_PIXELS) == (8, 65535, 8192 * 8192)
    assert _fields(pack_header(8, 8, 10)) == (8, 8)
    for h, w in ((7, 8), (8, 7)):
        with pytest.raises(ValueError, match="below 8x8"):
            _fields(pack_header(h, w, 10))
    assert _fields(pack_header(65535, 8, 10)) == (65535, 8)  # 16-bit field: 65536 cannot be said
    with pytest.raises(ValueError, match="out of range"):
        pack_header(65536, 8, 10)
    assert _fields(pack_header(8192, 8192, 10)) == (8192, 8192)  # exactly MAX_PIXELS
    for h, w in ((8192, 8193), (8193, 8192)):
        with pytest.raises(ValueError, match="above the decoder's limit of 67108864"):
            _fields(pack_header(h, w, 10))
    # a codec's own limit, at its edge
    assert parse_header(pack_header(10, 12, 10) + b"\xff", max_pixels=120)["width"] == 12
    with pytest.raises(ValueError, match="limit of 119 pixels"):
        parse_header(pack_header(10, 12, 10) + b"\xff", max_pixels=119)
    # qualities at the ends of 1..95
    for q in (1, 95):
        assert parse_header(pack_header(8, 8, q) + b"\xff")["quality"] == q
    for q in (0, 96):
        with pytest.raises(ValueError, match=f"quality {q} outside 1..95"):
            parse_header(pack_header(8, 8, q) + b"\xff")


def test_size_limits_of_the_input_at_their_edges():
    # np.zeros maps zero pages: these big arrays cost nothing until written
    for shape in ((8, 8), (8, 8, 3), (65535, 8), (8, 65535), (8192, 8192)):
        assert check_input(np.zeros(shape, np.uint8)).shape == shape
    for shape in ((7, 8), (8, 7), (7, 8, 3)):
        with pytest.raises(ValueError, match="at least 8x8"):
            check_input(np.zeros(shape, np.uint8))
    for shape in ((65536, 8), (8, 65536)):
        with pytest.raises(ValueError, match="at most 65535"):
            check_input(np.zeros(shape, np.uint8))
    for shape in ((8192, 8193), (8193, 8192, 3)):
        with pytest.raises(ValueError, match="above the limit of 67108864"):
            check_input(np.zeros(shape, np.uint8))
    assert check_input(np.zeros((10, 12), np.uint8), max_pixels=120).shape == (10, 12)
    with pytest.raises(ValueError, match="above the limit of 119"):
        check_input(np.zeros((10, 12), np.uint8), max_pixels=119)


def test_describe_model_names_the_model_or_says_it_has_none():
    from comp_lib.coding.bitstream import describe_model

    assert describe_model("rec32x20", "ab12") == "model 'rec32x20' (fingerprint ab12)"
    assert describe_model(None, "ab12") == "an unnamed model (fingerprint ab12)"


def test_check_input_says_what_is_wrong():
    """Each refusal of check_input with its whole message; a valid image comes back as is."""
    from comp_lib.coding.bitstream import check_input

    gray, rgb = np.zeros((8, 9), np.uint8), np.zeros((8, 9, 3), np.uint8)
    assert check_input(gray) is gray and check_input(rgb) is rgb
    shape = "image must be 2-D grayscale (H, W) or colour RGB (H, W, 3), got shape "
    cases = [
        ([[0]], TypeError, "image must be a numpy.ndarray, got list"),
        (np.zeros((8, 9, 4), np.uint8), ValueError,
         shape + "(8, 9, 4) (RGBA? drop or flatten the alpha channel first)"),
        (np.zeros((8, 9, 2), np.uint8), ValueError, shape + "(8, 9, 2)"),
        (np.zeros((8, 9), np.uint16), TypeError, "image must have dtype uint8, got uint16; the "
         "codec codes 8 bits per sample: np.round(image / 257).astype(np.uint8)"),
        (np.zeros((8, 9), np.float32), TypeError, "image must have dtype uint8, got float32"),
        (np.zeros((0, 9), np.uint8), ValueError, "image is empty (shape (0, 9))"),
        (np.zeros((7, 9), np.uint8), ValueError, "image must be at least 8x8, got 7x9"),
    ]  # fmt: skip
    for image, error, message in cases:
        with pytest.raises(error) as err:
            check_input(image)
        assert str(err.value) == message
    with pytest.raises(ValueError) as err:
        check_input(np.zeros((10, 12), np.uint8), max_pixels=100)
    assert (
        str(err.value) == "image of 10x12 = 120 pixels is above the limit of 100 (Codec.max_pixels)"
    )


def test_pack_and_parse_header_say_what_is_wrong():
    cases = [
        (lambda: pack_header(8, 8, 10, colour="ycbcr", version=1),
         "a version 1 header holds neither colour nor a model identity"),
        (lambda: pack_header(8, 8, 10, version=3), "cannot write bitstream version 3"),
        (lambda: pack_header(8, 8, 10, colour="rgb"),
         "colour must be one of ('gray', 'ycbcr', 'ycbcr-cnn'), got 'rgb'"),
        (lambda: pack_header(8, 8, 10, fingerprint=b"abc"), "fingerprint must be 8 bytes, got 3"),
        (lambda: parse_header(b""), "bitstream is empty"),
        (lambda: parse_header(b"C"),
         "bitstream is truncated: 1 bytes, the header alone needs 9"),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == message
    with pytest.raises(TypeError) as err:
        parse_header("CJR")
    assert str(err.value) == "data must be bytes, got str"


def test_parse_header_says_what_is_wrong_with_a_forged_header():
    import struct

    head = struct.pack(">3sBHHB", MAGIC, 2, 8, 8, 10)  # a version 2 header's first 9 bytes
    fp, empty = bytes(8), "bitstream is truncated: no JPEG payload after the header"
    cases = [
        (pack_header(8, 8, 10, version=1), empty),
        (head + b"\x00", "bitstream is truncated: 10 bytes, inside the header"),
        (head + b"\x00\x00", "bitstream is truncated: 11 bytes, the header alone needs 19"),
        (head + b"\x00\x00" + fp, empty),
        (head + b"\x03\x00" + fp + b"x", "corrupt header: unknown colour mode 3"),
        (head + b"\x00\x01\x01" + fp + b"x",
         "corrupt header: model name '\\x01' is not printable ASCII"),
        (struct.pack(">3sBHHB", MAGIC, 7, 8, 8, 10) + b"x",
         "unsupported bitstream version 7 (this reader knows 1, 2)"),
        (b"\xff\xd8\xff" + head[3:] + b"x",  # a plain JPEG file
         f"not a comp_lib bitstream: magic b'\\xff\\xd8\\xff', expected {MAGIC!r}"),
    ]  # fmt: skip
    for data, message in cases:
        with pytest.raises(ValueError) as err:
            parse_header(data)
        assert str(err.value) == message
    with pytest.raises(ValueError) as err:
        parse_header(pack_header(100, 100, 10) + b"x", max_pixels=1000)
    assert str(err.value) == (
        "header announces a 100x100 image (10000 pixels), above the decoder's limit of 1000 "
        "pixels (corrupt, or set Codec.max_pixels)"
    )
