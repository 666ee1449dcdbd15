"""The locator network: a small U-shaped FCN (two stride-2 levels) with a center heatmap and species logits.

Output channel 0 is the column-center logit (sigmoid -> heatmap in [0, 1]); channels 1.. are per-class logits
(softmax -> species probabilities). Input height and width must be multiples of 4 (the caller pads).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STRIDE = 4  # total downsampling: inputs must be multiples of this


class ConvBlock(nn.Sequential):
    """3x3 convolution + ReLU.

    Args:
        c_in: input channels.
        c_out: output channels.
        stride: convolution stride.
        dilation: convolution dilation.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=dilation, dilation=dilation),
                         nn.ReLU(inplace=True))


class LocatorNet(nn.Module):
    """Center heatmap + species logits from a normalized image.

    Args:
        n_classes: number of species classes.
        widths: channels at full, 1/2 and 1/4 resolution.
    """

    def __init__(self, n_classes: int, widths: tuple[int, int, int] = (8, 16, 32)) -> None:
        super().__init__()
        c1, c2, c3 = widths
        self.n_classes = n_classes
        self.widths = tuple(widths)
        self.enc1 = nn.Sequential(ConvBlock(1, c1), ConvBlock(c1, c1))
        self.enc2 = nn.Sequential(ConvBlock(c1, c2, stride=2), ConvBlock(c2, c2))
        self.enc3 = nn.Sequential(ConvBlock(c2, c3, stride=2), ConvBlock(c3, c3, dilation=2), ConvBlock(c3, c3))
        self.lat3 = nn.Conv2d(c3, c2, 1)
        self.dec2 = ConvBlock(c2, c2)
        self.lat2 = nn.Conv2d(c2, c1, 1)
        self.dec1 = ConvBlock(c1, c1)
        self.head = nn.Conv2d(c1, 1 + n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(e2 + F.interpolate(self.lat3(e3), scale_factor=2.0, mode="nearest"))
        d1 = self.dec1(e1 + F.interpolate(self.lat2(d2), scale_factor=2.0, mode="nearest"))
        return self.head(d1)
