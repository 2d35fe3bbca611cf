"""The ablations' results for people: spread over seeds, tables, where two measures disagree.

Read from :func:`comp_lib.studies.ablations.runs.run_ablation` results and curves:
the mean and spread over seeds (:func:`spread`), one ablation's table
(:func:`ablation_table`), the dissertation's comparison with the rates it left out
(:func:`dissertation_rates`, :func:`dissertation_for_people`), the variants whose
BD-rate and gain at 0.3 bpp disagree (:func:`sign_disagreements`) and the rate where a
gain over JPEG ends (:func:`gain_crossing`). A value that cannot be computed reads
``not defined: <why>`` (:mod:`comp_lib.report.numbers`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from comp_lib.report.numbers import number
from comp_lib.studies.constants import DISSERTATION_JPEG, DISSERTATION_MODEL

__all__ = [
    "ablation_table",
    "dissertation_for_people",
    "dissertation_rates",
    "gain_crossing",
    "sign_disagreements",
    "spread",
]


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
