"""Command line: compress, decompress, inspect and evaluate, like cjpeg/djpeg.

::

    comp-lib compress IN... OUT (--quality Q | --bpp B) [--model NAME]  # images -> .cjr
    comp-lib decompress IN... OUT [--model NAME]            # .cjr -> PNG
    comp-lib info FILE...                                   # header fields, size, bpp
    comp-lib evaluate FOLDER [--codecs ...] [--csv FILE]     # mean bpp / PSNR / SSIM per setting

``python -m comp_lib`` is the same program. ``IN`` may be files, folders or glob
patterns; with several inputs (or a folder) ``OUT`` is a folder.

Inputs (:func:`comp_lib.data.load_image`): grayscale files are coded as grayscale,
colour files (RGB, palette, CMYK, ...) in colour (YCbCr), camera RAWs developed to
sRGB. 16-bit (and float) files are reduced to 8 bits per sample, with a notice.
Transparency is refused, naming the file, unless ``--alpha drop`` (code the colours
as stored) or ``--alpha flatten`` (onto white); an opaque alpha channel is dropped.
Notices go to stderr, even with ``--quiet``.

``--model`` names a shipped model, a checkpoint file, or a shipped *ladder*
(``best``: the best shipped model at each rate, :class:`comp_lib.coding.Ladder`).
``--quality`` is a model's inner JPEG quality; ``--bpp`` codes each image at the
highest setting (quality, or ladder rung) whose real bytes fit that many bits per
pixel (:func:`comp_lib.coding.compress_at_bpp`); a ladder takes ``--bpp`` only.

``decompress`` decodes each file with the shipped model its header names (``--model``
overrides; a file made by another model is refused, naming both), and writes a
grayscale or an RGB PNG. ``evaluate`` works in grayscale.

A file that cannot be read or decoded is reported and skipped. Exit status: 0 all
files done, 1 some files failed, 2 usage error (bad arguments, no input found).
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

from PIL import Image
from tqdm.auto import tqdm

__all__ = ["main"]

SUFFIX = ".cjr"
DEFAULT_MODEL = "rec32x20"
ALPHA_CHOICES = ("refuse", "drop", "flatten")  # comp_lib.data.ALPHA_POLICIES, without importing it


class UsageError(Exception):
    """Bad arguments: exit status 2."""


def _expand(inputs: list[str], suffixes: tuple[str, ...] | None) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file()
                            and (suffixes is None or p.suffix.lower() in suffixes))  # fmt: skip
        elif path.is_file():
            files.append(path)
        else:
            matches = sorted(Path(p) for p in glob.glob(item) if Path(p).is_file())
            if not matches:
                raise UsageError(f"no such file, folder or match: {item}")
            files += matches
    if not files:
        raise UsageError("no input files")
    return files


def _targets(files: list[Path], out: str, suffix: str, many: bool) -> list[Path]:
    out_path = Path(out)
    if many or out_path.is_dir():
        out_path.mkdir(parents=True, exist_ok=True)
        return [out_path / (f.stem + suffix) for f in files]
    return [out_path]


def _batch(files, targets, work, desc: str, quiet: bool) -> int:
    """Run ``work(src, dst)`` on each pair; report failures and go on. Returns the exit status."""
    failed = 0
    for src, dst in tqdm(list(zip(files, targets, strict=True)), desc=desc, disable=quiet):
        try:
            work(src, dst)
        except (ValueError, TypeError, OSError) as err:
            failed += 1
            tqdm.write(f"error: {src}: {err}", file=sys.stderr)
    if failed:
        print(f"{failed} of {len(files)} file(s) failed", file=sys.stderr)
    return 1 if failed else 0


def _write(path: Path, data: bytes) -> None:
    from comp_lib.files import atomic_write

    atomic_write(path, data)


def _note(src: Path, text: str) -> None:
    tqdm.write(f"note: {src}: {text}", file=sys.stderr)


def _load_coder(model: str):
    """A shipped ladder (or ``*.ladder.json`` file) as a Ladder; anything else as a Codec."""
    from comp_lib.coding import Codec, Ladder
    from comp_lib.config import WEIGHTS_DIR

    if str(model).endswith(".ladder.json") or (WEIGHTS_DIR / f"{model}.ladder.json").is_file():
        return Ladder.load(model)
    return Codec.load(model).eval()


def cmd_compress(args) -> int:
    from comp_lib.coding import Ladder, compress_at_bpp
    from comp_lib.data import IMAGE_SUFFIXES, RAW_SUFFIXES, load_image
    from comp_lib.jpeg import check_quality

    if (args.quality is None) == (args.bpp is None):
        raise UsageError("give either --quality or --bpp")
    if args.quality is not None:
        check_quality(args.quality)
    elif not args.bpp > 0:
        raise UsageError(f"--bpp must be > 0, got {args.bpp}")
    files = _expand(args.inputs, IMAGE_SUFFIXES + RAW_SUFFIXES)
    targets = _targets(files, args.output, SUFFIX, len(files) > 1 or Path(args.inputs[0]).is_dir())
    codec = _load_coder(args.model)
    if isinstance(codec, Ladder) and args.quality is not None:
        raise UsageError(f"{args.model} is a ladder of several models: give --bpp, not --quality")

    def work(src: Path, dst: Path) -> None:
        image, notes = load_image(src, alpha=args.alpha)
        for text in notes:
            _note(src, text)
        if args.bpp is None:
            data, how = codec.compress(image, args.quality, chroma=args.chroma), ""
        else:
            data, setting = compress_at_bpp(codec, image, args.bpp, chroma=args.chroma)
            if isinstance(codec, Ladder):
                model, quality = codec.rungs[setting]
                how = f", rung {setting} ({model} q{quality})"
            else:
                how = f", quality {setting}"
        _write(dst, data)
        pixels = image.shape[0] * image.shape[1]
        if args.bpp is not None and 8 * len(data) / pixels > args.bpp:
            _note(src, f"even the lowest setting takes {8 * len(data) / pixels:.4f} bpp "
                  f"(asked {args.bpp})")  # fmt: skip
        if not args.quiet:
            kind = "colour" if image.ndim == 3 else "gray"
            tqdm.write(f"{src} -> {dst}: {kind}, {len(data)} bytes, "
                       f"{8 * len(data) / pixels:.4f} bpp{how}")  # fmt: skip

    return _batch(files, targets, work, "compress", args.quiet)


def cmd_decompress(args) -> int:
    from comp_lib.coding import FIXED_CODERS, parse_header, use_self_ensemble
    from comp_lib.zoo import load_model, shipped_models

    files = _expand(args.inputs, (SUFFIX,))
    targets = _targets(files, args.output, ".png", len(files) > 1 or Path(args.inputs[0]).is_dir())
    codecs: dict = {}

    def codec_for(model: str):
        if model not in codecs:
            codecs[model] = load_model(model)  # a shipped model, or plain JPEG / bicubic
            if not use_self_ensemble(codecs[model], args.self_ensemble) and args.self_ensemble > 1:
                tqdm.write(f"note: model {model} is not a post-filter: --self-ensemble does not "
                           "apply, it decodes once", file=sys.stderr)  # fmt: skip
        return codecs[model]

    if args.model is not None:
        codec_for(args.model)  # an unknown model is a usage error, before any file

    def work(src: Path, dst: Path) -> None:
        data = src.read_bytes()
        header = parse_header(data)
        if args.model is not None:
            model = args.model
        elif header["model"] in shipped_models() or header["model"] in FIXED_CODERS:
            model = header["model"]
        elif header["fingerprint"] is None or header["model"] is None:
            model = DEFAULT_MODEL
            why = "a version 1 file" if header["version"] == 1 else "the file"
            _note(src, f"{why} names no model; decoding with {model} (--model to choose)")
        else:
            raise ValueError(
                f"made by model {header['model']!r} (fingerprint {header['fingerprint']}), "
                f"which is not shipped (shipped: {', '.join(shipped_models()) or 'none'}); "
                "pass its checkpoint with --model"
            )
        x_hat = codec_for(model).decompress(data)
        tmp = dst.with_name(f".{dst.name}.tmp.png")
        Image.fromarray(x_hat).save(tmp)  # (H, W): grayscale PNG, (H, W, 3): RGB PNG
        tmp.replace(dst)
        if not args.quiet:
            tqdm.write(f"{src} -> {dst} (model {model})")

    return _batch(files, targets, work, "decompress", args.quiet)


def cmd_info(args) -> int:
    from comp_lib.coding import parse_header

    files = _expand(args.inputs, None)

    def work(src: Path, _) -> None:
        data = src.read_bytes()
        h = parse_header(data)
        model = "none (version 1)" if h["version"] == 1 else (
            f"{h['model'] or 'unnamed'} (fingerprint {h['fingerprint']})")  # fmt: skip
        print(f"{src}: format version {h['version']}, {h['height']}x{h['width']}, quality "
              f"{h['quality']}, colour {h['colour']}, model {model}, {len(data)} bytes "
              f"({h['header_size']} header + {len(h['payload'])} JPEG), "
              f"{8 * len(data) / (h['height'] * h['width']):.4f} bpp")  # fmt: skip

    return _batch(files, files, work, "info", True)


def cmd_evaluate(args) -> int:
    import pandas as pd

    from comp_lib.baselines import BASELINES
    from comp_lib.coding import BicubicCodec, BitstreamCoder
    from comp_lib.data import IMAGE_SUFFIXES, load_gray
    from comp_lib.evaluate import evaluate
    from comp_lib.rd import rd_curves

    names = {name.lower().replace(" ", ""): name for name in BASELINES}
    images, failed = [], 0
    for f in _expand([args.folder], IMAGE_SUFFIXES):
        try:
            images.append((f.stem, load_gray(f)))
        except ValueError as err:
            failed += 1
            print(f"error: {err}", file=sys.stderr)
    if not images:
        raise UsageError(f"no readable image in {args.folder}")
    frames = []
    for key in args.codecs:
        k = key.lower().replace(" ", "")
        if k == "ours":
            codec = _load_coder(args.model)
        elif k == "bicubic":
            codec = BicubicCodec()
        elif k in names:
            codec = BASELINES[names[k]]()
        else:
            raise UsageError(f"unknown codec {key!r}; known: ours, bicubic, {', '.join(names)}")
        # --qualities sweeps the inner JPEG quality of our coders; a ladder sweeps its
        # rungs and the anchors their own default settings
        settings = args.qualities if isinstance(codec, BitstreamCoder) else codec.settings
        frames.append(evaluate(codec, images, settings, key, progress=not args.quiet))
    rows = pd.concat(frames, ignore_index=True)
    curves = rd_curves(rows)
    print(curves.round(4).to_string(index=False))
    if args.csv:
        rows.to_csv(args.csv, index=False)
        print(f"wrote {args.csv} ({len(rows)} rows)")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comp-lib", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, help="what to do")
    p = sub.add_parser("compress", help="images -> .cjr bitstreams")
    p.add_argument("inputs", nargs="+", help="image files, folders or globs")
    p.add_argument("output", help="output file (one input) or folder")
    p.add_argument("--quality", "-q", type=int, help="inner JPEG quality 1..95")
    p.add_argument("--bpp", type=float, help="highest setting within this many bits per pixel")
    p.add_argument("--model", "-m", default=DEFAULT_MODEL,
                   help="shipped model, checkpoint, or shipped ladder (best)")  # fmt: skip
    p.add_argument(
        "--alpha",
        choices=ALPHA_CHOICES,
        default="refuse",
        help="transparency: refuse the file (default), drop it, or flatten onto white",
    )
    p.add_argument(
        "--chroma",
        choices=("jpeg", "cnn"),
        default="jpeg",
        help="colour: chroma by JPEG alone (default) or through the networks too",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_compress)
    p = sub.add_parser("decompress", help=".cjr bitstreams -> PNG")
    p.add_argument("inputs", nargs="+", help=".cjr files, folders or globs")
    p.add_argument("output", help="output PNG (one input) or folder")
    p.add_argument(
        "--model",
        "-m",
        default=None,
        help="shipped model or checkpoint (default: the model the file names)",
    )
    p.add_argument(
        "--self-ensemble",
        type=int,
        choices=(1, 2, 4, 8),
        default=1,
        help="post-filters: average the network over this many flips and transposes "
        "(more PSNR for that many times the work, same file; default 1: once)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_decompress)
    p = sub.add_parser("info", help="print the header of bitstreams")
    p.add_argument("inputs", nargs="+", help=".cjr files, folders or globs")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("evaluate", help="mean bpp / PSNR / SSIM of codecs over a folder")
    p.add_argument("folder", help="a folder of images, or a glob")
    p.add_argument(
        "--codecs",
        nargs="+",
        default=["jpeg", "ours"],
        help="codecs: ours, bicubic, jpeg, webp, avif, jpeg2000, jpegxl (default: jpeg ours)",
    )
    p.add_argument(
        "--qualities",
        type=int,
        nargs="+",
        default=[5, 10, 20, 40, 60, 80, 90],
        help="inner JPEG qualities of ours (a model) and bicubic (default: 5 10 20 40 60 80 90)",
    )
    p.add_argument(
        "--model", "-m", default=DEFAULT_MODEL, help="ours: shipped model, checkpoint or ladder"
    )
    p.add_argument("--csv", help="write the per-image rows here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on bad arguments
    try:
        return args.func(args)
    except UsageError as err:
        print(f"comp-lib {args.command}: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, TypeError) as err:  # an unknown model, a bad quality
        print(f"comp-lib {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
