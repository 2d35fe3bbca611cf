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

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from comp_lib.baselines import BASELINES
from comp_lib.config import reports_dir
from comp_lib.data.registry import dataset_title
from comp_lib.files import atomic_write
from comp_lib.rd import rd_curves
from comp_lib.report.figures import plot_headline_rd, save_figure
from comp_lib.report.numbers import markdown, number
from comp_lib.report.tables import Provenance, read_provenance, read_table
from comp_lib.studies.constants import ANCHOR, DISSERTATION_JPEG
from comp_lib.studies.roster import COMCNN_RECCNN, OURS, RECCNN_ONLY

#: the classical codecs the study compares with (every baseline but the anchor)
CLASSICAL = tuple(name for name in BASELINES if name != ANCHOR)

__all__ = [
    "CLASSICAL",
    "TERMS",
    "ablation_findings",
    "dissertation_findings",
    "summary_numbers",
    "summary_table",
    "write_readme",
]


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


def _overlaps(rows: pd.DataFrame | None, max_rate: float) -> dict:
    """(dataset, codec) -> (lowest, highest) bpp over which its BD-rate against JPEG is
    computed: the rates its mean curve and JPEG's both cover, up to ``max_rate``."""
    spans = {}
    if rows is None or "dataset" not in rows:
        return spans
    for dataset, sub in rows.groupby("dataset", sort=False):
        span = rd_curves(sub).groupby("codec").bpp.agg(["min", "max"])
        if ANCHOR not in span.index:
            continue
        lo_j, hi_j = span.loc[ANCHOR]
        for codec, (lo, hi) in span.drop(index=ANCHOR).iterrows():
            spans[dataset, codec] = (max(lo, lo_j), min(hi, hi_j, max_rate))
    return spans


def summary_numbers(
    bd: pd.DataFrame, fixed: pd.DataFrame, rows: pd.DataFrame | None, rate: float = 0.3
) -> pd.DataFrame:
    """The numbers of the report's summary, one row per test set (in ``bd``'s order).

    Columns: ``dataset``; ``framework_bd``, ``framework_lo``, ``framework_hi`` (the paper's
    framework, ComCNN+RecCNN: BD-rate against JPEG by PSNR, %, and the bpp range it covers);
    the same three for the ladder (``ladder_*``, "ours"); ``gain_db`` (the ladder's PSNR
    minus JPEG's at ``rate`` bpp); ``classical`` and ``classical_bd`` (the classical codec
    with the lowest BD-rate). NaN (or "") where a codec was not run or a curve does not
    reach the rate.
    """
    spans = _overlaps(rows, float(bd.max_rate.max()))
    out = []
    for dataset, sub in bd.groupby("dataset", sort=False):
        by = sub.set_index("codec")["bd_rate_psnr_%"]
        row = {"dataset": dataset}
        for key, codec in (("framework", COMCNN_RECCNN), ("ladder", OURS)):
            lo, hi = spans.get((dataset, codec), (math.nan, math.nan))
            row |= {f"{key}_bd": by.get(codec, math.nan), f"{key}_lo": lo, f"{key}_hi": hi}
        at = fixed[(fixed.dataset == dataset) & np.isclose(fixed.bpp, rate)]
        at = at.set_index("codec").psnr
        row["gain_db"] = at.get(OURS, math.nan) - at.get(ANCHOR, math.nan)
        classical = by[[c for c in CLASSICAL if c in by.index]].dropna()
        row["classical"] = classical.idxmin() if len(classical) else ""
        row["classical_bd"] = classical.min() if len(classical) else math.nan
        out.append(row)
    return pd.DataFrame(out)


def summary_table(numbers: pd.DataFrame, rate: float = 0.3) -> pd.DataFrame:
    """:func:`summary_numbers` as text for people: one column per question."""

    def bd_over(r, key):
        value, lo, hi = r[f"{key}_bd"], r[f"{key}_lo"], r[f"{key}_hi"]
        if math.isnan(value):
            return "not measured"
        return f"{value:+.2f} % ({lo:.3f}-{hi:.3f} bpp)"

    return pd.DataFrame({
        "test set": [dataset_title(d) for d in numbers.dataset],
        f"framework ({COMCNN_RECCNN}): BD-rate": [bd_over(r, "framework")
                                                  for _, r in numbers.iterrows()],
        f'ladder ("{OURS}"): BD-rate': [bd_over(r, "ladder") for _, r in numbers.iterrows()],
        f"ladder's gain at {rate:g} bpp": [
            "not defined: a curve stops below it" if math.isnan(g) else f"{g:+.2f} dB"
            for g in numbers.gain_db],
        "best classical codec: BD-rate": [
            f"{c}: {v:+.2f} %" if c else "not measured"
            for c, v in zip(numbers.classical, numbers.classical_bd, strict=True)],
    })  # fmt: skip


def _answer(numbers: pd.DataFrame, bd: pd.DataFrame) -> list[str]:
    """The report's answer in three sentences, read off :func:`summary_numbers`."""
    ladder = numbers.set_index("dataset").ladder_bd.dropna()
    if ladder.empty:
        return []
    top = numbers.iloc[0]
    wins = int((ladder < 0).sum())
    verdict = "Yes" if wins == len(ladder) else "Not everywhere" if wins else "No"
    others = ", ".join(
        f"{dataset_title(d)} {v:+.2f} %" for d, v in ladder.drop(top.dataset).items()
    )
    gain = "" if math.isnan(top.gain_db) else f", and it gains {top.gain_db:+.2f} dB at 0.3 bpp"
    out = [
        f"**{verdict}: at equal bits per pixel (counted from the real bytes) the study's codec "
        f'beats JPEG on {wins} of {len(ladder)} test sets.** Its ladder ("{OURS}": the best '
        f"shipped model at each rate) needs {abs(top.ladder_bd):.2f} % "
        f"{'fewer' if top.ladder_bd < 0 else 'more'} bits than JPEG for the same PSNR on "
        f"{dataset_title(top.dataset)} (BD-rate {top.ladder_bd:+.2f} % over {top.ladder_lo:.3f}-"
        f"{top.ladder_hi:.3f} bpp{'; ' + others if others else ''}){gain}."
    ]
    by = bd[bd.dataset == top.dataset].set_index("codec")["bd_rate_psnr_%"]
    if not math.isnan(top.framework_bd) and RECCNN_ONLY in by.index:
        out.append(
            f"Jiang et al.'s framework itself ({COMCNN_RECCNN}) gives {top.framework_bd:+.2f} % "
            f"over the low rates it reaches ({top.framework_lo:.3f}-{top.framework_hi:.3f} bpp); "
            f"above those the ladder's gain is a post-filter's ({RECCNN_ONLY}: plain JPEG, "
            f"then RecCNN, {by[RECCNN_ONLY]:+.2f} % on its own)."
        )
    better = by[[c for c in CLASSICAL if c in by.index]].dropna()
    better = better[better < top.ladder_bd].sort_values()
    if len(better):
        listed = " and ".join(f"{c} ({v:+.2f} %)" for c, v in better.items())
        where = dataset_title(top.dataset)
        out.append(f"What still beats it on {where}: {listed}, codecs with no learning.")
    else:
        out.append(f"No classical codec of the study beats it on {dataset_title(top.dataset)}.")
    return [" ".join(out), ""]


def _bd_ranges(rows: pd.DataFrame | None, max_rate: float) -> list[str]:
    """Per dataset, the rates over which each codec's BD-rate against JPEG is computed."""
    if rows is None or "dataset" not in rows:
        return []
    lines = [
        "Each BD-rate is over the rates that codec's curve and JPEG's both cover, up to "
        f"{max_rate} bpp, so codecs measured over different ranges do not rank exactly: a "
        "curve that stops early (a sweep that ends at a low inner quality) is judged at low "
        "rates only. The ranges (bpp):",
        "",
    ]
    spans = _overlaps(rows, max_rate)
    for dataset in dict.fromkeys(d for d, _ in spans):
        parts = [f"{codec} {lo:.3f}-{hi:.3f}" for (d, codec), (lo, hi) in spans.items()
                 if d == dataset]  # fmt: skip
        lines.append(f"- {dataset_title(dataset)}: " + ", ".join(parts) + ".")
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
        lines.append(
            f"- {dataset_title(dataset)} ({lo:.2f}-{hi:.2f} bpp): " + ", ".join(parts) + "."
        )
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
        parts = [f"{r.codec} {number(r['bd_rate_psnr_%'], '+.2f')} %" for _, r in ranked.iterrows()]
        lines.append(
            f"- **{dataset_title(dataset)}**: BD-rate (PSNR) against JPEG: "
            + ", ".join(parts)
            + "."
        )
        at = fixed[(fixed.dataset == dataset) & (fixed.bpp == 0.3)].set_index("codec")
        if "ours" in at.index and "JPEG" in at.index:
            gain = at.loc["ours", "psnr"] - at.loc["JPEG", "psnr"]
            lines.append(
                f"  At 0.3 bpp: ours {number(at.loc['ours', 'psnr'])} dB / SSIM "
                f"{number(at.loc['ours', 'ssim'], '.3f')}, JPEG {number(at.loc['JPEG', 'psnr'])} "
                f"dB / {number(at.loc['JPEG', 'ssim'], '.3f')} ({number(gain, '+.2f')} dB)."
            )
    return lines


def _ablations() -> list[str]:
    """Section of the report for ``04_ablations``: each ablation's variants, ranked."""
    summary = _read("04_summary")
    if summary is None:
        return []
    source = read_provenance("04_summary")
    out = ["### 04 · Ablations: why the dissertation lost, what makes the method win", ""]
    if source is not None and source.profile == "smoke":
        out += ["**Smoke profile: a few training steps per run; these check the pipeline and "
                "are not results.**", ""]  # fmt: skip
    out += ["BD-rate (PSNR) against JPEG on BSDS300 test (180x180) and PSNR gain over JPEG at "
            "0.3 bpp, mean over seeds (± standard deviation where repeated):", ""]  # fmt: skip

    def cell(r, column: str, spec: str) -> str:
        mean, std = r[f"{column}_mean"], r[f"{column}_std"]
        text = number(mean, spec)
        if isinstance(std, float) and math.isnan(std):
            return text
        return f"{text} ± {number(std, '.2f')}"

    def bd(r) -> str:
        if math.isnan(r["bd_rate_psnr_%_mean"]):  # bd_rate raised: no PSNR range in common
            return "BD-rate undefined (no PSNR range shared with JPEG)"
        return f"{cell(r, 'bd_rate_psnr_%', '+.2f')} %"

    for ablation, sub in summary.groupby("ablation", sort=False):
        parts = [f"{r.variant} {bd(r)} / {cell(r, 'gain_at_0.3_db', '+.2f')} dB"
                 for _, r in sub.iterrows()]  # fmt: skip
        out.append(f"- **{ablation}** ([table](tables/04_{ablation}.md), "
                   f"[figure](figures/04_{ablation}.png)): " + "; ".join(parts) + ".")  # fmt: skip
    cost = _read("04_size_cost")
    if cost is not None:
        out += ["", "RecCNN size against cost, each network's decode re-timed one after another "
                "([table](tables/04_size_cost.md), [figure](figures/04_size_cost.png)):", "",
                markdown(cost)]  # fmt: skip
    rates = _read("04_dissertation_rates")
    if rates is not None:
        out += ["", "The dissertation's comparison with its rates "
                "([table](tables/04_dissertation_rates.md)):", "",
                markdown(rates, "not reported")]  # fmt: skip
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


#: the report's definitions of the study's own names, so that no internal name goes unexplained
TERMS = [
    f"**{COMCNN_RECCNN}** (the paper's framework): ComCNN halves the image, JPEG codes the "
    "compact image, bicubic x2 and RecCNN restore it (shipped model `rec32x20n`: RecCNN of "
    "32 channels x 20 layers).",
    f"**{RECCNN_ONLY}** (a post-filter): plain JPEG at full size, then a RecCNN removes its "
    "artefacts (shipped `post64s2lo` for low qualities, `post64s2hi` for high ones: 64 "
    "channels x 20 layers working at half resolution, stride 2).",
    f'**ladder** ("{OURS}"): a list of *rungs*, each a shipped model at one inner JPEG '
    "quality, sorted by rate and chosen on validation images (never on test images); "
    "`comp-lib compress --bpp` takes the highest rung whose real bytes fit.",
    "**BD-rate**: the mean change in bits against JPEG for the same PSNR, over the rates "
    "both curves cover (Bjontegaard; negative saves bits); **BD-PSNR**: the mean PSNR "
    "change at the same rate.",
]

#: the tables whose provenance the appendix lists, with what made them
_PROVENANCE = [
    ("00_corpus_summary", "00 data"),
    ("01_method_summary", "01 method"),
    ("02_training_log", "02 training"),
    ("03_standard_bd", "03 evaluation"),
    ("04_summary", "04 ablations"),
]


def _headline_figure(rows: pd.DataFrame, numbers: pd.DataFrame, max_rate: float) -> list[str]:
    """Draw the headline RD figure of the first test set; return the lines that show it."""
    dataset = numbers.dataset.iloc[0]
    curves = rd_curves(rows[rows.dataset == dataset])
    best = numbers.classical.iloc[0]
    codecs = [ANCHOR, COMCNN_RECCNN, OURS, *([best] if best else [])]
    labels = {ANCHOR: f"{ANCHOR} (the anchor)", COMCNN_RECCNN: f"{COMCNN_RECCNN} (the paper's)",
              OURS: f"{OURS} (the ladder)", best: f"{best} (best classical codec)"}  # fmt: skip
    title = f"{dataset_title(dataset)}, grayscale, mean over images"
    fig = plot_headline_rd(curves, codecs, max_rate, title, labels)
    save_figure(fig, "report_headline_rd")
    plt.close(fig)
    return [
        f"![PSNR against bpp on {dataset_title(dataset)}: JPEG, the paper's framework, the "
        f"ladder and {best or 'no classical codec'}](figures/report_headline_rd.png)",
        "",
    ]


def _details_00_01_02() -> list[str]:
    out = []
    corpus = _read("00_corpus_summary")
    if corpus is not None:
        out += ["### 00 · Data ([table](tables/00_corpus_summary.md))", "",
                "Images per source and split (the validation images choose the ladder; no "
                "model trains on them):", "", markdown(corpus), ""]  # fmt: skip
    method = _read("01_method_summary")
    if method is not None:
        out += [
            "### 01 · The method on one image ([table](tables/01_method_summary.csv), "
            "[figure](figures/01_method_vs_jpeg.png))",
            "",
            markdown(method),
            "",
        ]
    log = _read("02_training_log")
    if log is not None and "val_gain_db" in log and len(log):
        last, best = log.iloc[-1], log.loc[log.val_gain_db.idxmax()]
        out += ["### 02 · Training ([log](tables/02_training_log.csv), "
                "[figure](figures/02_training_curves.png))", "",
                f"This profile's demonstration run: {len(log)} epochs; gain over JPEG at equal "
                f"rate on the validation images {last.val_gain_db:+.2f} dB at the last epoch, "
                f"{best.val_gain_db:+.2f} dB at its best (epoch {int(best.epoch)}). The "
                "shipped models were trained far longer by the same code (their model cards "
                "in `comp_lib/weights/`).", ""]  # fmt: skip
    return out


def _appendix(source: Provenance | None) -> list[str]:
    """Provenance of every section's table and the pipeline's time."""
    out = ["## Appendix: provenance", "",
           "Generated by `make report` (`python -m comp_lib.pipeline`) from the tables under "
           "[`tables/`](tables) and the executed notebooks under `notebooks/` (not committed; "
           "rerun to get them). Every number above is read from the table it links to; what "
           "made each table:", ""]  # fmt: skip
    for name, label in _PROVENANCE:
        line = _line(read_provenance(name))
        if line:
            out += [f"- {label} (`{name}`): {line}"]
    return [*out, "", *_pipeline_time(source)]


def write_readme() -> Path:
    """Build ``reports/README.md`` from whatever tables exist; return its path.

    In this order: the answer in three sentences, the headline RD figure and the summary
    table, the dissertation's figure, the terms, then each notebook's details, the
    benchmarks and the provenance appendix.
    """
    out = ["# comp-study: the report", ""]
    source, rows = read_provenance("03_standard_bd"), _read("03_rows")
    bd, fixed = _read("03_standard_bd"), _read("03_standard_at_rates")
    smoke = source is not None and source.profile == "smoke"
    if bd is not None and fixed is not None:
        numbers = summary_numbers(bd, fixed, rows)
        max_rate = float(bd.max_rate.max())
        out += ["## The answer", ""]
        if smoke:
            out += ["**These tables come from the smoke profile (a few images per dataset): they "
                    "check the pipeline and are not results.** Run `make report` for the default "
                    "profile.", ""]  # fmt: skip
        out += _answer(numbers, bd)
        if rows is not None and "dataset" in rows:
            out += _headline_figure(rows, numbers, max_rate)
        out += [f"BD-rates by PSNR against JPEG up to {max_rate:g} bpp, over the rates each "
                "curve covers; grayscale, mean curves over each test set "
                "([table](tables/03_standard_bd.md)):", "",
                markdown(summary_table(numbers)), ""]  # fmt: skip
    rates = _read("04_dissertation_rates")
    if rates is not None:
        out += ["![Why the dissertation lost: its model and JPEG's 32.75 dB on JPEG's RD "
                "curve](figures/04_dissertation_rd.png)", "",
                *dissertation_findings(rates)]  # fmt: skip
    out += ["Terms:", "", *[f"- {t}" for t in TERMS], ""]
    out += ["## Details, notebook by notebook", "", *_details_00_01_02()]
    if bd is not None and fixed is not None:
        out += [
            "### 03 · Evaluation at equal rate",
            "",
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
            out.append(f"![RD curves on {dataset_title(dataset)}](figures/03_rd_{dataset}.png)")
        out += ["", "![crops at matched rates](figures/03_crops.png)", ""]
    diss = _read("03_dissertation")
    if diss is not None:
        out += [
            "#### The dissertation's protocol, with rates ([table](tables/03_dissertation.md))",
            "",
            markdown(diss, "not reported"),
            "",
        ]
        here = diss[diss.codec.str.startswith("JPEG q=")]
        if len(here):
            r = here.iloc[0]
            out += [
                f"The JPEG setting that matches the dissertation's {DISSERTATION_JPEG['psnr']:g} "
                f"dB here is {r.codec}: "
                f"{number(r.psnr)} dB / SSIM {number(r.ssim, '.3f')} at "
                f"{number(r.bpp, '.3f')} bpp. "
                "The dissertation compared at whatever rate that was, without saying.",
                "",
            ]
    paper = _read("03_paper")
    if paper is not None:
        out += ["#### Jiang et al.'s protocol ([table](tables/03_paper.md))", "",
                markdown(paper), ""]  # fmt: skip
    out += _ablations()
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
    out += _appendix(source)
    path = reports_dir() / "README.md"
    return atomic_write(path, "\n".join(out))
