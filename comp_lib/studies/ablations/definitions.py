"""The ablations and their variants: what each one varies around one training budget.

An ablation (one of :data:`ABLATIONS`, titled :data:`TITLES`) is a list of
:class:`Variant` s (:func:`variants`), each the budget's
:class:`~comp_lib.train.TrainConfig` settings with a few replaced, or a codec that
does not train (the ComCNN of another variant alone, bicubic). The table of what each
varies is in :mod:`comp_lib.studies.ablations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["ABLATIONS", "SIZES", "TITLES", "Variant", "variants"]

ABLATIONS = (
    "components",
    "scheme",
    "lr",
    "pooling",
    "data_size",
    "loss",
    "size",
    "quality",
    "dissertation",
)

#: what each ablation varies, as its tables and figures are titled
TITLES = {
    "components": "Jiang et al. Table I: which network does the work",
    "scheme": "Training scheme",
    "lr": "Learning rate and its exponential decay",
    "pooling": "Max pooling in RecCNN (the dissertation's change)",
    "data_size": "Training set size (train + val images; val split differs per size)",
    "loss": "Training loss",
    "size": "RecCNN width x depth against cost",
    "quality": "JPEG quality trained at",
    "dissertation": "The dissertation's protocol and its suspected faults",
}


@dataclass(frozen=True)
class Variant:
    """One arm of an ablation.

    Parameters
    ----------
    ablation, label : str
    overrides : dict
        :class:`~comp_lib.train.TrainConfig` settings replacing the budget's.
    n_images : int, optional
        Training + validation images of the corpus (default: the notebook's).
    kind : {"train", "comcnn_only", "bicubic"}
        ``"comcnn_only"`` evaluates the ComCNN of the variant labelled
        ``source`` with bicubic upsampling and no RecCNN; ``"bicubic"`` is the
        no-learning baseline. Neither trains.
    source : str, optional
    """

    ablation: str
    label: str
    overrides: dict = field(default_factory=dict)
    n_images: int | None = None
    kind: str = "train"
    source: str | None = None


#: RecCNN (channels, depth, shuffle) of the ``size`` ablation: the paper's is (64, 20, 1).
SIZES = ((16, 8, 1), (32, 8, 1), (32, 20, 1), (64, 20, 1), (64, 20, 2))


def variants(
    ablation: str, budget: dict, n_available: int = 600, sizes: Sequence = SIZES
) -> list[Variant]:
    """The variants of ``ablation`` around ``budget`` (the base training settings).

    ``n_available`` is the number of images the ``data_size`` ablation calls
    "all"; ``sizes`` the RecCNN shapes ``(channels, depth, shuffle)`` of ``size``.
    """
    a, lr0, decay0 = ablation, budget.get("lr", 1e-3), budget.get("lr_decay", 0.9)
    steps = budget.get("steps", 100)
    # whole 180x180 images at the budget's pixels per step (patch^2 x batch): equal compute
    whole = max(1, round(budget.get("batch", 16) * budget.get("patch", 64) ** 2 / 180**2))
    if a == "components":
        return [
            Variant(a, "both (ComCNN + RecCNN)"),
            Variant(a, "RecCNN only (JPEG post-filter)", {"scheme": "post_filter"}),
            Variant(
                a, "ComCNN only (bicubic up)", kind="comcnn_only", source="both (ComCNN + RecCNN)"
            ),
            Variant(a, "neither (bicubic down/up)", kind="bicubic"),
        ]
    if a == "scheme":
        return [
            Variant(a, "alternating, identity in step B", {"com_jpeg": "identity"}),
            Variant(a, "alternating, DiffJPEG in step B", {"com_jpeg": "approx"}),
            Variant(a, "end-to-end through DiffJPEG", {"scheme": "end_to_end"}),
            Variant(
                a,
                "dissertation (whole images, no augmentation)",
                {"scheme": "dissertation", "batch": whole},
            ),
        ]
    if a == "lr":
        rates = [
            Variant(a, f"lr {v:.0e}, decay {decay0}", {"lr": v}) for v in (1e-2, 1e-3, 1e-4, 1e-5)
        ]
        decays = [d for d in (1.0, 0.9, 0.7, 0.5) if d != decay0]
        return rates + [Variant(a, f"lr {lr0:.0e}, decay {d}", {"lr_decay": d}) for d in decays]
    if a == "pooling":
        return [Variant(a, f"{k} max-pooling stages", {"pooling": k}) for k in (0, 1, 2)]
    if a == "data_size":
        sizes = [n for n in (100, 250, 500) if n < n_available] + [n_available]
        return [
            Variant(a, f"{n} images" + (" (all)" if n == n_available else ""), n_images=n)
            for n in sizes
        ]
    if a == "loss":
        return [
            Variant(a, f"{loss.upper()} loss", {"loss": loss}) for loss in ("mse", "l1", "ssim")
        ]
    if a == "size":
        return [
            Variant(
                a,
                f"{c}x{d}" + (f" shuffle {s}" if s > 1 else ""),
                {"channels": c, "depth": d, "shuffle": s},
            )
            for c, d, s in sizes
        ]
    if a == "quality":
        mixed = budget.get("quality", [5, 10, 20, 40, 80])
        return [
            Variant(a, f"trained at q{q}", {"quality": [q], "val_quality": [q]})
            for q in (5, 20, 60)
        ] + [Variant(a, "trained at mixed q", {"quality": mixed})]
    if a == "dissertation":
        few = max(1, steps // 10)
        base = {"scheme": "dissertation", "batch": whole}
        return [
            Variant(a, "dissertation protocol", base),
            Variant(a, "+ max pooling (2 stages)", base | {"pooling": 2}),
            Variant(a, "+ no residual connection", base | {"residual": False}),
            Variant(a, "+ random initialisation", base | {"warm_start": False}),
            Variant(
                a, f"+ too few steps ({few} per epoch)", base | {"steps": few, "com_steps": few}
            ),
            Variant(
                a,
                "all four together",
                base
                | {
                    "pooling": 2,
                    "residual": False,
                    "warm_start": False,
                    "steps": few,
                    "com_steps": few,
                },
            ),
        ]
    raise ValueError(f"unknown ablation {ablation!r}; known: {', '.join(ABLATIONS)}")
