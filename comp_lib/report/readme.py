"""Write ``reports/README.md``, the report, from the tables the notebooks produced.

Every number in the report is read from a table under ``reports/tables/`` and
printed next to a link to it, so that the text cannot drift from the results; what
produced a table (profile, parameters, machine) is read from its provenance sidecar
(:func:`comp_lib.report.tables.read_table`), as data.
:func:`comp_lib.pipeline.run` calls :func:`write_readme` after the notebooks.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from comp_lib.config import reports_dir
from comp_lib.files import atomic_write
from comp_lib.report.tables import Provenance, read_provenance, read_table
from comp_lib.studies.constants import DISSERTATION_JPEG

__all__ = ["ablation_findings", "write_readme"]


def _read(name: str) -> pd.DataFrame | None:
    return read_table(name)[0]


def _line(source: Provenance | None) -> str:
    """The provenance line the report prints above a section ("" when unknown)."""
    return "" if source is None else str(source)


def _parameter(source: Provenance | None, *keys: str):
    """``source.parameters[keys[0]][keys[1]]...``, or None where any is missing."""
    value = None if source is None else source.parameters
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _fmt(value: float, spec: str = ".2f") -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else format(value, spec)
    )


def _bd_ranges(rows: pd.DataFrame | None, max_rate: float) -> list[str]:
    """Per dataset, the rates over which each codec's BD-rate against JPEG is computed."""
    from comp_lib.rd import rd_curves

    if rows is None or "dataset" not in rows:
        return []
    lines = [
        "Each BD-rate is over the rates that codec's curve and JPEG's both cover, up to "
        f"{max_rate} bpp, so codecs measured over different ranges do not rank exactly: a "
        "curve that stops early (a sweep that ends at a low inner quality) is judged at low "
        "rates only. The ranges (bpp):",
        "",
    ]
    for dataset, sub in rows.groupby("dataset", sort=False):
        curves = rd_curves(sub)
        span = curves.groupby("codec").bpp.agg(["min", "max"])
        if "JPEG" not in span.index:
            continue
        lo_j, hi_j = span.loc["JPEG"]
        parts = [
            f"{codec} {max(lo, lo_j):.2f}-{min(hi, hi_j, max_rate):.2f}"
            for codec, (lo, hi) in span.drop(index="JPEG").iterrows()
        ]
        lines.append(f"- {dataset}: " + ", ".join(parts) + ".")
    return [*lines, ""]


def _common_range() -> list[str]:
    """Per dataset, every codec's BD-PSNR against JPEG over the one range all cover
    (``03_standard_bd_common``)."""
    common = _read("03_standard_bd_common")
    if common is None:
        return []
    lines = []
    for dataset, table in common.dropna(subset=["bd_psnr_db"]).groupby("dataset", sort=False):
        ranked = table.sort_values("bd_psnr_db", ascending=False)
        parts = [f"{r.codec} {r.bd_psnr_db:+.2f} dB" for r in ranked.itertuples()]
        lo, hi = table.min_rate.iloc[0], table.max_rate.iloc[0]
        lines.append(f"- {dataset} ({lo:.2f}-{hi:.2f} bpp): " + ", ".join(parts) + ".")
    if not lines:
        return []
    return [
        "To rank every codec over one range, BD-PSNR against JPEG (mean PSNR gain over "
        "log-rate) over the rates that all the curves of a dataset cover "
        "([table](tables/03_standard_bd_common.md)):",
        "",
        *lines,
        "",
    ]


def _ladder_note(rows: pd.DataFrame | None, source: Provenance | None) -> list[str]:
    """A line saying when "ours" ran at only some of its ladder's rungs (``ladder_step``)."""
    step = _parameter(source, "ladder_step")
    if rows is None or "codec" not in rows or step is None or int(step) <= 1:
        return []
    step = int(step)
    n = rows[rows.codec == "ours"].setting.nunique()
    return [
        f'"ours" ran at {n} rungs of its ladder (one in {step}, and the top one) to fit '
        "this profile's time: the same codec, its curve sampled more sparsely than with "
        "`ladder_step: 1`.",
        "",
    ]


def _pipeline_time(source: Provenance | None) -> list[str]:
    """The wall time of the ``make report`` run that made the 03 tables (``source``: their
    provenance), where recorded."""
    if source is None or source.profile is None:
        return []
    profile = source.profile
    times, timing = read_table(f"pipeline_{profile}")
    if times is None or "total" not in set(times.notebook):
        return []
    total = times.set_index("notebook").loc["total", "minutes"]
    where = f" on {timing.machine}" if timing is not None and timing.machine else ""
    return [
        f"`make report` at the `{profile}` profile took {total:.1f} minutes{where} "
        f"([per notebook](tables/pipeline_{profile}.md)).",
        "",
    ]


def _eval_speed() -> list[str]:
    """Issue 5's speed target, stated: one codec setting over the 100 BSDS300 test images."""
    speed = _read("eval_speed")
    if speed is None or speed.empty:
        return []
    parts = [
        f"{r.codec} {r.ms_per_image * 100 / 1000:.0f} s"
        f" ({'within' if r.meets_60s else 'over'} 60 s)"
        for r in speed.itertuples()
    ]
    return [
        "One codec setting over the 100 BSDS300 test images (coding, decoding and scoring; "
        "measured on the first images and scaled, [table](tables/eval_speed.md)): "
        + "; ".join(parts)
        + ".",
        "",
    ]


def _headline(bd: pd.DataFrame, fixed: pd.DataFrame) -> list[str]:
    lines = []
    for dataset, sub in bd.groupby("dataset", sort=False):
        ranked = sub.sort_values("bd_rate_psnr_%")
        parts = [f"{r.codec} {_fmt(r['bd_rate_psnr_%'], '+.1f')}%" for _, r in ranked.iterrows()]
        lines.append(f"- **{dataset}**: BD-rate (PSNR) against JPEG: " + ", ".join(parts) + ".")
        at = fixed[(fixed.dataset == dataset) & (fixed.bpp == 0.3)].set_index("codec")
        if "ours" in at.index and "JPEG" in at.index:
            gain = at.loc["ours", "psnr"] - at.loc["JPEG", "psnr"]
            lines.append(
                f"  At 0.3 bpp: ours {_fmt(at.loc['ours', 'psnr'])} dB / SSIM "
                f"{_fmt(at.loc['ours', 'ssim'], '.3f')}, JPEG {_fmt(at.loc['JPEG', 'psnr'])} dB / "
                f"{_fmt(at.loc['JPEG', 'ssim'], '.3f')} ({_fmt(gain, '+.2f')} dB)."
            )
    return lines


def _ablations() -> list[str]:
    """Section of the report for ``04_ablations``: each ablation's variants, ranked."""
    summary = _read("04_summary")
    if summary is None:
        return []
    source = read_provenance("04_summary")
    out = ["## Ablations (notebook `04_ablations`)", "", _line(source), ""]
    if source is not None and source.profile == "smoke":
        out += ["**Smoke profile: a few training steps per run; these check the pipeline and "
                "are not results.**", ""]  # fmt: skip
    out += ["BD-rate (PSNR) against JPEG on BSDS300 test (180x180) and PSNR gain over JPEG at "
            "0.3 bpp, mean over seeds (± standard deviation where repeated):", ""]  # fmt: skip

    def cell(r, column: str, spec: str) -> str:
        mean, std = r[f"{column}_mean"], r[f"{column}_std"]
        text = _fmt(mean, spec)
        if isinstance(std, float) and math.isnan(std):
            return text
        return f"{text} ± {_fmt(std, '.2f')}"

    def bd(r) -> str:
        if math.isnan(r["bd_rate_psnr_%_mean"]):  # bd_rate raised: no PSNR range in common
            return "BD-rate undefined (no PSNR range shared with JPEG)"
        return f"{cell(r, 'bd_rate_psnr_%', '+.1f')}%"

    for ablation, sub in summary.groupby("ablation", sort=False):
        parts = [f"{r.variant} {bd(r)} / {cell(r, 'gain_at_0.3_db', '+.2f')} dB"
                 for _, r in sub.iterrows()]  # fmt: skip
        out.append(f"- **{ablation}** ([table](tables/04_{ablation}.md), "
                   f"[figure](figures/04_{ablation}.png)): " + "; ".join(parts) + ".")  # fmt: skip
    cost = _read("04_size_cost")
    if cost is not None:
        out += ["", "RecCNN size against cost, each network's decode re-timed one after another "
                "([table](tables/04_size_cost.md), [figure](figures/04_size_cost.png)):", "",
                cost.to_markdown(index=False)]  # fmt: skip
    rates = _read("04_dissertation_rates")
    if rates is not None:
        out += ["", "The dissertation's comparison with its rates "
                "([table](tables/04_dissertation_rates.md)):", "",
                rates.to_markdown(index=False)]  # fmt: skip
    return out + ["", "### What the ablations say", "", *ablation_findings(summary, rates, source)]


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
    epochs, steps = _parameter(source, "budget", "epochs"), _parameter(source, "budget", "steps")
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
        out.append(f"- **{ablation}**: best {best.variant} ({best[f'{col}_mean']:+.1f}%), "
                   f"worst {worst.variant} ({worst[f'{col}_mean']:+.1f}%): {gap:.1f} points "
                   f"apart{verdict}.")  # fmt: skip
    out.append("")
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


def write_readme() -> Path:
    """Build ``reports/README.md`` from whatever tables exist; return its path."""
    out = [
        "# comp-study: the report",
        "",
        "Generated by `make report` (`python -m comp_lib.pipeline`) from the tables under "
        "[`tables/`](tables) and the executed notebooks under `notebooks/` (not committed; "
        "rerun to get them). Every number below is read from the table it links to.",
        "",
    ]
    source, rows = read_provenance("03_standard_bd"), _read("03_rows")
    out += _pipeline_time(source)
    bd, fixed = _read("03_standard_bd"), _read("03_standard_at_rates")
    if bd is not None and fixed is not None:
        out += [
            "## Equal-rate comparison (notebook `03_evaluation`)",
            "",
            _line(source),
            "",
            *(
                [
                    "**These tables come from the smoke profile (a few images per dataset): they "
                    "check the pipeline and are not results.** Run `make report` for the default "
                    "profile.",
                    "",
                ]
                if source is not None and source.profile == "smoke"
                else []
            ),
            *_headline(bd, fixed),
            "",
            *_ladder_note(rows, source),
            *_bd_ranges(rows, float(bd.max_rate.max())),
            *_common_range(),
            "Tables: [BD-rates](tables/03_standard_bd.md), "
            "[PSNR/SSIM at fixed rates](tables/03_standard_at_rates.md), "
            "[per-image rows](tables/03_rows.csv), [CompressAI JSON](tables/03_json).",
            "",
        ]
        for dataset in bd.dataset.unique():
            out.append(f"![RD curves on {dataset}](figures/03_rd_{dataset}.png)")
        out += ["", "![crops at about 0.3 bpp](figures/03_crops.png)", ""]
    diss = _read("03_dissertation")
    if diss is not None:
        out += [
            "## The dissertation's protocol, with rates ([table](tables/03_dissertation.md))",
            "",
            diss.to_markdown(index=False),
            "",
        ]
        here = diss[diss.codec.str.startswith("JPEG q=")]
        if len(here):
            r = here.iloc[0]
            out += [
                f"The JPEG setting closest to the dissertation's {DISSERTATION_JPEG['psnr']:g} dB "
                f"here is {r.codec}: "
                f"{_fmt(r.psnr)} dB / SSIM {_fmt(r.ssim, '.3f')} at {_fmt(r.bpp, '.2f')} bpp. "
                "The dissertation compared at whatever rate that was, without saying.",
                "",
            ]
    paper = _read("03_paper")
    if paper is not None:
        out += [
            "## Jiang et al.'s protocol ([table](tables/03_paper.md))",
            "",
            paper.to_markdown(index=False),
            "",
        ]
    out += _ablations()
    corpus = _read("00_corpus_summary")
    if corpus is not None:
        out += [
            "## Data ([table](tables/00_corpus_summary.md), notebook `00_preprocessing`)",
            "",
            corpus.to_markdown(index=False),
            "",
        ]
    speed = [
        ("codec_speed.md", "codec speed"),
        ("train_speed.md", "training throughput"),
        ("data_speed.md", "data preparation"),
        ("diffjpeg_agreement.md", "differentiable JPEG against libjpeg"),
        (
            "model_quality_best.md",
            "the shipped codecs (the best at each rate) against JPEG on BSDS300",
        ),
        ("model_quality_rec32x20.md", "the first shipped model against JPEG on BSDS300"),
        ("eval_speed.md", "one codec setting over the 100 BSDS300 test images"),
        ("colour.md", "colour images: chroma by JPEG or by the networks, against colour JPEG"),
        ("kodak_speed.md", "compress/decompress of a 768x512 Kodak image"),
    ]
    links = [f"[{label}](tables/{name})" for name, label in speed
             if (reports_dir() / "tables" / name).is_file()]  # fmt: skip
    if links:
        out += ["## Benchmarks (`make benchmarks`)", "", ", ".join(links) + ".", "",
                *_eval_speed()]  # fmt: skip
    path = reports_dir() / "README.md"
    return atomic_write(path, "\n".join(out))
