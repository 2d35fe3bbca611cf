"""JPEG's 8x8 block transform, and the quantisation intervals a JPEG file fixes.

:func:`block_dct` and :func:`block_idct` are JPEG's forward and inverse transform of a
whole image (edge-padded to whole blocks, as libjpeg pads); :class:`comp_lib.jpeg.DiffJPEG`
is built on them. :func:`quantisation_projection` uses them for what a JPEG decoder knows
for certain: each coefficient of the original lay within half a quantisation step of what
the file holds, and a guess can be clipped into those intervals.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = ["block_dct", "block_idct", "dct_matrix", "quantisation_projection"]


def dct_matrix(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The orthonormal 8x8 DCT-II matrix ``D`` (rows: frequencies), computed in float64.

    A block's coefficients are ``D @ block @ D.T``, JPEG's FDCT.
    """
    n = torch.arange(8, dtype=torch.float64)
    k = n[:, None]
    d = torch.cos((2 * n[None, :] + 1) * k * math.pi / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return d.to(dtype)


def block_dct(y: torch.Tensor, dct: torch.Tensor | None = None) -> torch.Tensor:
    """JPEG's forward transform: ``(N, 1, H, W)`` level-shifted pixels -> ``(N, Hb, Wb, 8, 8)``.

    The image is padded to whole 8x8 blocks by edge replication, as libjpeg pads it,
    and each block goes through the orthonormal 8x8 DCT-II, JPEG's FDCT (ITU-T T.81,
    A.3.3); ``Hb, Wb`` are the block rows and columns. ``dct``: the 8x8 matrix to use
    (default: computed in ``y``'s dtype).
    """
    dct = dct_matrix(y.dtype).to(y.device) if dct is None else dct
    n, _, h, w = y.shape
    pad_h, pad_w = -h % 8, -w % 8
    if pad_h or pad_w:
        y = nn.functional.pad(y, (0, pad_w, 0, pad_h), mode="replicate")
    hb, wb = (h + pad_h) // 8, (w + pad_w) // 8
    blocks = y.reshape(n, hb, 8, wb, 8).permute(0, 1, 3, 2, 4)
    return dct @ blocks @ dct.T


def block_idct(
    coef: torch.Tensor, size: tuple[int, int], dct: torch.Tensor | None = None
) -> torch.Tensor:
    """The inverse of :func:`block_dct`: ``(N, Hb, Wb, 8, 8)`` -> ``(N, 1, H, W)``.

    The blocks are cropped to ``size``, ``(H, W)``: the padding :func:`block_dct` added.
    """
    dct = dct_matrix(coef.dtype).to(coef.device) if dct is None else dct
    n, hb, wb = coef.shape[:3]
    blocks = dct.T @ coef @ dct
    return blocks.permute(0, 1, 3, 2, 4).reshape(n, 1, hb * 8, wb * 8)[..., : size[0], : size[1]]


def quantisation_projection(
    x_hat: np.ndarray, decoded: np.ndarray, table: np.ndarray
) -> tuple[np.ndarray, float]:
    """Move a guess of a JPEG file's image into the set of images the file allows.

    What a JPEG decoder knows for certain: each 8x8 block's DCT coefficient ``c`` was
    coded as ``k = round(c / q)``, ``q`` its step in the quantisation table, so the
    original's ``c`` lies in ``[(k - 1/2) q, (k + 1/2) q]``. Clipping every coefficient
    of ``x_hat`` into its interval is the projection onto that set (convex, and holding
    the original), so it brings ``x_hat`` no farther from the original: the
    quantisation-constraint step of the classic POCS deblocking (Zakhor 1992; Yang,
    Galatsanos and Katsaggelos 1995), up to libjpeg's integer DCT, the edge blocks'
    padding and the rounding back to 8 bits.

    The indices ``k`` are recovered from ``decoded``, the JPEG decoder's output, as
    ``round(DCT(decoded - 128) / q)``: exact while the decoder's rounding to 8 bits and
    its clipping to 0..255 move no coefficient by half a step, which holds for the
    coarse steps where deblocking matters (every step of quality <= 90's table is at
    least 2) and can fail where a block saturates.

    Parameters
    ----------
    x_hat : numpy.ndarray
        ``(H, W)`` ``uint8`` grayscale guess (a post-filter's output).
    decoded : numpy.ndarray
        ``(H, W)`` ``uint8``: the same file decoded by JPEG.
    table : numpy.ndarray
        The file's ``(8, 8)`` quantisation table in natural order
        (:func:`comp_lib.jpeg.read_quant_tables`).

    Returns
    -------
    projected : numpy.ndarray
        ``(H, W)`` ``uint8``: ``x_hat`` with every coefficient in its interval, rounded.
    moved : float
        The fraction of ``x_hat``'s coefficients that lay outside their interval.
    """
    from comp_lib.jpeg import check_image  # here: comp_lib.jpeg imports this module

    x_hat, decoded = check_image(x_hat), check_image(decoded)
    if x_hat.shape != decoded.shape:
        raise ValueError(f"x_hat is {x_hat.shape} but decoded is {decoded.shape}")
    step = torch.as_tensor(np.asarray(table, dtype=np.float64))
    if step.shape != (8, 8) or not bool((step >= 1).all()):
        raise ValueError(f"table must be (8, 8) steps >= 1, got shape {tuple(step.shape)}: {table}")
    pixels = torch.from_numpy(np.stack([x_hat, decoded])).to(torch.float64)[:, None] - 128.0
    coef = block_dct(pixels)
    k = torch.round(coef[1] / step)
    low, high = (k - 0.5) * step, (k + 0.5) * step
    clipped = torch.minimum(torch.maximum(coef[0], low), high)
    moved = float((clipped != coef[0]).double().mean())
    out = block_idct(clipped[None], x_hat.shape)[0, 0] + 128.0
    return np.clip(np.round(out.numpy()), 0, 255).astype(np.uint8), moved
