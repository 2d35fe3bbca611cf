"""Quality of the shipped codecs against JPEG at equal rate, on BSDS300 test (issue 4's target).

The 100 BSDS300 test images in grayscale at native size (481x321 and 321x481: odd
sides; a down/up model codes a 241x161 compact image and crops back after
upsampling, a post-filter codes the image itself), bpp from the real bytes of each
bitstream, header included. Each model sweeps its inner JPEG quality; a ladder
(``--ladder``, :class:`comp_lib.coding.Ladder`: the best shipped model at each rate,
chosen on validation images) is a codec of its own, whose rows are its models' rows at
its rungs (:func:`comp_lib.evaluate.ladder_rows`: the same bytes and pixels, as
``tests/test_evaluate.py`` checks), so the models' sweeps include every rung (a
ladder model not named, such as its plain-JPEG rungs, is run at its rungs only). The
anchor is JPEG with the same `comp_lib.jpeg` settings (optimized Huffman) at qualities
1..95; the no-learning baseline (bicubic /2, JPEG, bicubic x2) is shown too. Writes
``reports/tables/model_quality_<name>.{csv,md}`` with BD-rate up to 0.6 bpp and
PSNR/SSIM at 0.1, 0.2, 0.3 and 0.5 bpp, ``model_quality_<name>_bd.csv`` and the
per-setting curves as ``model_quality_<name>_curves.csv``.

``--self-ensemble N`` decodes the post-filters (models without ComCNN) averaged over N
flips and transposes (:mod:`comp_lib.coding.ensemble`): the same bytes, N times the work.

Usage: ``python benchmarks/model_quality.py MODEL [MODEL ...] [--ladder NAME] [--name NAME]
[--limit N] [--self-ensemble N]``
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from comp_lib.baselines import JPEGCodec
from comp_lib.coding import BicubicCodec, Ladder, use_self_ensemble
from comp_lib.data import load_dataset_gray
from comp_lib.evaluate import evaluate, ladder_rows
from comp_lib.rd import at_rates, bd_table, rd_curves
from comp_lib.studies.constants import FIXED_RATES
from comp_lib.zoo import load_model

JPEG_QUALITIES = (1, 2, 3, 4, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 95)
#: inner qualities of a down/up model (its compact image needs higher qualities for a rate)
OUR_QUALITIES = (5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90)
#: inner qualities of a post-filter (the image itself is coded: JPEG's own range up to 0.6 bpp+)
POST_QUALITIES = (1, 2, 3, 4, 5, 7, 10, 15, 20, 25, 30)


def main() -> None:
    from _common import write_csv, write_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="checkpoint files or shipped model names")
    parser.add_argument("--ladder", default=None, help="a shipped ladder (or ladder file)")
    parser.add_argument("--name", default=None, help="table name (default: the first codec)")
    parser.add_argument("--limit", type=int, default=None, help="first N test images only")
    parser.add_argument(
        "--max-rate",
        type=float,
        default=0.6,
        help="BD-rates over the rates both curves cover up to this bpp",
    )
    parser.add_argument(
        "--self-ensemble",
        type=int,
        default=1,
        choices=(1, 2, 4, 8),
        help="decode the post-filters (models without ComCNN) averaged over this many flips "
        "and transposes (comp_lib.coding.ensemble; default 1: once)",
    )
    args = parser.parse_args()
    if not args.models and not args.ladder:
        parser.error("name at least one model or a --ladder")
    torch.set_num_threads(torch.get_num_threads())
    names = [str(m).split("/")[-1].removesuffix(".pt") for m in args.models]
    name = args.name or (args.ladder if args.ladder else names[0])
    images = load_dataset_gray("bsds300_test", limit=args.limit)
    start = time.perf_counter()
    frames = [
        evaluate(JPEGCodec(), images, JPEG_QUALITIES, "JPEG"),
        evaluate(BicubicCodec(), images, OUR_QUALITIES, "bicubic+JPEG"),
    ]
    described, labels = [], {}  # labels: a model's header name -> its label in the rows
    ladder = Ladder.load(args.ladder) if args.ladder else None
    ensembled = []
    if ladder is not None and args.self_ensemble > 1:
        ensembled += ladder.set_self_ensemble(args.self_ensemble)
    for model, label in zip(args.models, names, strict=True):
        codec = load_model(model)
        if args.self_ensemble > 1 and use_self_ensemble(codec, args.self_ensemble):
            ensembled.append(codec.name)
        labels[codec.name] = label
        qualities = set(POST_QUALITIES if getattr(codec, "comcnn", None) is None else OUR_QUALITIES)
        if ladder is not None:
            qualities |= {q for m, q in ladder.rungs if m == codec.name}
        frames.append(evaluate(codec, images, sorted(qualities), label))
        described.append(f"- `{label}`: {codec.metadata.get('training', {})}")
    rows = pd.concat(frames, ignore_index=True)
    if ladder is not None:
        extra = [m for m in ladder.codecs if m not in labels]  # e.g. its plain-JPEG rungs
        parts = [rows] + [
            evaluate(ladder.codecs[m], images, sorted({q for r, q in ladder.rungs if r == m}), m)
            for m in extra
        ]
        both = pd.concat(parts, ignore_index=True)
        labels |= {m: m for m in extra}
        described += [
            f"- `{m}`: run at its rungs of the ladder only ("
            + (
                "plain JPEG behind the header"
                if m == "jpeg"
                else "its card says how it was trained"
            )
            + ")"
            for m in extra
        ]
        rows = pd.concat([rows, ladder_rows(both, ladder, ladder.name, labels)], ignore_index=True)
        rungs = ", ".join(f"{m} q{q}" for m, q in ladder.rungs)
        described.append(f"- `{ladder.name}` (ladder, chosen on validation images): {rungs}")
    seconds = time.perf_counter() - start
    curves = rd_curves(rows)
    write_csv(curves, f"model_quality_{name}_curves")
    bd = bd_table(curves, anchor="JPEG", max_rate=args.max_rate)
    fixed = at_rates(curves, FIXED_RATES).pivot(
        index="bpp", columns="codec", values=["psnr", "ssim"]
    )
    fixed.columns = [f"{m} {c}" for m, c in fixed.columns]
    fixed = fixed.reset_index()
    for label in [*names, *([ladder.name] if ladder else [])]:
        fixed[f"psnr gain {label} - JPEG"] = fixed.get(f"psnr {label}") - fixed.get("psnr JPEG")
    decode = curves.groupby("codec").decode_ms.mean().round(0)
    if ensembled:
        described.append(
            f"- decoded as a self-ensemble of {args.self_ensemble} (the same bytes, the network "
            f"averaged over flips and transposes, `Codec.self_ensemble`): {', '.join(ensembled)}"
        )
    models = "\n".join(described)
    notes = f"""
{len(images)} BSDS300 test images, grayscale, native size; bpp from real bytes (header
included); JPEG anchor with the same settings (baseline, optimized Huffman). BD-rate over
the rates both curves cover up to {args.max_rate} bpp (pchip). Codecs:

{models}

Mean decode time per image (ms): {decode.to_dict()}. Whole evaluation: {seconds:.0f} s.
Generated by `benchmarks/model_quality.py`.

## Bjontegaard deltas against JPEG

{bd.round(3).to_markdown(index=False)}

## At fixed rates (NaN: the curve does not reach that rate)
"""
    path = write_table(fixed.round(4), f"model_quality_{name}", f"{name} against JPEG", notes)
    write_csv(bd, f"model_quality_{name}_bd")
    print(bd.round(3).to_string(index=False))
    print(fixed.round(3).T.to_string())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
