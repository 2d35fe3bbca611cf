"""Running a fully convolutional network over a large image in overlapping tiles.

Memory grows with the image; tiles bound it. With a halo at least the network's
receptive-field radius, and tile corners aligned to its pooling, pixel-shuffle and
stride factors, the tiled output equals the whole-image output up to float rounding
(``tests/test_codec.py`` checks it).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = ["round_up", "tiled"]


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def tiled(
    net: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    tile: int,
    halo: int,
    align: int = 1,
    factor: int = 1,
) -> torch.Tensor:
    """Apply a fully convolutional ``net`` to ``x`` in overlapping tiles, to bound memory.

    ``net`` maps ``(N, C, H, W)`` to ``(N, C', ceil(H/factor), ceil(W/factor))``.
    Tiles of ``tile`` x ``tile`` output-aligned input pixels are extended by
    ``halo`` on each side (clipped at the image border) and only their centres
    are kept; with ``halo`` at least the receptive field's radius and tile
    corners aligned to ``align`` (pooling, pixel shuffle, stride), the result is
    the network's output on the whole image. Images that fit one tile with its
    halo go through in one piece.
    """
    h, w = x.shape[-2:]
    step = round_up(max(tile, 2 * halo, 8), math.lcm(align, factor))
    halo = round_up(halo, math.lcm(align, factor))
    if h <= step + 2 * halo and w <= step + 2 * halo:
        return net(x)
    out = None
    for y0 in range(0, h, step):
        for x0 in range(0, w, step):
            y1, x1 = min(y0 + step, h), min(x0 + step, w)
            ya, xa = max(0, y0 - halo), max(0, x0 - halo)
            part = net(x[..., ya : min(h, y1 + halo), xa : min(w, x1 + halo)])
            if out is None:
                shape = (*part.shape[:2], -(-h // factor), -(-w // factor))
                out = part.new_empty(shape)
            oy, ox = (y0 - ya) // factor, (x0 - xa) // factor
            ny, nx = -(-(y1 - y0) // factor), -(-(x1 - x0) // factor)
            out[..., y0 // factor : y0 // factor + ny, x0 // factor : x0 // factor + nx] = part[
                ..., oy : oy + ny, ox : ox + nx
            ]
    return out
