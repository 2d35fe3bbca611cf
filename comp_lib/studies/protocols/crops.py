"""Crops at matched rates: every codec's output on one image at (nearly) one rate.

:func:`matched_crops` finds, for each codec, its setting whose real rate on the image is
nearest the target (:func:`setting_near_rate`, a bisection over :func:`setting_range`)
and shows those near enough; :func:`codec_panels` takes each codec's setting from the
evaluation's rows instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from comp_lib.baselines import AVIFCodec, JPEG2000Codec, JPEGXLCodec, WebPCodec
from comp_lib.coding import Ladder
from comp_lib.metrics import bpp, psnr, ssim
from comp_lib.studies.constants import ANCHOR, CROPS_RATE

__all__ = [
    "MatchedCrops",
    "codec_panels",
    "matched_crops",
    "setting_near_rate",
    "setting_range",
]


def codec_panels(
    codecs: Mapping[str, tuple[object, Sequence[int]]],
    rows: pd.DataFrame,
    name: str,
    image: np.ndarray,
    rate: float = CROPS_RATE,
) -> dict[str, np.ndarray]:
    """The image ``name`` as every codec returns it at its setting nearest ``rate`` on it.

    ``codecs``: name -> (codec, settings) (:attr:`comp_lib.studies.roster.Roster.codecs`);
    the setting is the one of the codec's rows of this image whose bpp is nearest
    ``rate``. Keys: ``"original"``, then ``"<codec>: <bpp> bpp, <psnr> dB"``.
    """
    panels = {"original": image}
    for codec_name, (codec, _) in codecs.items():
        sub = rows[(rows.image == name) & (rows.codec == codec_name)]
        best = sub.iloc[(sub.bpp - rate).abs().argmin()]
        x_hat = codec.decompress(codec.compress(image, int(best.setting)))
        panels[f"{codec_name}: {best.bpp:.3f} bpp, {best.psnr:.2f} dB"] = x_hat
    return panels


def setting_range(codec) -> list[int]:
    """Every setting of ``codec``, from its lowest rate to its highest.

    A :class:`~comp_lib.coding.Ladder`: its rungs; JPEG 2000: compression ratios 400 down
    to 2; WebP and AVIF: quality 0..100; JPEG XL: level 1..99 (100 is lossless); any
    other codec (JPEG, the networks' inner JPEG, bicubic+JPEG): JPEG quality 1..95.
    """
    if isinstance(codec, Ladder):
        return list(codec.settings)
    if isinstance(codec, JPEG2000Codec):
        return list(range(400, 1, -1))
    if isinstance(codec, (WebPCodec, AVIFCodec)):
        return list(range(0, 101))
    if isinstance(codec, JPEGXLCodec):
        return list(range(1, 100))
    return list(range(1, 96))


def setting_near_rate(codec, image: np.ndarray, rate: float, known=None) -> tuple[int, float]:
    """The setting of ``codec`` whose real rate on ``image`` is nearest ``rate`` (in ratio).

    Bisection over :func:`setting_range` (the rate grows along it), starting from the
    rates ``known`` (setting -> bpp on this image, e.g. from the evaluation's rows), so
    that a few compressions suffice. Returns ``(setting, bpp)``.
    """
    settings = setting_range(codec)
    rates = {s: float(b) for s, b in (known or {}).items() if s in settings}

    def rate_of(i: int) -> float:
        s = settings[i]
        if s not in rates:
            rates[s] = bpp(codec.compress(image, s), image.shape)
        return rates[s]

    at = {settings.index(s): r for s, r in rates.items()}
    lo = max([i for i, r in at.items() if r < rate], default=0)
    hi = min([i for i, r in at.items() if r >= rate and i > lo], default=len(settings) - 1)
    if rate_of(lo) >= rate or rate_of(hi) <= rate:
        i = lo if abs(np.log(rate_of(lo) / rate)) <= abs(np.log(rate_of(hi) / rate)) else hi
        return settings[i], rate_of(i)
    while hi - lo > 1:  # invariant: rate_of(lo) < rate < rate_of(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if rate_of(mid) < rate else (lo, mid)
    i = lo if np.log(rate / rate_of(lo)) <= np.log(rate_of(hi) / rate) else hi
    return settings[i], rate_of(i)


@dataclass(frozen=True)
class MatchedCrops:
    """Every codec's output on one image at (nearly) one rate.

    Attributes
    ----------
    panels : dict of str to numpy.ndarray
        Title -> ``x_hat``, for the codecs within the tolerance; a codec whose output
        is the same image as an earlier one's shares its panel (both names in the title).
    table : pandas.DataFrame
        One row per codec: codec, setting, bpp, psnr, ssim, ``shown`` and ``note``
        (why it is left out, which panel it shares, which rung of a ladder it is).
    target : float
        The rate matched: the anchor's on this image nearest the rate asked for.
    low, high : float
        The rates a codec must reach to be shown.
    """

    panels: dict[str, np.ndarray]
    table: pd.DataFrame
    target: float
    low: float
    high: float


def matched_crops(
    codecs: Mapping[str, tuple[object, Sequence[int]]],
    name: str,
    image: np.ndarray,
    rate: float = CROPS_RATE,
    tolerance: float = 0.10,
    rows: pd.DataFrame | None = None,
    anchor: str = ANCHOR,
) -> MatchedCrops:
    """Every codec at one rate on ``image``: its setting nearest it, shown if near enough.

    The target is the ``anchor``'s rate on this image nearest ``rate`` (JPEG's rate moves
    in steps of about 13 % at low qualities: 0.276 and 0.317 bpp at quality 7 and 8 on
    BSDS300's 101085, so JPEG could not be matched to 0.3 itself); ``rate`` itself without
    an anchor among ``codecs``. Each codec is at its setting whose rate is nearest the
    target (:func:`setting_near_rate`), and shown when that rate is within a factor
    ``sqrt(1 + tolerance)`` of the target, so that any two shown rates are within
    ``tolerance`` of each other; the others are listed with a note.

    Parameters
    ----------
    codecs : dict
        Name -> (codec, settings) (:attr:`comp_lib.studies.roster.Roster.codecs`).
    name : str
        The image's name in ``rows``.
    rows : pandas.DataFrame, optional
        The evaluation's rows, whose rates of this image start each search.
    """

    def known(codec_name):  # this image's rates in the rows: where each search starts
        if rows is None:
            return {}
        sub = rows[(rows.image == name) & (rows.codec == codec_name)]
        return dict(zip(sub.setting.astype(int), sub.bpp, strict=True))

    if anchor in codecs:
        rate = setting_near_rate(codecs[anchor][0], image, rate, known(anchor))[1]
    factor = float(np.sqrt(1 + tolerance))
    low, high = rate / factor, rate * factor
    shown, lines = [], []  # shown: [names, x_hat, the first one's line]
    for codec_name, (codec, _) in codecs.items():
        setting, rate_here = setting_near_rate(codec, image, rate, known(codec_name))
        x_hat = codec.decompress(codec.compress(image, setting))
        line = dict(codec=codec_name, setting=setting, bpp=rate_here, psnr=psnr(image, x_hat),
                    ssim=ssim(image, x_hat), shown=bool(low <= rate_here <= high))  # fmt: skip
        notes = ["rung {}: {} q{}".format(setting, *codec.rungs[setting])
                 if isinstance(codec, Ladder) else ""]  # fmt: skip
        if not line["shown"]:
            notes.append(f"left out: its nearest rate is {rate_here:.3f} bpp")
        else:
            twin = next((p for p in shown if np.array_equal(p[1], x_hat)), None)
            if twin is None:
                shown.append([[codec_name], x_hat, line])
            else:
                twin[0].append(codec_name)
                notes.append(f"the same image as {twin[0][0]}")
        lines.append(dict(line, note="; ".join(n for n in notes if n)))
    titled = {"original": image}
    for names, x_hat, line in shown:
        titled[f"{' = '.join(names)}: {line['bpp']:.3f} bpp, {line['psnr']:.2f} dB"] = x_hat
    return MatchedCrops(titled, pd.DataFrame(lines), rate, low, high)
