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
# # 00 · From photos to the study's datasets
#
# **Question:** what images does the study learn from and test on, and why are they
# prepared the way they are (grayscale, 180x180 pixels, stretched rather than cropped)?
#
# The dissertation this study re-examines trained on **RAISE** raw photos (Nikon NEF),
# turned into grayscale 180x180 images in [0, 1]: 500 drawn at random, 10% held out for
# validation; it tested on the 100 BSDS300 test images. This notebook rebuilds such
# datasets from real files, and measures what each preparation step keeps and costs.
#
# **RAISE is not available offline here.** The default corpus therefore draws its 500
# images from **BSDS300 train** (200 colour JPEGs) and **Train400** (400 grayscale
# 180x180 PNGs), stratified by source. Point `sources` at a folder of RAISE NEFs (and
# `categories` at RAISE's CSV) and the same code builds the dissertation's corpus; the
# appendix develops two real camera RAW files to show that path.
#
# * **Reads:** the `sources` folders, `bsds300_test/` and the two camera RAW files in
#   `raw/` under the data folder (`COMP_LIB_DATA`, or the `data_folder` parameter).
# * **Writes:** the corpus cache (arrays + `index.csv`) under `comp_lib.config.cache_dir()`;
#   `reports/figures/00_samples.png`, `00_crop_or_stretch.png`, `00_histograms.png`,
#   `00_raw_files.png`; `reports/tables/00_corpus_summary.{csv,md}`, `00_skipped_files.csv`,
#   `00_shape_costs.csv`, `00_detail.csv`, `00_raw_files.csv`.

# %% tags=["parameters"]
data_folder = ""  # empty: COMP_LIB_DATA or ./data
sources = ["bsds300_train", "train400"]  # dataset names or folders (RAW or ordinary images)
categories = ""  # optional CSV: file name -> category (e.g. RAISE's); empty: by source folder
n_images = 500
size = 180
seed = 0
val_fraction = 0.1
crop = False  # centre-crop to square before resizing, instead of stretching
detail_images = 20  # training images per source measured in "Why grayscale"
profile = "smoke"

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

if data_folder:
    os.environ["COMP_LIB_DATA"] = data_folder

from comp_lib.config import data_dir
from comp_lib.data import absolute_path, build_corpus, dataset_dir, list_images, read_image
from comp_lib.data.images import read_raw_rgb, resize
from comp_lib.data.preparation import preparation_stats, shape_costs
from comp_lib.report import provenance, write_csv, write_table
from comp_lib.report.figures import save_figure, show_images, show_images_to_scale

params = dict(sources=sources, categories=categories, n_images=n_images, size=size, seed=seed,
              val_fraction=val_fraction, crop=crop)  # fmt: skip

print("data folder:", data_dir())

# %% [markdown]
# ## The corpus
#
# `build_corpus` draws `n_images` images at random (seeded), in proportion to each
# category (here: each source folder), converts them to grayscale, resizes them with
# antialiasing to `size` x `size`, and holds out `val_fraction` for validation. The
# test set is BSDS300 test, kept at native size and also resized. A file that cannot be
# read is skipped and listed; a training image that nearly duplicates a test image is
# dropped (leakage guard: a network must not be tested on what it has seen). The result
# is cached and rebuilt only when an input or a parameter changes.

# %%
start = time.perf_counter()
corpus = build_corpus(
    sources=[data_dir() / s if (data_dir() / s).is_dir() else s for s in sources],
    n_images=n_images,
    size=size,
    seed=seed,
    val_fraction=val_fraction,
    crop=crop,
    categories=categories or None,
)
print(f"{'loaded from cache' if corpus.from_cache else 'built'} in "
      f"{time.perf_counter() - start:.1f} s: {corpus.path}")  # fmt: skip
print(f"train {corpus.train.shape}, val {corpus.val.shape}, test {corpus.test.shape}, "
      f"test at native size: {len(corpus.test_native)} images")  # fmt: skip

# %% [markdown]
# How many images of each source went where: `train` and `val` were drawn, `unused`
# files were not drawn (the draw takes `n_images` of the available files, in proportion
# to each source), `test` is the test set.

# %%
summary = corpus.summary()
source = provenance(profile, params, corpus.index_sha256)
write_table("00_corpus_summary", "The study's corpus", summary, source,
            "Built by `notebooks/00_preprocessing`. RAISE is not available offline; the "
            "default corpus draws from BSDS300 train and Train400.")  # fmt: skip
summary

# %% [markdown]
# Files that were skipped (unreadable) or dropped (near-duplicates of test images):

# %%
problems = corpus.problems()
write_csv("00_skipped_files", problems, source)
problems if len(problems) else "none"

# %% [markdown]
# ## What the images look like
#
# Four training images of each source and four test images, at the study's size. The
# BSDS300 photos were squeezed into squares (look at the buildings and people), the
# Train400 images were already 180x180.

# %%
train_rows = corpus.index[corpus.index.split == "train"]
panels = {}
for name, rows in train_rows.groupby("source"):
    for _, r in rows.head(4).iterrows():
        panels[f"{name}\n{os.path.basename(r.path)}"] = corpus.train[r.position]
for name, img in list(zip(corpus.test_names, corpus.test, strict=True))[:4]:
    panels[f"test {name}"] = img
fig = show_images(panels, ncols=4, size=2.4)
save_figure(fig, "00_samples")

# %% [markdown]
# ## Why grayscale
#
# Jiang et al. evaluate their codec on grayscale images, and so did the dissertation:
# the networks see one channel, the luma `Y` (ITU-R BT.601 weights, as Pillow's `L`
# mode). Two reasons make this a small loss. First, most of what a codec must keep is in
# the luma: our eyes resolve fine detail in brightness far better than in colour, and
# photos carry most of their edges and texture there. Below, for each image, the share
# of its *detail* (the energy of the differences between neighbouring pixels) that lies
# in `Y` rather than in the two colour planes `Cb`, `Cr`. Second, the grayscale sources
# have no colour at all: all of Train400 is grayscale, so a colour study would lose two
# thirds of this corpus.

# %%
sample = train_rows.groupby("source").head(detail_images)
detail = preparation_stats([absolute_path(p) for p in sample.path], size=size)
detail.insert(0, "source", sample.source.to_numpy())
write_csv("00_detail", detail, source)
detail.groupby("source").agg(images=("file", "size"), colour_files=("colour", "sum"),
                             luma_detail_median=("luma_detail_%", "median"),
                             luma_detail_min=("luma_detail_%", "min")).round(2)  # fmt: skip

# %% [markdown]
# The cost: the networks never learn anything about colour. The codec still codes colour
# files (`comp_lib.coding.Codec`): it converts them to YCbCr, sends the luma through
# ComCNN and RecCNN, and codes the two colour planes with plain JPEG at half resolution,
# as JPEG itself does (`reports/tables/colour.md` measures it on the Kodak images).
#
# ## Why 180x180
#
# Train400, the training set of the DnCNN denoiser whose residual design RecCNN follows,
# is 400 grayscale images of exactly 180x180; the dissertation brought its RAISE photos
# to the same size. One square size makes every image an array of the same shape: the
# corpus is one small tensor in memory, and training cuts patches from it without
# caring where an image came from. What it costs is in `shape_costs`, per source, from
# the original sizes in the corpus index:
#
# * `pixels_kept_%`: the share of the original's pixels that survive;
# * `shrink`: how many times smaller each side gets, on average;
# * `stretch`: the long side over the short one; stretching to a square squeezes the
#   long side by this factor more than the short one (a circle becomes an ellipse);
# * `crop_discards_%`: what a centre crop to a square would throw away instead.

# %%
costs = shape_costs(corpus.index, size)
write_csv("00_shape_costs", costs, source)
print(f"the corpus in memory: {(corpus.train.nbytes + corpus.val.nbytes) / 1e6:.0f} MB "
      f"for {len(corpus.train) + len(corpus.val)} images")  # fmt: skip
costs.round(2)

# %% [markdown]
# A 481x321 BSDS300 photo keeps about a fifth of its pixels (`typical_size` is height x
# width). Shrinking packs the same scene into fewer pixels, which could make neighbouring
# pixels differ more; but the antialiasing filter that shrinking needs also smooths. The
# mean gradient of the luma (gray levels per pixel) at native size and at 180x180, for
# the images measured above, shows which wins. Either way the *scale* changes: a window
# or an edge is about `shrink` times smaller in the training images than in the test
# images, which are coded at their **native** size. A network learns the scale it is
# shown: `TrainConfig.native_tiles` trains on native-scale tiles instead (the shipped
# `post64s2` was trained so; its model card, `comp_lib/weights/post64s2.md`, says how).

# %%
detail.groupby("source")[["gradient_native", "gradient_resized"]].median().round(2)

# %% [markdown]
# ## Stretch or crop
#
# A 481x321 photo becomes a square in one of two ways. **Stretching** (the dissertation's
# choice, `crop = False`) keeps all of the scene but changes its shapes: the long side is
# squeezed `stretch` times more than the short one. **Cropping** (`crop = True`) keeps
# the shapes but throws away the sides (`crop_discards_%` of the pixels). The figure
# draws the three at their true relative size.

# %%
photo_path = absolute_path(train_rows[train_rows.source == "bsds300_train"].path.iloc[0])
photo = read_image(photo_path)
fig = show_images_to_scale({"native": photo, "stretched (crop = False)": resize(photo, size),
                            "cropped (crop = True)": resize(photo, size, crop=True)},
                           pixels_per_inch=100)  # fmt: skip
save_figure(fig, "00_crop_or_stretch")

# %% [markdown]
# For a codec, distorted shapes matter less than lost content: the networks learn local
# patterns (edges, textures) over a few pixels, which stretching changes only mildly,
# whereas a crop would drop a third of every BSDS300 photo. The dissertation's choice,
# stretching, is kept as the default.
#
# ## Intensities
#
# Intensity histograms of each training source and of the test set: Train400 images were
# prepared differently from the BSDS300 photos (grayscale at the source); differences in
# exposure or contrast between training and test data would show here.

# %%
rng = np.random.default_rng(seed)
frames = []
for name, rows in train_rows.groupby("source"):
    pixels = corpus.train[rows.position.to_numpy()].ravel()
    frames.append(pd.DataFrame({"intensity": rng.choice(pixels, 50_000), "set": name}))
frames.append(pd.DataFrame({"intensity": rng.choice(corpus.test.ravel(), 50_000),
                            "set": "bsds300_test"}))  # fmt: skip
fig, ax = plt.subplots(figsize=(8, 4))
sns.histplot(pd.concat(frames), x="intensity", hue="set", bins=64, stat="density",
             element="step", common_norm=False, ax=ax)  # fmt: skip
ax.set_xlabel("intensity in [0, 1]")
save_figure(fig, "00_histograms")

# %% [markdown]
# ## Appendix before the answer: developing the camera RAWs
#
# The dissertation's RAISE photos are camera RAW files. A RAW file holds the sensor's
# Bayer mosaic, one colour per pixel, usually at 12 or 14 bits. LibRaw (through rawpy)
# *develops* it: camera white balance, demosaicing (estimating the two missing colours
# of each pixel), sRGB primaries and transfer curve. The study then keeps only the luma.
# `build_corpus` does this for every RAW file in `sources` (at half size, since the
# image is shrunk to 180x180 anyway); here are the two RAW files of the data folder,
# developed at full size.

# %%
raw_rows, panels = [], {}
for path in list_images(dataset_dir("raw")):
    start = time.perf_counter()
    rgb = read_raw_rgb(path)
    seconds = time.perf_counter() - start
    gray = (rgb[..., :3].astype(np.float64) @ [0.299, 0.587, 0.114]) / 65535
    raw_rows.append(dict(file=path.name, height=rgb.shape[0], width=rgb.shape[1],
                         bytes=path.stat().st_size, decode_s=round(seconds, 2)))  # fmt: skip
    step = max(1, rgb.shape[1] // 800)
    panels[f"{path.name}: developed (sRGB)"] = (rgb[::step, ::step] / 65535).astype(np.float32)
    panels[f"{path.name}: luma"] = gray[::step, ::step]
raw_table = pd.DataFrame(raw_rows)
write_csv("00_raw_files", raw_table, provenance(profile, params))
raw_table

# %%
fig, axes = plt.subplots(2, 2, figsize=(12, 7))
for ax, (title, img) in zip(axes.flat, panels.items(), strict=True):
    ax.imshow(img, cmap=None if img.ndim == 3 else "gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()
save_figure(fig, "00_raw_files")

# %% [markdown]
# ## The answer
#
# The sizes of the datasets (nbval checks this cell's output):

# %%
# NBVAL_CHECK_OUTPUT
print(f"train {len(corpus.train)}, val {len(corpus.val)}, test {len(corpus.test)}, "
      f"skipped {corpus.params['n_skipped']}, dropped {corpus.params['n_dropped']}")  # fmt: skip
print(f"image size {corpus.train.shape[1:]}, values in [{corpus.train.min():.0f}, "
      f"{corpus.train.max():.0f}]")  # fmt: skip

# %% [markdown]
# The study learns from the drawn BSDS300 train photos and Train400 images (the counts
# per source are in the corpus table above), and tests on the 100 BSDS300 test images at
# native size. The preparation, in numbers from this run:

# %%
photos = costs.set_index("source").loc["bsds300_train"]
colour = detail[detail.colour]
print(f"grayscale: the luma holds {colour['luma_detail_%'].median():.1f}% of the detail of "
      f"the colour photos (median of {len(colour)}); Train400 has no colour at all")  # fmt: skip
print(f"180x180: a BSDS300 photo keeps {photos['pixels_kept_%']:.1f}% of its pixels, each "
      f"side {photos.shrink:.2f} times smaller")  # fmt: skip
print(f"stretching squeezes its long side {photos.stretch:.2f} times more than the short one; "
      f"a crop would discard {photos['crop_discards_%']:.1f}% of it instead")  # fmt: skip

# %% [markdown]
# ## Exercises
#
# 1. Set `crop = True` and run all cells. Predict what changes in the samples figure,
#    in `shape_costs` and in the corpus cache's folder name, then check.
# 2. Set `detail_images = 60`. Predict whether the BSDS300 photos' median gradient still
#    changes in the same direction when they are shrunk, then read the table in *Why
#    180x180*. Which pixels does the antialiasing filter average together?
# 3. Set `size = 96`. Predict `pixels_kept_%` for a 481x321 photo before running
#    (it is `96**2 / (481 * 321)`), and how long the corpus takes to rebuild.
