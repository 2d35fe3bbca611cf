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
# The dissertation trained on **RAISE** raw photos (Nikon NEF), turned into grayscale
# 180x180 images in [0, 1]; 500 drawn at random, 10% held out for validation; tested on
# the 100 BSDS300 test images. This notebook rebuilds such datasets from real files.
#
# **RAISE is not available offline here.** The default corpus therefore draws its 500
# images from **BSDS300 train** (200 colour JPEGs) and **Train400** (400 grayscale
# 180x180 PNGs), stratified by source. Point `sources` at a folder of RAISE NEFs (and
# `categories` at RAISE's CSV) and the same code builds the dissertation's corpus.
#
# * **Reads:** the two camera RAW files in `raw/`, the `sources` folders and
#   `bsds300_test/` under the data folder (`COMP_LIB_DATA`, or the `data_folder` parameter).
# * **Writes:** the corpus cache (arrays + `index.csv`) under `comp_lib.config.cache_dir()`;
#   `reports/figures/00_raw_files.png`, `00_samples.png`, `00_histograms.png`;
#   `reports/tables/00_raw_files.csv`, `00_corpus_summary.{csv,md}`, `00_skipped_files.csv`.

# %% tags=["parameters"]
data_folder = ""  # empty: COMP_LIB_DATA or ./data
sources = ["bsds300_train", "train400"]  # dataset names or folders (RAW or ordinary images)
categories = ""  # optional CSV: file name -> category (e.g. RAISE's); empty: by source folder
n_images = 500
size = 180
seed = 0
val_fraction = 0.1
crop = False  # centre-crop to square before resizing, instead of stretching
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
from comp_lib.data import build_corpus, dataset_dir, list_images, read_raw_rgb
from comp_lib.report import provenance, write_csv, write_table
from comp_lib.report.figures import save_figure, show_images

params = dict(sources=sources, categories=categories, n_images=n_images, size=size, seed=seed,
              val_fraction=val_fraction, crop=crop)  # fmt: skip

print("data folder:", data_dir())

# %% [markdown]
# ## Two real camera RAW files
#
# A RAW file holds the sensor's Bayer mosaic, one colour per pixel. LibRaw (through
# rawpy) develops it: camera white balance, demosaicing, sRGB primaries and transfer
# curve. The study then keeps only the luma (ITU-R BT.601 weights, as Pillow's `L`).

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
# ## The corpus
#
# `build_corpus` draws `n_images` images at random (seeded), in proportion to each
# category (here: each source folder), converts them to grayscale, resizes them with
# antialiasing to `size` x `size`, and holds out `val_fraction` for validation. The
# test set is BSDS300 test, kept at native size and resized. A file that cannot be
# read is skipped and listed; a training image that nearly duplicates a test image is
# dropped (leakage guard). The result is cached and rebuilt only when an input or a
# parameter changes.

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
# Four training images of each source and four test images, at the study's size.

# %%
train_rows = corpus.index[corpus.index.split == "train"]
panels = {}
for source, rows in train_rows.groupby("source"):
    for _, r in rows.head(4).iterrows():
        panels[f"{source}\n{os.path.basename(r.path)}"] = corpus.train[r.position]
for name, img in list(zip(corpus.test_names, corpus.test, strict=True))[:4]:
    panels[f"test {name}"] = img
fig = show_images(panels, ncols=4, size=2.4)
save_figure(fig, "00_samples")

# %% [markdown]
# Intensity histograms: Train400 images were prepared differently from the BSDS300
# photos (grayscale at the source); differences in exposure or contrast between
# training and test data would show here.

# %%
rng = np.random.default_rng(seed)
frames = []
for source, rows in train_rows.groupby("source"):
    pixels = corpus.train[rows.position.to_numpy()].ravel()
    frames.append(pd.DataFrame({"intensity": rng.choice(pixels, 50_000), "set": source}))
frames.append(pd.DataFrame({"intensity": rng.choice(corpus.test.ravel(), 50_000),
                            "set": "bsds300_test"}))  # fmt: skip
fig, ax = plt.subplots(figsize=(8, 4))
sns.histplot(pd.concat(frames), x="intensity", hue="set", bins=64, stat="density",
             element="step", common_norm=False, ax=ax)  # fmt: skip
ax.set_xlabel("intensity in [0, 1]")
save_figure(fig, "00_histograms")

# %% [markdown]
# ## Summary (checked by nbval)

# %%
# NBVAL_CHECK_OUTPUT
print(f"train {len(corpus.train)}, val {len(corpus.val)}, test {len(corpus.test)}, "
      f"skipped {corpus.params['n_skipped']}, dropped {corpus.params['n_dropped']}")  # fmt: skip
print(f"image size {corpus.train.shape[1:]}, values in [{corpus.train.min():.0f}, "
      f"{corpus.train.max():.0f}]")  # fmt: skip
