"""Post-filter variants at an equal training budget, and what each costs to decode (issue 19).

``screen``: each variant of :data:`comp_lib.studies.post_filters.VARIANTS` is trained
from the warm start (the identity: JPEG alone) by the bank trainer for the same wall
time on this machine, on the study's training images at native size, then judged on
the held-out validation images (never the test set) at several JPEG qualities: its
gain over JPEG at equal rate, its multiply-adds per pixel, its decode time on a
481x321 image, and the gain per unit of decode cost. Runs live in
``runs/post-filters/<variant>/`` and resume. Writes
``reports/tables/post_filter_screen.{csv,json,md}`` and
``reports/figures/post_filter_screen.png``.

``cost``: decode time of the shipped post-filters and of the screened runs found in
``runs/post-filters`` on a 481x321 BSDS300 image and a 768x512 Kodak image, in ms and as
a fraction of this machine's measured fp32 peak, timed in interleaved rounds. Writes
``reports/tables/post_filter_cost.{csv,json,md}``.

``test``: the post-filters and JPEG at the same inner qualities on the 100 BSDS300 test
images (issue 19's target: the gain at quality 10). Writes
``reports/tables/post_filter_test.{csv,json,md}``.

``ensemble``: the shipped post-filter decoded as a geometric self-ensemble (the same bytes,
its reconstruction averaged over flips and transposes of its input), on the 100 BSDS300
test images: what each ensemble size gains over JPEG and over decoding once, and its
decode time on the 481x321 image over ``post64s2``'s. Writes
``reports/tables/post_filter_ensemble.{csv,json,md}``.

``constraint``: does the shipped post-filter's output keep to the quantisation intervals
its JPEG file fixes, and what does clipping it into them add? On the 100 BSDS300 test
images at several qualities. Writes ``reports/tables/post_filter_constraint.{csv,json,md}``.

``curve``: the long training run of the chosen post-filter, its validation gain against
the wall time it has had (does it flatten?), from a run's ``log.csv`` or a shipped
model's ``<name>.log.csv``. Writes ``reports/tables/post_filter_long_log.csv``,
``reports/tables/post_filter_long_pace.csv`` (each phase's gain per doubling of the
steps), ``reports/figures/post_filter_long.png`` (against wall time) and
``reports/figures/post_filter_long_steps.png`` (against the steps, log2 axis: a constant
gain per doubling is a straight line). ``--table STEM`` writes under another stem, e.g.
``post_filter_grown`` for ``unet32q3`` (``unet32q`` deepened to 3 blocks and trained on).

Usage::

    python benchmarks/post_filters.py screen --pack gpu/pack.npz [--budget-s 480] [--variants ...]
    python benchmarks/post_filters.py cost [--models unet32q] [--runs runs/post-filters]
    python benchmarks/post_filters.py test --models post64s2lo runs/x/best.pt
    python benchmarks/post_filters.py ensemble --model unet32q --sizes 1 2 8 --qualities 10
    python benchmarks/post_filters.py constraint --model unet32q --qualities 5 10 20 40 75
    python benchmarks/post_filters.py curve --model unet32q
    python benchmarks/post_filters.py curve --model unet32q3 --table post_filter_grown \
        --label "U-Net, 3 blocks (unet32q deepened)"
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

import pandas as pd

from comp_lib.coding import Codec
from comp_lib.config import PROJECT_ROOT
from comp_lib.data import load_dataset_gray
from comp_lib.report import figures
from comp_lib.studies.ablations import macs_per_pixel
from comp_lib.studies.post_filters import (
    VARIANTS,
    decode_ms,
    gain_by_quality,
    interleaved_decode_ms,
    quantisation_constraint_table,
    screen,
    screening_table,
    self_ensemble_table,
)
from comp_lib.train.bank import default_pack, load_pack

RUNS = PROJECT_ROOT / "runs" / "post-filters"
#: Every quality of the shipped ladder's post-filter rungs (2..75): one model for all of them
#: is what a quality-aware post-filter is for (benchmarks/gpu_post_filter.sh codes the same).
BANK_QUALITIES = [2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75]
TIMING_IMAGE = "102061"  # a 481x321 BSDS300 test image (landscape), as benchmarks/codec_speed


def _timing_images() -> dict[str, tuple[str, object]]:
    bsds = dict(load_dataset_gray("bsds300_test"))
    kodak = load_dataset_gray("kodak", limit=1)
    return {"481x321 (BSDS300 102061)": bsds[TIMING_IMAGE],
            f"768x512 (Kodak {kodak[0][0]})": kodak[0][1]}  # fmt: skip


def run_screen(args) -> None:
    from _common import write_table

    train, val, info = load_pack(args.pack) if args.pack else default_pack()
    train = train[: args.limit]
    base = dict(qualities=args.bank_qualities, epochs=args.epochs, batch=args.batch,
                patch=args.patch, lr=args.lr, lr_decay=args.lr_decay, warmup=args.warmup,
                val_quality=[10], seed=0)  # fmt: skip
    logs = screen(args.variants, train, val, args.runs, args.budget_s, base)
    image = _timing_images()["481x321 (BSDS300 102061)"]
    table = screening_table({v: Path(args.runs) / v for v in args.variants}, val,
                            args.qualities, image, reference=args.variants[0])  # fmt: skip
    params = dict(base, budget_s=args.budget_s, variants=args.variants, qualities=args.qualities,
                  train_images=len(train), val_images=len(val))  # fmt: skip
    path = write_table(
        table.round(3),
        "post_filter_screen",
        "Post-filter variants trained for the same time",
        f"""
Each variant trained from the warm start (the identity: JPEG alone) by the bank trainer
(`comp_lib.train.bank`) for {args.budget_s:.0f} s of wall time on this machine (bank,
validation and timing probe included), on {len(train)} training images at native size;
judged on the {len(val)} held-out validation images through the real bytes. `gain_q<Q>_db`:
PSNR minus JPEG's at the same bpp (its mean curve on the same images), at inner quality Q;
`gain_db`: their mean. `gmac_per_mpx`: the network's multiply-adds per megapixel.
`decode_ms`: median decode of one 481x321 image; `decode_x`: that over
{args.variants[0]}'s. `gain_per_decode_x`: gain_db / decode_x. Generated by
`benchmarks/post_filters.py screen`.
""",
        params,
    )
    labels = {v: VARIANTS[v][0] for v in args.variants}
    fig = figures.plot_gain_over_time(
        logs, labels, f"post-filters trained {args.budget_s / 60:.0f} minutes each, "
        "validation gain at quality 10 (above 0 dB: beats JPEG at equal rate)"
    )  # fmt: skip
    print(figures.save_figure(fig, "post_filter_screen"))
    print(table.round(3).to_string(index=False))
    print(f"wrote {path}")


def run_cost(args) -> None:
    from _common import peak_gflops, write_table

    codecs = {name: Codec.load(name) for name in ["post64s2", *args.models]}
    for folder in sorted(Path(args.runs).glob("*/best.pt")):
        codecs[f"{folder.parent.name} (screened)"] = Codec.load(folder)
    peak_before, rows = peak_gflops(), []
    for image_name, image in _timing_images().items():
        timings = {
            name: partial(decode_ms, codec, image, repeat=1) for name, codec in codecs.items()
        }
        medians = interleaved_decode_ms(timings, args.repeat)
        for name, codec in codecs.items():
            gmac = macs_per_pixel(codec.reccnn) * image.size / 1e9
            rows.append(dict(image=image_name, model=name, decode_ms=medians[name], gmac=gmac,
                             gflop_per_s=2 * gmac / (medians[name] / 1000)))  # fmt: skip
    peak = max(peak_before, peak_gflops())  # a first measurement can come out slow
    table = pd.DataFrame(rows)
    table["of_peak"] = table.gflop_per_s / peak
    unit = table[table.model == "post64s2"].set_index("image").decode_ms
    table.insert(3, "decode_x", table.decode_ms / table.image.map(unit))
    path = write_table(
        table.round(3),
        "post_filter_cost",
        "Decode cost of the post-filters",
        f"""
Median of {args.repeat} decodes (`Codec.decompress`, JPEG decoding included) at quality 10,
fp32, channels_last, each after a warm-up, in interleaved rounds (every model once per round,
`interleaved_decode_ms`). `decode_x`: over the shipped `post64s2` on the same
image. `gmac`: the network's multiply-adds on the image; `gflop_per_s`: 2 x that over the
decode time; `of_peak`: that over this machine's measured fp32 peak, {peak:.0f} GFLOP/s (the
faster of a 2048x2048 matrix product and a 3x3 convolution of 128 channels on 128x128, each
the fastest of 20, measured in the same run before and after the decodes). Generated by
`benchmarks/post_filters.py cost`.
""",
        dict(peak_gflops=round(peak, 1), repeat=args.repeat),
    )
    print(table.round(3).to_string(index=False))
    print(f"wrote {path}")


def run_test(args) -> None:
    """Each model and JPEG at the same inner qualities on BSDS300 test: the issue's target."""
    from _common import write_table

    images = load_dataset_gray("bsds300_test")
    codecs = {(Path(model).parent.name if model.endswith(".pt") else model): Codec.load(model)
              for model in args.models}  # fmt: skip
    table = gain_by_quality(codecs, images, args.qualities)
    path = write_table(
        table.round(3),
        "post_filter_test",
        "Post-filters against JPEG on BSDS300 test",
        f"""
The {len(images)} BSDS300 test images in grayscale at native size, each coded by JPEG at
the inner quality and decoded by each post-filter (its bytes: JPEG's plus the header,
hence the slightly higher bpp); `gain_db`: mean PSNR minus JPEG's at the same quality.
Issue 19's target is the gain at quality 10: +1.4 dB (DnCNN-3's published level).
Generated by `benchmarks/post_filters.py test`.
""",
        dict(models=args.models, qualities=args.qualities),
    )
    print(table.round(3).to_string(index=False))
    print(f"wrote {path}")


def run_ensemble(args) -> None:
    """The same bytes decoded once or averaged over flips and transposes: gain and cost."""
    from _common import write_table

    images = load_dataset_gray("bsds300_test")
    timing = _timing_images()["481x321 (BSDS300 102061)"]
    codec = Codec.load(args.model)
    table = self_ensemble_table(codec, images, args.qualities, args.sizes, timing,
                                Codec.load("post64s2"), repeat=args.repeat)  # fmt: skip
    path = write_table(
        table.round(3),
        "post_filter_ensemble",
        f"{codec.name} decoded as a self-ensemble: gain and decode cost",
        f"""
The {len(images)} BSDS300 test images in grayscale at native size, coded by JPEG at the inner
quality (the same bytes for every row) and decoded by `{codec.name}` averaged over
`self_ensemble` of the 8 flips and transposes of its input (`Codec.self_ensemble`,
`comp_lib.coding.ensemble`: the image padded to JPEG's 8x8 grid first, the network told
the transposed table for a transpose). `gain_db`: mean PSNR minus JPEG's at the same
quality; `ensemble_gain_db`: minus the same model's decoded once. `decode_ms`: median of
{args.repeat} decodes of one 481x321 image at quality 10 (fp32, JPEG decoding included);
`decode_x`: that over the shipped `post64s2`'s, timed in the same run (issue 19 allows 4x).
Generated by `benchmarks/post_filters.py ensemble`.
""",
        dict(model=args.model, sizes=args.sizes, qualities=args.qualities, repeat=args.repeat),
    )
    print(table.round(3).to_string(index=False))
    print(f"wrote {path}")


def run_constraint(args) -> None:
    """The post-filter's output against the quantisation intervals of its own JPEG file."""
    from _common import write_table

    images = load_dataset_gray("bsds300_test")
    codec = Codec.load(args.model)
    table = quantisation_constraint_table(codec, images, args.qualities, progress=True)
    path = write_table(
        table.round(4),
        "post_filter_constraint",
        f"{codec.name} against the quantisation intervals of its JPEG file",
        f"""
The {len(images)} BSDS300 test images in grayscale at native size, coded by JPEG at the
inner quality and decoded by `{codec.name}`. Each 8x8 block's coefficient was coded as
`k = round(c / q)`, so the original's lay within half a step of `k * q`;
`comp_lib.dct.quantisation_projection` clips the output's coefficients into those
intervals (the projection onto the images the file allows: it brings no guess farther from
the original, up to libjpeg's integer DCT and the rounding to 8 bits). `moved_percent`: the
share of the output's coefficients outside their interval; `psnr_jpeg`, `psnr` (the
post-filter's), `psnr_projected`: means in dB; `projection_gain_db`: the last two's
difference. Generated by `benchmarks/post_filters.py constraint`.
""",
        dict(model=args.model, qualities=args.qualities),
    )
    print(table.round(4).to_string(index=False))
    print(f"wrote {path}")


def run_curve(args) -> None:
    """The chosen post-filter's training curve: validation gain against wall time."""
    from _common import write_csv

    from comp_lib.train.validation import gain_per_doubling
    from comp_lib.zoo import model_file

    run = Path(args.model)
    if (run / "log.csv").is_file():  # a run folder: its log and the settings it trained with
        log_file, training = run / "log.csv", json.loads((run / "config.json").read_text())
    else:  # a shipped model: its log beside it, its settings in its metadata
        log_file = model_file(args.model).with_suffix(".log.csv")
        training = Codec.load(args.model).metadata["training"]
    log = pd.read_csv(log_file)
    minutes = log.seconds.sum() / 60
    meta = dict(model=args.model, log=log_file.name)
    print(write_csv(log, f"{args.table}_log", meta))
    name = Path(args.model).name.removesuffix(".pt")
    qualities = ", ".join(map(str, training["val_quality"]))
    fig = figures.plot_gain_over_time(
        {name: log}, {name: args.label},
        f"{name}: validation gain at qualities {qualities} over {minutes:.0f} minutes "
        "of training (above 0 dB: beats JPEG at equal rate)",
    )  # fmt: skip
    print(figures.save_figure(fig, args.table))
    pace = gain_per_doubling(log)
    print(write_csv(pace, f"{args.table}_pace", meta))
    fig = figures.plot_gain_by_steps(
        log, name, f"{name}: validation gain at qualities {qualities} against the steps; "
        "the dashed segments give each phase's pace"
    )  # fmt: skip
    print(figures.save_figure(fig, f"{args.table}_steps"))
    shown = log[["epoch", "step", "lr", "val_gain_db", "seconds"]]
    print(shown.to_string(index=False, formatters={"lr": "{:.2e}".format,
                                                   "val_gain_db": "{:+.3f}".format}))  # fmt: skip
    print(pace.round(3).to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, help="what to do")
    s = sub.add_parser("screen", help="train every variant for the same time, then judge them")
    s.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                   help="the variants to train, in order")  # fmt: skip
    s.add_argument("--budget-s", type=float, default=480.0, help="wall time per variant")
    s.add_argument("--epochs", type=int, default=4, help="validations per run (sized steps)")
    s.add_argument("--batch", type=int, default=16, help="crops per step")
    s.add_argument("--patch", type=int, default=64, help="crop side in pixels")
    s.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate")
    s.add_argument("--lr-decay", type=float, default=0.8, help="lr factor per epoch")
    s.add_argument("--warmup", type=int, default=50, help="steps of linear learning-rate warm-up")
    s.add_argument(
        "--qualities",
        type=int,
        nargs="+",
        default=[5, 10, 20, 40],
        help="JPEG qualities of the final judgement",
    )
    s.add_argument("--bank-qualities", type=int, nargs="+", default=BANK_QUALITIES,
                   help="JPEG qualities the training images are coded at")  # fmt: skip
    s.add_argument("--runs", type=Path, default=RUNS, help="folder of the runs")
    s.add_argument("--pack", type=Path, default=None,
                   help="images from a pack (python -m comp_lib.train.bank pack) instead of the "
                        "data folder")  # fmt: skip
    s.add_argument("--limit", type=int, default=None, help="the first N training images only")
    c = sub.add_parser("cost", help="decode time of the post-filters on two image sizes")
    c.add_argument("--models", nargs="+", default=["post64s2lo", "post64s2hi", "unet32q"],
                   help="shipped post-filters to time beside post64s2 (the unit)")  # fmt: skip
    c.add_argument("--runs", type=Path, default=RUNS, help="screened runs to time too")
    c.add_argument("--repeat", type=int, default=5, help="timed decodes per model")
    t = sub.add_parser("test", help="post-filters against JPEG on BSDS300 test (the target)")
    t.add_argument("--models", nargs="+", default=["post64s2lo"],
                   help="shipped model names or checkpoint files")  # fmt: skip
    t.add_argument("--qualities", type=int, nargs="+", default=[5, 10, 20],
                   help="inner JPEG qualities")  # fmt: skip
    e = sub.add_parser("ensemble", help="a post-filter decoded as a self-ensemble: gain, cost")
    e.add_argument("--model", default="unet32q", help="a shipped post-filter or checkpoint")
    e.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 8],
                   help="self-ensemble sizes (1, 2, 4, 8), the first the reference")  # fmt: skip
    e.add_argument("--qualities", type=int, nargs="+", default=[10], help="inner JPEG qualities")
    e.add_argument("--repeat", type=int, default=3, help="timed decodes per size")
    q = sub.add_parser("constraint", help="the output against its file's quantisation intervals")
    q.add_argument("--model", default="unet32q", help="a shipped post-filter or checkpoint")
    q.add_argument("--qualities", type=int, nargs="+", default=[5, 10, 20, 40, 75],
                   help="inner JPEG qualities")  # fmt: skip
    k = sub.add_parser("curve", help="the chosen post-filter's training curve")
    k.add_argument("--model", default="unet32q",
                   help="a shipped model (its .log.csv) or a run folder (its log.csv)")  # fmt: skip
    k.add_argument("--label", default=VARIANTS["unet32q"][0], help="what it is, for the legend")
    k.add_argument("--table", default="post_filter_long",
                   help="stem of the tables (_log, _pace) and figures (, _steps)")  # fmt: skip
    args = parser.parse_args()
    run = {"screen": run_screen, "cost": run_cost, "test": run_test,
           "ensemble": run_ensemble, "constraint": run_constraint,
           "curve": run_curve}  # fmt: skip
    run[args.command](args)


if __name__ == "__main__":
    main()
