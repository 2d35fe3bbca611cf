"""ComCNN: the compact-representation network of Jiang et al. (2017), Sec. III-A."""

from __future__ import annotations

import torch
from torch import nn

from comp_lib.models.layers import conv3x3, init_weights

__all__ = ["ComCNN"]


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
            conv3x3(in_channels, channels),
            nn.ReLU(inplace=True),
            conv3x3(channels, channels, stride=2, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            conv3x3(channels, in_channels),
        )
        init_weights(self)

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
