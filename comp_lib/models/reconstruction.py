"""The reconstruction networks a codec can decode with, built from their stored configuration.

Every network here maps ``x_up`` (the decoded, upsampled image) to ``x_hat`` with
the same interface: ``forward(x, quant=None)`` (``quant``: the JPEG quantisation
tables, which quality-aware networks need), ``config`` (its constructor's
arguments, which a checkpoint stores), ``align`` and ``radius`` (for tiling),
``quality_aware``, ``description`` (for model cards) and ``init_as_identity()``. A
configuration without ``arch`` is a :class:`~comp_lib.models.RecCNN`, so that every older
checkpoint loads.
"""

from __future__ import annotations

import copy

from torch import nn

from comp_lib.models.multiscale import MultiScaleRecCNN
from comp_lib.models.reccnn import RecCNN

__all__ = ["RECONSTRUCTION_NETWORKS", "build_reconstruction", "with_quality"]

#: ``config["arch"]`` -> class (``RecCNN`` when the key is absent).
RECONSTRUCTION_NETWORKS = {"reccnn": RecCNN, "multiscale": MultiScaleRecCNN}


def build_reconstruction(config: dict) -> nn.Module:
    """The network a stored ``config`` describes (fresh weights).

    Raises
    ------
    ValueError
        For an unknown ``arch``; ``TypeError`` for arguments the class does not take.
    """
    config = dict(config)
    arch = config.pop("arch", "reccnn")
    if arch not in RECONSTRUCTION_NETWORKS:
        raise ValueError(
            f"unknown reconstruction network {arch!r}; known: {sorted(RECONSTRUCTION_NETWORKS)}"
        )
    return RECONSTRUCTION_NETWORKS[arch](**config)


def with_quality(net: nn.Module) -> nn.Module:
    """A quality-aware copy of ``net`` that computes exactly what ``net`` computes.

    Its weights are ``net``'s; the new conditioning starts at zero
    (:class:`~comp_lib.models.conditioning.QualityFiLM`), so training can start
    from a network trained without it. A quality-aware ``net`` is returned as a copy.
    """
    if getattr(net, "quality_aware", False):
        return copy.deepcopy(net)
    aware = build_reconstruction(dict(net.config, quality_aware=True))
    missing, unexpected = aware.load_state_dict(net.state_dict(), strict=False)
    if unexpected or any(not k.startswith("film.") for k in missing):
        raise ValueError(f"weights do not carry over: missing {missing}, unexpected {unexpected}")
    return aware
