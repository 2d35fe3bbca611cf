"""The report's summary: the answer to the study's question, read off the 03 tables.

The numbers per test set (:func:`summary_numbers`: BD-rates of the paper's framework, of
the ladder and of the best classical codec, the ladder's gain at 0.3 bpp), the same as a
table for people (:func:`summary_table`), the answer in three sentences
(:func:`answer_sentences`) and the headline RD figure (:func:`headline_figure`), which
open ``reports/README.md`` (:func:`comp_lib.report.readme.write_readme`).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from comp_lib.baselines import BASELINES
from comp_lib.data.registry import dataset_title
from comp_lib.rd import rd_curves
from comp_lib.report.figures import plot_headline_rd, save_figure
from comp_lib.report.numbers import BD_MISSING, percent
from comp_lib.studies.constants import ANCHOR
from comp_lib.studies.roster import COMCNN_RECCNN, OURS, RECCNN_ONLY

#: the classical codecs the study compares with (every baseline but the anchor)
CLASSICAL = tuple(name for name in BASELINES if name != ANCHOR)

__all__ = [
    "CLASSICAL",
    "answer_sentences",
    "bd_rate_spans",
    "headline_figure",
    "summary_numbers",
    "summary_table",
]


def bd_rate_spans(rows: pd.DataFrame | None, max_rate: float) -> dict:
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

    Columns: ``dataset``; ``images`` (how many of its images the rows hold; NaN without
    rows); ``framework_bd``, ``framework_lo``, ``framework_hi`` (the paper's
    framework, ComCNN+RecCNN: BD-rate against JPEG by PSNR, %, and the bpp range it covers);
    the same three for the ladder (``ladder_*``, "ours"); ``gain_db`` (the ladder's PSNR
    minus JPEG's at ``rate`` bpp); ``classical`` and ``classical_bd`` (the classical codec
    with the lowest BD-rate). NaN (or "") where a codec was not run or a curve does not
    reach the rate.
    """
    spans = bd_rate_spans(rows, float(bd.max_rate.max()))
    out = []
    for dataset, sub in bd.groupby("dataset", sort=False):
        by = sub.set_index("codec")["bd_rate_psnr_%"]
        row = {"dataset": dataset, "images": math.nan}
        if rows is not None and "dataset" in rows:
            row["images"] = rows.loc[rows.dataset == dataset, "image"].nunique() or math.nan
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
        "test set": [_test_set(d, n) for d, n in zip(numbers.dataset, numbers.images,
                                                     strict=True)],
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


def _test_set(dataset: str, images: float, then: str = "") -> str:
    """``"BSDS300 test (40 images)"``; with ``then``, a parenthesis it opens:
    ``"BSDS300 test (40 images; BD-rate"``."""
    title = dataset_title(dataset)
    if math.isnan(images):
        return f"{title} ({then}" if then else title
    return f"{title} ({int(images)} images; {then}" if then else f"{title} ({int(images)} images)"


def answer_sentences(numbers: pd.DataFrame, bd: pd.DataFrame) -> list[str]:
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
        f"{_test_set(top.dataset, top.images, 'BD-rate')} {top.ladder_bd:+.2f} % over "
        f"{top.ladder_lo:.3f}-{top.ladder_hi:.3f} bpp{'; ' + others if others else ''}){gain}."
    ]
    by = bd[bd.dataset == top.dataset].set_index("codec")["bd_rate_psnr_%"]
    if not math.isnan(top.framework_bd) and RECCNN_ONLY in by.index:
        out.append(
            f"Jiang et al.'s framework itself ({COMCNN_RECCNN}) gives {top.framework_bd:+.2f} % "
            f"over the low rates it reaches ({top.framework_lo:.3f}-{top.framework_hi:.3f} bpp); "
            f"above those the ladder's gain is a post-filter's ({RECCNN_ONLY}: plain JPEG, "
            f"then a post-filter network, {percent(by[RECCNN_ONLY], BD_MISSING)} on its own)."
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


def headline_figure(rows: pd.DataFrame, numbers: pd.DataFrame, max_rate: float) -> list[str]:
    """Draw the headline RD figure of the first test set; return the lines that show it."""
    dataset = numbers.dataset.iloc[0]
    curves = rd_curves(rows[rows.dataset == dataset])
    best = numbers.classical.iloc[0]
    codecs = [ANCHOR, COMCNN_RECCNN, OURS, *([best] if best else [])]
    labels = {ANCHOR: f"{ANCHOR} (the anchor)", COMCNN_RECCNN: f"{COMCNN_RECCNN} (the paper's)",
              OURS: f"{OURS} (the ladder)", best: f"{best} (best classical codec)"}  # fmt: skip
    images = numbers.images.iloc[0]
    over = "images" if math.isnan(images) else f"its {int(images)} images"
    title = f"{dataset_title(dataset)}, grayscale, mean over {over}"
    fig = plot_headline_rd(curves, codecs, max_rate, title, labels)
    save_figure(fig, "report_headline_rd")
    plt.close(fig)
    return [
        f"![PSNR against bpp on {dataset_title(dataset)}: JPEG, the paper's framework, the "
        f"ladder and {best or 'no classical codec'}](figures/report_headline_rd.png)",
        "",
    ]
