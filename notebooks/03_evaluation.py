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
# # 03 · Evaluation: equal-rate comparison against JPEG and modern codecs
#
# The dissertation compared its model with JPEG without reporting bits per pixel and
# lost (24 dB / SSIM 0.74 against 32.75 dB / 0.88 on BSDS300). Here every codec is
# measured on the same images, with the rate counted from the real bytes it writes,
# and compared **at equal bpp**: rate-distortion curves, Bjontegaard deltas against
# JPEG, and PSNR/SSIM read off each curve at fixed rates. Three protocols:
#
# 1. **the standard one**: RD curves on BSDS300 test (native size), Kodak, Set5, Set14;
# 2. **the dissertation's**: BSDS300 test at 180x180, with the bpp it left out;
# 3. **the paper's**: JPEG at quality 5 and 10 against ours at the same bpp on Set5 and
#    Set14 (Jiang et al., Tables I-II).
#
# All images in grayscale (BT.601 luma). Codecs: **ours**, the best shipped model at each
# rate (the `ladder`, chosen on validation images, never on these); each shipped model on
# its own, sweeping its inner JPEG quality: *ComCNN+RecCNN* (the paper's framework,
# `model`) and *RecCNN only* (full-size JPEG + a RecCNN post-filter, `post_filter_model`),
# with *ComCNN only* (our ComCNN, JPEG, bicubic x2, no RecCNN): the paper's Table I
# ablations; JPEG (`comp_lib.jpeg`: baseline, optimized Huffman, the anchor);
# bicubic /2 -> JPEG -> bicubic x2 (no learning); WebP, AVIF (4:0:0), JPEG 2000
# through Pillow; JPEG XL through imagecodecs (always at an explicit lossy level).
#
# * **Reads:** the test sets under the data folder; the shipped models `model` and
#   `post_filter_model` and the shipped ladder `ladder`.
# * **Writes:** `reports/tables/03_rows.csv` (one row per image and setting),
#   `03_standard_bd.{csv,md}`, `03_standard_at_rates.{csv,md}`, `03_dissertation.{csv,md}`,
#   `03_paper.{csv,md}`, `reports/tables/03_json/*.json` (CompressAI's results shape);
#   `reports/figures/03_rd_<dataset>.png`, `03_gain_per_image.png`, `03_crops.png`.

# %% tags=["parameters"]
datasets = ["bsds300_test", "kodak", "set5", "set14"]
limit = 1  # images per dataset (None: all)
codec_names = [
    "JPEG",
    "bicubic+JPEG",
    "WebP",
    "AVIF",
    "JPEG 2000",
    "JPEG XL",
    "ours",
    "ComCNN+RecCNN",
    "ComCNN only",
    "RecCNN only",
]
model = "rec32x20n"  # shipped ComCNN+RecCNN model (or checkpoint file)
post_filter_model = "post64s2lo"  # shipped RecCNN-only model (no ComCNN)
ladder = "best"  # shipped ladder, "ours": the best of the shipped models at each rate
ladder_step = 1  # evaluate every n-th rung of the ladder (and its last; 1: all rungs)
our_qualities = [10, 30, 60, 90]  # inner JPEG qualities of ComCNN+RecCNN and ComCNN only
post_qualities = [3, 10, 20]  # inner JPEG qualities of RecCNN only
sweep_step = 4  # every n-th default setting of the other codecs (1: all)
max_rate = 0.6  # BD-rates over the rates both curves cover up to this
fixed_rates = [0.1, 0.2, 0.3, 0.5]
profile = "smoke"

# %%
import time

from comp_lib.config import tables_dir
from comp_lib.data import build_corpus, load_dataset_gray
from comp_lib.rd import per_image_gain
from comp_lib.report import provenance, write_table
from comp_lib.report.figures import plot_gain_per_image, plot_rd, save_figure, show_images
from comp_lib.studies import protocols
from comp_lib.studies.roster import OURS, build_roster

params = dict(datasets=datasets, limit=limit, codec_names=codec_names, model=model,
              post_filter_model=post_filter_model, ladder=ladder, our_qualities=our_qualities,
              post_qualities=post_qualities, sweep_step=sweep_step, max_rate=max_rate,
              ladder_step=ladder_step)  # fmt: skip
corpus = build_corpus(progress=False)  # its test set at 180x180 serves the dissertation's protocol
source = provenance(profile, params, corpus.index_sha256)
print(source)

# %% [markdown]
# ## The codecs
#
# "ours" is a `Ladder`: rung `i` codes with one shipped model at one inner quality,
# and the bitstream names the model, so the decoder needs nothing else. Since coding
# with a rung *is* coding with its model at its quality, the ladder's rows are read
# from its models' rows (`comp_lib.evaluate.ladder_rows`): the sweep of *ComCNN+RecCNN*
# and *RecCNN only* includes their models' evaluated rungs, and the ladder's other models
# run at their rungs only, for the ladder (`comp_lib.studies.roster`; the tests check that
# this gives the same rows as running the ladder). With `ladder_step` > 1 only every
# n-th rung (and the top one) is evaluated: the same codec, its curve sampled more
# sparsely, for a fraction of the time.

# %%
roster = build_roster(codec_names, model, post_filter_model, ladder, ladder_step,
                      our_qualities, post_qualities, sweep_step)  # fmt: skip
if roster.ours is not None:
    ours = roster.ours
    print(f"ours = ladder {ladder!r}, {len(ours.rungs)} of its {len(ours.ladder.rungs)} rungs:",
          ", ".join("{} q{}".format(*ours.ladder.rungs[i]) for i in ours.rungs))  # fmt: skip
roster.table()

# %% [markdown]
# ## Running every codec over every test set
#
# `comp_lib.evaluate.evaluate` codes each image at each setting and measures bytes,
# bpp, PSNR, SSIM and the encode and decode times; `Roster.evaluate` does it for every
# codec of the roster and adds the ladder's rows.

# %%
start = time.perf_counter()
test_sets = {name: load_dataset_gray(name, limit=limit) for name in datasets}
rows = roster.evaluate(test_sets)
codecs = roster.codecs
rows.to_csv(tables_dir() / "03_rows.csv", index=False)
print(f"{len(rows)} rows in {time.perf_counter() - start:.0f} s")
rows.groupby("codec")[["encode_ms", "decode_ms"]].mean().round(1)

# %% [markdown]
# ## 1 · The standard protocol: rate-distortion curves and BD-rates
#
# BD-rate: the average difference in rate at equal quality (negative = fewer bits than
# JPEG), over the quality range both curves cover at rates up to `max_rate` bpp.

# %%
standard = protocols.standard_tables(rows, max_rate=max_rate, fixed_rates=fixed_rates)
protocols.write_compressai(standard.curves, tables_dir() / "03_json")
for name, curves in standard.curves.items():
    fig = plot_rd(curves, f"{name} (grayscale), {len(test_sets[name])} images", max_rate=1.2)
    save_figure(fig, f"03_rd_{name}")
note = f"Up to {max_rate} bpp; pchip interpolation; JPEG with optimized Huffman tables."
write_table("03_standard_bd", "BD-rate and BD-PSNR against JPEG", standard.bd, source, note)
standard.bd.pivot(index="codec", columns="dataset", values="bd_rate_psnr_%")

# %% [markdown]
# PSNR and SSIM read off each mean curve at fixed rates.

# %%
write_table("03_standard_at_rates", "PSNR and SSIM at fixed rates", standard.at_rates, source,
            "Interpolated linearly in log-rate on each mean curve; NaN: not reached.")  # fmt: skip
standard.at_rates.pivot_table(index=["dataset", "bpp"], columns="codec", values="psnr")

# %% [markdown]
# Each BD-rate above covers the rates that codec shares with JPEG, so a sweep that stops
# early is judged on its low rates only. To rank every codec over one range: BD-PSNR
# against JPEG over the rates that all the curves of a dataset cover.

# %%
write_table("03_standard_bd_common", "BD-PSNR against JPEG over the range all codecs cover",
            standard.bd_common, source,
            "min_rate..max_rate: the rates every codec's curve covers there.")  # fmt: skip
standard.bd_common.pivot(index="codec", columns="dataset", values="bd_psnr_db")

# %% [markdown]
# ## 2 · The dissertation's protocol, with the bpp it left out
#
# BSDS300 test resized to 180x180 (as the dissertation's data). Its numbers: model
# 24 dB / SSIM 0.74, JPEG 32.75 dB / 0.88, at an unreported rate
# (`comp_lib.studies.constants`). The JPEG quality that gives about 32.75 dB here tells
# at what rate the dissertation's JPEG ran; we read our codec at that rate.

# %%
small = protocols.dissertation_images(corpus, limit)
diss_rows = protocols.dissertation_rows(codecs, small)
ours_ladder = roster.ours.ladder if roster.ours is not None else None
dissertation = protocols.dissertation_table(diss_rows, ours_ladder, ladder)
write_table("03_dissertation", "The dissertation's protocol with rates", dissertation, source,
            f"BSDS300 test at 180x180, {len(small)} images. NaN for ours: JPEG at that PSNR "
            "runs at a rate our curve does not reach.")  # fmt: skip
dissertation

# %% [markdown]
# ## 3 · The paper's protocol: JPEG at quality 5 and 10 against ours at the same bpp
#
# On Set5 and Set14 (Jiang et al., Tables I-II): ours read off its mean curve at JPEG's
# mean bpp at each quality; the gain is ours minus JPEG.

# %%
paper = protocols.paper_table(rows)
write_table("03_paper", "Jiang et al.'s protocol: JPEG q5 and q10 against ours at equal bpp",
            paper, source,
            "NaN: our curve does not reach JPEG's rate at that quality.")  # fmt: skip
paper

# %% [markdown]
# ## Per-image gain over JPEG at equal bpp (BSDS300 test)
#
# The mean curves can hide images on which ours loses: each image's gain at each rung.

# %%
if OURS in codecs:
    gains = per_image_gain(rows[rows.dataset == datasets[0]], OURS)
    xlabel = "rung of ours (model, inner quality: see the ladder's card)"
    save_figure(plot_gain_per_image(gains, xlabel), "03_gain_per_image")

# %% [markdown]
# ## The same image from every codec at about 0.3 bpp
#
# For each codec, the setting whose rate on this image is closest to 0.3 bpp; a crop,
# so that blocking (JPEG), ringing and blur can be seen.

# %%
name, image = test_sets[datasets[0]][0]
panels = protocols.codec_panels(codecs, rows, name, image)
h, w = image.shape
crop = (slice(h // 4, h // 4 + 160), slice(w // 4, w // 4 + 160))
save_figure(show_images(panels, ncols=4, size=3.0, crop=crop), "03_crops")

# %% [markdown]
# ## Summary (checked by nbval)

# %%
# NBVAL_CHECK_OUTPUT
covered = rows.groupby("dataset").codec.nunique().eq(len(codecs)).all()
print(f"{len(datasets)} datasets x {len(codecs)} codecs; every codec on every dataset: {covered}")
print("codecs:", ", ".join(codecs))
