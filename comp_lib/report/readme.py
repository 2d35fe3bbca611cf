"""Write ``reports/README.md``, the report, from the tables the notebooks produced.

Every number in the report is read from a table under ``reports/tables/`` and
printed next to a link to it, so that the text cannot drift from the results; what
produced a table (profile, parameters, machine) is read from its provenance sidecar
(:func:`comp_lib.report.tables.read_table`), as data.
This module assembles the document: the summary (:mod:`comp_lib.report.summary`) and
the findings on the ablations (:mod:`comp_lib.report.findings`) first, then the terms
(:data:`TERMS`), a section per notebook, the benchmarks and the provenance appendix.
:func:`comp_lib.pipeline.run` calls :func:`write_readme` after the notebooks.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from comp_lib.config import reports_dir
from comp_lib.data.registry import dataset_title
from comp_lib.files import atomic_write
from comp_lib.report.findings import ablation_findings, dissertation_findings, provenance_parameter
from comp_lib.report.numbers import BD_MISSING, markdown, number, percent
from comp_lib.report.summary import (
    answer_sentences,
    bd_rate_spans,
    headline_figure,
    summary_numbers,
    summary_table,
)
from comp_lib.report.tables import Provenance, read_provenance, read_table
from comp_lib.studies.constants import DISSERTATION_JPEG
from comp_lib.studies.roster import COMCNN_RECCNN, OURS, RECCNN_ONLY

__all__ = ["TERMS", "write_readme"]


def _read(name: str) -> pd.DataFrame | None:
    return read_table(name)[0]


def _line(source: Provenance | None) -> str:
    """The provenance line the report prints above a section ("" when unknown)."""
    return "" if source is None else str(source)


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
    spans = bd_rate_spans(rows, max_rate)
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
    step = provenance_parameter(source, "ladder_step")
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
        parts = [
            f"{r.codec} {percent(r['bd_rate_psnr_%'], BD_MISSING)}" for _, r in ranked.iterrows()
        ]
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


#: the report's definitions of the study's own names, so that no internal name goes unexplained
TERMS = [
    f"**{COMCNN_RECCNN}** (the paper's framework): ComCNN halves the image, JPEG codes the "
    "compact image, bicubic x2 and RecCNN restore it (shipped model `rec32x20n`: RecCNN of "
    "32 channels x 20 layers).",
    f"**{RECCNN_ONLY}** (a post-filter; the paper's name for its decoder network alone): "
    "plain JPEG at full size, then a network removes its artefacts. The shipped `unet32q` "
    "is not the paper's RecCNN but a U-Net of residual blocks at 4 scales (32-256 "
    "channels) that is told the JPEG quantisation table read from the file, so that one "
    "model serves every quality; the earlier `post64s2lo` and `post64s2hi` were RecCNNs of "
    "64 channels x 20 layers at half resolution, one per range of qualities.",
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
    ("05_post_filter_summary", "05 post-filter"),
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


def _post_filter() -> list[str]:
    """Section of the report for ``05_post_filter``: the shipped post-filter against DnCNN-3."""
    summary = _read("05_post_filter_summary")
    if summary is None or summary.empty:
        return []
    r = summary.iloc[0]
    return [
        "### 05 · The post-filter ([summary](tables/05_post_filter_summary.md), "
        "[gains by quality](tables/05_post_filter_by_quality.csv), "
        "[shapes](tables/05_post_filter_shapes.csv))",
        "",
        f'Above about 0.13 bpp "ours" is JPEG followed by the post-filter `unet32q`, so its '
        f"gain is the headline there. At quality {int(r.quality)} it gains "
        f"{number(r.gain_db, '+.2f')} dB over JPEG on the same bytes on the notebook's "
        f"{int(r.images)} images and {number(r.gain_100_images_db, '+.2f')} dB on the 100 "
        "BSDS300 test images of `benchmarks/post_filters.py test`, against "
        f"{number(r.target_db, '+.2f')} dB published for DnCNN-3: "
        f"{number(r.missing_db, '.2f')} dB short, {number(r.doublings, '.1f')} more doublings of "
        f"its training at its latest pace (about {number(r.more_hours_here, '.0f')} more hours of "
        "the 2 cores it trained on). Decoded as a self-ensemble it gained at most "
        f"{number(r.best_ensemble_gain_db, '+.2f')} dB more.",
        "",
        "![gain over JPEG by quality](figures/05_post_filter_by_quality.png)",
        "![validation gain against the training steps](figures/05_post_filter_steps.png)",
        "",
    ]


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
        out += answer_sentences(numbers, bd)
        if rows is not None and "dataset" in rows:
            out += headline_figure(rows, numbers, max_rate)
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
    out += _post_filter()
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
