"""Colour coding: the chroma by JPEG alone or through the networks, against Pillow's colour JPEG.

Codes the 24 Kodak images (RGB, 768x512 / 512x768) with a shipped model at inner
qualities ``--qualities``. The luma always takes ComCNN -> JPEG -> RecCNN; the
chroma planes (Cb, Cr, JFIF's full-range BT.601) are coded either

* ``jpeg`` (option a, the library's default): bicubic /2, JPEG with the IJG
  chrominance table at a chroma quality ``qc``, bicubic x2; measured at
  ``qc = q`` (the library's :func:`comp_lib.coding.chroma_quality`), ``q + 5``
  and ``q + 10``;
* ``cnn`` (option b): through ComCNN and RecCNN like the luma, ``qc = q``.

All three planes are one 3-component JPEG file in every case, so the options
differ only in how the chroma is made and restored. The anchor is Pillow's
colour JPEG (libjpeg-turbo, 4:2:0, ``optimize=True``) over qualities 2..95.
Distortion is PSNR over the three RGB channels; rates count every byte of the
files (our header included). Our variants share the luma of each (image,
quality): its decoded plane is the same in all of them (checked). Every byte
string of the default variant is checked to be what ``Codec.compress`` writes,
and for the first image its reconstruction is what ``Codec.decompress`` returns.

Writes ``reports/tables/colour.{csv,md}`` (BD-rates and PSNR at equal rate
against JPEG), ``colour_curves.{csv,md}`` (mean bpp and PSNR per setting) and
``colour_rows.csv`` (one row per image and setting).

Usage: ``python benchmarks/colour.py [--model rec32x20] [--qualities 5 10 20 40 80] [--threads N]``
"""

from __future__ import annotations

import argparse
import io

import numpy as np
import pandas as pd
import torch
from PIL import Image
from tqdm.auto import tqdm

from comp_lib import jpeg
from comp_lib.coding import Codec, chroma_quality, pack_header
from comp_lib.coding.base import ycbcr_to_image
from comp_lib.data import dataset_dir, list_images
from comp_lib.metrics import psnr
from comp_lib.rd import bd_psnr, bd_rate, psnr_at_rate

JPEG_QUALITIES = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 95)
#: Variants of ours: (name, chroma mode, chroma quality as a function of q).
VARIANTS = (
    ("ours, chroma jpeg qc=q", "jpeg", chroma_quality),
    ("ours, chroma jpeg qc=q+5", "jpeg", lambda q: min(95, q + 5)),
    ("ours, chroma jpeg qc=q+10", "jpeg", lambda q: min(95, q + 10)),
    ("ours, chroma cnn qc=q", "cnn", chroma_quality),
)
ANCHOR = "Pillow JPEG 4:2:0"
RATES = (0.1, 0.2, 0.3, 0.5)


def pillow_jpeg(rgb: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality, subsampling=2, optimize=True)
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as img:
        return data, np.asarray(img.convert("RGB"))


def code_ours(codec: Codec, rgb: np.ndarray, q: int, check_decode: bool) -> list[dict]:
    """Rows of every variant of ours for one image and quality (the luma shared)."""
    h, w = rgb.shape[:2]
    planes = np.moveaxis(jpeg.rgb_to_ycbcr(rgb, dtype=np.float32), -1, 0)
    rows, luma, decoded_y = [], None, None
    with codec.inference():
        y8 = np.clip(np.round(planes[:1]), 0, 255).astype(np.uint8)
        compact_y = jpeg.tensor_to_uint8(codec.infer_compact(codec.to_tensor(y8)))
        c8 = np.clip(np.round(planes[1:]), 0, 255).astype(np.uint8)
        compact_c = {
            "jpeg": jpeg.tensor_to_uint8(codec.resample_down(codec.to_tensor(planes[1:]))),
            "cnn": jpeg.tensor_to_uint8(codec.infer_compact(codec.to_tensor(c8))),
        }
    for name, chroma, qc_of in VARIANTS:
        stack = np.ascontiguousarray(np.moveaxis(np.concatenate([compact_y, compact_c[chroma]]),
                                                 0, -1))  # fmt: skip
        mode = {"jpeg": "ycbcr", "cnn": "ycbcr-cnn"}[chroma]
        header = pack_header(h, w, q, mode, codec.name, codec.fingerprint)
        data = header + jpeg.encode_ycbcr(stack, q, qc_of(q))
        if qc_of is chroma_quality:
            assert data == codec.compress(rgb, q, chroma=chroma), "library bytes differ"
        dec = np.moveaxis(jpeg.decode_ycbcr(data[codec.header_size :]), -1, 0)
        with codec.inference():
            if luma is None:
                luma, decoded_y = codec.infer_image(codec.to_tensor(dec[:1]), (h, w)), dec[0]
            assert np.array_equal(dec[0], decoded_y), "the luma plane depends on the chroma"
            c = codec.to_tensor(dec[1:])
            c = codec.infer_image(c, (h, w)) if chroma == "cnn" else codec.resample_up(c, (h, w))
            out = ycbcr_to_image(luma, c)
        if check_decode and qc_of is chroma_quality:
            assert np.array_equal(out, codec.decompress(data)), "library decode differs"
        rows.append(dict(codec=name, setting=q, chroma_quality=qc_of(q), bytes=len(data),
                         bpp=8 * len(data) / (h * w), psnr=psnr(rgb, out)))  # fmt: skip
    return rows


def main() -> None:
    from _common import write_csv, write_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="rec32x20", help="shipped model or checkpoint")
    parser.add_argument(
        "--qualities",
        type=int,
        nargs="+",
        default=[5, 10, 20, 40, 80],
        help="inner JPEG qualities of the sweep",
    )
    parser.add_argument(
        "--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N images only (a trial)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    codec = Codec.load(args.model).eval()
    files = list_images(dataset_dir("kodak"))[: args.limit]
    rows = []
    for i, path in enumerate(tqdm(files, desc="kodak")):
        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"))
        for q in args.qualities:
            for row in code_ours(codec, rgb, q, check_decode=i == 0):
                rows.append(dict(image=path.stem, **row))
        for q in JPEG_QUALITIES:
            data, out = pillow_jpeg(rgb, q)
            rows.append(dict(image=path.stem, codec=ANCHOR, setting=q, chroma_quality=q,
                             bytes=len(data), bpp=8 * len(data) / (rgb.shape[0] * rgb.shape[1]),
                             psnr=psnr(rgb, out)))  # fmt: skip
    rows = pd.DataFrame(rows)
    write_csv(rows, "colour_rows")
    curves = rows.groupby(["codec", "setting"], sort=False)[["chroma_quality", "bpp", "psnr"]]
    curves = curves.mean().reset_index()
    anchor = curves[curves.codec == ANCHOR]
    ours = curves[curves.codec != ANCHOR].copy()
    ours["jpeg_psnr_at_equal_bpp"] = psnr_at_rate(anchor, ours.bpp.to_numpy())
    ours["gain_db"] = ours.psnr - ours.jpeg_psnr_at_equal_bpp
    summary = []
    for name, cur in ours.groupby("codec", sort=False):
        at = psnr_at_rate(cur, list(RATES)) - psnr_at_rate(anchor, list(RATES))
        summary.append(dict(
            codec=name,
            bd_rate_pct=round(bd_rate(anchor.bpp, anchor.psnr, cur.bpp, cur.psnr), 2),
            bd_psnr_db=round(bd_psnr(anchor.bpp, anchor.psnr, cur.bpp, cur.psnr), 3),
            **{f"gain_db_at_{r}_bpp": round(float(g), 3) for r, g in zip(RATES, at, strict=True)},
        ))  # fmt: skip
    summary = pd.DataFrame(summary)
    n, qs = len(files), " ".join(map(str, args.qualities))
    jq = f"{JPEG_QUALITIES[0]}..{JPEG_QUALITIES[-1]}"
    notes = f"""
The {n} Kodak images in colour, model `{args.model}` at inner qualities {qs}, against
Pillow's colour JPEG (4:2:0, optimized Huffman) at qualities
{jq}. PSNR over the RGB channels, bpp from every byte of the files. BD-rate
and BD-PSNR (pchip) of the mean curves against JPEG (negative BD-rate: fewer bits);
`gain_db_at_R_bpp`: PSNR difference to JPEG at R bpp on the mean curves, read linearly
in log-rate (`comp_lib.rd.psnr_at_rate`; empty where a curve does not reach R).
Decoding `cnn` runs RecCNN on three planes instead of one
(timings: `kodak_speed.md`). Mean curves: `colour_curves.md`; per image:
`colour_rows.csv`. Generated by `benchmarks/colour.py`.
"""
    write_table(ours.round(4), "colour_curves", "Colour coding: mean RD points on Kodak", notes)
    path = write_table(summary, "colour", "Colour coding against Pillow's colour JPEG", notes)
    print(ours.round(3).to_string(index=False))
    print(summary.to_string(index=False))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
