"""Running the ablations: each variant trained once at the budget and tested against JPEG.

Each variant (:mod:`comp_lib.studies.ablations.definitions`) is a training run
(:class:`comp_lib.train.Trainer`), evaluated the same way:

* on the validation split, by the training loop itself (real codec; the best
  epoch's PSNR, bpp and gain over JPEG at the same bpp);
* on a test set (BSDS300 test), coded with the real codec at a sweep of inner
  JPEG qualities: BD-rate against JPEG (same :mod:`comp_lib.jpeg` settings)
  up to ``max_rate`` bpp, PSNR and SSIM at 0.3 bpp, and the PSNR gain over JPEG
  at the same bpp for each quality.

Runs are keyed by their settings (a hash of the training configuration and
the corpus size), so a run shared by several ablations (the budget's own
setting is the reference point of most of them) is trained once, and a
finished run is read back from ``result.json`` instead of being retrained:
an interrupted notebook resumes where it stopped (an unfinished run resumes
from its ``last.pt``).

Beside the runs: a network's cost (:func:`macs_per_pixel`) and its decode time measured
again one run after another (:func:`retime_decode`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from comp_lib import jpeg
from comp_lib.coding import BicubicCodec, Codec
from comp_lib.evaluate import evaluate
from comp_lib.files import atomic_write
from comp_lib.models import RecCNN
from comp_lib.rd import at_rates, bd_table, psnr_at_rate, rd_curves
from comp_lib.studies.ablations.definitions import SIZES, variants
from comp_lib.studies.constants import MAX_RATE
from comp_lib.train import TrainConfig, Trainer

__all__ = [
    "RESULT_COLUMNS",
    "gain_over",
    "macs_per_pixel",
    "retime_decode",
    "run_ablation",
    "run_ablations",
]

RESULT_COLUMNS = [
    "ablation",
    "variant",
    "seed",
    "run",
    "steps",
    "wall_s",
    "val_psnr",
    "val_bpp",
    "val_gain_db",
    "bd_rate_psnr_%",
    "bd_rate_ssim_%",
    "bd_psnr_db",
    "psnr_at_0.3",
    "ssim_at_0.3",
    "jpeg_psnr_at_0.3",
    "gain_at_0.3_db",
    "params",
    "gmac_per_mpx",
    "decode_ms",
]


def macs_per_pixel(net: RecCNN) -> float:
    """Multiply-accumulates per output pixel of a reconstruction network (convolutions only).

    Any network of :mod:`comp_lib.models.reconstruction`; a quality-aware one is told
    quality 10's table (its conditioning costs a few thousand multiply-adds per image,
    not per pixel, and is left out). A transposed convolution costs ``k x k x in x out``
    per *input* pixel.
    """
    macs = 0

    def hook(module, inputs, output):
        nonlocal macs
        k = module.kernel_size[0] * module.kernel_size[1]
        where = inputs[0] if isinstance(module, torch.nn.ConvTranspose2d) else output
        macs += where.shape[-2] * where.shape[-1] * module.out_channels * k * module.in_channels

    handles = [
        m.register_forward_hook(hook)
        for m in net.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    ]
    side = 64
    try:
        with torch.no_grad():
            quant = jpeg.quant_table(10) if getattr(net, "quality_aware", False) else None
            net.eval()(torch.zeros(1, net.config["in_channels"], side, side), quant)
    finally:
        for h in handles:
            h.remove()
    return macs / side**2


def gain_over(curve: pd.DataFrame, anchor: pd.DataFrame) -> np.ndarray:
    """PSNR of each point of ``curve`` minus the anchor's at the same bpp (log-rate interpolation).

    NaN outside the anchor's range of rates.
    """
    return curve.psnr.to_numpy() - psnr_at_rate(anchor, curve.bpp.to_numpy())


def _key(config: TrainConfig, n_images: int) -> str:
    blob = json.dumps({"config": config.to_dict(), "n_images": n_images}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _test_summary(codec, label, test_images, qualities, jpeg_curve, max_rate) -> tuple[dict, list]:
    """Code the test images; BD-rate, values at 0.3 bpp and per-quality gains over JPEG."""
    start = time.perf_counter()
    rows = evaluate(codec, test_images, qualities, label, progress=False)
    curve = rd_curves(rows)
    both = pd.concat([jpeg_curve, curve], ignore_index=True)
    bd = bd_table(both, "JPEG", max_rate=max_rate).iloc[0]
    at = at_rates(both, [0.3]).set_index("codec")
    curve = curve.assign(gain_db=gain_over(curve, jpeg_curve))
    summary = {
        "bd_rate_psnr_%": float(bd["bd_rate_psnr_%"]),
        "bd_rate_ssim_%": float(bd["bd_rate_ssim_%"]),
        "bd_psnr_db": float(bd["bd_psnr_db"]),
        "psnr_at_0.3": float(at.loc[label, "psnr"]),
        "ssim_at_0.3": float(at.loc[label, "ssim"]),
        "jpeg_psnr_at_0.3": float(at.loc["JPEG", "psnr"]),
        "gain_at_0.3_db": float(at.loc[label, "psnr"] - at.loc["JPEG", "psnr"]),
        "decode_ms": float(rows.decode_ms.mean()),
        "test_seconds": time.perf_counter() - start,
    }
    points = curve[["setting", "bpp", "psnr", "ssim", "gain_db"]].to_dict("records")
    return summary, points


def run_ablation(
    ablation: str,
    budget: dict,
    corpus_for,
    test_images: Sequence[tuple[str, np.ndarray]],
    test_qualities: Sequence[int],
    jpeg_curve: pd.DataFrame,
    out_root: str | os.PathLike,
    seeds: Sequence[int] = (0,),
    n_images: int = 500,
    n_available: int = 600,
    val_images: int | None = None,
    max_rate: float = MAX_RATE,
    sizes: Sequence = SIZES,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train (or read back) and evaluate every variant of ``ablation`` for every seed.

    Parameters
    ----------
    ablation : str
        One of :data:`ABLATIONS`.
    budget : dict
        Base :class:`~comp_lib.train.TrainConfig` settings (the compute budget:
        epochs, steps, batch, patch, network size, qualities...).
    corpus_for : callable
        ``corpus_for(n_images) -> Corpus`` (:func:`comp_lib.data.build_corpus`).
    test_images : sequence of (name, uint8 image)
    test_qualities : sequence of int
        Inner JPEG qualities of the test sweep.
    jpeg_curve : pandas.DataFrame
        JPEG's mean curve on ``test_images`` (``rd_curves`` of JPEG rows, codec "JPEG").
    out_root : path
        Run folders go to ``out_root/<key>/`` (checkpoints, log, ``result.json``).
    seeds : sequence of int
    n_images : int
        Corpus size for variants that do not set their own.
    n_available : int
        Images available to the corpus (the ``data_size`` ablation's "all").
    val_images : int, optional
        Validate on the first N validation images (default all).
    max_rate : float
        BD-rates over rates up to this.
    sizes : sequence of (channels, depth, shuffle)
        RecCNN shapes of the ``size`` ablation.

    Returns
    -------
    results : pandas.DataFrame
        One row per variant and seed (:data:`RESULT_COLUMNS`).
    curves : pandas.DataFrame
        The test curve of each: variant, seed, setting, bpp, psnr, ssim, gain_db.
    """
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    results, curves, codecs = [], [], {}
    todo = [(v, s) for v in variants(ablation, budget, n_available, sizes) for s in seeds]
    for variant, seed in tqdm(todo, desc=ablation, disable=not progress):
        record = {"ablation": ablation, "variant": variant.label, "seed": seed}
        if variant.kind == "train":
            n = variant.n_images or n_images
            config = TrainConfig(**(budget | variant.overrides | {"seed": seed}))
            run_dir = out_root / _key(config, n)
            result_file = run_dir / "result.json"
            if result_file.is_file():
                done = json.loads(result_file.read_text())
            else:
                corpus = corpus_for(n)
                val = corpus.val if val_images is None else corpus.val[:val_images]
                trainer = Trainer(config, corpus.train, val, run_dir)
                log = trainer.fit(resume=True, progress=False)
                wall = float(log.seconds.sum())  # every epoch's, across resumed sessions
                codec = Codec.load(run_dir / "best.pt").eval()
                best = log.loc[log.val_gain_db.idxmax()]
                summary, points = _test_summary(
                    codec, variant.label, test_images, test_qualities, jpeg_curve, max_rate
                )
                done = {
                    "config": config.to_dict(),
                    "n_images": n,
                    "steps": int(log.step.iloc[-1]),
                    "wall_s": round(wall, 3),
                    "val_psnr": float(best.val_psnr),
                    "val_bpp": float(best.val_bpp),
                    "val_gain_db": float(best.val_gain_db),
                    "params": sum(p.numel() for p in codec.reccnn.parameters()),
                    "gmac_per_mpx": macs_per_pixel(codec.reccnn) / 1e3,
                    "summary": summary,
                    "curve": points,
                }
                text = json.dumps(done, indent=1).encode()
                atomic_write(result_file, lambda f, text=text: f.write(text))
            codecs[(variant.label, seed)] = run_dir / "best.pt"
            record |= {
                "run": run_dir.name,
                "steps": done["steps"],
                "wall_s": done["wall_s"],
                "val_psnr": done["val_psnr"],
                "val_bpp": done["val_bpp"],
                "val_gain_db": done["val_gain_db"],
                "params": done["params"],
                "gmac_per_mpx": done["gmac_per_mpx"],
            } | done["summary"]
            points = done["curve"]
        else:
            if variant.kind == "bicubic":
                codec = BicubicCodec()
            elif variant.kind == "comcnn_only":
                codec = Codec(Codec.load(codecs[(variant.source, seed)]).comcnn, None).eval()
            else:
                raise ValueError(f"unknown variant kind {variant.kind!r}")
            summary, points = _test_summary(
                codec, variant.label, test_images, test_qualities, jpeg_curve, max_rate
            )
            record |= {
                "run": variant.kind,
                "steps": 0,
                "wall_s": 0.0,
                "params": 0,
                "gmac_per_mpx": 0.0,
            } | summary
        results.append(record)
        curves += [dict(ablation=ablation, variant=variant.label, seed=seed, **p) for p in points]
    results = pd.DataFrame(results).reindex(columns=RESULT_COLUMNS)
    return results, pd.DataFrame(curves)


def run_ablations(
    names: Sequence[str],
    budget: dict,
    corpus_for,
    test_images: Sequence[tuple[str, np.ndarray]],
    test_qualities: Sequence[int],
    jpeg_curve: pd.DataFrame,
    out_root: str | os.PathLike,
    seeds: Sequence[int] = (0,),
    seeds_for: dict | None = None,
    **options,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """:func:`run_ablation` for each of ``names``, in order, printing the time so far.

    ``seeds_for`` maps an ablation to its own seeds (default ``seeds``); ``options`` go to
    :func:`run_ablation` (``n_images``, ``n_available``, ``val_images``, ``max_rate``,
    ``sizes``). Returns the results by ablation and every test curve in one frame (column
    ``ablation``), as :func:`run_ablation` returns them.
    """
    seeds_for = seeds_for or {}
    results, curves, start = {}, [], time.perf_counter()
    for name in names:
        results[name], curve = run_ablation(
            name, budget, corpus_for, test_images, test_qualities, jpeg_curve, out_root,
            seeds=seeds_for.get(name, seeds), progress=False, **options,
        )  # fmt: skip
        curves.append(curve)
        print(f"{name}: {len(results[name])} runs, {time.perf_counter() - start:.0f} s so far")
    return results, pd.concat(curves, ignore_index=True)


def retime_decode(
    results: pd.DataFrame, out_root, image: np.ndarray, quality: int, repeats: int = 5
) -> pd.DataFrame:
    """Decode time of each variant's network, measured again one after another.

    The ``decode_ms`` of a run is its mean over the test sweep, taken whenever the run
    happened, so runs made beside other jobs read slower. Here the first trained seed of
    each variant decompresses ``image`` (coded at ``quality``) ``repeats`` times in a
    row, after one warm-up, and the fastest is kept: one comparable figure per variant
    (the weights do not change the time). Returns columns variant, decode_ms.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rows = []
    trained = results[results.steps > 0]  # comcnn_only and bicubic variants have no run
    for variant, sub in trained.groupby("variant", sort=False):
        best = Path(out_root) / str(sub.run.iloc[0]) / "best.pt"
        if not best.is_file():
            raise FileNotFoundError(f"{best}: the run of {variant!r} has no checkpoint")
        codec = Codec.load(best).eval()
        data = codec.compress(image, quality)
        codec.decompress(data)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            codec.decompress(data)
            times.append(time.perf_counter() - start)
        rows.append({"variant": variant, "decode_ms": 1e3 * min(times)})
    return pd.DataFrame(rows, columns=["variant", "decode_ms"])
