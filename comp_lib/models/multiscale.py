"""A multi-scale post-filter: a small U-Net of residual blocks (as DRUNet), not in the paper.

A plain stack of 3x3 convolutions (RecCNN) sees ``2 depth + 1`` pixels across for
the cost of ``depth`` layers at one resolution. A U-Net halves the resolution at
each scale, so a layer at scale ``s`` costs ``4^s`` times less per image pixel and
sees ``2^s`` times further: JPEG's artefacts span 8x8 blocks (16x16 after the
framework's bicubic x2) and the structure they hide is larger still. Zhang, Li,
Zuo, Zhang, Van Gool and Timofte, "Plug-and-Play Image Restoration with Deep
Denoiser Prior" (IEEE TPAMI 2021), DRUNet: four scales of residual blocks, strided
2x2 convolutions down, transposed ones up, skips by addition, no normalisation.
Here, with ``channels=c`` and ``blocks=b`` residual blocks per scale and side::

    x (N,1,H,W) -> conv3x3 1->c
      scale 0: b x ResBlock(c)    --------------------------------------+ (skip)
        conv2x2/2 c->2c, scale 1: b x ResBlock(2c)  -----------------+  |
          ...                                                        |  |
            scale S-1 (bottom): b x ResBlock(2^(S-1) c)              |  |
          ...                                                        |  |
        convT2x2 x2 2c->c, add skip ... b x ResBlock(2c) <-----------+  |
      convT2x2 x2 2c->c, add skip, b x ResBlock(c)  <-------------------+
    -> conv3x3 c->1 = residual;  x_hat = x - residual

A residual block is ``conv3x3 + ReLU + conv3x3``, added to its input; with
``quality_aware`` its first convolution's output is scaled and shifted from the
JPEG quantisation table (:class:`~comp_lib.models.conditioning.QualityFiLM`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from comp_lib.models.conditioning import QualityFiLM, modulated_conv, quant_tensor
from comp_lib.models.layers import conv3x3, init_weights

__all__ = ["MultiScaleRecCNN"]


def _add(out: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``out + other``, into ``out`` (a fresh convolution output) when the dtypes agree,
    so that decoding allocates no new feature map for it. With the folded FiLM
    (:func:`~comp_lib.models.conditioning.modulated_conv`) this took ``unet32q``'s decode
    of a 481x321 image from about 2.15x ``post64s2``'s to about 1.8x (3 ad-hoc A/B timings;
    the committed ensemble table: 2.0x before, 1.8x after)."""
    return out.add_(other) if out.dtype == other.dtype else out + other


class _ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(channels, channels, bias=False)
        self.conv2 = conv3x3(channels, channels, bias=False)

    def forward(self, x: torch.Tensor, film=None) -> torch.Tensor:
        h = self.conv1(x) if film is None else modulated_conv(self.conv1, x, film)
        return _add(self.conv2(h.relu_()), x)


class MultiScaleRecCNN(nn.Module):
    """A U-Net of residual blocks predicting RecCNN's residual (see the module docstring).

    Parameters
    ----------
    in_channels : int
        Image channels (1 for grayscale).
    channels : int
        Feature channels at full resolution; doubled at each coarser scale.
    scales : int
        Resolutions, from full to ``1 / 2^(scales - 1)`` (2..5; 4 in DRUNet).
    blocks : int
        Residual blocks per scale on each side (the bottom scale has ``blocks``).
    quality_aware : bool
        Condition every residual block on the JPEG quantisation table.
    """

    def __init__(
        self,
        in_channels: int = 1,
        channels: int = 32,
        scales: int = 4,
        blocks: int = 2,
        quality_aware: bool = False,
    ) -> None:
        super().__init__()
        if in_channels < 1 or channels < 1 or blocks < 1:
            raise ValueError(
                f"in_channels, channels and blocks must be >= 1, got "
                f"{in_channels}, {channels}, {blocks}"
            )
        if not 2 <= scales <= 5:
            raise ValueError(f"scales must be in 2..5, got {scales}")
        self.config = {"arch": "multiscale", "in_channels": in_channels, "channels": channels,
                       "scales": scales, "blocks": blocks}  # fmt: skip
        if quality_aware:
            self.config["quality_aware"] = True
        self.quality_aware = quality_aware
        widths = [channels * 2**s for s in range(scales)]
        self.head = conv3x3(in_channels, channels)
        self.down = nn.ModuleList(
            nn.Conv2d(widths[s], widths[s + 1], 2, stride=2, bias=False) for s in range(scales - 1)
        )
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[s + 1], widths[s], 2, stride=2, bias=False)
            for s in range(scales - 1)
        )
        self.encoder = nn.ModuleList(
            nn.ModuleList(_ResBlock(widths[s]) for _ in range(blocks)) for s in range(scales)
        )
        self.decoder = nn.ModuleList(
            nn.ModuleList(_ResBlock(widths[s]) for _ in range(blocks)) for s in range(scales - 1)
        )
        self.tail = conv3x3(channels, in_channels)
        init_weights(self)
        for block in self.modules():  # residual branches start small: a deep stack stays stable
            if isinstance(block, _ResBlock):
                block.conv2.weight.data.mul_(0.1)
        per_block = [widths[s] for _, s, _ in self.blocks_in_order]
        self.film = QualityFiLM(per_block) if quality_aware else None

    @property
    def blocks_in_order(self) -> list[tuple[str, int, int]]:
        """``(side, scale, block)`` of every residual block, in the order :meth:`forward`
        runs them (and :attr:`film` conditions them): ``self.<side>[scale][block]``."""
        scales, blocks = self.config["scales"], self.config["blocks"]
        order = [("encoder", s, b) for s in range(scales) for b in range(blocks)]
        return order + [
            ("decoder", s, b) for s in reversed(range(scales - 1)) for b in range(blocks)
        ]

    @property
    def align(self) -> int:
        """Input sizes are padded to a multiple of this (the coarsest scale's step)."""
        return 2 ** (self.config["scales"] - 1)

    @property
    def description(self) -> str:
        """The network in a few words, for model cards."""
        c = self.config
        widths = f"{c['channels']}-{c['channels'] * 2 ** (c['scales'] - 1)}"
        text = (f"U-Net of {c['scales']} scales, {widths} channels, {c['blocks']} residual "
                "blocks per scale and side")  # fmt: skip
        return text + (", told the JPEG quantisation table" if self.quality_aware else "")

    @property
    def radius(self) -> int:
        """A bound on the receptive field's radius in pixels (tiles need this much margin).

        Each 3x3 convolution at scale ``s`` adds ``2^s`` pixels, each 2x2 step down or
        up at most ``2^s``.
        """
        scales, blocks = self.config["scales"], self.config["blocks"]
        radius = 2 + sum((4 * blocks + 2) * 2**s for s in range(scales - 1))
        return radius + 2 * blocks * 2 ** (scales - 1)

    def init_as_identity(self) -> MultiScaleRecCNN:
        """Zero the last layer: the residual is zero and ``x_hat = x`` (the warm start)."""
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        return self

    def forward(self, x: torch.Tensor, quant: torch.Tensor | None = None) -> torch.Tensor:
        """``x -> x_hat``; ``quant``: the JPEG quantisation tables, needed when quality-aware."""
        films = None
        if self.quality_aware:
            if quant is None:
                raise ValueError("a quality-aware network needs the JPEG quantisation table")
            films = iter(self.film(quant_tensor(quant, x.device)))
        h, w = x.shape[-2:]
        pad_h, pad_w = -h % self.align, -w % self.align
        y = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x
        y = self.head(y)
        skips = []
        for s, stage in enumerate(self.encoder):
            for block in stage:
                y = block(y, next(films) if films else None)
            if s < len(self.down):
                skips.append(y)
                y = self.down[s](y)
        for s in reversed(range(len(self.decoder))):
            y = _add(self.up[s](y), skips[s])
            for block in self.decoder[s]:
                y = block(y, next(films) if films else None)
        residual = self.tail(y)[..., :h, :w]
        return x - residual
