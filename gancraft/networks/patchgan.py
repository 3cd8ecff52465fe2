"""The N-layer PatchGAN discriminator; n_layers=3 is the 70x70 PatchGAN."""

from __future__ import annotations

import torch
from torch import nn

from gancraft.networks.layers import conv_bias, norm_layer
from gancraft.core.registry import NETWORKS


@NETWORKS.register("patchgan_discriminator")
class PatchDiscriminator(nn.Module):
    """4x4 convs with LeakyReLU(0.2), no norm on the first layer; returns logits.

    Each output pixel sees a 70x70 patch for ``n_layers=3``; a 256x256 input gives
    a 30x30 map. The loss applies the sigmoid (or none, for LSGAN and hinge).
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance") -> None:
        super().__init__()
        norm_fn, bias = norm_layer(norm), conv_bias(norm)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True))
        body, mult = [], 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last body layer keeps the resolution
            body.append(
                nn.Sequential(
                    nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias),
                    norm_fn(ndf * mult),
                    nn.LeakyReLU(0.2, True),
                )
            )
        self.body = nn.Sequential(*body)
        self.head = nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))
