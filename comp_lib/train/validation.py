"""Validation through the real bytes, and the gain over JPEG at equal rate.

Every epoch a training run (either data source, :mod:`comp_lib.train.loop`) codes
its validation images with :meth:`Codec.compress` and decodes them with
:meth:`Codec.decompress`: the bytes a user gets, header included. It logs PSNR,
SSIM, bpp, and the **gain over JPEG at the same bpp**: the validation PSNR minus
JPEG's mean curve on the same images read at that bpp by
:func:`comp_lib.rd.psnr_at_rate` (linearly in log-rate, clamped to JPEG's curve:
see ``outside`` there). The best checkpoint is the epoch with the highest gain.

Until issue 15 the patch trainer validated with :meth:`Codec.forward` and
``jpeg_mode="real"`` (batches of 10, the training memory layout) and the bank
through ``compress``/``decompress``. Measured on the shipped ``rec32x20`` and the
first 20 validation images of the default corpus at quality 10, switching the patch
trainer to ``compress``/``decompress`` moves the logged figures by:

=========  ==================  ==================  ============
           forward (real)      compress/decompress change
=========  ==================  ==================  ============
val_bpp    0.150778            0.150778            0 (same bytes)
val_psnr   25.0517815 dB       25.0517813 dB       -1.9e-7 dB
val_ssim   0.65070463          0.65070457          -6.1e-8
=========  ==================  ==================  ============

2 of the 648,000 pixels differ by one grey level (``forward`` ran in the
contiguous layout, ``compress`` runs channels_last on the CPU); the rates are
the same bytes. On one thread of a shared 2-core CPU the 20 images took 19.6 s
through ``compress``/``decompress`` and 30.7 s through ``forward``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.metrics import psnr, ssim
from comp_lib.rd import psnr_at_rate

__all__ = [
    "gain_over_jpeg",
    "gain_per_doubling",
    "jpeg_curve",
    "steps_to_gain",
    "validate",
    "validation_row",
]


def jpeg_curve(images: Sequence[np.ndarray], qualities=range(1, 96, 2)) -> pd.DataFrame:
    """Mean bpp and PSNR of plain JPEG over 8-bit ``images`` (an ``(N, H, W)`` array or a list)."""
    rows = []
    for q in qualities:
        bpps, psnrs = [], []
        for image in images:
            data = jpeg.encode(image, q)
            bpps.append(8 * len(data) / image.size)
            psnrs.append(psnr(image, jpeg.decode(data)))
        rows.append(dict(quality=q, bpp=float(np.mean(bpps)), psnr=float(np.mean(psnrs))))
    return pd.DataFrame(rows)


def gain_over_jpeg(psnr_db: float, bpp: float, curve: pd.DataFrame) -> tuple[float, float]:
    """``(JPEG's PSNR at bpp, psnr_db minus it)``: the validation gain over JPEG at equal rate.

    JPEG's PSNR is read off its mean ``curve`` (:func:`jpeg_curve`) with
    :func:`comp_lib.rd.psnr_at_rate`, clamped at the curve's ends.
    """
    jpeg_psnr = psnr_at_rate(curve, bpp, outside="clamp")
    return jpeg_psnr, psnr_db - jpeg_psnr


def validate(codec: Codec, images: Sequence[np.ndarray], quality: int) -> dict:
    """Mean PSNR, SSIM and bpp of ``codec`` over 8-bit ``images`` through its real bytes.

    Each image goes through :meth:`Codec.compress` and :meth:`Codec.decompress`;
    the bpp counts the whole bitstream, header included. ``compress`` puts the
    networks in eval mode and, on the CPU, in the channels_last layout: the
    training loop validates a copy of the codec it trains.
    """
    psnrs, ssims, bpps = [], [], []
    for image in images:
        data = codec.compress(image, quality)
        x_hat = codec.decompress(data)
        psnrs.append(psnr(image, x_hat))
        ssims.append(ssim(image, x_hat))
        bpps.append(8 * len(data) / image.size)
    return dict(psnr=float(np.mean(psnrs)), ssim=float(np.mean(ssims)), bpp=float(np.mean(bpps)))


def validation_row(
    codec: Codec, images: Sequence[np.ndarray], qualities, curve: pd.DataFrame
) -> tuple[dict, dict]:
    """The log's validation columns, and the figures per quality.

    Returns ``(columns, per_quality)``: ``val_psnr``, ``val_ssim``, ``val_bpp``
    (means over ``qualities`` of :func:`validate`), ``val_jpeg_psnr`` (the mean of
    JPEG's PSNR at each quality's bpp on ``curve``) and ``val_gain_db``
    (``val_psnr`` minus it); ``per_quality`` holds lists ``quality``, ``psnr``,
    ``ssim``, ``bpp``.
    """
    per = [validate(codec, images, q) | {"quality": int(q)} for q in qualities]
    per_quality = {k: [r[k] for r in per] for k in ("quality", "psnr", "ssim", "bpp")}
    v = {k: float(np.mean(per_quality[k])) for k in ("psnr", "ssim", "bpp")}
    jpeg_psnr = float(np.mean([gain_over_jpeg(0.0, r["bpp"], curve)[0] for r in per]))
    columns = dict(val_psnr=v["psnr"], val_ssim=v["ssim"], val_bpp=v["bpp"],
                   val_jpeg_psnr=jpeg_psnr, val_gain_db=v["psnr"] - jpeg_psnr)  # fmt: skip
    return columns, per_quality


def gain_per_doubling(log: pd.DataFrame) -> pd.DataFrame:
    """How fast each training phase raised the validation gain: dB per doubling of the steps.

    A gain that grows by a constant amount each time the steps double is the usual
    shape of a long training run's curve; the pace tells how many more doublings (and
    so how many more steps) a target needs if it holds. A later phase (the ``phase``
    column of :func:`comp_lib.zoo.chained_log`; a log without one is one phase) is
    measured from the previous phase's last row to its own; the first phase, which
    starts at step 0, over its second half (from the last row at or before half its
    final step).

    Returns one row per phase: ``phase``, ``start_step``, ``end_step``,
    ``start_gain_db``, ``end_gain_db`` (``val_gain_db`` of those rows), ``minutes``
    (the phase's wall time) and ``db_per_doubling``. Raises ``ValueError`` for a log
    without a row after step 0.
    """
    log = log if "phase" in log else log.assign(phase=1)
    trained = log[log.step > 0]
    if trained.empty:
        raise ValueError("the log has no row after step 0: nothing trained yet")
    rows, previous = [], None
    for phase, rows_of in log.groupby("phase", sort=True):
        end = rows_of.iloc[-1]
        if previous is None:
            half = rows_of[(rows_of.step > 0) & (rows_of.step <= end.step / 2)]
            start = half.iloc[-1] if len(half) else rows_of[rows_of.step > 0].iloc[0]
        else:
            start = previous
        doublings = np.log2(end.step / start.step) if end.step > start.step else np.nan
        gained = float(end.val_gain_db - start.val_gain_db)
        rows.append(dict(phase=int(phase), start_step=int(start.step), end_step=int(end.step),
                         start_gain_db=float(start.val_gain_db), end_gain_db=float(end.val_gain_db),
                         minutes=float(rows_of.seconds.sum() / 60),
                         db_per_doubling=gained / doublings))  # fmt: skip
        previous = end
    return pd.DataFrame(rows)


def steps_to_gain(log: pd.DataFrame, missing_db: float) -> dict:
    """What ``missing_db`` more gain would cost if the latest phase's pace held.

    At :func:`gain_per_doubling`'s latest pace, ``missing_db`` takes
    ``missing_db / pace`` doublings of the steps so far; the time is the steps still to
    run at the latest phase's own seconds per step (its wall time, validation included,
    over its steps). Diminishing returns usually slow the pace further, so this is a
    lower bound, not a promise.

    Returns
    -------
    dict
        ``db_per_doubling`` (the pace), ``doublings``, ``factor`` (``2 ** doublings``:
        times the steps so far), ``steps`` (so far), ``more_steps`` and ``more_hours``.

    Raises
    ------
    ValueError
        When the latest pace is not a gain (zero, negative or undefined): no number of
        steps reaches the target at that pace.
    """
    phases = gain_per_doubling(log)
    latest = phases.iloc[-1]
    pace = float(latest.db_per_doubling)
    if not pace > 0:
        raise ValueError(f"the latest phase's pace is {pace:+.3f} dB per doubling: "
                         "no number of steps reaches the target at that pace")  # fmt: skip
    steps = int(log.step.iloc[-1])
    doublings = max(0.0, float(missing_db)) / pace
    more_steps = steps * (2**doublings - 1)
    phase_start = latest.start_step if len(phases) > 1 else 0  # phase 1 starts at step 0
    seconds_per_step = latest.minutes * 60 / (latest.end_step - phase_start)
    return dict(db_per_doubling=pace, doublings=doublings, factor=2**doublings, steps=steps,
                more_steps=more_steps,
                more_hours=more_steps * seconds_per_step / 3600)  # fmt: skip
