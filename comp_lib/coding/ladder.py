"""Several models as one codec (:class:`Ladder`); coding to a budget (:func:`compress_at_bpp`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from comp_lib import jpeg
from comp_lib.coding.bitstream import parse_header
from comp_lib.coding.neural import use_self_ensemble
from comp_lib.files import atomic_write

__all__ = ["Ladder", "compress_at_bpp"]


class Ladder:
    """Several codecs as one rate ladder: setting ``i`` is rung ``i``, a (model, quality) pair.

    Which of Jiang et al.'s configurations wins depends on the rate: the
    down/up-sampling framework (``x -> ComCNN -> JPEG -> bicubic -> RecCNN``)
    wins at the lowest rates, a full-resolution RecCNN post-filter (the paper's
    *RecCNN only*, ``x -> JPEG -> RecCNN``) above them. A ladder offers each
    rate from the model that codes it best: its rungs, sorted by rate, are the
    points of the models' upper PSNR envelope, chosen on *validation* images
    (:func:`comp_lib.evaluate.choose_ladder`), never on the test set.

    Every bitstream names the model that made it, so :meth:`decompress` needs no
    setting: it decodes with the rung model named in the header.

    Parameters
    ----------
    codecs : dict of str to Codec
        The models, by name (each codec's :attr:`Codec.name` must be its key).
    rungs : list of (str, int)
        ``(model name, inner JPEG quality)``, from the lowest rate to the highest.
    name : str
        The ladder's name (e.g. its file stem in ``comp_lib/weights``).
    bpp : list of float, optional
        Each rung's mean rate on the validation images it was chosen on (shown
        to users picking a rung; :meth:`setting_for_bpp`).
    """

    def __init__(self, codecs: dict, rungs: list, name: str = "ladder", bpp=None) -> None:
        if not rungs:
            raise ValueError("a Ladder needs at least one rung")
        for model, quality in rungs:
            if model not in codecs:
                raise ValueError(f"rung ({model!r}, {quality}): no codec named {model!r}")
            jpeg.check_quality(quality)
        for key, codec in codecs.items():
            if codec.name != key:
                raise ValueError(f"codec under {key!r} writes the name {codec.name!r}")
        if bpp is not None and len(bpp) != len(rungs):
            raise ValueError(f"{len(bpp)} rates for {len(rungs)} rungs")
        self.codecs = dict(codecs)
        self.rungs = [(str(m), int(q)) for m, q in rungs]
        self.name = name
        self.bpp = None if bpp is None else [float(b) for b in bpp]

    @property
    def settings(self) -> range:
        """The rungs, lowest rate first: the settings of :meth:`compress`."""
        return range(len(self.rungs))

    def setting_for_bpp(self, target: float) -> int:
        """The highest rung whose validation rate is at most ``target`` (else the lowest)."""
        if self.bpp is None:
            raise ValueError(f"ladder {self.name!r} has no validation rates")
        below = [i for i, b in enumerate(self.bpp) if b <= target]
        return below[-1] if below else 0

    def compress(self, image: np.ndarray, setting: int, chroma: str | None = None) -> bytes:
        """Compress with rung ``setting`` (0 = the lowest rate); see :meth:`Codec.compress`."""
        if not 0 <= int(setting) < len(self.rungs):
            raise ValueError(f"setting must be a rung 0..{len(self.rungs) - 1}, got {setting}")
        model, quality = self.rungs[int(setting)]
        return self.codecs[model].compress(image, quality, chroma=chroma)

    def decompress(self, data: bytes) -> np.ndarray:
        """Decode with the rung model the header names (another model's file is refused)."""
        model = parse_header(data)["model"]
        if model not in self.codecs:
            raise ValueError(
                f"bitstream was made by model {model!r}, which is not on ladder "
                f"{self.name!r} ({', '.join(self.codecs)})"
            )
        return self.codecs[model].decompress(data)

    def set_self_ensemble(self, n: int) -> list[str]:
        """Decode the post-filter rungs averaged over ``n`` flips and transposes.

        :func:`~comp_lib.coding.neural.use_self_ensemble` on each model: its down/up
        and fixed rungs still decode once. The bytes do not change. Returns the names
        of the models it applies to.
        """
        return [name for name, codec in self.codecs.items() if use_self_ensemble(codec, n)]

    def to_dict(self) -> dict:
        return {"name": self.name, "rungs": [list(r) for r in self.rungs], "bpp": self.bpp}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the ladder as JSON (the models are referred to by their shipped names)."""
        d = self.to_dict()
        rungs = ",\n  ".join(json.dumps(r) for r in d["rungs"])
        text = (f'{{\n "name": {json.dumps(d["name"])},\n "rungs": [\n  {rungs}\n ],\n'
                f' "bpp": {json.dumps(d["bpp"])}\n}}\n')  # fmt: skip
        return atomic_write(path, text)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Ladder:
        """Load a ladder file, or a shipped ladder by name.

        Shipped ladders are ``comp_lib/weights/<name>.ladder.json``; their models
        are loaded by their shipped names (:func:`load_model`: :meth:`Codec.load`, or
        the fixed coders ``"jpeg"`` and ``"bicubic"``).
        """
        from comp_lib.zoo import ladder_file, load_model  # the zoo imports this module

        file = ladder_file(path)
        try:
            spec = json.loads(file.read_text())
            rungs = [(str(m), int(q)) for m, q in spec["rungs"]]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{file} is not a ladder file: {err}") from None
        codecs = {m: load_model(m) for m in dict.fromkeys(m for m, _ in rungs)}
        return cls(codecs, rungs, spec.get("name", file.stem), spec.get("bpp"))


def compress_at_bpp(codec, image: np.ndarray, bpp: float, chroma: str | None = None):
    """Compress at the highest setting whose real bytes fit in ``bpp`` bits per pixel.

    For a :class:`Codec` (or :class:`BicubicCodec`, :class:`BitstreamJPEG`, or a
    baseline whose setting is a JPEG-like quality) the setting is the inner JPEG
    quality, searched by bisection over 1..95 (JPEG's rate grows with its
    quality); for a :class:`Ladder`, every rung is tried (a few cheap
    compressions: the networks run at most once per model and rung). When even
    the lowest setting is over budget, the lowest setting's stream is returned.

    Returns
    -------
    (bytes, int)
        The bitstream and the setting that made it.
    """
    if not bpp > 0:
        raise ValueError(f"bpp must be > 0, got {bpp}")
    budget = bpp * image.shape[0] * image.shape[1] / 8

    def code(setting: int) -> bytes:
        if chroma is None:  # the RateCodec protocol: compress(image, setting)
            return codec.compress(image, setting)
        return codec.compress(image, setting, chroma=chroma)

    if isinstance(codec, Ladder):
        best = None
        for setting in codec.settings:
            data = code(setting)
            if best is None or len(data) <= budget:
                best = (data, setting)
        return best
    lo, hi = 1, 95
    best = (code(lo), lo)
    if len(best[0]) > budget:
        return best
    while lo < hi:  # invariant: quality lo fits
        mid = (lo + hi + 1) // 2
        data = code(mid)
        if len(data) <= budget:
            lo, best = mid, (data, mid)
        else:
            hi = mid - 1
    return best
