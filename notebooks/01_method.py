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
# **Question:** what does each stage of Jiang et al.'s codec do to one image, and does
# the codec beat plain JPEG when both spend the same number of bits?
#
# Jiang et al. (2017), *An End-to-End Compression Framework Based on Convolutional
# Neural Networks*, put a standard JPEG codec between two CNNs:
#
# ```
# x --ComCNN--> x_compact --8-bit--> JPEG --> x_compact_hat --bicubic x2--> x_up --RecCNN--> x_hat
# ```
#
# ComCNN makes a *compact* image of half the width and half the height; JPEG codes it;
# the decoder enlarges the decoded compact image with bicubic interpolation and RecCNN
# repairs what the trip lost. We walk **one real photo** (a BSDS300 test image, in
# grayscale) through each stage with the study's **shipped model** `rec32x20` (its model
# card: `comp_lib/weights/rec32x20.md`), look at what each network does, and set the
# result beside JPEG at the same bits per pixel (bpp), counted from the real bytes.
#
# * **Reads:** one image of `bsds300_test/` under the data folder (`COMP_LIB_DATA`) and
#   the shipped model (or the checkpoint the `checkpoint` parameter names).
# * **Writes:** `reports/figures/01_method_stages.png`, `01_method_comcnn.png`,
#   `01_method_residual.png`, `01_method_vs_jpeg.png`, `01_method_errors.png`;
#   `reports/tables/01_method_halving.csv`, `01_method_summary.csv`; with
#   `interactive = False` also `01_method_explorer.{csv,png}`.

# %% tags=["parameters"]
image_name = "102061"  # a BSDS300 test image (file stem)
quality = 10  # inner JPEG quality of the compact image, 1..95
checkpoint = "rec32x20"  # a shipped model (comp_lib.zoo.shipped_models()) or a .pt; "": untrained
seed = 0  # seeds the networks when checkpoint is "" (untrained)
interactive = True  # True: a quality slider (JupyterLab); False: a static grid (the report)
explorer_qualities = [5, 10, 20, 40]  # the static grid's inner qualities
profile = "smoke"

# %%
import numpy as np
import torch
from IPython.display import display

from comp_lib import jpeg
from comp_lib.coding import Codec, parse_header
from comp_lib.data import dataset_dir, load_gray
from comp_lib.metrics import bpp, psnr
from comp_lib.models import downsample, upsample
from comp_lib.report import figures, for_people, provenance, write_csv
from comp_lib.report.explorer import QualityExplorer, jpeg_costs

torch.manual_seed(seed)
image = load_gray(dataset_dir("bsds300_test") / f"{image_name}.jpg")
params = dict(image_name=image_name, quality=quality, checkpoint=checkpoint, seed=seed)
print(f"image {image_name}: {image.shape[0]} rows x {image.shape[1]} columns, uint8")

# %% [markdown]
# ## The codec
#
# `Codec` holds the two networks. `Codec.load("rec32x20")` loads the shipped model: a
# 3-layer ComCNN and a 20-layer RecCNN of 32 channels, trained by `02_training`'s code on
# the corpus of `00_preprocessing`. With `checkpoint = ""` the networks are freshly
# initialised instead (random weights, seeded): try it, to see what training changes.

# %%
codec = Codec.load(checkpoint) if checkpoint else Codec()
codec.eval()
n_com = sum(p.numel() for p in codec.comcnn.parameters())
n_rec = sum(p.numel() for p in codec.reccnn.parameters())
print(f"{checkpoint or 'untrained networks'}: ComCNN {n_com:,} parameters, "
      f"RecCNN {n_rec:,} parameters")  # fmt: skip

# %% [markdown]
# ## Stage by stage
#
# `Codec.forward` with `jpeg_mode="real"` runs every stage and returns them all in a
# dict: ComCNN's compact image `x_compact`, its JPEG decode `x_compact_hat`, the bicubic
# enlargement `x_up` and RecCNN's output `x_hat`, plus the real rate `bpp`. The figure
# draws every image at the same scale (pixels per inch), so the compact images appear
# at their true size: half the width and half the height of `x`, a quarter of its pixels.

# %%
x = torch.from_numpy(image.copy()).float()[None, None] / 255.0
with torch.no_grad():
    out = codec(x, quality=quality, jpeg_mode="real")
planes = {key: value[0, 0].numpy() for key, value in out.items() if key != "bpp"}
stages = {
    "x: original": image,
    "x_compact: ComCNN": planes["x_compact"],
    f"x_compact_hat: JPEG q={quality}": planes["x_compact_hat"],
    "x_up: bicubic x2": planes["x_up"],
    f"x_hat: RecCNN, {out['bpp'].item():.3f} bpp": planes["x_hat"],
}
fig = figures.show_images_to_scale(stages, ncols=5)
figures.save_figure(fig, "01_method_stages")

# %% [markdown]
# ## Why half resolution helps
#
# JPEG cuts an image into 8x8 blocks and codes each on its own. Every block costs some
# bits even when almost nothing is left of it: its average (the DC coefficient) and an
# end-of-block code. The file also carries a fixed header (quantisation and Huffman
# tables). At low qualities those per-block costs are most of the file, so an image
# with a quarter of the pixels, hence a quarter of the blocks, costs much less.
#
# `jpeg_costs` splits each JPEG file into its header and its scan (the coded blocks) for
# the original `x`, a plain bicubic /2 of it, and ComCNN's compact image. The rate is
# charged to the original's pixels in every row, because the compact image stands for it.

# %%
x_bicubic = jpeg.tensor_to_uint8(downsample(x))[0]
x_compact8 = jpeg.tensor_to_uint8(out["x_compact"])[0]
halving = jpeg_costs({"x": image, "bicubic /2": x_bicubic, "ComCNN": x_compact8},
                     [5, 10, 20, 40], pixels=image.size)  # fmt: skip
write_csv("01_method_halving", halving, provenance(profile, params))
halving.round({"bpp": 3, "bits_per_block": 1})

# %% [markdown]
# Read the `bits_per_block` column: at a low quality a block costs about the same few
# bits in both images, so a quarter of the blocks makes a file about a third as large
# (the header does not shrink). The same budget therefore buys a much finer JPEG on the
# compact image. Below: the quality the compact image can afford with the bytes that
# full-size JPEG spends at quality 5, and the price of the round trip: bicubic /2 then
# x2 *without any coding* already loses the finest detail, a ceiling that no JPEG
# quality can lift. RecCNN exists to push the reconstruction above it.

# %%
full_q5 = halving[(halving.image == "x") & (halving.quality == 5)].iloc[0]
affordable, _ = jpeg.quality_for_bpp(x_bicubic, 8 * full_q5.bytes / x_bicubic.size)
print(f"full-size JPEG q=5: {full_q5.bytes} bytes, {full_q5.bpp:.3f} bpp, "
      f"{full_q5.bits_per_block:.1f} bits per block over {full_q5.blocks} blocks")  # fmt: skip
print(f"the same bytes code the half-resolution image at about q={affordable}")
round_trip = jpeg.tensor_to_uint8(upsample(downsample(x), image.shape))[0]
print(f"bicubic /2 then x2, no coding at all: {psnr(image, round_trip):.2f} dB (the ceiling)")

# %% [markdown]
# ## What ComCNN learned
#
# A plain bicubic /2 is what ComCNN starts from (the warm start of `02_training`). Training
# changes it so that the *whole chain* (JPEG, bicubic x2, RecCNN) ends closer to `x`. Its
# output minus a bicubic /2 of `x` shows what it learned. The colour scale is in gray
# levels (of 255), centred on zero (white), red where ComCNN is brighter, blue where it
# is darker, and cut at the 99th percentile of the differences, which amplifies the small
# ones.

# %%
plain = downsample(x)
learned = (out["x_compact"] - plain)[0, 0].numpy() * 255  # in gray levels
title = "x_compact - bicubic /2 of x\n(ComCNN's output minus the plain downsample)"
fig = figures.show_signed({title: learned}, unit="gray levels (of 255)", size=4.2)
figures.save_figure(fig, "01_method_comcnn")
detail = (plain - upsample(downsample(plain), plain.shape[-2:]))[0, 0].numpy() * 255
print(f"mean difference {learned.mean():+.1f} gray levels, spread (std) {learned.std():.1f}; "
      f"correlation with the plain downsample's own fine detail: "
      f"{np.corrcoef(learned.ravel(), detail.ravel())[0, 1]:.2f}")  # fmt: skip

# %% [markdown]
# The differences sit on edges and textures and follow the plain downsample's own fine
# detail (the correlation above): ComCNN **sharpens**, exaggerating the detail it wants
# to survive JPEG and the enlargement. It also shifts the whole image (the mean
# difference; the dark frame is the border, where ComCNN's convolutions see zero
# padding): RecCNN, trained with it, undoes both. So the compact image is not meant to
# be looked at on its own. Its JPEG costs more bytes at the same quality than the
# bicubic one (compare the `ComCNN` and `bicubic /2` rows of the table above: sharper
# means more to code), and enlarged without RecCNN it is *worse* than the plain
# downsample:

# %%
with torch.no_grad():
    alone = jpeg.tensor_to_uint8(upsample(out["x_compact"].clamp(0, 1), image.shape))[0]
print(f"bicubic x2 of ComCNN's output, no RecCNN: {psnr(image, alone):.2f} dB; "
      f"of the plain downsample: {psnr(image, round_trip):.2f} dB")  # fmt: skip

# %% [markdown]
# ## What RecCNN adds: a residual
#
# `x_up` is already close to `x`: what is missing is small, edges and textures. So RecCNN
# does not draw the image again; it predicts only the **residual** `r`, and the output is
# `x_hat = x_up - r` (global residual learning, as in DnCNN). A small target is easy to
# learn: training starts with the last layer at zero (`02_training`'s warm start), so
# `r = 0` and `x_hat = x_up`, the no-learning baseline, and the 20 layers only have to
# model the difference. The numbers below compare the residual's range with the
# image's, 0 to 255 gray levels, and the error before and after RecCNN.

# %%
residual = (planes["x_up"] - planes["x_hat"]) * 255  # in gray levels
print(f"residual from {residual.min():+.1f} to {residual.max():+.1f} gray levels; "
      f"99% of pixels within ±{np.percentile(np.abs(residual), 99):.1f}; "
      f"mean {residual.mean():+.1f}, mean |r| {np.abs(residual).mean():.1f}")  # fmt: skip
print(f"|x - x_up| {np.abs(image - planes['x_up'] * 255).mean():.1f} gray levels on average; "
      f"|x - x_hat| {np.abs(image - planes['x_hat'] * 255).mean():.1f}")  # fmt: skip

# %% [markdown]
# The residual shows a **16-pixel block grid**. JPEG coded the half-resolution image in
# 8x8 blocks, each quantised on its own, so its errors jump at block edges; the x2
# enlargement turns each 8x8 block into a 16x16 patch of `x_up`, and RecCNN's residual,
# which largely removes those errors, follows the same 16x16 patches. The crop on the
# right (96x96 pixels starting at a multiple of 16) draws the grid: the residual's
# patterns change at its lines.

# %%
block = (slice(160, 256), slice(96, 192))  # rows, columns: on the 16-pixel grid
maps = {"residual r = x_up - x_hat\n(the 16-pixel grid drawn)": residual,
        "96x96 crop\n(16x16 patches: 8x8 JPEG blocks, x2)": residual[block]}  # fmt: skip
fig = figures.show_signed(maps, unit="gray levels (of 255)", grid=16, size=4.0)
figures.save_figure(fig, "01_method_residual")

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
print({k: v for k, v in header.items() if k != "payload"})
print(f"{len(data)} bytes = {header['header_size']} header + {len(header['payload'])} JPEG; "
      f"{bpp(data, image.shape):.4f} bpp")  # fmt: skip
assert x_hat.shape == image.shape
# the training path codes the same bitstream, up to a few bytes: compress runs the networks
# channels_last on the CPU, whose float rounding can flip a compact pixel by one level
assert abs(bpp(data, image.shape) - out["bpp"].item()) < 0.002

# %% [markdown]
# ## Against JPEG at the same rate
#
# A fair comparison holds the rate fixed. `QualityExplorer.rows` codes the image three
# ways: ComCNN+RecCNN at the inner quality `quality`; plain JPEG at the quality whose
# bpp on this image is closest to ours; and the no-learning baseline the networks
# replace, bicubic /2 + JPEG + bicubic x2, at the inner quality whose bpp is closest to
# ours. `rate_vs_ours_%` says how far each rate is from ours: qualities are whole
# numbers, and JPEG's rate cannot go below its quality-1 floor, so when ours is lower
# still the nearest JPEG spends more (and has an advantage).

# %%
explorer = QualityExplorer(image, codec, crop=(slice(100, 260), slice(60, 260)))
rows = explorer.rows(quality)
summary = rows.assign(codec=[f"ComCNN+RecCNN ({checkpoint or 'untrained'})", "JPEG",
                             "bicubic /2 + JPEG + bicubic x2"])  # fmt: skip
write_csv("01_method_summary", summary.drop(columns="rate_vs_ours_%"),
          provenance(profile, params))  # fmt: skip
for_people(summary)

# %% [markdown]
# The reconstructions side by side (a crop of 160x200 pixels, enlarged), then where each
# one errs: the absolute error `|x - x_hat|` in gray levels, all three on
# one colour scale, so darker means closer to the original.

# %%
crop = explorer.crop
panels = {f"{r.codec} q={r.quality}\n{r.bpp:.3f} bpp, {r.psnr:.2f} dB": c.x_hat
          for r, c in zip(rows.itertuples(), explorer.code(quality), strict=True)}  # fmt: skip
fig = figures.show_images({"original x": image} | panels, ncols=4, crop=crop)
figures.save_figure(fig, "01_method_vs_jpeg")
fig = figures.show_error_maps(image, panels, crop=crop)
figures.save_figure(fig, "01_method_errors")

# %% [markdown]
# JPEG's errors fill whole 8x8 blocks (at such a low quality many blocks keep only their
# average), bicubic+JPEG's follow every edge (the detail the enlargement cannot
# recreate); ComCNN+RecCNN's follow the edges too, but fainter. Whether that is worth
# the bits depends on the rate, which the next section lets you vary.
#
# ## Explore the quality
#
# In JupyterLab (`interactive = True`, the default) a slider sets the inner JPEG quality;
# the table and the images follow (about a second per new quality on a CPU; moving back
# is instant). For the report (`interactive = False`, set by `params/default.yaml` and
# `params/paper.yaml`, which papermill runs) a static table and grid of a few qualities
# stand in for it. Both call the same `QualityExplorer.rows`.

# %%
if interactive:
    display(explorer.widget(value=quality))
else:
    table = explorer.table(explorer_qualities)
    write_csv("01_method_explorer", table, provenance(profile, params))
    figures.save_figure(explorer.grid(explorer_qualities), "01_method_explorer")
    display(for_people(table))

# %% [markdown]
# ## The answer
#
# First the sizes, which do not depend on the machine (nbval checks this cell's output):

# %%
# NBVAL_CHECK_OUTPUT
print(f"image {image.shape}, compact {tuple(out['x_compact'].shape[-2:])}, quality {quality}")
print(f"bitstream: header + JPEG; size kept: {x_hat.shape == image.shape}")

# %% [markdown]
# Each stage, in one line: ComCNN halves the width and the height and sharpens; JPEG codes
# the compact image with a quarter of the blocks, so at a low rate it can use a finer
# quality; bicubic x2 restores the size but not the finest detail; RecCNN predicts a
# small residual that removes part of the coding and enlargement errors. At this inner
# quality, on this image:

# %%
ours, ref, base = (r for _, r in rows.iterrows())
print(f"ComCNN+RecCNN {ours.bpp:.3f} bpp, {ours.psnr:.2f} dB; JPEG q={ref.quality} at "
      f"{ref.bpp:.3f} bpp ({ref['rate_vs_ours_%']:+.2f}% rate), {ref.psnr:.2f} dB: "
      f"{ours.psnr - ref.psnr:+.2f} dB for ComCNN+RecCNN")  # fmt: skip
print(f"bicubic+JPEG q={base.quality} at {base.bpp:.3f} bpp, {base.psnr:.2f} dB: the networks add "
      f"{ours.psnr - base.psnr:+.2f} dB to the no-learning path "
      f"({base['rate_vs_ours_%']:+.2f}% rate)")  # fmt: skip

# %% [markdown]
# One image and one rate are an anecdote: the slider shows the answer changes with the
# rate. The shipped model beats JPEG at low rates and loses at higher ones, where the
# down/up round trip caps the quality (its model card, `comp_lib/weights/rec32x20.md`,
# gives the rate where it crosses JPEG on the 100 BSDS300 test images); `03_evaluation`
# measures it over whole datasets and every rate.
#
# ## Exercises
#
# 1. Set `checkpoint = ""` (untrained networks) and run all cells. Predict first: which
#    stage's picture changes most, and does ComCNN+RecCNN still beat bicubic+JPEG?
# 2. With the slider (or `explorer_qualities`), find the inner quality above which plain
#    JPEG beats ComCNN+RecCNN on this image. Compare its bpp with the model card's
#    crossing, and with the "ceiling" PSNR printed in *Why half resolution helps*.
# 3. In *Why half resolution helps*, add quality 80 to the `jpeg_costs` call. Predict the
#    ratio of full-size to half-size bytes at q=80 compared with q=5, then check it, and
#    explain it with `bits_per_block`.
# 4. Change `block` in *What RecCNN adds* to a crop that starts at row 168 (not a
#    multiple of 16) and redraw it with `grid=16`. Why do the lines no longer follow
#    the residual's patches?
