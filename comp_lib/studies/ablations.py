"""Ablations: why the dissertation lost to JPEG and what makes the method win.

``notebooks/04_ablations`` runs these; each ablation is a list of
:class:`Variant` s, each variant a training run (:class:`comp_lib.train.Trainer`)
on top of one shared *budget* (the base :class:`~comp_lib.train.TrainConfig`
settings), evaluated the same way:

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

=================  ==========================================================
``components``     Jiang et al. Table I: both networks, RecCNN only (a JPEG
                   post-filter), ComCNN only (bicubic up), neither (bicubic).
``scheme``         alternating (identity / DiffJPEG in step B), end-to-end,
                   the dissertation's (whole images, no augmentation; as
                   many whole images per step as give the budget's pixels
                   per step, so that every scheme gets the same compute).
``lr``             learning rate 1e-2 .. 1e-5 and the exponential decay rate.
``pooling``        the dissertation's max pooling in RecCNN (0, 1, 2 stages).
``data_size``      100, 250, 500 and all available training + validation images.
``loss``           MSE, L1, SSIM.
``size``           RecCNN width and depth against decode time and GMAC/pixel.
``quality``        the JPEG quality trained at against the quality tested at.
``dissertation``   the dissertation's protocol and its suspected faults, alone
                   and together (max pooling, no residual connection, random
                   initialisation, too few steps).
=================  ==========================================================
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from comp_lib.coding import BicubicCodec, Codec
from comp_lib.evaluate import evaluate
from comp_lib.files import atomic_write
from comp_lib.models import RecCNN
from comp_lib.rd import at_rates, bd_table, psnr_at_rate, rd_curves
from comp_lib.report.numbers import number
from comp_lib.studies.constants import DISSERTATION_JPEG, DISSERTATION_MODEL, MAX_RATE
from comp_lib.train import TrainConfig, Trainer

__all__ = [
    "ABLATIONS",
    "RESULT_COLUMNS",
    "SIZES",
    "TITLES",
    "Variant",
    "ablation_table",
    "dissertation_for_people",
    "dissertation_rates",
    "gain_crossing",
    "gain_over",
    "macs_per_pixel",
    "retime_decode",
    "run_ablation",
    "run_ablations",
    "sign_disagreements",
    "spread",
    "variants",
]

ABLATIONS = (
    "components",
    "scheme",
    "lr",
    "pooling",
    "data_size",
    "loss",
    "size",
    "quality",
    "dissertation",
)

#: what each ablation varies, as its tables and figures are titled
TITLES = {
    "components": "Jiang et al. Table I: which network does the work",
    "scheme": "Training scheme",
    "lr": "Learning rate and its exponential decay",
    "pooling": "Max pooling in RecCNN (the dissertation's change)",
    "data_size": "Training set size (train + val images; val split differs per size)",
    "loss": "Training loss",
    "size": "RecCNN width x depth against cost",
    "quality": "JPEG quality trained at",
    "dissertation": "The dissertation's protocol and its suspected faults",
}

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


@dataclass(frozen=True)
class Variant:
    """One arm of an ablation.

    Parameters
    ----------
    ablation, label : str
    overrides : dict
        :class:`~comp_lib.train.TrainConfig` settings replacing the budget's.
    n_images : int, optional
        Training + validation images of the corpus (default: the notebook's).
    kind : {"train", "comcnn_only", "bicubic"}
        ``"comcnn_only"`` evaluates the ComCNN of the variant labelled
        ``source`` with bicubic upsampling and no RecCNN; ``"bicubic"`` is the
        no-learning baseline. Neither trains.
    source : str, optional
    """

    ablation: str
    label: str
    overrides: dict = field(default_factory=dict)
    n_images: int | None = None
    kind: str = "train"
    source: str | None = None


#: RecCNN (channels, depth, shuffle) of the ``size`` ablation: the paper's is (64, 20, 1).
SIZES = ((16, 8, 1), (32, 8, 1), (32, 20, 1), (64, 20, 1), (64, 20, 2))


def variants(
    ablation: str, budget: dict, n_available: int = 600, sizes: Sequence = SIZES
) -> list[Variant]:
    """The variants of ``ablation`` around ``budget`` (the base training settings).

    ``n_available`` is the number of images the ``data_size`` ablation calls
    "all"; ``sizes`` the RecCNN shapes ``(channels, depth, shuffle)`` of ``size``.
    """
    a, lr0, decay0 = ablation, budget.get("lr", 1e-3), budget.get("lr_decay", 0.9)
    steps = budget.get("steps", 100)
    # whole 180x180 images at the budget's pixels per step (patch^2 x batch): equal compute
    whole = max(1, round(budget.get("batch", 16) * budget.get("patch", 64) ** 2 / 180**2))
    if a == "components":
        return [
            Variant(a, "both (ComCNN + RecCNN)"),
            Variant(a, "RecCNN only (JPEG post-filter)", {"scheme": "post_filter"}),
            Variant(
                a, "ComCNN only (bicubic up)", kind="comcnn_only", source="both (ComCNN + RecCNN)"
            ),
            Variant(a, "neither (bicubic down/up)", kind="bicubic"),
        ]
    if a == "scheme":
        return [
            Variant(a, "alternating, identity in step B", {"com_jpeg": "identity"}),
            Variant(a, "alternating, DiffJPEG in step B", {"com_jpeg": "approx"}),
            Variant(a, "end-to-end through DiffJPEG", {"scheme": "end_to_end"}),
            Variant(
                a,
                "dissertation (whole images, no augmentation)",
                {"scheme": "dissertation", "batch": whole},
            ),
        ]
    if a == "lr":
        rates = [
            Variant(a, f"lr {v:.0e}, decay {decay0}", {"lr": v}) for v in (1e-2, 1e-3, 1e-4, 1e-5)
        ]
        decays = [d for d in (1.0, 0.9, 0.7, 0.5) if d != decay0]
        return rates + [Variant(a, f"lr {lr0:.0e}, decay {d}", {"lr_decay": d}) for d in decays]
    if a == "pooling":
        return [Variant(a, f"{k} max-pooling stages", {"pooling": k}) for k in (0, 1, 2)]
    if a == "data_size":
        sizes = [n for n in (100, 250, 500) if n < n_available] + [n_available]
        return [
            Variant(a, f"{n} images" + (" (all)" if n == n_available else ""), n_images=n)
            for n in sizes
        ]
    if a == "loss":
        return [
            Variant(a, f"{loss.upper()} loss", {"loss": loss}) for loss in ("mse", "l1", "ssim")
        ]
    if a == "size":
        return [
            Variant(
                a,
                f"{c}x{d}" + (f" shuffle {s}" if s > 1 else ""),
                {"channels": c, "depth": d, "shuffle": s},
            )
            for c, d, s in sizes
        ]
    if a == "quality":
        mixed = budget.get("quality", [5, 10, 20, 40, 80])
        return [
            Variant(a, f"trained at q{q}", {"quality": [q], "val_quality": [q]})
            for q in (5, 20, 60)
        ] + [Variant(a, "trained at mixed q", {"quality": mixed})]
    if a == "dissertation":
        few = max(1, steps // 10)
        base = {"scheme": "dissertation", "batch": whole}
        return [
            Variant(a, "dissertation protocol", base),
            Variant(a, "+ max pooling (2 stages)", base | {"pooling": 2}),
            Variant(a, "+ no residual connection", base | {"residual": False}),
            Variant(a, "+ random initialisation", base | {"warm_start": False}),
            Variant(
                a, f"+ too few steps ({few} per epoch)", base | {"steps": few, "com_steps": few}
            ),
            Variant(
                a,
                "all four together",
                base
                | {
                    "pooling": 2,
                    "residual": False,
                    "warm_start": False,
                    "steps": few,
                    "com_steps": few,
                },
            ),
        ]
    raise ValueError(f"unknown ablation {ablation!r}; known: {', '.join(ABLATIONS)}")


def macs_per_pixel(net: RecCNN) -> float:
    """Multiply-accumulates per output pixel of RecCNN (convolutions only)."""
    macs = 0

    def hook(module, _inputs, output):
        nonlocal macs
        k = module.kernel_size[0] * module.kernel_size[1]
        macs += output.shape[-2] * output.shape[-1] * module.out_channels * k * module.in_channels

    handles = [
        m.register_forward_hook(hook)
        for m in net.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    ]
    side = 64
    try:
        with torch.no_grad():
            net.eval()(torch.zeros(1, net.config["in_channels"], side, side))
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


def spread(results: pd.DataFrame, columns: Sequence[str] = ("bd_rate_psnr_%", "gain_at_0.3_db")):
    """Mean and standard deviation over seeds of each variant (NaN std for a single seed)."""
    grouped = results.groupby(["ablation", "variant"], sort=False)[list(columns)]
    out = grouped.agg(["mean", "std", "count"])
    out.columns = [f"{c}_{stat}" for c, stat in out.columns]
    return out.reset_index()


def dissertation_rates(curves: pd.DataFrame, match: pd.Series, quality: int) -> pd.DataFrame:
    """The dissertation's comparison with rates.

    Each variant of the ``dissertation`` ablation at inner ``quality`` (mean over seeds:
    bpp, PSNR, SSIM, gain over JPEG at that bpp, JPEG's PSNR there), then the
    dissertation's reported model and JPEG (no bpp), then ``match``, the JPEG setting
    that reaches its 32.75 dB on the same images, with its rate.

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`run_ablation` curves (``ablation``, ``variant``, ``setting``, ``bpp``,
        ``psnr``, ``ssim``, ``gain_db``).
    match : pandas.Series
        :func:`comp_lib.studies.protocols.dissertation_jpeg_match` on the test images of
        ``curves`` (``setting``, ``bpp``, ``psnr``, ``ssim``): the study's one definition.
    quality : int
        The inner JPEG quality at which the models are read.

    Returns
    -------
    pandas.DataFrame
        ``variant``, ``bpp``, ``psnr``, ``ssim``, ``gain_db``, ``jpeg_psnr_same_bpp``
        (rounded to 3 decimals; NaN where not defined: no rate reported, or a model
        below JPEG's lowest rate).
    """
    points = curves[(curves.ablation == "dissertation") & (curves.setting == quality)]
    if points.empty:
        raise ValueError(f"no dissertation-ablation point at inner quality {quality}")
    table = points.groupby("variant", sort=False)[["bpp", "psnr", "ssim", "gain_db"]].mean()
    table = table.assign(jpeg_psnr_same_bpp=table.psnr - table.gain_db).reset_index()
    target = DISSERTATION_JPEG["psnr"]
    reported = pd.DataFrame([
        dict(variant="dissertation's model (reported)", bpp=np.nan, **DISSERTATION_MODEL),
        dict(variant="dissertation's JPEG (reported)", bpp=np.nan, **DISSERTATION_JPEG),
        dict(variant=f"JPEG q={int(match.setting)} here (lowest quality reaching {target} dB)",
             bpp=float(match.bpp), psnr=float(match.psnr), ssim=float(match.ssim)),
    ])  # fmt: skip
    return pd.concat([table, reported], ignore_index=True).round(3)


def ablation_table(results: pd.DataFrame, rate: float = 0.3) -> pd.DataFrame:
    """One ablation's variants for people: mean over seeds, rounded, no raw NaN.

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`run_ablation` results of one ablation (``variant``, ``seed``,
        ``bd_rate_psnr_%``, ``bd_rate_ssim_%``, ``gain_at_0.3_db``).
    rate : float
        The rate of the gain column (0.3 bpp, as the results hold it), for its header.

    Returns
    -------
    pandas.DataFrame
        ``variant``, ``seeds``, ``BD-rate by PSNR (%)``, ``BD-rate by SSIM (%)`` (2 decimals,
        signed: negative saves bits) and ``gain at <rate> bpp (dB)``; a value that cannot be
        computed reads ``not defined: <why>``.
    """
    columns = ["bd_rate_psnr_%", "bd_rate_ssim_%", "gain_at_0.3_db"]
    mean = results.groupby("variant", sort=False)[columns].mean()
    seeds = results.groupby("variant", sort=False).seed.nunique()
    no_range = "not defined: no quality range shared with JPEG"
    return pd.DataFrame({
        "variant": mean.index,
        "seeds": seeds.to_numpy(),
        "BD-rate by PSNR (%)": [number(v, "+.2f", no_range) for v in mean["bd_rate_psnr_%"]],
        "BD-rate by SSIM (%)": [number(v, "+.2f", no_range) for v in mean["bd_rate_ssim_%"]],
        f"gain at {rate:g} bpp (dB)": [
            number(v, "+.2f", f"not defined: a curve does not reach {rate:g} bpp")
            for v in mean["gain_at_0.3_db"]
        ],
    })  # fmt: skip


def dissertation_for_people(rates: pd.DataFrame) -> pd.DataFrame:
    """:func:`dissertation_rates` for people: rounded, and each missing value says why.

    bpp to 3 decimals, dB to 2, SSIM to 3; a value that does not exist reads
    ``not defined: <why>``: the dissertation reported no rate, the gain of JPEG's own
    row, or a model below JPEG's lowest rate (JPEG cannot be read there).
    """
    reported = rates.variant.str.endswith("(reported)").to_numpy()
    jpeg = rates.variant.str.startswith("JPEG q=").to_numpy()
    why = np.char.add("not defined: ", np.where(reported, "not reported",
                      np.where(jpeg, "this row is JPEG", "below JPEG's lowest rate")))  # fmt: skip
    columns = {"bpp": ("bpp", ".3f"), "psnr": ("PSNR (dB)", ".2f"), "ssim": ("SSIM", ".3f"),
               "gain_db": ("gain over JPEG at equal bpp (dB)", "+.2f"),
               "jpeg_psnr_same_bpp": ("JPEG's PSNR at that bpp (dB)", ".2f")}  # fmt: skip
    out = {"variant": rates.variant.to_numpy()}
    for column, (label, spec) in columns.items():
        out[label] = [number(v, spec, w) for v, w in zip(rates[column], why, strict=True)]
    return pd.DataFrame(out)


def sign_disagreements(summary: pd.DataFrame) -> pd.DataFrame:
    """The variants whose BD-rate and gain at 0.3 bpp tell opposite stories.

    A negative BD-rate says "better than JPEG" (fewer bits for the same PSNR), a positive
    gain says the same; they disagree when both have the same sign.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`spread` output (``bd_rate_psnr_%_mean``, ``gain_at_0.3_db_mean``).

    Returns
    -------
    pandas.DataFrame
        ``ablation``, ``variant``, ``bd_rate_psnr_%``, ``gain_at_0.3_db`` and ``verdict``
        (what each says), rows where both are defined and disagree, in ``summary``'s order.
    """
    bd, gain = summary["bd_rate_psnr_%_mean"], summary["gain_at_0.3_db_mean"]
    both = bd.notna() & gain.notna() & (bd != 0) & (gain != 0)
    disagree = both & ((bd < 0) == (gain < 0))
    out = summary.loc[disagree, ["ablation", "variant"]].assign(
        **{"bd_rate_psnr_%": bd[disagree], "gain_at_0.3_db": gain[disagree]}
    )
    verdict = np.where(out["bd_rate_psnr_%"] < 0, "BD-rate: better; at 0.3 bpp: worse",
                       "BD-rate: worse; at 0.3 bpp: better")  # fmt: skip
    return out.assign(verdict=verdict).reset_index(drop=True)


def gain_crossing(points: pd.DataFrame) -> float:
    """The lowest rate at which a gain over JPEG turns from positive to not positive.

    Linear in log-rate between the points (as :func:`comp_lib.rd.psnr_at_rate` reads
    curves), over the points where the gain is defined; NaN when it never turns.

    Parameters
    ----------
    points : pandas.DataFrame
        One variant's curve: ``bpp`` and ``gain_db`` (e.g. means over seeds).
    """
    cur = points.dropna(subset=["gain_db"]).sort_values("bpp")
    rate, gain = np.log(cur.bpp.to_numpy(dtype=float)), cur.gain_db.to_numpy(dtype=float)
    for i in range(len(gain) - 1):
        if gain[i] > 0 >= gain[i + 1]:
            t = gain[i] / (gain[i] - gain[i + 1])
            return float(np.exp(rate[i] + t * (rate[i + 1] - rate[i])))
    return float("nan")


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
