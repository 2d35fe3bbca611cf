"""Geometric self-ensemble at decoding: average a network over flips and transposes.

A reconstruction network trained on flipped and rotated crops is nearly, not exactly,
equivariant to those transforms: run on a flipped image and flipped back, it makes a
slightly different estimate, with partly independent errors. Averaging the estimates
over ``n`` of the 8 symmetries of the square (Lim et al. 2017, "Enhanced Deep Residual
Networks for Single Image Super-Resolution", section 4.3; DRUNet's "x8") gains a little
PSNR for ``n`` times the decoding work, and changes nothing in the bitstream: any
decoder may use it or not. ``benchmarks/post_filters.py ensemble`` measures the trade
(``reports/tables/post_filter_ensemble.md``: the shipped ``unet32q`` at quality 10 on
BSDS300 test, +0.03 dB over 2, +0.05 over 8). It is measured for post-filters only: a
down/up model's ComCNN and RecCNN were trained together, and RecCNN need not treat a
flipped compact image as well as the one ComCNN made.

Two details keep it a reconstruction of the *same* JPEG file:

- **The block grid.** JPEG artefacts sit on a grid of ``grid`` pixels (8, or 16 in the
  full-size image of a down/up model). The image is first padded on the right and bottom
  to a multiple of ``grid`` by repeating its edge (as libjpeg pads an image it codes), so
  that each flip maps block boundaries onto block boundaries; the output is cropped back.
- **The table.** A transpose swaps horizontal and vertical frequencies, so a
  quality-aware network is told the transposed quantisation table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["SELF_ENSEMBLE_SIZES", "self_ensemble", "transform", "untransform"]

#: Allowed numbers of transforms: the first ``n`` of identity, horizontal flip, vertical
#: flip, both (a half turn), then the same four after a transpose.
SELF_ENSEMBLE_SIZES = (1, 2, 4, 8)


def transform(x: torch.Tensor, k: int) -> torch.Tensor:
    """Symmetry ``k`` (0..7) of the square on the last two axes: bit 2 transposes,
    bit 0 flips horizontally, bit 1 vertically (in that order)."""
    if k & 4:
        x = x.transpose(-1, -2)
    if k & 1:
        x = x.flip(-1)
    if k & 2:
        x = x.flip(-2)
    return x


def untransform(x: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of :func:`transform` ``k``."""
    if k & 2:
        x = x.flip(-2)
    if k & 1:
        x = x.flip(-1)
    if k & 4:
        x = x.transpose(-1, -2)
    return x


def self_ensemble(
    run: Callable[[torch.Tensor, object], torch.Tensor],
    x: torch.Tensor,
    quant=None,
    n: int = 8,
    grid: int = 8,
) -> torch.Tensor:
    """The mean of ``untransform(run(transform(x, k), quant_k), k)`` over ``k < n``.

    Parameters
    ----------
    run : callable
        ``run(x, quant) -> x_hat`` of the same shape, fully convolutional.
    x : torch.Tensor
        ``(N, C, H, W)`` network input.
    quant : array-like, optional
        The JPEG quantisation table(s) ``(8, 8)`` or ``(N, 8, 8)``, transposed for
        the transposed inputs; ``None`` for a network that is not told the table.
    n : int
        How many transforms (one of :data:`SELF_ENSEMBLE_SIZES`); 1 is ``run`` alone.
    grid : int
        The JPEG block grid in ``x``'s pixels, kept in place by padding to a multiple.

    Returns
    -------
    torch.Tensor
        ``(N, C, H, W)``, float32 when ``n > 1``.
    """
    if n not in SELF_ENSEMBLE_SIZES:
        raise ValueError(f"self-ensemble size must be one of {SELF_ENSEMBLE_SIZES}, got {n!r}")
    if n == 1:
        return run(x, quant)
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % grid, -w % grid
    padded = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x
    quant_t = None if quant is None else np.swapaxes(np.asarray(quant), -1, -2).copy()
    layout = _memory_format(x)  # a transposed view is made contiguous in the input's layout
    total = None
    for k in range(n):
        y = run(transform(padded, k).contiguous(memory_format=layout), quant_t if k & 4 else quant)
        y = untransform(y.float(), k)
        total = y.clone() if total is None else total.add_(y)
    return total[..., :h, :w].div_(n)


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    if x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format
