"""ComCNN and RecCNN, the two networks of Jiang et al.'s compression framework.

Jiang, Tao, Chen, Zhao and Zhao, "An End-to-End Compression Framework Based on
Convolutional Neural Networks", IEEE TCSVT 28(10), 2018 (arXiv:1708.00838).

Data flow of the whole method (see :class:`comp_lib.coding.Codec`)::

    x (H x W) --ComCNN--> x_compact (ceil(H/2) x ceil(W/2)) --JPEG--> x_compact_hat
      --bicubic x2--> x_up (H x W) --RecCNN--> x_hat = x_up - residual

Both networks take and return images of shape ``(N, 1, H, W)`` with values in
``[0, 1]`` (grayscale). They share argument names (``in_channels``,
``channels``) so that variants are one argument away.

Modules: :mod:`~comp_lib.models.comcnn`, :mod:`~comp_lib.models.reccnn` (the paper's
networks); :mod:`~comp_lib.models.multiscale` (a U-Net post-filter, not in the paper);
:mod:`~comp_lib.models.conditioning` (quality awareness from the JPEG quantisation
table); :mod:`~comp_lib.models.reconstruction` (every reconstruction network, built
from a checkpoint's configuration); :mod:`~comp_lib.models.resample` (bicubic x2).
"""

from __future__ import annotations

from comp_lib.models.comcnn import ComCNN
from comp_lib.models.conditioning import QualityFiLM
from comp_lib.models.multiscale import MultiScaleRecCNN
from comp_lib.models.reccnn import RecCNN
from comp_lib.models.reconstruction import (
    RECONSTRUCTION_NETWORKS,
    build_reconstruction,
    with_blocks,
    with_quality,
)
from comp_lib.models.resample import downsample, upsample

__all__ = [
    "RECONSTRUCTION_NETWORKS",
    "ComCNN",
    "MultiScaleRecCNN",
    "QualityFiLM",
    "RecCNN",
    "build_reconstruction",
    "downsample",
    "upsample",
    "with_blocks",
    "with_quality",
]
