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

import torch
from torch import nn

from comp_lib.models.multiscale import MultiScaleRecCNN
from comp_lib.models.reccnn import RecCNN

__all__ = ["RECONSTRUCTION_NETWORKS", "build_reconstruction", "with_blocks", "with_quality"]

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


def with_blocks(net: nn.Module, blocks: int) -> nn.Module:
    """A deeper copy of a multi-scale ``net`` that computes exactly what ``net`` computes.

    Each scale and side gets ``blocks`` residual blocks instead of ``net``'s: its own
    first, then new ones whose second convolution is zero, so that each adds nothing to
    its input (their conditioning, if any, starts at zero too). Training then goes on
    from ``net``'s function with more capacity (progressive growing; the residual blocks
    of :class:`~comp_lib.models.MultiScaleRecCNN` give a new layer a path around it,
    which a plain stack has not). The multiply-adds grow with the blocks.

    Raises
    ------
    ValueError
        For a network that is not multi-scale, or ``blocks`` below its own.
    """
    if net.config.get("arch") != "multiscale":
        raise ValueError(f"only a multi-scale network gains blocks, not {net.description!r}")
    have = int(net.config["blocks"])
    if int(blocks) < have:
        raise ValueError(f"blocks must be at least the network's own {have}, got {blocks}")
    deeper = build_reconstruction(dict(net.config, blocks=int(blocks)))
    # every weight but the conditioning's output layer keeps its name: block b < have of
    # each stage is the old block b
    kept = {k: v for k, v in net.state_dict().items() if not k.startswith("film.out.")}
    _, unexpected = deeper.load_state_dict(kept, strict=False)  # missing: the new blocks
    if unexpected:
        raise ValueError(f"weights do not carry over: unexpected {unexpected}")
    with torch.no_grad():
        for side, scale, b in deeper.blocks_in_order:
            if b >= have:
                getattr(deeper, side)[scale][b].conv2.weight.zero_()  # adds nothing
        if net.film is not None:
            deeper.film.out.weight.zero_()
            deeper.film.out.bias.zero_()
            new_rows = _film_rows(deeper)
            for block, rows in _film_rows(net).items():  # each old block's (gamma, beta)
                deeper.film.out.weight[new_rows[block]] = net.film.out.weight[rows]
                deeper.film.out.bias[new_rows[block]] = net.film.out.bias[rows]
    return deeper


def _film_rows(net: MultiScaleRecCNN) -> dict[tuple[str, int, int], slice]:
    """``(side, scale, block)`` -> the rows of ``net.film.out`` that give its (gamma, beta)."""
    rows, start = {}, 0
    for block, channels in zip(net.blocks_in_order, net.film.channels, strict=True):
        rows[block] = slice(start, start + 2 * channels)
        start += 2 * channels
    return rows
