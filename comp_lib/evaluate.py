"""Run any codec over a dataset: one row per image and setting, from real bytes.

Any :class:`~comp_lib.coding.RateCodec` is a codec here: :class:`~comp_lib.coding.Codec`
(setting = inner JPEG quality), :class:`~comp_lib.coding.BicubicCodec`,
:class:`~comp_lib.coding.Ladder` (setting = rung), and the anchors of
:mod:`comp_lib.baselines` (JPEG, WebP, AVIF, JPEG 2000, JPEG XL).

:func:`evaluate` gives one row per image and setting (bytes, bpp from the
real bytes, PSNR, SSIM, encode and decode milliseconds); the comparisons at
equal rate are in :mod:`comp_lib.rd`. A ladder's rows can be read from its
models' rows (:func:`ladder_rows`), and a ladder chosen from the models' envelope
on validation images (:func:`choose_ladder`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from comp_lib.files import atomic_write
from comp_lib.metrics import bpp, psnr, ssim
from comp_lib.rd import envelope, rd_curves

__all__ = [
    "ROW_COLUMNS",
    "at_equal_rate",
    "choose_ladder",
    "evaluate",
    "ladder_rows",
    "ladder_subset",
    "to_compressai_json",
]

ROW_COLUMNS = [
    "image",
    "codec",
    "setting",
    "bytes",
    "bpp",
    "psnr",
    "ssim",
    "encode_ms",
    "decode_ms",
]


def evaluate(
    codec,
    images: Sequence[tuple[str, np.ndarray]],
    settings: Iterable[int],
    name: str,
    progress: bool = True,
) -> pd.DataFrame:
    """Code every image at every setting; one row each (see :data:`ROW_COLUMNS`).

    Parameters
    ----------
    codec
        An object with ``compress(image, setting)`` and ``decompress(data)``.
    images : sequence of (name, uint8 image)
    settings : iterable of int
        E.g. JPEG qualities.
    name : str
        The codec's name in the rows.
    """
    settings = list(settings)
    rows = []
    total = len(images) * len(settings)
    with tqdm(total=total, desc=name, disable=not progress) as bar:
        for image_name, image in images:
            for setting in settings:
                start = time.perf_counter()
                data = codec.compress(image, setting)
                mid = time.perf_counter()
                x_hat = codec.decompress(data)
                end = time.perf_counter()
                if x_hat.shape != image.shape:
                    raise ValueError(
                        f"{name} returned {x_hat.shape} for {image_name} {image.shape}"
                    )
                rows.append(dict(
                    image=image_name, codec=name, setting=setting, bytes=len(data),
                    bpp=bpp(data, image.shape), psnr=psnr(image, x_hat), ssim=ssim(image, x_hat),
                    encode_ms=1000 * (mid - start), decode_ms=1000 * (end - mid),
                ))  # fmt: skip
                bar.update()
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def choose_ladder(
    models: dict,
    images: Sequence[tuple[str, np.ndarray]],
    qualities: Iterable[int],
    name: str = "ladder",
    progress: bool = True,
    rate_tol: float = 0.01,
    hull: bool = True,
):
    """Build a :class:`~comp_lib.coding.Ladder` from the models' PSNR envelope on ``images``.

    Every model codes every image at every quality; the rungs are the points of
    the upper envelope (:func:`envelope`, with ``rate_tol``) of the mean curves, by
    default only those on its concave hull (``hull``: a rung below the chord of its
    neighbours is beaten on the mean curve by coding some images at each of them). Pass
    validation images, not the test set, so that the test results stay unbiased.

    Parameters
    ----------
    models : dict of str to Codec
        Keyed by each codec's name.
    images : sequence of (name, uint8 image)
    qualities : iterable of int
        Inner JPEG qualities to try for every model.
    hull : bool
        Keep only the envelope's concave hull (default) instead of its whole Pareto front.

    Returns
    -------
    (Ladder, pandas.DataFrame)
        The ladder and the curves it was chosen from.
    """
    from comp_lib.coding import Ladder

    qualities = list(qualities)
    rows = pd.concat([evaluate(c, images, qualities, n, progress=progress)
                      for n, c in models.items()], ignore_index=True)  # fmt: skip
    curves = rd_curves(rows)
    best = envelope(curves, list(models), rate_tol=rate_tol, hull=hull)
    rungs = [(str(r.codec), int(r.setting)) for r in best.itertuples()]
    return Ladder(models, rungs, name=name, bpp=best.bpp.round(4).tolist()), curves


def ladder_rows(
    rows: pd.DataFrame,
    ladder,
    name: str,
    models: dict | None = None,
    rungs: Sequence[int] | None = None,
) -> pd.DataFrame:
    """A :class:`~comp_lib.coding.Ladder`'s rows, read from its models' rows.

    Coding with rung ``i`` *is* coding with that rung's model at that rung's
    quality (same bytes, same output: the codecs are deterministic), so a
    ladder need not be run twice when its models were: each rung's rows are
    copied from ``rows`` with ``codec=name`` and ``setting=i``.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of :func:`evaluate` holding every rung's model and quality.
    ladder : Ladder
    name : str
        The ladder's name in the returned rows.
    models : dict of str to str, optional
        Model name -> codec name in ``rows``, for models evaluated under another
        name (default: the model's own name).
    rungs : sequence of int, optional
        Indices of the rungs to read (default: all); see :func:`ladder_subset`.
    """
    models = models or {}
    out = []
    for i in range(len(ladder.rungs)) if rungs is None else rungs:
        if not 0 <= i < len(ladder.rungs):
            raise ValueError(f"rung {i} out of range: the ladder has {len(ladder.rungs)} rungs")
        model, quality = ladder.rungs[i]
        label = models.get(model, model)
        part = rows[(rows.codec == label) & (rows.setting == quality)]
        if part.empty:
            raise ValueError(
                f"rung {i} ({model} q{quality}): no rows of codec {label!r} at {quality}"
            )
        out.append(part.assign(codec=name, setting=i))
    return pd.concat(out, ignore_index=True)


def ladder_subset(ladder, step: int = 1) -> list[int]:
    """Every ``step``-th rung of a ladder, from the first, and always its last.

    A cheaper sweep of the same codec: each kept rung is a real setting of the
    ladder, only the curve between them is sampled more sparsely.
    """
    n = len(ladder.rungs)
    if step < 1:
        raise ValueError(f"step must be a positive integer, got {step!r}")
    return sorted(set(range(0, n, step)) | {n - 1})


def to_compressai_json(curves: pd.DataFrame, name: str, description: str, path=None) -> dict:
    """One codec's curve in CompressAI's results shape; written to ``path`` if given."""
    cur = curves[curves.codec == name].sort_values("bpp")
    result = {
        "name": name,
        "description": description,
        "results": {
            "setting": [int(v) for v in cur.setting],
            "bpp": [float(v) for v in cur.bpp],
            "psnr": [float(v) for v in cur.psnr],
            "ssim": [float(v) for v in cur.ssim],
            "encoding_time": [float(v) / 1000 for v in cur.encode_ms],
            "decoding_time": [float(v) / 1000 for v in cur.decode_ms],
        },
    }
    if path is not None:
        atomic_write(path, json.dumps(result, indent=2))
    return result


def at_equal_rate(codecs: dict, image: np.ndarray, target_bpp: float) -> list[dict]:
    """Each codec near ``target_bpp``, and plain JPEG at the rate they reached.

    Each codec (name -> :class:`~comp_lib.coding.RateCodec`, e.g. a
    :class:`~comp_lib.coding.Codec`) codes ``image`` at the highest setting whose real
    bytes fit ``target_bpp`` (:func:`comp_lib.coding.compress_at_bpp`); then JPEG codes
    it at the quality whose real bytes come nearest to the mean of their rates
    (:func:`comp_lib.jpeg.quality_for_bpp`), so that every reconstruction is compared
    at (nearly) the same rate.

    Parameters
    ----------
    codecs : dict
        Name -> codec; ``"JPEG"`` is reserved for the anchor.
    image : numpy.ndarray
        ``(H, W)`` uint8 image.
    target_bpp : float
        The rate budget in bits per pixel of the real bytes.

    Returns
    -------
    list of dict
        One per codec, in order, then JPEG: ``codec``, ``setting`` (inner or JPEG
        quality), ``bytes``, ``bpp``, ``psnr``, ``x_hat`` (the decoded uint8 image).
    """
    from comp_lib import jpeg
    from comp_lib.coding import compress_at_bpp

    if "JPEG" in codecs:
        raise ValueError("the name 'JPEG' is the anchor's; give the codec another name")
    coded = []  # (name, setting, bytes, decoder)
    for name, codec in codecs.items():
        data, setting = compress_at_bpp(codec, image, target_bpp)
        coded.append((name, setting, data, codec.decompress))
    rates = [bpp(data, image.shape) for _, _, data, _ in coded]
    quality, data = jpeg.quality_for_bpp(image, float(np.mean(rates)) if rates else target_bpp)
    coded.append(("JPEG", quality, data, jpeg.decode))
    out = []
    for name, setting, data, decode in coded:
        x_hat = decode(data)
        rate = bpp(data, image.shape)
        out.append(dict(codec=name, setting=int(setting), bytes=len(data), bpp=rate,
                        psnr=psnr(image, x_hat), x_hat=x_hat))  # fmt: skip
    return out
