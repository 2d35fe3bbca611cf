"""Validation with the real codec, and the gain over JPEG at equal rate.

Every epoch a training run codes its validation images with the real JPEG codec
(the same bytes as :meth:`Codec.compress`, header included) and logs PSNR, SSIM,
bpp, and the **gain over JPEG at the same bpp**: the validation PSNR minus JPEG's
mean curve on the same images read at that bpp by :func:`comp_lib.rd.psnr_at_rate`
(linearly in log-rate, clamped to JPEG's curve: see ``outside`` there). The best
checkpoint is the epoch with the highest gain.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.metrics import psnr, ssim
from comp_lib.rd import psnr_at_rate

__all__ = ["gain_over_jpeg", "jpeg_curve", "validate"]


def jpeg_curve(images: np.ndarray, qualities=range(1, 96, 2)) -> pd.DataFrame:
    """Mean bpp and PSNR of plain JPEG over ``images`` (uint8 ``(N, H, W)``) per quality."""
    rows = []
    for q in qualities:
        bpps, psnrs = [], []
        for image in images:
            data = jpeg.encode(image, q)
            bpps.append(8 * len(data) / image.size)
            psnrs.append(psnr(image, jpeg.decode(data)))
        rows.append(dict(quality=q, bpp=float(np.mean(bpps)), psnr=float(np.mean(psnrs))))
    return pd.DataFrame(rows)


def gain_over_jpeg(psnr_db: float, bpp: float, curve: pd.DataFrame) -> tuple[float, float]:
    """``(JPEG's PSNR at bpp, psnr_db minus it)``: the validation gain over JPEG at equal rate.

    JPEG's PSNR is read off its mean ``curve`` (:func:`jpeg_curve`) with
    :func:`comp_lib.rd.psnr_at_rate`, clamped at the curve's ends.
    """
    jpeg_psnr = psnr_at_rate(curve, bpp, outside="clamp")
    return jpeg_psnr, psnr_db - jpeg_psnr


@torch.no_grad()
def validate(codec: Codec, images: np.ndarray, quality: int, chunk: int = 10) -> dict:
    """Mean PSNR, SSIM and bpp of ``codec`` over ``images`` with the real codec.

    Runs :meth:`Codec.forward` with ``jpeg_mode="real"`` in eval mode, which codes
    the same bytes as :meth:`Codec.compress` (bpp counts the header too).
    """
    was_training = codec.training
    codec.eval()
    psnrs, ssims, bpps = [], [], []
    try:
        for i in range(0, len(images), chunk):
            batch = images[i : i + chunk]
            x = torch.from_numpy(batch).float()[:, None].to(codec.device) / 255.0
            out = codec(x, quality=quality, jpeg_mode="real")
            x_hat = jpeg.tensor_to_uint8(out["x_hat"])
            for ref, rec, rate in zip(batch, x_hat, out["bpp"].tolist(), strict=True):
                psnrs.append(psnr(ref, rec))
                ssims.append(ssim(ref, rec))
                bpps.append(rate)
    finally:
        codec.train(was_training)
    return dict(psnr=float(np.mean(psnrs)), ssim=float(np.mean(ssims)), bpp=float(np.mean(bpps)))
