"""Speed of the shipped codec on a 768x512 Kodak photo on the CPU, against Pillow's JPEG.

Times ``compress`` and ``decompress`` of Kodak kodim23 (768x512, RGB) with
``Codec.load("rec32x20")`` at inner quality ``--quality``, in colour (the default
chroma by JPEG, and chroma through the networks) and in grayscale (its luma),
median of ``--repeat`` runs after one warm-up, on ``--threads`` threads, in
three arithmetic settings:

* ``fp32``: float32, contiguous (NCHW) tensors;
* ``fp32 + channels_last``: float32, channels_last tensors and weights (the default);
* ``bf16 + channels_last``: the networks under ``torch.autocast("cpu", torch.bfloat16)``.

Each setting codes the image end to end; the quality it costs is its PSNR
against the original and against the fp32 output (``inf``: identical). Pillow's
JPEG (libjpeg-turbo, optimized Huffman; 4:2:0 for colour) encodes and decodes
the same image at the quality whose rate is closest to ours. Writes
``reports/tables/kodak_speed.{csv,md}``.

Usage: ``python benchmarks/kodak_speed.py [--repeat N] [--quality Q] [--threads T]``
"""

from __future__ import annotations

import argparse
import io
import os

import numpy as np
import pandas as pd
import torch
from PIL import Image

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.data import dataset_dir
from comp_lib.metrics import psnr

IMAGE = "kodim23"  # 768x512
SETTINGS = {
    "fp32": dict(precision="fp32", channels_last=False),
    "fp32 + channels_last": dict(precision="fp32", channels_last=True),
    "bf16 + channels_last": dict(precision="bf16", channels_last=True),
}


def pillow_jpeg(image: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def pillow_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img)


def main() -> None:
    from _common import median_seconds, write_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed calls per measurement (the median is kept)"
    )
    parser.add_argument("--quality", type=int, default=20, help="inner JPEG quality")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--model", default="rec32x20", help="shipped model or checkpoint")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with Image.open(dataset_dir("kodak") / f"{IMAGE}.png") as img:
        rgb = np.asarray(img.convert("RGB"))
    luma = np.round(jpeg.rgb_to_ycbcr(rgb, dtype=np.float32)[..., 0]).astype(np.uint8)
    pixels = rgb.shape[0] * rgb.shape[1]
    codec = Codec.load(args.model).eval()
    cases = [("colour", rgb, "jpeg"), ("colour, chroma cnn", rgb, "cnn"), ("gray", luma, "jpeg")]
    rows, fp32 = [], {}

    def row(kind, setting, step, seconds, data, original, out):
        ref = fp32.get(kind)
        rows.append(dict(
            image=kind, setting=setting, step=step, ms=round(1000 * seconds, 1),
            megapixels_per_s=round(pixels / seconds / 1e6, 3), bytes=len(data),
            bpp=round(8 * len(data) / pixels, 4), psnr=round(psnr(original, out), 3),
            psnr_vs_fp32=np.nan if ref is None else round(psnr(ref, out), 2),
            max_diff_vs_fp32=np.nan if ref is None else int(np.abs(ref.astype(int) - out).max()),
        ))  # fmt: skip
        print(rows[-1], flush=True)

    for setting, options in SETTINGS.items():
        for name, value in options.items():
            setattr(codec, name, value)
        repeat = args.repeat if setting != "bf16 + channels_last" else max(1, args.repeat // 2)
        for kind, image, chroma in cases:
            if chroma == "cnn" and setting != "fp32 + channels_last":
                continue  # three RecCNN passes: timed in the default setting only
            data = codec.compress(image, args.quality, chroma=chroma)
            out = codec.decompress(data)
            if setting == "fp32":
                fp32[kind] = out
            enc = median_seconds(lambda i=image, c=chroma: codec.compress(i, args.quality, c),
                                 repeat)  # fmt: skip
            dec = median_seconds(lambda d=data: codec.decompress(d), repeat)
            row(kind, setting, "ours: compress", enc, data, image, out)
            row(kind, setting, "ours: decompress", dec, data, image, out)
    for name in ("precision", "channels_last"):
        delattr(codec, name)
    fp32.clear()
    # Pillow's JPEG at the rate of ours
    for kind, image, chroma in cases:
        if chroma == "cnn":
            continue
        target = 8 * len(codec.compress(image, args.quality)) / pixels
        if image.ndim == 2:
            quality, data = jpeg.quality_for_bpp(image, target)
            encode = lambda i=image, q=quality: jpeg.encode(i, q)
        else:
            sizes = {q: 8 * len(pillow_jpeg(image, q)) / pixels for q in range(1, 96)}
            quality = min(sizes, key=lambda q: abs(sizes[q] - target))
            data = pillow_jpeg(image, quality)
            encode = lambda i=image, q=quality: pillow_jpeg(i, q)
        out = pillow_decode(data)
        setting = f"Pillow JPEG q{quality}" + ("" if image.ndim == 2 else " 4:2:0")
        decode = lambda d=data: pillow_decode(d)
        row(kind, setting, "JPEG: encode", median_seconds(encode, args.repeat), data, image, out)
        row(kind, setting, "JPEG: decode", median_seconds(decode, args.repeat), data, image, out)
    table = pd.DataFrame(rows)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    path = write_table(
        table,
        "kodak_speed",
        "Codec speed on a 768x512 Kodak photo (CPU)",
        f"""
Kodak {IMAGE} ({rgb.shape[1]}x{rgb.shape[0]}) in colour and as its luma (gray), model
`{args.model}`, inner quality {args.quality}, {args.threads} threads, median of {args.repeat}
runs ({max(1, args.repeat // 2)} for bf16) after a warm-up. `psnr`: against the original (RGB
for colour); `psnr_vs_fp32`, `max_diff_vs_fp32`: the decoded image against the fp32 setting's.
Pillow's JPEG at the quality whose rate is closest to ours. Load average at the end: {load};
above the thread count, other jobs shared the CPU and the times are inflated (compare rows
within this table). Generated by `benchmarks/kodak_speed.py`.
""",
    )
    print(table.to_string(index=False))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
