"""The codecs of the evaluation (notebook 03): which codec, at which settings, and "ours".

:func:`build_roster` turns the notebook's parameters into a :class:`Roster`:

* the **reported codecs** (:class:`Run`), in the order asked: the shipped model on its
  own, sweeping its inner JPEG quality (*ComCNN+RecCNN*, :data:`COMCNN_RECCNN`), its
  ComCNN with bicubic upsampling and no RecCNN (*ComCNN only*), the shipped RecCNN-only
  post-filter (*RecCNN only*), bicubic /2 -> JPEG -> bicubic x2 (*bicubic+JPEG*) and
  the anchors of :mod:`comp_lib.baselines` (every ``sweep_step``-th default setting
  and the last; JPEG also at the paper's qualities);
* **ours** (:class:`LadderRun`), a shipped :class:`~comp_lib.coding.Ladder`. Coding
  with a rung *is* coding with the rung's model at its quality, so the ladder is not
  run again: its rows are read (:func:`comp_lib.evaluate.ladder_rows`) from the rows
  of the reported codec that is its model (``LadderRun.sources``: model -> codec name;
  that codec's sweep includes the evaluated rungs' qualities), or, for a model no
  reported codec covers, from a run of that model at its rungs only
  (``LadderRun.extra``), whose rows serve the ladder and are not reported.

:meth:`Roster.evaluate` runs it all over the test sets; the rows hold the reported
codecs, then ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from comp_lib.baselines import BASELINES
from comp_lib.coding import BicubicCodec, Codec, Ladder
from comp_lib.evaluate import evaluate, ladder_rows, ladder_subset
from comp_lib.studies.constants import ANCHOR, PAPER_JPEG_QUALITIES

__all__ = [
    "BICUBIC_JPEG",
    "COMCNN_ONLY",
    "COMCNN_RECCNN",
    "OURS",
    "RECCNN_ONLY",
    "LadderRun",
    "Roster",
    "Run",
    "build_roster",
]

OURS = "ours"
COMCNN_RECCNN = "ComCNN+RecCNN"
COMCNN_ONLY = "ComCNN only"
RECCNN_ONLY = "RecCNN only"
BICUBIC_JPEG = "bicubic+JPEG"

Images = Sequence[tuple[str, np.ndarray]]


@dataclass(frozen=True)
class Run:
    """One codec at its settings, named ``name`` in the rows."""

    name: str
    codec: object
    settings: tuple[int, ...]

    def evaluate(self, images: Images, progress: bool = False) -> pd.DataFrame:
        """:func:`comp_lib.evaluate.evaluate` of this codec at its settings."""
        return evaluate(self.codec, images, self.settings, self.name, progress=progress)


@dataclass(frozen=True)
class LadderRun:
    """A ladder evaluated at some of its rungs, its rows read from its models' rows.

    Attributes
    ----------
    name : str
        Its name in the rows (``"ours"``).
    label : str
        The ladder as the notebook named it (captions).
    ladder : Ladder
    rungs : tuple of int
        The evaluated rungs (:func:`comp_lib.evaluate.ladder_subset`).
    sources : dict of str to str
        Ladder model -> the reported codec whose rows hold that model's rungs.
    extra : tuple of Run
        A run of each other model of the evaluated rungs, at those rungs only, named
        by the model; its rows are read for the ladder and not reported.
    """

    name: str
    label: str
    ladder: Ladder
    rungs: tuple[int, ...]
    sources: dict[str, str] = field(default_factory=dict)
    extra: tuple[Run, ...] = ()

    @property
    def models(self) -> list[str]:
        """The models of the evaluated rungs, in rung order."""
        return list(dict.fromkeys(self.ladder.rungs[i][0] for i in self.rungs))

    def read_rows(self, rows: pd.DataFrame, extra_rows: pd.DataFrame) -> pd.DataFrame:
        """The ladder's rows (``codec=name``, ``setting`` = rung) from its models' rows.

        ``rows`` holds the reported codecs' rows, ``extra_rows`` those of :attr:`extra`.
        """
        parts = []
        for model in self.models:
            if model in self.sources:
                part = rows[rows.codec == self.sources[model]]
            else:
                part = extra_rows[extra_rows.codec == model]
            parts.append(part.assign(codec=model))
        return ladder_rows(pd.concat(parts), self.ladder, self.name, rungs=list(self.rungs))


@dataclass(frozen=True)
class Roster:
    """What the evaluation runs: the reported codecs and, optionally, the ladder "ours"."""

    runs: tuple[Run, ...]
    ours: LadderRun | None = None

    @property
    def codecs(self) -> dict[str, tuple[object, list[int]]]:
        """Every reported codec: name -> (codec, settings); ours last, its settings its rungs."""
        out = {r.name: (r.codec, list(r.settings)) for r in self.runs}
        if self.ours is not None:
            out[self.ours.name] = (self.ours.ladder, list(self.ours.rungs))
        return out

    def table(self) -> pd.DataFrame:
        """One line per run: codec, settings, and what its rows are for."""
        lines = [(r.name, list(r.settings), "reported") for r in self.runs]
        if self.ours is not None:
            ours = self.ours
            lines += [(r.name, list(r.settings), f"{ours.name}'s rungs only") for r in ours.extra]
            lines.append((ours.name, list(ours.rungs), "rungs, read from its models' rows"))
        return pd.DataFrame(lines, columns=["codec", "settings", "rows"])

    def evaluate(self, test_sets: Mapping[str, Images], progress: bool = False) -> pd.DataFrame:
        """Code every test set with every codec: rows of :func:`comp_lib.evaluate.evaluate`
        plus ``dataset``; the reported codecs' rows, dataset by dataset, then ours."""
        frames, extra = [], []
        for dataset, images in test_sets.items():
            for run in self.runs:
                frames.append(run.evaluate(images, progress).assign(dataset=dataset))
            for run in () if self.ours is None else self.ours.extra:
                extra.append(run.evaluate(images, progress).assign(dataset=dataset))
        rows = pd.concat(frames, ignore_index=True)
        if self.ours is None:
            return rows
        extra_rows = pd.concat(extra, ignore_index=True) if extra else rows.iloc[:0]
        return pd.concat([rows, self.ours.read_rows(rows, extra_rows)], ignore_index=True)


def _baseline_settings(name: str, codec, sweep_step: int) -> tuple[int, ...]:
    """Every ``sweep_step``-th default setting and the last; JPEG also at the paper's."""
    settings = set(codec.settings[::sweep_step]) | {codec.settings[-1]}
    if name == ANCHOR:
        settings |= set(PAPER_JPEG_QUALITIES)
    return tuple(sorted(settings, key=list(codec.settings).index))


def _load(model, kind):
    """``model`` itself when it is already loaded, else ``kind.load(model)``, with its name."""
    if isinstance(model, str):
        return model, kind.load(model)
    return model.name, model


def build_roster(
    codec_names: Sequence[str],
    model: str | Codec,
    post_filter_model: str | Codec | None = None,
    ladder: str | Ladder | None = None,
    ladder_step: int = 1,
    our_qualities: Sequence[int] = (),
    post_qualities: Sequence[int] = (),
    sweep_step: int = 1,
) -> Roster:
    """The codecs of notebook 03 from its parameters.

    Parameters
    ----------
    codec_names : sequence of str
        The codecs to report, in order: ``"ours"``, ``"ComCNN+RecCNN"``, ``"ComCNN only"``,
        ``"RecCNN only"``, ``"bicubic+JPEG"`` or a name of :data:`comp_lib.baselines.BASELINES`.
    model : str or Codec
        The shipped ComCNN+RecCNN model (or a checkpoint file), or the codec itself.
    post_filter_model : str or Codec, optional
        The shipped RecCNN-only model; without it there is no ``"RecCNN only"``.
    ladder : str or Ladder, optional
        The shipped ladder of ``"ours"`` (needed when ``"ours"`` is asked).
    ladder_step : int
        Evaluate every n-th rung of the ladder and its last.
    our_qualities : sequence of int
        Inner JPEG qualities of ComCNN+RecCNN, ComCNN only and bicubic+JPEG.
    post_qualities : sequence of int
        Inner JPEG qualities of RecCNN only.
    sweep_step : int
        Every n-th default setting of the baselines (and always their last).
    """
    known = {OURS, COMCNN_RECCNN, COMCNN_ONLY, RECCNN_ONLY, BICUBIC_JPEG, *BASELINES}
    unknown = [n for n in codec_names if n not in known]
    if unknown:
        raise ValueError(f"unknown codecs {unknown}; known: {', '.join(sorted(known))}")
    the_ladder = None
    if OURS in codec_names:
        if ladder is None:
            raise ValueError(f"{OURS!r} needs a ladder")
        the_ladder = ladder if isinstance(ladder, Ladder) else Ladder.load(ladder)
    kept = [] if the_ladder is None else ladder_subset(the_ladder, ladder_step)
    rungs: dict[str, set[int]] = {}  # model -> the inner qualities of its evaluated rungs
    for m, q in (the_ladder.rungs[i] for i in kept):
        rungs.setdefault(m, set()).add(q)
    model_name, down_up = _load(model, Codec)
    post_name, post = (None, None) if not post_filter_model else _load(post_filter_model, Codec)
    runs, sources = {}, {}
    for name in codec_names:
        if name == OURS:
            continue
        if name == COMCNN_RECCNN:
            settings = tuple(sorted(set(our_qualities) | rungs.get(model_name, set())))
            runs[name] = Run(name, down_up.eval(), settings)
            sources[model_name] = name
        elif name == COMCNN_ONLY:
            runs[name] = Run(name, Codec(down_up.comcnn, None).eval(), tuple(our_qualities))
        elif name == RECCNN_ONLY:
            if post is None:
                continue
            settings = tuple(sorted(set(post_qualities) | rungs.get(post_name, set())))
            runs[name] = Run(name, post.eval(), settings)
            sources[post_name] = name
        elif name == BICUBIC_JPEG:
            runs[name] = Run(name, BicubicCodec(), tuple(our_qualities))
        else:
            codec = BASELINES[name]()
            runs[name] = Run(name, codec, _baseline_settings(name, codec, sweep_step))
    if the_ladder is None:
        return Roster(tuple(runs.values()))
    sources = {m: n for m, n in sources.items() if m in rungs}
    extra = tuple(Run(m, the_ladder.codecs[m], tuple(sorted(qs)))
                  for m, qs in rungs.items() if m not in sources)  # fmt: skip
    label = ladder if isinstance(ladder, str) else the_ladder.name
    ours = LadderRun(OURS, label, the_ladder, tuple(kept), sources, extra)
    return Roster(tuple(runs.values()), ours)
