"""Quality awareness: a network told how coarsely JPEG quantised its input.

A JPEG decoder knows the exact quantisation table of the file it decodes (it is
in the header), so a post-filter need not guess how strong the artefacts are.
:class:`QualityFiLM` maps the table to a scale and a shift per feature channel
of each conditioned layer (FiLM: Perez et al., "FiLM: Visual Reasoning with a
General Conditioning Layer", AAAI 2018), as FBCNN does with the quality factor
(Jiang, Timofte and Van Gool, "Towards Flexible Blind JPEG Artifacts Removal",
ICCV 2021). One model then serves every quality instead of specialists per range::

    quantisation table (8x8) -> log(step) / log(255) (64 values)
      -> Linear 64->hidden + ReLU -> Linear hidden->hidden + ReLU
      -> Linear hidden->2 sum(channels)  = (gamma_l, beta_l) for each layer l
    h_l <- h_l * (1 + gamma_l) + beta_l

The last linear layer starts at zero, so a conditioned network starts as the same
network without conditioning, and can start from its weights
(:func:`comp_lib.models.with_quality`). :func:`film_response` shows what a trained one
does with the table: how far each layer's scales and shifts move, quality by quality.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.func import functional_call

__all__ = [
    "QualityFiLM",
    "film_response",
    "modulate",
    "modulated_conv",
    "quant_tensor",
    "table_features",
]


def quant_tensor(tables, device=None) -> torch.Tensor:
    """``(N, 8, 8)`` float32 tensor of one or more quantisation tables (steps 1..255).

    Accepts an ``(8, 8)`` table, an ``(N, 8, 8)`` stack or ``(N, 64)`` rows, as
    numpy arrays or tensors; raises ``ValueError`` for anything else.
    """
    t = torch.as_tensor(np.asarray(tables) if not torch.is_tensor(tables) else tables)
    if t.ndim == 2 and t.shape == (8, 8):
        t = t[None]
    if t.ndim == 2 and t.shape[1] == 64:
        t = t.reshape(-1, 8, 8)
    if t.ndim != 3 or t.shape[1:] != (8, 8):
        raise ValueError(f"expected 8x8 quantisation tables, got shape {tuple(t.shape)}")
    t = t.to(device=device, dtype=torch.float32)
    if bool((t < 1).any()) or bool((t > 255).any()):
        raise ValueError("quantisation steps must be in 1..255 (baseline JPEG)")
    return t


def table_features(quant: torch.Tensor) -> torch.Tensor:
    """``(N, 8, 8)`` tables -> ``(N, 64)`` features ``log(step) / log(255)`` in [0, 1]."""
    return torch.log(quant.reshape(len(quant), 64)) / math.log(255.0)


class QualityFiLM(nn.Module):
    """Scale and shift per channel of each conditioned layer, from the quantisation table.

    Parameters
    ----------
    channels : sequence of int
        Feature channels of each conditioned layer, in the order the network applies them.
    hidden : int
        Width of the two hidden layers of the table's MLP.
    """

    def __init__(self, channels: Sequence[int], hidden: int = 64) -> None:
        super().__init__()
        self.channels = [int(c) for c in channels]
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"need at least one layer of >= 1 channels, got {channels!r}")
        self.mlp = nn.Sequential(
            nn.Linear(64, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.out = nn.Linear(hidden, 2 * sum(self.channels))
        nn.init.zeros_(self.out.weight)  # start as the unconditioned network
        nn.init.zeros_(self.out.bias)

    def forward(self, quant: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(N, 8, 8)`` tables -> one ``(gamma, beta)`` pair of ``(N, C, 1, 1)`` per layer."""
        params = self.out(self.mlp(table_features(quant)))
        out, start = [], 0
        for c in self.channels:
            gamma = params[:, start : start + c, None, None]
            beta = params[:, start + c : start + 2 * c, None, None]
            out.append((gamma, beta))
            start += 2 * c
        return out


def modulate(h: torch.Tensor, film: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """``h * (1 + gamma) + beta``, broadcast over the pixels."""
    gamma, beta = film
    return h * (1 + gamma.to(h.dtype)) + beta.to(h.dtype)


def modulated_conv(conv: nn.Conv2d, x: torch.Tensor, film) -> torch.Tensor:
    """``modulate(conv(x), film)``, as one convolution when one table serves the batch.

    Scaling a convolution's output channel by ``1 + gamma`` and shifting it by ``beta``
    is the same convolution with that channel's weights scaled and its bias
    ``b (1 + gamma) + beta``. When ``gamma`` and ``beta`` have a batch of one (decoding:
    every tile and pixel of an image shares its table) the network runs the folded
    convolution and skips two passes over the feature map; with a table per sample
    (training batches) it modulates the output. The two agree up to float rounding.
    """
    gamma, beta = film
    if gamma.shape[0] != 1:
        return modulate(conv(x), film)
    scale = 1 + gamma.reshape(-1)
    weight = conv.weight * scale.reshape(-1, 1, 1, 1).to(conv.weight.dtype)
    bias = beta.reshape(-1).to(conv.weight.dtype)
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    # through the module, so that its hooks (multiply-add counts, profilers) still see it
    return functional_call(conv, {"weight": weight, "bias": bias}, (x,))


def film_response(film: QualityFiLM, qualities: Sequence[int]) -> pd.DataFrame:
    """How strongly the quantisation table moves each conditioned layer, per quality.

    ``film`` is told libjpeg's luma table at each of ``qualities``
    (:func:`comp_lib.jpeg.quant_table`).

    Returns
    -------
    pandas.DataFrame
        One row per quality and conditioned layer (in the order the network applies
        them): ``quality``, ``layer``, ``channels``, ``gamma_abs`` (mean ``|gamma|``
        over the channels: how far the scales ``1 + gamma`` move from 1) and
        ``beta_abs`` (mean ``|beta|``: how far the shifts move from 0).
    """
    from comp_lib.jpeg import quant_table

    qualities = [int(q) for q in qualities]
    tables = quant_tensor(np.stack([quant_table(q) for q in qualities]))
    with torch.no_grad():
        params = film(tables.to(next(film.parameters()).device))
    rows = [
        dict(quality=q, layer=layer, channels=gamma.shape[1],
             gamma_abs=float(gamma[i].abs().mean()), beta_abs=float(beta[i].abs().mean()))
        for layer, (gamma, beta) in enumerate(params)
        for i, q in enumerate(qualities)
    ]  # fmt: skip
    return pd.DataFrame(rows)
