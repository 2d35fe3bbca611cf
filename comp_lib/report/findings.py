"""The report's findings on the ablations, read off the 04 tables by fixed rules.

:func:`ablation_findings` says, per ablation, whether its best and worst variants are
clearly apart given the seed-to-seed spread (:data:`CLEAR_SPREADS`);
:func:`dissertation_findings` says what comparing at unequal rates did to the
dissertation's result. ``notebooks/04_ablations.py`` and ``reports/README.md``
(:func:`comp_lib.report.readme.write_readme`) print both.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from comp_lib.report.tables import Provenance
from comp_lib.studies.constants import DISSERTATION_JPEG

__all__ = [
    "CLEAR_SPREADS",
    "ablation_findings",
    "dissertation_findings",
    "provenance_parameter",
]


def provenance_parameter(source: Provenance | None, *keys: str):
    """A parameter a table was made with, read off its provenance ``source``:
    ``source.parameters[keys[0]][keys[1]]...``, or None where any is missing."""
    value = None if source is None else source.parameters
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


#: an ablation's best and worst variants count as "clearly apart" when their BD-rates
#: differ by more than this many pooled seed standard deviations
CLEAR_SPREADS = 3.0


def ablation_findings(
    summary: pd.DataFrame, rates: pd.DataFrame | None, source: Provenance | None = None
) -> list[str]:
    """What the ablation tables say, read off them by fixed rules (stated in the text).

    Per ablation: its best and worst variant by BD-rate, and whether their gap exceeds
    :data:`CLEAR_SPREADS` times the seed-to-seed standard deviation pooled over every
    repeated variant. Then the dissertation's comparison: the rate JPEG needed for its
    32.75 dB against the model's rate, and which faults alone cost more than 1 dB at
    equal rate.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``04_summary``: per ablation and variant, ``bd_rate_psnr_%_{mean,std,count}``.
    rates : pandas.DataFrame, optional
        ``04_dissertation_rates`` (the model first, then its faults and JPEG).
    source : Provenance, optional
        The tables' provenance: its ``budget`` parameter (epochs, steps) is stated.

    Returns
    -------
    list of str
        Markdown lines.
    """
    col = "bd_rate_psnr_%"
    repeated = summary[summary[f"{col}_count"] >= 2]
    # a run shared by several ablations (the budget's own setting) counts once
    repeated = repeated.drop_duplicates([f"{col}_mean", f"{col}_std"])
    noise = float(np.sqrt((repeated[f"{col}_std"] ** 2).mean())) if len(repeated) else math.nan
    out = []
    epochs = provenance_parameter(source, "budget", "epochs")
    steps = provenance_parameter(source, "budget", "steps")
    if epochs is not None and steps is not None:
        out += [f"Every run had the same small budget ({epochs} epochs of {steps} steps): "
                "these rank what each change does early in training, which favours small "
                "networks and high learning rates. The shipped models of the 03 comparison "
                "were trained far longer.", ""]  # fmt: skip
    if math.isnan(noise):
        out += ["No variant was run with more than one seed, so no seed spread is known: "
                "read small differences as noise.", ""]  # fmt: skip
    else:
        out += [f"Seed-to-seed standard deviation of the BD-rate, pooled over the "
                f"{len(repeated)} distinct repeated variants: {noise:.2f} points. An ablation's "
                f"best and worst variants are called clearly apart when their BD-rates differ by "
                f"more than {CLEAR_SPREADS:g} times that ({CLEAR_SPREADS * noise:.1f} points).",
                ""]  # fmt: skip
    for ablation, sub in summary.groupby("ablation", sort=False):
        sub = sub.dropna(subset=[f"{col}_mean"])
        if len(sub) < 2:
            continue
        best = sub.loc[sub[f"{col}_mean"].idxmin()]
        worst = sub.loc[sub[f"{col}_mean"].idxmax()]
        gap = worst[f"{col}_mean"] - best[f"{col}_mean"]
        verdict = (
            "" if math.isnan(noise)
            else ", clearly apart" if gap > CLEAR_SPREADS * noise
            else ", within the seed noise"
        )  # fmt: skip
        out.append(f"- **{ablation}**: best {best.variant} ({best[f'{col}_mean']:+.2f} %), "
                   f"worst {worst.variant} ({worst[f'{col}_mean']:+.2f} %): {gap:.2f} points "
                   f"apart{verdict}.")  # fmt: skip
    out.append("")
    return out + dissertation_findings(rates)


def dissertation_findings(rates: pd.DataFrame | None) -> list[str]:
    """What ``04_dissertation_rates`` says: the rate JPEG needed for the dissertation's
    32.75 dB against its model's rate, and the faults that alone cost more than 1 dB."""
    out = []
    if rates is None or rates.empty:
        return out
    model, jpeg = rates.iloc[0], rates[rates.variant.str.startswith("JPEG q=")]
    if len(jpeg) and not (math.isnan(model.bpp) or math.isnan(model.gain_db)):
        j = jpeg.iloc[0]
        out += [
            f"The dissertation's protocol here gives {model.psnr:.2f} dB at {model.bpp:.3f} "
            f"bpp, {model.gain_db:+.2f} dB against JPEG at that rate "
            f"({model.jpeg_psnr_same_bpp:.2f} dB). JPEG reaches about "
            f"{DISSERTATION_JPEG['psnr']:g} dB, the "
            f"dissertation's JPEG figure, only at "
            f"{j.bpp:.3f} bpp ({j.bpp / model.bpp:.1f} times the model's rate): comparing at "
            f"unequal rates alone turns a {model.gain_db:+.2f} dB result into a "
            f"{model.psnr - j.psnr:+.2f} dB one.",
            "",
        ]
    faults = rates.iloc[1:][rates.iloc[1:].gain_db < -1.0]
    if len(faults):
        listed = "; ".join(f"{r.variant} {r.psnr:.2f} dB ({r.gain_db:+.2f} dB)"
                           for r in faults.itertuples())  # fmt: skip
        out += [f"Faults that alone cost more than 1 dB against JPEG at equal rate: {listed}.", ""]
    return out
