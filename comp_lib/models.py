"""ComCNN and RecCNN, the two networks of Jiang et al.'s compression framework.

Jiang, Tao, Chen, Zhao and Zhao, "An End-to-End Compression Framework Based on
Convolutional Neural Networks", IEEE TCSVT 28(10), 2018 (arXiv:1708.00838).

Data flow of the whole method (see :class:`comp_lib.coding.Codec`)::

    x (H x W) --ComCNN--> x_compact (ceil(H/2) x ceil(W/2)) --JPEG--> x_compact_hat
      --bicubic x2--> x_up (H x W) --RecCNN--> x_hat = x_up - residual

Both networks take and return images of shape ``(N, 1, H, W)`` with values in
``[0, 1]`` (grayscale). They share argument names (``in_channels``,
``channels``) so that variants are one argument away.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ComCNN", "RecCNN", "downsample", "upsample"]


def _conv(in_channels: int, out_channels: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)


def _init_weights(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class ComCNN(nn.Module):
    """Compact-representation CNN: maps an image to a half-resolution compact image.

    Jiang et al. 2017, Sec. III-A: three convolutional layers::

        x (N,1,H,W)
          -> conv3x3 1->64 + ReLU
          -> conv3x3 64->64, stride 2 + BatchNorm + ReLU
          -> conv3x3 64->1
          -> x_compact (N,1,ceil(H/2),ceil(W/2))

    The compact image is meant to be coded by a standard codec (JPEG) after
    rounding to 8 bits; the network itself does not clip its output.

    Parameters
    ----------
    in_channels : int
        Image channels (1 for grayscale).
    channels : int
        Feature channels of the hidden layers (64 in the paper).
    """

    def __init__(self, in_channels: int = 1, channels: int = 64) -> None:
        super().__init__()
        if in_channels < 1 or channels < 1:
            raise ValueError(
                f"in_channels and channels must be >= 1, got {in_channels}, {channels}"
            )
        self.config = {"in_channels": in_channels, "channels": channels}
        self.body = nn.Sequential(
            _conv(in_channels, channels),
            nn.ReLU(inplace=True),
            _conv(channels, channels, stride=2, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            _conv(channels, in_channels),
        )
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    @torch.no_grad()
    def init_as_downsampler(self, x: torch.Tensor | None = None) -> ComCNN:
        """Set the weights so that channel 0 computes a binomial /2 downsampling.

        A warm start for training (the no-learning baseline is the starting
        point): ``conv1`` averages each 2x2 block, ``conv2`` (stride 2) blurs with
        ``[1, 2, 1] / 4``, which together is the ``[1, 3, 3, 1] / 8`` binomial
        filter centred between the two pixels it replaces (the pixel-centre
        convention of :func:`upsample`); ``conv3`` passes channel 0 through.
        BatchNorm's scale and shift for channel 0 are set to the statistics of
        ``x`` (a batch of images) so that it is close to the identity in both
        train and eval mode. The other 63 channels keep their random weights
        but start disconnected from the output and quiet (BatchNorm scale 0.01).
        """
        conv1, conv2, bn, conv3 = self.body[0], self.body[2], self.body[3], self.body[5]
        half = torch.tensor([0.0, 0.5, 0.5])
        blur = torch.tensor([1.0, 2.0, 1.0]) / 4
        conv1.weight[0].zero_()
        conv1.weight[0, :] = torch.outer(half, half)
        conv1.bias[0] = 0.0
        conv2.weight[0].zero_()
        conv2.weight[:, 0] *= 0.1  # other channels: small coupling to the image channel
        conv2.weight[0, 0] = torch.outer(blur, blur)
        mean, std = (0.45, 0.25) if x is None else (float(x.mean()), float(x.std()))
        bn.running_mean[0], bn.running_var[0] = mean, std**2 - bn.eps
        bn.weight[0], bn.bias[0] = std, mean
        bn.weight[1:] = 0.01  # the other channels start quiet, so that Adam's first steps
        bn.bias[1:] = 0.0  # on their (zero) output weights barely move the output
        conv3.weight.zero_()
        conv3.weight[0, 0, 1, 1] = 1.0
        conv3.bias.zero_()
        return self


class RecCNN(nn.Module):
    """Reconstruction CNN: removes the coding and upsampling artefacts by residual learning.

    Jiang et al. 2017, Sec. III-B: ``depth`` 3x3 convolutional layers of
    ``channels`` feature maps predict a residual (global residual learning, as
    in DnCNN)::

        x_up (N,1,H,W)    the decoded compact image, bicubic-upsampled x2
          -> conv3x3 1->64 + ReLU
          -> (depth - 2) x [conv3x3 64->64 + BatchNorm + ReLU]
          -> conv3x3 64->1                     = residual
        x_hat = x_up - residual

    ``depth=20, channels=64`` is the paper's network; smaller values give the
    narrower/shallower variants used in the ablations.

    The dissertation's variant (``pooling > 0``) inserts max-pooling layers.
    Each 2x2 max-pool (stride 2) follows one of the first ``pooling`` hidden
    blocks; the resolution is restored at the end of the body by as many
    learned 2x transposed convolutions (kernel 2, stride 2, + ReLU), so that
    the residual is again predicted at full resolution. There are no skip
    connections across the pooled part: detail lost by pooling must be
    re-synthesised, which is the point of that ablation. Input sizes that are
    not a multiple of ``2**pooling`` are padded by edge replication and the
    output is cropped back.

    ``shuffle=s > 1`` is a cheaper variant of ours (not in the paper): the
    upsampled image is rearranged losslessly into ``s*s`` channels at ``1/s``
    resolution (pixel unshuffle), the same body runs there, and the predicted
    residual is rearranged back (pixel shuffle), as in ESPCN (Shi et al. 2016).
    The input and output are still the bicubic-upsampled image and its
    residual, but each convolution costs ``s*s`` times less and the receptive
    field grows ``s`` times. Odd sizes are padded and cropped as for pooling.

    Parameters
    ----------
    in_channels : int
        Image channels (1 for grayscale).
    channels : int
        Feature channels (64 in the paper).
    depth : int
        Number of 3x3 convolutional layers, at least 2 (20 in the paper).
    pooling : int
        Number of 2x2 max-pooling stages (0 in the paper).
    shuffle : int
        Pixel-unshuffle factor of the body (1 in the paper).
    residual : bool
        Global residual learning (the paper's). ``False`` makes the body
        predict the image itself, an ablation of the dissertation's
        reproduction (``notebooks/04_ablations``).
    """

    def __init__(
        self,
        in_channels: int = 1,
        channels: int = 64,
        depth: int = 20,
        pooling: int = 0,
        shuffle: int = 1,
        residual: bool = True,
    ) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        if in_channels < 1 or channels < 1:
            raise ValueError(
                f"in_channels and channels must be >= 1, got {in_channels}, {channels}"
            )
        if not 0 <= pooling <= depth - 2:
            raise ValueError(f"pooling must be in 0..depth-2 = 0..{depth - 2}, got {pooling}")
        if shuffle not in (1, 2, 4):
            raise ValueError(f"shuffle must be 1, 2 or 4, got {shuffle}")
        self.config = {
            "in_channels": in_channels,
            "channels": channels,
            "depth": depth,
            "pooling": pooling,
            "shuffle": shuffle,
        }
        if not residual:  # stored only when off, so that older checkpoints keep loading
            self.config["residual"] = False
        self.residual = residual
        self.pooling = pooling
        self.shuffle = shuffle
        planes = in_channels * shuffle * shuffle
        layers: list[nn.Module] = [_conv(planes, channels), nn.ReLU(inplace=True)]
        for i in range(depth - 2):
            layers += [
                _conv(channels, channels, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
            if i < pooling:
                layers.append(nn.MaxPool2d(2))
        for _ in range(pooling):
            layers += [nn.ConvTranspose2d(channels, channels, 2, stride=2), nn.ReLU(inplace=True)]
        layers.append(_conv(channels, planes))
        if shuffle > 1:
            layers = [nn.PixelUnshuffle(shuffle), *layers, nn.PixelShuffle(shuffle)]
        self.body = nn.Sequential(*layers)
        _init_weights(self)

    def init_as_identity(self) -> RecCNN:
        """Zero the last layer, so that the residual is zero and ``x_hat = x_up``: training
        starts from the no-learning baseline instead of noise (the warm start). Returns self."""
        last = [m for m in self.modules() if isinstance(m, nn.Conv2d)][-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2**self.pooling * self.shuffle
        pad_h, pad_w = -h % m, -w % m
        if pad_h or pad_w:
            out = self.body(F.pad(x, (0, pad_w, 0, pad_h), mode="replicate"))[..., :h, :w]
        else:
            out = self.body(x)
        return x - out if self.residual else out


def upsample(x_compact: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic x2 upsampling of a compact image, cropped to the original ``size``.

    The compact image of an ``H x W`` image is ``ceil(H/2) x ceil(W/2)``; it is
    upsampled by exactly 2 (``align_corners=False``, the usual pixel-centre
    convention) and the extra row/column of odd sizes is cropped.

    Parameters
    ----------
    x_compact : torch.Tensor
        ``(N, C, h, w)`` compact images.
    size : tuple of int
        ``(H, W)`` of the original images, with ``h == ceil(H/2)`` and ``w == ceil(W/2)``.
    """
    h, w = size
    if x_compact.shape[-2:] != ((h + 1) // 2, (w + 1) // 2):
        raise ValueError(
            f"compact image of shape {tuple(x_compact.shape[-2:])} does not match "
            f"an original of {h}x{w} (expected {(h + 1) // 2}x{(w + 1) // 2})"
        )
    x_up = F.interpolate(x_compact, scale_factor=2, mode="bicubic", align_corners=False)
    return x_up[..., :h, :w]


def downsample(x: torch.Tensor) -> torch.Tensor:
    """Bicubic /2 downsampling with antialiasing, to ``ceil(H/2) x ceil(W/2)``.

    The hand-made counterpart of ComCNN, used by the no-learning baseline
    (:class:`comp_lib.coding.BicubicCodec`). Odd sizes are first padded by one
    row/column (edge replication), so that the factor is exactly 2 and compact
    pixel ``i`` stays centred on ``2 i + 0.5``, where :func:`upsample` expects it.
    (Interpolating 481 rows straight to 241 instead drifts by up to a pixel across
    the image and cost 2.4 dB on BSDS300 images after upsampling.)
    """
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    return F.interpolate(x, scale_factor=0.5, mode="bicubic", align_corners=False, antialias=True)
