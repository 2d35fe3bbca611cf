"""The shipped models and ladders: list them, load them by name, ship new ones with a card.

Shipped files live in ``comp_lib/weights`` (:data:`comp_lib.config.WEIGHTS_DIR`)::

    <name>.pt            a codec checkpoint (:mod:`comp_lib.coding.checkpoint`)
    <name>.md            its model card: data, training, validation at the shipped epoch
    <name>.log.csv       its training log
    <name>.ladder.json   a ladder: rungs (model, inner quality) and their validation rates
    <name>.ladder.md     its card: the curves its rungs were chosen from

``Codec.load(name)`` and ``Ladder.load(name)`` read them offline; :func:`ship` and
:func:`ship_ladder` write them from a training run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from comp_lib.coding import FIXED_CODERS, Codec
from comp_lib.config import WEIGHTS_DIR, cpu_name, git_commit
from comp_lib.files import atomic_write
from comp_lib.models import RecCNN
from comp_lib.train.config import applied_settings

__all__ = [
    "chained_log",
    "ladder_file",
    "load_model",
    "model_file",
    "ship",
    "ship_ladder",
    "shipped_ladders",
    "shipped_models",
]


def shipped_models() -> list[str]:
    """Names of the models shipped in ``comp_lib/weights`` (``Codec.load(name)`` loads them)."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))


def shipped_ladders() -> list[str]:
    """Names of the ladders shipped in ``comp_lib/weights`` (``Ladder.load(name)``)."""
    return sorted(p.name.removesuffix(".ladder.json") for p in WEIGHTS_DIR.glob("*.ladder.json"))


def model_file(path: str | os.PathLike) -> Path:
    """A checkpoint file, or the file of the shipped model of that name."""
    file = Path(path)
    if file.is_file():
        return file
    shipped = WEIGHTS_DIR / f"{path}.pt"
    if str(path) in shipped_models() and shipped.is_file():
        return shipped
    raise FileNotFoundError(
        f"no checkpoint file {str(path)!r} and no shipped model of that name "
        f"(shipped: {', '.join(shipped_models()) or 'none yet'})"
    )


def ladder_file(path: str | os.PathLike) -> Path:
    """A ladder file, or the file of the shipped ladder of that name."""
    file = Path(path)
    if file.is_file():
        return file
    file = WEIGHTS_DIR / f"{path}.ladder.json"
    if file.is_file():
        return file
    raise FileNotFoundError(
        f"no ladder file {str(path)!r} and no shipped ladder of that name "
        f"(shipped: {', '.join(shipped_ladders()) or 'none'})"
    )


def load_model(name: str):
    """A shipped model (:meth:`Codec.load`, eval mode), or the fixed coder of that name.

    The fixed coders (:data:`comp_lib.coding.FIXED_CODERS`) are ``"jpeg"`` and ``"bicubic"``.
    """
    if name in FIXED_CODERS:
        return FIXED_CODERS[name]()
    return Codec.load(name).eval()


def chained_log(earlier: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    """One training log of a model trained in phases: ``later`` continued from ``earlier``.

    ``later`` is the log of a run initialised from the model ``earlier`` logs: its
    epoch-0 row (the validation of that starting point) is dropped, its time counted in
    the next row, its epochs and steps count on from ``earlier``'s last, and a ``phase``
    column (1 for a log without one) tells the phases apart; ``seconds`` stays per
    epoch, so their sum is the wall time of every phase.
    """
    earlier = earlier.copy()
    if "phase" not in earlier:
        earlier["phase"] = 1
    start = later.epoch == 0
    start_seconds = float(later.loc[start, "seconds"].sum())
    later = later[~start].copy()
    if len(later):
        later.loc[later.index[0], "seconds"] += start_seconds
    later["epoch"] += int(earlier.epoch.max())
    later["step"] += int(earlier.step.max())
    later["phase"] = int(earlier.phase.max()) + 1
    return pd.concat([earlier, later], ignore_index=True)


def ship(run_dir, name: str, notes: str = "", continues: str | None = None) -> Path:
    """Ship a run's best checkpoint as ``comp_lib/weights/<name>.pt`` with a model card.

    Writes ``<name>.pt`` (the codec, fp32 state dicts), ``<name>.log.csv`` (the
    training log) and ``<name>.md``: data, scheme and settings, steps, wall time,
    machine and world size (data-parallel processes), and the validation figures of
    the shipped epoch; ``notes`` is
    appended (e.g. the test-set results). ``Codec.load(name)`` then loads it offline.
    ``continues`` names the shipped model the run started from (``--init``; it may be
    ``name`` itself): the shipped log is then both phases' (:func:`chained_log`), and
    the card counts steps, epochs and wall time over both.
    """
    run_dir = Path(run_dir)
    codec = Codec.load(run_dir / "best.pt")
    log = pd.read_csv(run_dir / "log.csv")
    best = dict(codec.metadata.get("validation", {}))
    phases = ""
    if continues is not None:
        earlier = pd.read_csv(WEIGHTS_DIR / f"{continues}.log.csv")  # before it is replaced
        log = chained_log(earlier, log)
        best["epoch"] = int(best.get("epoch", 0)) + int(earlier.epoch.max())
        phases = (f" in {int(log.phase.max())} phases (the log's `phase` column; the "
                  f"last continues the shipped `{continues}`; the settings below are "
                  "its)")  # fmt: skip
        codec.metadata["continues"] = continues
    config = applied_settings(codec.metadata.get("training", {}))
    codec.metadata["training"] = config
    data_file = run_dir / "data.json"
    data = (
        json.loads(data_file.read_text()) if data_file.is_file() else codec.metadata.get("data", {})
    )  # fmt: skip  (comp_lib.train.bank stores it there)
    codec.metadata |= {"name": name, "data": data}
    codec.name = name  # the shipped name goes into every header it writes
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    path = codec.save(WEIGHTS_DIR / f"{name}.pt")
    atomic_write(WEIGHTS_DIR / f"{name}.log.csv", log.to_csv(index=False))
    n_params = sum(p.numel() for p in codec.parameters())
    module = "comp_lib.train.bank" if config.get("scheme") == "bank" else "comp_lib.train"
    machine = best.get("machine") or f"{cpu_name()} ({os.cpu_count()} cores, CPU only)"
    world_size = int(config.get("world_size", 1))  # data-parallel processes (torchrun)
    processes = "1 process" if world_size == 1 else f"{world_size} data-parallel processes (DDP)"
    hours = log.seconds.sum() / 3600
    rows = "\n".join(f"| {k} | `{v}` |" for k, v in config.items())
    body = codec.reccnn.description
    if codec.comcnn is None and isinstance(codec.reccnn, RecCNN):
        what = (f"RecCNN only ({body}): a JPEG post-filter at full resolution, the *RecCNN "
                "only* configuration of Jiang et al. (2017), Table I")  # fmt: skip
    elif codec.comcnn is None:
        what = (f"A JPEG post-filter at full resolution ({body}): not the paper's RecCNN, "
                "but in its place in the *RecCNN only* configuration of Jiang et al. (2017), "
                "Table I")  # fmt: skip
    else:
        what = f"ComCNN + RecCNN ({body}) of Jiang et al. (2017)"
    if config.get("scheme") == "bank":
        data_line = (
            f"{data.get('train_files', '?')} training images at native size (the union of the "
            f"train splits of the default corpora of {data.get('n_images', '?')} images: BSDS300 "
            "train and Train400, grayscale), each coded whole at every training quality "
            f"(`comp_lib.train.bank`), validated on the {data.get('val_files', '?')} held-out "
            "validation images (`data.holdout_images`)"
        )
    elif config.get("native_tiles"):
        tile = config["native_tiles"]
        data_line = (
            f"{data.get('train', '?')} tiles of {tile}x{tile} cut at native scale from the "
            f"{data.get('train_files', '?')} training images of the corpus "
            f"(`notebooks/00_preprocessing` with {data.get('n_images', '?')} images: BSDS300 "
            f"train and Train400, grayscale), validated on the first {data.get('val', '?')} "
            "tiles of its validation images"
        )
    else:
        data_line = (
            f"the default corpus of `notebooks/00_preprocessing`, "
            f"{data.get('train', 450)} training images (BSDS300 train and Train400, grayscale, "
            "180x180), validated on the first validation images"
        )
    card = f"""# Model card: {name}

{what}, {n_params:,} parameters, {path.stat().st_size / 1e6:.2f} MB (fp32).
Load it with `Codec.load("{name}")`.

- **Data**: {data_line}.
- **Training**: `{module}`, scheme `{config.get("scheme")}`, {int(log.step.iloc[-1])}
  RecCNN steps over {int(log.epoch.max())} epochs{phases}; shipped epoch {best.get("epoch", "?")}
  (best validation gain over JPEG at equal bpp). Wall time {hours:.2f} h on {machine},
  {processes} (world size {world_size}), git {git_commit()}.
- **Validation at the shipped epoch** (real codec, mean over qualities
  {config.get("val_quality")}): PSNR {best.get("val_psnr", float("nan")):.3f} dB, SSIM
  {best.get("val_ssim", float("nan")):.4f}, {best.get("val_bpp", float("nan")):.4f} bpp; JPEG at
  the same bpp {best.get("val_jpeg_psnr", float("nan")):.3f} dB, gain
  {best.get("val_gain_db", float("nan")):+.3f} dB.

## Settings

| setting | value |
|---|---|
{rows}

Training log: `{name}.log.csv`.
{notes}
"""
    atomic_write(WEIGHTS_DIR / f"{name}.md", card)
    return path


def _corpus_sizes(codec) -> list:
    """The corpus sizes a shipped model trained on (500 by default; none for fixed coders)."""
    data = getattr(codec, "metadata", None)
    if data is None:
        return []
    data = data.get("data", {})
    sizes = data.get("n_images", 500)
    return sizes if isinstance(sizes, list) else [sizes]


def ship_ladder(
    name: str, models: list[str], qualities, progress: bool = True, hull: bool = True
) -> Path:
    """Ship the best of several shipped models at each rate as ``weights/<name>.ladder.json``.

    The rungs come from the models' PSNR envelope, by default its concave hull
    (:func:`comp_lib.evaluate.choose_ladder`) on the validation images that
    none of them trained on (:func:`comp_lib.data.holdout_images`; each model's
    corpus size is read from its metadata, 500 by default), at native size:
    never the test set. Writes the ladder and a card ``<name>.ladder.md`` with
    the rungs and the curves they were chosen from.
    """
    from comp_lib.data import build_corpus, holdout_images
    from comp_lib.evaluate import choose_ladder

    codecs = {m: load_model(m) for m in models}
    sizes = sorted({int(n) for c in codecs.values() for n in _corpus_sizes(c)})
    if not sizes:
        raise ValueError(
            f"ship_ladder: none of {models} is a trained model, so there is no training "
            "corpus whose held-out images could choose the rungs"
        )
    corpora = [build_corpus(n_images=n, progress=False) for n in sizes]
    images = holdout_images(corpora)
    ladder, curves = choose_ladder(
        codecs, images, qualities, name=name, progress=progress, hull=hull
    )
    path = ladder.save(WEIGHTS_DIR / f"{name}.ladder.json")
    chosen = pd.DataFrame(ladder.rungs, columns=["model", "quality"])
    chosen["holdout_bpp"] = ladder.bpp
    on = curves.set_index(["codec", "setting"])
    chosen["holdout_psnr"] = [round(float(on.loc[r, "psnr"]), 3) for r in ladder.rungs]
    rule = (
        " (its concave hull: a point below the chord of its neighbours is left out, as coding"
        " some images at each neighbour beats it on a mean curve)"
        if hull
        else ""
    )
    card = f"""# Ladder: {name}

The best of the shipped models {", ".join(f"`{m}`" for m in models)} at each rate: rung
`i` of `Ladder.load("{name}")` codes with the model and inner JPEG quality below (the
setting of `compress`), and `decompress` picks the model the header names. Chosen on the
upper PSNR envelope of the models' mean curves{rule} over {len(images)} validation images at native
size that none of them trained on (corpora of {sizes} images; qualities {list(qualities)}),
never on the test set. git {git_commit()}.

{chosen.to_markdown(index=False)}

## Curves it was chosen from

{curves[["codec", "setting", "bpp", "psnr", "ssim"]].round(4).to_markdown(index=False)}
"""
    atomic_write(WEIGHTS_DIR / f"{name}.ladder.md", card)
    return path
