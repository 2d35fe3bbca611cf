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
# # 02 · Training ComCNN and RecCNN
#
# JPEG is not differentiable, so Jiang et al. train the two networks **in turn**
# (`comp_lib.train`, scheme `"alternating"`):
#
# * **step A**, RecCNN learns: ComCNN is frozen, its compact image goes through the
#   *real* JPEG codec, RecCNN learns to restore the image from its bicubic upsampling;
# * **step B**, ComCNN learns: RecCNN is frozen, JPEG is replaced by the identity (as in
#   the paper) or by the differentiable approximation `DiffJPEG` (`com_jpeg="approx"`).
#
# The dissertation's scheme (`"dissertation"`: whole 180x180 images, no patches, no
# augmentation, exponential lr decay) and end-to-end training through `DiffJPEG`
# (`"end_to_end"`) are the other choices. Every epoch is validated with the **real**
# codec on the validation split: PSNR, SSIM, bits per pixel from real bytes, and the
# PSNR gain over JPEG at the same bpp.
#
# * **Reads:** the corpus built by `00_preprocessing` (same parameters, from the cache).
# * **Writes:** the run folder `runs/<run_name>/` (`last.pt`, `best.pt`, `log.csv`);
#   `reports/figures/02_training_curves.png`, `02_reconstructions.png`,
#   `02_shipped_training_curves_<model>.png`;
#   `reports/tables/02_training_log.{csv,json}` (the log and its provenance).
#
# The smoke profile trains a tiny network for seconds, to check the pipeline; it learns
# little. The shipped models (`comp_lib/weights/`, see `shipped_models`) were trained by
# the same code for much longer; their training logs are shown at the end.

# %% tags=["parameters"]
scheme = "alternating"  # "alternating", "dissertation", "end_to_end" or "post_filter"
epochs = 2
steps = 4  # RecCNN steps per epoch
com_steps = 2  # ComCNN steps per epoch
lr = 1e-3
lr_decay = 0.9
batch = 4
patch = 48
quality = [10, 40]  # JPEG qualities drawn during training
com_jpeg = "approx"  # step B: "identity" (paper) or "approx" (DiffJPEG)
loss = "mse"
precision = "fp32"  # "bf16": autocast (fast only where the hardware has bf16)
channels = 8  # RecCNN width (64 in the paper)
depth = 4  # RecCNN depth (20 in the paper)
pooling = 0  # max-pooling stages (the dissertation's variant)
warm_start = True
seed = 0
n_images = 500
val_images = 8  # validate on the first N validation images
run_name = "smoke"
resume = False  # continue from runs/<run_name>/last.pt (True for long runs)
shipped_models = ["rec32x20", "post64s2", "rec32x20n", "post64s2lo", "post64s2hi"]  # logs to show
profile = "smoke"

# %%
import numpy as np
import pandas as pd

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.config import PROJECT_ROOT, WEIGHTS_DIR
from comp_lib.data import build_corpus
from comp_lib.metrics import bpp, psnr
from comp_lib.report import provenance, write_csv
from comp_lib.report.figures import plot_training_curves, save_figure, show_images
from comp_lib.train import TrainConfig, Trainer

corpus = build_corpus(n_images=n_images, seed=seed)
print(f"corpus: train {corpus.train.shape}, val {corpus.val.shape} ({corpus.path})")

# %% [markdown]
# ## Train
#
# With `resume=True`, `Trainer.fit` continues from `runs/<run_name>/last.pt` when it exists,
# so re-running this cell after an interruption loses at most one epoch.

# %%
config = TrainConfig(
    scheme=scheme, epochs=epochs, steps=steps, com_steps=com_steps, lr=lr, lr_decay=lr_decay,
    batch=batch, patch=patch, quality=quality, com_jpeg=com_jpeg, loss=loss,
    precision=precision, channels=channels, depth=depth, pooling=pooling,
    warm_start=warm_start, seed=seed,
)  # fmt: skip
run_dir = PROJECT_ROOT / "runs" / run_name
trainer = Trainer(config, corpus.train, corpus.val[:val_images], run_dir)
log = trainer.fit(resume=resume)
write_csv("02_training_log", log, provenance(profile, config.to_dict(), corpus.index_sha256))
log.round(4)

# %% [markdown]
# ## Curves
#
# Training loss of each network, and validation PSNR against JPEG's PSNR at the same
# bpp (the gain is what matters: a model that spends more bits also scores more dB).

# %%
fig = plot_training_curves(log, f"this run: {run_name} ({scheme}, RecCNN {channels}x{depth})")
save_figure(fig, "02_training_curves")

# %% [markdown]
# ## Reconstructions beside JPEG at the same rate
#
# The best checkpoint on three validation images: our bitstream against the JPEG quality
# whose rate is closest to ours.

# %%
codec = Codec.load(run_dir / "best.pt").eval()
val8 = np.round(corpus.val * 255).astype(np.uint8)
panels = {}
for image in val8[:3]:
    data = codec.compress(image, config.val_quality[0])
    ours = codec.decompress(data)
    q, jpeg_data = jpeg.quality_for_bpp(image, bpp(data, image.shape))
    theirs = jpeg.decode(jpeg_data)
    panels[f"original {len(panels) // 3}"] = image
    panels[f"ours: {bpp(data, image.shape):.3f} bpp, {psnr(image, ours):.2f} dB"] = ours
    panels[f"JPEG q={q}: {bpp(jpeg_data, image.shape):.3f} bpp, {psnr(image, theirs):.2f} dB"] = (
        theirs
    )
fig = show_images(panels, ncols=3, size=3.0)
save_figure(fig, "02_reconstructions")

# %% [markdown]
# ## The shipped models' training
#
# The models shipped in `comp_lib/weights/` were trained with this code at a much larger
# budget (each model card says how): `rec32x20`, the paper's framework (ComCNN + a
# 32-channel RecCNN), and `post64s2`, the paper's *RecCNN only* configuration (a JPEG
# post-filter, trained on native-scale tiles), both on the CPU. `rec32x20n`,
# `post64s2lo` and `post64s2hi` continue them on a GPU with `comp_lib.train.bank`, which codes
# whole native-size images once per quality and trains on aligned crops (RecCNN only;
# `rec32x20n` keeps `rec32x20`'s ComCNN): the two post-filters each specialise in a band
# of qualities (lo: 2-14, hi: 12-50). Epoch 0 of a bank log is the starting point. Their logs:

# %%
for shipped_model in shipped_models:
    shipped_log = WEIGHTS_DIR / f"{shipped_model}.log.csv"
    if not shipped_log.is_file():
        print(f"no shipped model {shipped_model!r} yet")
        continue
    card = (WEIGHTS_DIR / f"{shipped_model}.md").read_text()
    print(card.split("\n## ")[0])
    fig = plot_training_curves(pd.read_csv(shipped_log), f"shipped model {shipped_model}")
    save_figure(fig, f"02_shipped_training_curves_{shipped_model}")

# %% [markdown]
# ## Summary (checked by nbval)

# %%
# NBVAL_CHECK_OUTPUT
print(f"{scheme}: {len(log)} epochs, {int(log.step.iloc[-1])} RecCNN steps, log {log.shape}")
