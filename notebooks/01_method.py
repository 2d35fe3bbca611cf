# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (comp-study)
#     language: python
#     name: comp-study
# ---

# %% [markdown]
# # 01 · The method, one image at a time
#
# Jiang et al. (2017), *An End-to-End Compression Framework Based on Convolutional
# Neural Networks*, put a standard JPEG codec between two CNNs:
#
# ```
# x --ComCNN--> x_compact --8-bit--> JPEG --> x_compact_hat --bicubic x2--> x_up --RecCNN--> x_hat
# ```
#
# This notebook walks **one real photo** (a BSDS300 test image, in grayscale) through
# each stage, shows a picture at each, and sets the result beside plain JPEG at the
# same number of bits per pixel (bpp), counted from the real bytes.
#
# * **Reads:** one image of `bsds300_test/` under the data folder (`COMP_LIB_DATA`);
#   optionally a codec checkpoint.
# * **Writes:** `reports/figures/01_method_stages.png`, `reports/figures/01_method_vs_jpeg.png`,
#   `reports/tables/01_method_summary.csv`.
#
# The networks are **untrained** unless `checkpoint` names a trained codec: this
# notebook shows the *data flow*; the pictures of ComCNN's and RecCNN's outputs only
# become meaningful once `02_training` has produced weights.

# %% tags=["parameters"]
image_name = "102061"  # a BSDS300 test image (file stem)
quality = 10  # JPEG quality of the compact image, 1..95
checkpoint = ""  # a Codec checkpoint file or shipped model name; empty: untrained networks
seed = 0  # seeds the untrained networks
profile = "smoke"

# %%
import numpy as np
import pandas as pd
import torch

from comp_lib import jpeg
from comp_lib.coding import BicubicCodec, Codec, parse_header
from comp_lib.data import dataset_dir, load_gray
from comp_lib.metrics import bpp, psnr, ssim
from comp_lib.report import provenance, write_csv
from comp_lib.report.figures import save_figure, show_images

torch.manual_seed(seed)
image = load_gray(dataset_dir("bsds300_test") / f"{image_name}.jpg")
print(f"image {image_name}: {image.shape[0]}x{image.shape[1]} pixels, uint8")

# %% [markdown]
# ## The codec
#
# `Codec` holds the two networks. With no checkpoint they are freshly initialised
# (Kaiming-normal weights, seeded), i.e. **untrained**.

# %%
if checkpoint:
    codec = Codec.load(checkpoint)
    print("loaded", checkpoint, codec.metadata)
else:
    codec = Codec()
    print("untrained networks (seed", seed, ")")
codec.eval()
n_com = sum(p.numel() for p in codec.comcnn.parameters())
n_rec = sum(p.numel() for p in codec.reccnn.parameters())
print(f"ComCNN: {n_com:,} parameters; RecCNN: {n_rec:,} parameters")

# %% [markdown]
# ## Stage by stage
#
# `Codec.forward` with `jpeg_mode="real"` runs every stage and returns them all in a
# dict: ComCNN's compact image (`x_compact`, half resolution), its JPEG decode
# (`x_compact_hat`), the bicubic upsampling (`x_up`) and RecCNN's output (`x_hat`),
# plus the real rate of the bitstream (`bpp`).

# %%
x = torch.from_numpy(image.copy()).float()[None, None] / 255.0
with torch.no_grad():
    out = codec(x, quality=quality, jpeg_mode="real")
for key, value in out.items():
    print(f"{key:14s} {tuple(value.shape)}")
residual = (out["x_up"] - out["x_hat"])[0, 0].numpy()  # what RecCNN subtracts

# %%
stages = {
    "x: original": image,
    "x_compact: ComCNN output": out["x_compact"][0, 0].numpy(),
    f"x_compact_hat: JPEG q={quality}": out["x_compact_hat"][0, 0].numpy(),
    "x_up: bicubic x2": out["x_up"][0, 0].numpy(),
    "residual predicted by RecCNN": residual,
    "x_hat = x_up - residual": np.clip(out["x_hat"][0, 0].numpy(), 0, 1),
}
fig = show_images(stages, ncols=3)
save_figure(fig, "01_method_stages")

# %% [markdown]
# ## The bitstream
#
# `compress` returns bytes: a header (magic, format version, height, width, quality,
# colour mode, and the model's name and weight fingerprint, so that a file is never
# decoded by the wrong model) followed by an ordinary JPEG file of the compact image.
# `decompress` takes them back. The rate counts every byte, header included.

# %%
data = codec.compress(image, quality)
x_hat = codec.decompress(data)
header = parse_header(data)
ours_bpp = bpp(data, image.shape)
print({k: v for k, v in header.items() if k != "payload"})
print(
    f"{len(data)} bytes = {header['header_size']} header + {len(header['payload'])} JPEG; "
    f"{ours_bpp:.4f} bpp"
)
assert x_hat.shape == image.shape
# the training path codes the same bitstream, up to a few bytes: compress runs the networks
# channels_last on the CPU, whose float rounding can flip a compact pixel by one level
assert abs(ours_bpp - out["bpp"].item()) < 0.002

# %% [markdown]
# ## Against JPEG at the same rate
#
# A fair comparison holds the rate fixed: we pick the JPEG quality whose bpp on this
# image is closest to ours. We also show the no-learning baseline the networks
# replace: bicubic /2, JPEG at the same inner quality, bicubic x2.
# JPEG's rate cannot go below its quality-1 floor; when ours is lower still (as with
# untrained networks, whose compact image is nearly flat), the nearest JPEG is shown
# and the table says by how much the rates differ.

# %%
jpeg_quality, jpeg_data = jpeg.quality_for_bpp(image, ours_bpp)
jpeg_hat = jpeg.decode(jpeg_data)
baseline = BicubicCodec()
base_data = baseline.compress(image, quality)
base_hat = baseline.decompress(base_data)
rows = [
    ("ours (" + ("trained" if checkpoint else "untrained") + f"), q={quality}", data, x_hat),
    (f"JPEG q={jpeg_quality}", jpeg_data, jpeg_hat),
    (f"bicubic /2 + JPEG q={quality} + bicubic x2", base_data, base_hat),
]
summary = pd.DataFrame(
    [
        dict(
            codec=name,
            bytes=len(d),
            bpp=bpp(d, image.shape),
            psnr=psnr(image, y),
            ssim=ssim(image, y),
        )
        for name, d, y in rows
    ]
)
params = dict(image_name=image_name, quality=quality, checkpoint=checkpoint, seed=seed)
write_csv("01_method_summary", summary, provenance(profile, params))
summary.round(4)

# %%
crop = (slice(100, 260), slice(60, 260))
fig = show_images(
    {"original": image}
    | {
        f"{r.codec}\n{r.bpp:.3f} bpp, {r.psnr:.2f} dB": y
        for r, (_, _, y) in zip(summary.itertuples(), rows, strict=True)
    },
    ncols=4,
    crop=crop,
)
save_figure(fig, "01_method_vs_jpeg")

# %% [markdown]
# With untrained networks our reconstruction is noise: nothing has taught ComCNN what
# to keep or RecCNN what to restore. Training (notebook `02_training`) has to beat the
# two other rows: JPEG at the same rate, and the bicubic baseline that does the same
# down/up-sampling without learning.

# %% [markdown]
# ## Summary
#
# A short, deterministic summary (checked by nbval): sizes only, no float noise.

# %%
# NBVAL_CHECK_OUTPUT
print(f"image {image.shape}, compact {tuple(out['x_compact'].shape[-2:])}, quality {quality}")
print(f"bitstream: header + JPEG; size kept: {x_hat.shape == image.shape}")
