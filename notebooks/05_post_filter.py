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
# # 05 · The post-filter, which decides the headline
#
# **Question:** above about 0.1 bpp the study's best codec ("ours", `03_evaluation`) is
# plain JPEG followed by a network that cleans the decoded image: a *post-filter*, the
# paper's RecCNN without ComCNN. The bytes are JPEG's, so every decibel of the headline
# there is the post-filter's. What makes one post-filter gain more than another on the
# same bytes: how far it sees, knowing the quality, how long it trained, decoding more
# than once, or keeping to what the bytes fix for certain? And how far is the shipped one
# from what published deblocking CNNs of its size reach (DnCNN-3: +1.4 dB over JPEG at
# quality 10, Zhang et al. 2017)?
#
# ```
# x --JPEG(quality)--> bytes --JPEG decode--> x_jpeg --post-filter(x_jpeg, table)--> x_hat
# ```
#
# The decoder reads the quantisation table from the JPEG header, so a post-filter may be
# told it. We compare the shipped post-filters: `post64s2lo` and `post64s2hi` (the
# paper's RecCNN, 64 channels x 20 layers, with its body at half resolution for a
# quarter of the work; each a specialist for a band of qualities) and `unet32q` (a U-Net
# told the table, one model for every quality); their model cards are in
# `comp_lib/weights/`.
#
# * **Reads:** the first `n_images` BSDS300 test images (sorted by name) under the data
#   folder (`COMP_LIB_DATA`), the shipped models, their training logs, and the committed
#   screening table `reports/tables/post_filter_screen.csv` (`benchmarks/post_filters.py
#   screen`, 8 minutes of training per variant: too long for the report).
# * **Writes:** `reports/figures/05_post_filter_crops.png`, `05_post_filter_shapes.png`,
#   `05_post_filter_by_quality.png`, `05_post_filter_film.png`, `05_post_filter_steps.png`,
#   `05_post_filter_ensemble.png`; `reports/tables/05_post_filter_shapes.csv`,
#   `05_post_filter_by_quality.csv`, `05_post_filter_pace.csv`,
#   `05_post_filter_ensemble.csv`, `05_post_filter_constraint.csv`,
#   `05_post_filter_summary.{csv,md}`.

# %% tags=["parameters"]
image_name = "102061"  # the BSDS300 test image of the crops (file stem)
quality = 10  # the JPEG quality the question is asked at (issue 19's)
crop = [60, 120, 160]  # top row, left column and side of the crops, in pixels
n_images = 2  # the first N BSDS300 test images (sorted by name) for the measurements
qualities = [10]  # JPEG qualities of the gains; must include `quality`
models = ["post64s2lo", "post64s2hi", "unet32q"]  # shipped post-filters to compare
ensemble_sizes = [1, 2]  # decodes averaged by the self-ensemble (of 1, 2, 4, 8)
target_gain_db = 1.4  # DnCNN-3's published gain over JPEG at quality 10 (BSDS500, gray)
profile = "smoke"

# %%
import pandas as pd
from IPython.display import display

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.config import PROJECT_ROOT
from comp_lib.data import dataset_dir, load_dataset_gray, load_gray
from comp_lib.metrics import bpp, psnr
from comp_lib.models.conditioning import film_response
from comp_lib.report import figures, for_people, provenance, write_csv, write_for_people
from comp_lib.studies.post_filters import (
    gain_by_quality,
    quantisation_constraint_table,
    self_ensemble_table,
    variant_shapes,
)
from comp_lib.train.validation import gain_per_doubling, steps_to_gain
from comp_lib.zoo import model_file

if quality not in qualities:
    raise ValueError(f"qualities {qualities} must include quality {quality}")
image = load_gray(dataset_dir("bsds300_test") / f"{image_name}.jpg")
images = load_dataset_gray("bsds300_test", limit=n_images)
codecs = {name: Codec.load(name) for name in models}
params = dict(image_name=image_name, quality=quality, n_images=n_images, qualities=qualities,
              models=models, ensemble_sizes=ensemble_sizes)  # fmt: skip
source = provenance(profile, params)
print(f"{len(images)} test images; {image_name}: {image.shape[0]} x {image.shape[1]} pixels")

# %% [markdown]
# ## 1 · The same bytes, three decoders
#
# First, what is there to clean. JPEG codes 8x8 blocks, each with its 64 frequencies
# divided by the quantisation table and rounded; at quality 10 most high frequencies of a
# block round to zero. The decoded image shows *blocks* (steps at the 8-pixel grid),
# *ringing* near edges and lost texture. A post-filter reads exactly the same bytes as
# JPEG (plus a header naming the model) and returns a better guess of `x`. The error
# maps under each crop (`|x - x_hat|`, one colour scale) show where each decoder errs.

# %%
data = jpeg.encode(image, quality)
decoded = {"original": image, f"JPEG q{quality}: {psnr(image, jpeg.decode(data)):.2f} dB, "
           f"{bpp(data, image.shape):.3f} bpp": jpeg.decode(data)}  # fmt: skip
for name, codec in codecs.items():
    stream = codec.compress(image, quality)
    x_hat = codec.decompress(stream)
    decoded[f"{name}: {psnr(image, x_hat):.2f} dB, {bpp(stream, image.shape):.3f} bpp"] = x_hat
top, left, side = crop
window = (slice(top, top + side), slice(left, left + side))
fig = figures.show_crops_with_errors(decoded, window, ncols=len(decoded))
figures.save_figure(fig, "05_post_filter_crops")

# %% [markdown]
# All three post-filters smooth away most block steps; the U-Net also keeps the edges
# cleaner (the spires, the roof lines) and errs less along them (darker error maps), on
# bytes that cost the same (the few extra bits are the header naming the model). Why?
#
# ## 2 · How far a network sees, for what it costs
#
# A block's true content depends on its neighbours: an edge crossing four blocks, a
# smooth gradient across many. A stack of `n` 3x3 convolutions sees `n` pixels around
# each output pixel, so DnCNN's 20 layers at full resolution see 20 pixels, 2.5 blocks.
# Working at half resolution (pixel unshuffle, as the study's `post64s2` does) doubles
# the reach and quarters the cost. A U-Net halves the resolution again and again: at its
# coarsest scale one 3x3 convolution spans 24 pixels of the image. `variant_shapes`
# builds each screened variant fresh and *measures* its receptive field (the input pixels
# whose change moves the centre output pixel: a gradient, `receptive_radius`) and counts
# its multiply-adds per pixel. In brackets: the gain over JPEG each variant reached on
# the validation images (mean of q5, q10, q20 and q40) after the same 8 minutes of
# training on the study's 2-core machine.

# %%
shapes = variant_shapes()
screen = pd.read_csv(PROJECT_ROOT / "reports" / "tables" / "post_filter_screen.csv")
screen_gain = screen.set_index("variant").gain_db
display(for_people(shapes.assign(screened_gain_db=shapes.variant.map(screen_gain))))
write_csv("05_post_filter_shapes", shapes, source)
figures.save_figure(figures.plot_variant_shapes(shapes, screen_gain), "05_post_filter_shapes")

# %% [markdown]
# The measured reach and cost in one line per variant (nbval checks this cell's output):

# %%
# NBVAL_CHECK_OUTPUT
for row in shapes.itertuples():
    print(f"{row.variant}: sees {row.receptive_radius_px} px around each pixel for "
          f"{row.gmac_per_mpx:.0f} GMAC per megapixel")  # fmt: skip

# %% [markdown]
# Context per multiply-add predicts the screening: the full-resolution stack costs the
# most and sees the least, and gained nothing in its 8 minutes; the U-Nets see more than
# twice as far as the half-resolution stack for about 1.6 times its work, and gained
# more than ten times as much. (`post64s2q` failed for another reason: the table's
# shifts switched off the ReLUs of its last block, and a plain stack has no path around
# a dead layer; the U-Net's residual blocks have one.) The U-Net has six times the
# parameters, mostly in its coarse scales where they are cheap: parameters are not the
# cost, multiply-adds per pixel are.
#
# ## 3 · Telling the network the quality
#
# How strong the artefacts are depends on the table: at quality 5 a block keeps two or
# three frequencies, at quality 40 most of them. A network that is not told must guess
# from the image, so the study shipped *specialists*: `post64s2lo` trained at qualities
# 2-14, `post64s2hi` at 12-50. `unet32q` is told the table instead (FiLM: a small MLP maps
# the 64 steps to a scale and a shift for every channel of every layer, as FBCNN does
# with the quality factor), and one model serves every quality. Here all three decode
# the same JPEG bytes at each quality; the star is DnCNN-3's published gain.

# %%
by_quality = gain_by_quality(codecs, images, qualities)
write_csv("05_post_filter_by_quality", by_quality, source)
display(for_people(by_quality.pivot(index="codec", columns="quality", values="gain_db")))
star = (quality, target_gain_db, f"DnCNN-3, published (+{target_gain_db} dB)")
fig = figures.plot_gain_by_quality(by_quality, star)
figures.save_figure(fig, "05_post_filter_by_quality")

# %% [markdown]
# The specialists each gain most inside their own band and less outside it; the U-Net
# told the table gains more than either at every quality here. What does it *do* with
# the table? `film_response` feeds it libjpeg's table at several qualities and measures
# how far each layer's scales `1 + gamma` and shifts `beta` move (layers in the order
# the U-Net applies them, labelled by their channels: down to 256 and back up).

# %%
response = film_response(codecs["unet32q"].reccnn.film, [2, 5, 10, 20, 40, 75])
fig = figures.plot_film_response(response)
figures.save_figure(fig, "05_post_filter_film")

# %% [markdown]
# Every layer is moved more the coarser the quantisation, smoothly from quality 2 to 75:
# the network has learned one continuous knob, "how hard to clean", and turns it on
# every layer. The scales move most in the second block of the finest and of the
# coarsest scale, the shifts most in the last layers, where the output is formed.
# Nothing in the training asked for a monotone response; it comes from the data.
#
# ## 4 · Training time: how far from the published gain, and what the rest costs
#
# `unet32q` trained on these 2 CPU cores, in phases over several sessions (its model
# card gives each command). Each epoch it decoded the validation images through real
# bytes and logged its gain over JPEG (mean of q5, q10 and q20). A learning curve of
# this kind grows by a roughly constant amount each time the steps *double*; the dashed
# segments measure each phase's pace in dB per doubling (`gain_per_doubling`).

# %%
log = pd.read_csv(model_file("unet32q").with_suffix(".log.csv"))
pace = gain_per_doubling(log)
write_csv("05_post_filter_pace", pace, source)
display(for_people(pace))
fig = figures.plot_gain_by_steps(log, "unet32q", "unet32q: validation gain against the steps")
figures.save_figure(fig, "05_post_filter_steps")

# %% [markdown]
# The pace fell over the phases: about +0.08 dB per doubling at first, +0.05 in the
# middle phases (the fifth, on larger crops, went no faster), about +0.02 in the sixth,
# a long run at a low learning rate. The curve is flattening, as every long training
# run's does. How much is missing? A few images
# give a noisy answer (the gain depends on the content: smooth skies gain more than
# foliage), so the budget is read from the gain on all 100 test images that
# `benchmarks/post_filters.py test` measured (committed in
# `reports/tables/post_filter_test.csv`), beside the gain on this notebook's images. If
# the latest pace held, the missing gain would need this many more doublings of the
# steps and this much more time on these cores (`steps_to_gain`; a lower bound if the
# pace falls further):

# %%
measured = by_quality.set_index(["codec", "quality"]).gain_db["unet32q", quality]
tested = pd.read_csv(PROJECT_ROOT / "reports" / "tables" / "post_filter_test.csv")
tested = tested.set_index(["codec", "quality"]).gain_db
key = ("unet32q", quality)
on_test, where = ((tested[key], "all 100 test images") if key in tested.index else
                  (measured, f"these images (q{quality} not benchmarked)"))  # fmt: skip
budget = steps_to_gain(log, target_gain_db - on_test)
print(f"unet32q at q{quality}: {measured:+.2f} dB on these {len(images)} images, {on_test:+.2f} "
      f"on {where}; to {target_gain_db:+.2f}: {budget['doublings']:.1f} more doublings at "
      f"{budget['db_per_doubling']:+.3f} dB each = {budget['factor']:.1f}x the "
      f"{budget['steps']} steps so far, {budget['more_hours']:.0f} more hours here")  # fmt: skip

# %% [markdown]
# ## 5 · Decoding more than once: the self-ensemble
#
# A network trained on flipped and rotated crops makes slightly different mistakes on a
# flipped image. Decoding the same bytes as 2, 4 or 8 flips and transposes, undoing each
# and averaging (`Codec.self_ensemble`) cancels part of those mistakes, for 2, 4 or 8
# times the decoding work; the bytes do not change, so a decoder may do it or not. The
# image is first padded to the 8x8 grid, so every flip keeps the blocks on the grid,
# and a transposed image is decoded with the transposed table. `decode_x` is the decode
# time of one 481x321 image over `post64s2`'s (the specialists' network), timed in the
# same run.

# %%
ensemble = self_ensemble_table(codecs["unet32q"], images, [quality], ensemble_sizes, image,
                               Codec.load("post64s2"))  # fmt: skip
write_csv("05_post_filter_ensemble", ensemble, source)
display(for_people(ensemble[["self_ensemble", "gain_db", "ensemble_gain_db", "decode_x"]]))

# %% [markdown]
# The figure draws the trade: gain over JPEG against decode time, with the target and
# the decode budget issue 19 set (4x `post64s2`).

# %%
fig = figures.plot_ensemble_cost(ensemble, target_gain_db)
figures.save_figure(fig, "05_post_filter_ensemble")

# %% [markdown]
# Each doubling of the decodes buys a few hundredths of a decibel and costs twice the
# time: a cheap gain for a decoder with time to spare, not a way to the target.
#
# ## 6 · What the bytes fix for certain: the quantisation intervals
#
# The file tells the decoder more than the table. Each coefficient of each 8x8 block was
# coded as `k = round(c / q)`, so the original's coefficient `c` lay within half a step
# of `k * q`: an image whose coefficients leave those intervals cannot be the original.
# Classic deblocking (projections onto convex sets: Zakhor 1992; Yang, Galatsanos and
# Katsaggelos 1995) alternates smoothing with clipping the coefficients back into their
# intervals, a step that never takes a guess farther from the original. Does a trained
# network still need it? `quantisation_constraint_table` clips `unet32q`'s output into
# the intervals of its own file and measures how many coefficients move
# (`moved_percent`) and what the PSNR gains.

# %%
constraint = quantisation_constraint_table(codecs["unet32q"], images, [quality])
write_csv("05_post_filter_constraint", constraint, source)
display(for_people(constraint))

# %% [markdown]
# Of the network's coefficients only one or two in a thousand lie outside their interval,
# and clipping them back adds thousandths of a decibel: the network learned the
# constraint from the data. Its remaining error lies *inside* the intervals, where the
# bytes say nothing and only a better model of images (more training, more context)
# helps.

# %% [markdown]
# ## The answer
#
# What makes a post-filter gain more on the same bytes, in the order it mattered here:
#
# 1. **How far it sees for its cost.** A U-Net sees more than twice as far as RecCNN's
#    stack at half resolution for 1.6 times the work, and after the same training time
#    gained more than ten times as much; DnCNN's full-resolution stack, four times the
#    work, sees least.
# 2. **Being told the quality.** Told the table, one network beats both specialists at
#    every quality, and turns one smooth "how hard to clean" knob on every layer.
# 3. **Training time.** The gain still grows with each doubling of the steps, ever more
#    slowly: the table below gives the shipped model's gain at quality 10, on these images
#    and on all 100 test images, against DnCNN-3's published +1.4 dB, and the CPU time
#    the rest would take at the latest pace. Here the study stands short of the published
#    gain, and the curve says that training time alone is a slow way to it: at the latest
#    pace the rest costs tens of times the steps so far, more than a GPU's few minutes
#    would buy unless larger batches change the pace (not measured here). A larger
#    network did not change that on these cores: `unet32q3`, this U-Net deepened to 3
#    blocks (`--grow-blocks 3`) and trained on for 102 minutes, gained per hour about
#    as fast, +0.01 dB on the test images for 1.4x the decode time.
# 4. **Decoding more than once** adds a few hundredths of a decibel per doubling of the
#    decoding work: not a way to the target.
# 5. **What the bytes fix** is already kept: forcing the output into the quantisation
#    intervals of its file adds next to nothing (`projection_gain_db` below).

# %%
summary = pd.DataFrame([dict(
    images=len(images), quality=quality, gain_db=measured, gain_100_images_db=on_test,
    target_db=target_gain_db, missing_db=target_gain_db - on_test, doublings=budget["doublings"],
    more_hours_here=budget["more_hours"],
    best_ensemble_gain_db=ensemble.ensemble_gain_db.max(),
    projection_gain_db=constraint.projection_gain_db.iloc[0])])  # fmt: skip
note = (f"unet32q at quality {quality}: gain_db on the first {len(images)} BSDS300 test "
        f"images, gain_100_images_db on {where}; the budget from the latter")  # fmt: skip
write_for_people("05_post_filter_summary", "The post-filter against DnCNN-3", summary, source, note)
display(for_people(summary))

# %% [markdown]
# ## Exercises
#
# 1. Set `models` to `["post64s2", "post64s2lo", "post64s2hi"]`: `post64s2` is the
#    RecCNN post-filter the specialists were fine-tuned from, one model for qualities
#    4-30 without the table. Where in the quality range does it lose to them?
# 2. `receptive_radius(net, side)` measures a field with a gradient. Build
#    `comp_lib.models.RecCNN(channels=16, depth=10, shuffle=1)` and predict its radius
#    before you measure it; then set `shuffle=2`. Why does the radius roughly double?
# 3. Run `film_response` at qualities 76-95, beyond the 2-75 `unet32q` trained on. Does
#    the knob keep turning smoothly, and what does `gain_by_quality` say at quality 90?
# 4. Double `n_images` and note how the gain at quality 10 moves: how many images does
#    a 0.05 dB difference between two post-filters need before you trust its sign?
# 5. `steps_to_gain` assumes the latest pace holds. Fit the pace of each phase against
#    the phase's end step (the `pace` table): if the pace keeps falling at that rate,
#    is the target reachable at all?
# 6. Run `quantisation_constraint_table` for `unet32q` at qualities 40, 60 and 75, where
#    the intervals are narrow. Does clipping into them start to pay, and why there?
