"""RecCNN: the reconstruction network of Jiang et al. (2017), Sec. III-B, and its variants."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from comp_lib.models.conditioning import QualityFiLM, modulate, quant_tensor
from comp_lib.models.layers import conv3x3, init_weights

__all__ = ["RecCNN"]


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
    quality_aware : bool
        Scale and shift each hidden block's features from the JPEG quantisation
        table (:class:`~comp_lib.models.conditioning.QualityFiLM`, after its
        BatchNorm); ``forward`` then needs the table. Off in the paper.
    """

    def __init__(
        self,
        in_channels: int = 1,
        channels: int = 64,
        depth: int = 20,
        pooling: int = 0,
        shuffle: int = 1,
        residual: bool = True,
        quality_aware: bool = False,
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
        if quality_aware:  # likewise
            self.config["quality_aware"] = True
        self.residual = residual
        self.quality_aware = quality_aware
        self.pooling = pooling
        self.shuffle = shuffle
        planes = in_channels * shuffle * shuffle
        layers: list[nn.Module] = [conv3x3(planes, channels), nn.ReLU(inplace=True)]
        for i in range(depth - 2):
            layers += [
                conv3x3(channels, channels, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
            if i < pooling:
                layers.append(nn.MaxPool2d(2))
        for _ in range(pooling):
            layers += [nn.ConvTranspose2d(channels, channels, 2, stride=2), nn.ReLU(inplace=True)]
        layers.append(conv3x3(channels, planes))
        if shuffle > 1:
            layers = [nn.PixelUnshuffle(shuffle), *layers, nn.PixelShuffle(shuffle)]
        self.body = nn.Sequential(*layers)
        init_weights(self)
        self.film = QualityFiLM([channels] * (depth - 2)) if quality_aware else None

    @property
    def align(self) -> int:
        """Input sizes are padded to a multiple of this (pooling and pixel shuffle)."""
        return 2**self.pooling * self.shuffle

    @property
    def description(self) -> str:
        """The network in a few words, for model cards."""
        c = self.config
        text = f"{c['channels']} channels x {c['depth']} layers"
        text += f", body at 1/{self.shuffle} resolution" if self.shuffle > 1 else ""
        text += f", {self.pooling} max-pooling stages" if self.pooling else ""
        return text + (", told the JPEG quantisation table" if self.quality_aware else "")

    @property
    def radius(self) -> int:
        """A bound on the receptive field's radius in pixels (tiles need this much margin)."""
        return (self.config["depth"] + 2) * self.align

    def init_as_identity(self) -> RecCNN:
        """Zero the last layer, so that the residual is zero and ``x_hat = x_up``: training
        starts from the no-learning baseline instead of noise (the warm start). Returns self."""
        last = [m for m in self.modules() if isinstance(m, nn.Conv2d)][-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        return self

    def forward(self, x: torch.Tensor, quant: torch.Tensor | None = None) -> torch.Tensor:
        """``x_up -> x_hat``; ``quant``: the ``(N, 8, 8)`` (or one ``(8, 8)``) quantisation
        tables of the JPEG files, needed when quality-aware and ignored otherwise."""
        films = None
        if self.quality_aware:
            if quant is None:
                raise ValueError("a quality-aware RecCNN needs the JPEG quantisation table")
            films = self.film(quant_tensor(quant, x.device))
        h, w = x.shape[-2:]
        m = self.align
        pad_h, pad_w = -h % m, -w % m
        if pad_h or pad_w:
            out = self._body(F.pad(x, (0, pad_w, 0, pad_h), mode="replicate"), films)[..., :h, :w]
        else:
            out = self._body(x, films)
        return x - out if self.residual else out

    def _body(self, x: torch.Tensor, films) -> torch.Tensor:
        if films is None:
            return self.body(x)
        blocks = iter(films)
        for layer in self.body:
            x = layer(x)
            if isinstance(layer, nn.BatchNorm2d):
                x = modulate(x, next(blocks))
        return x
