"""Stand-ins the evaluation tests share: networks with fixed random weights, no downloads."""

from __future__ import annotations

import torch
from torch import nn


class TinyExtractor(nn.Module):
    """A fixed random conv net standing in for Inception: [0, 255] 299 px -> 16 features."""

    name = "tiny-test-extractor"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layers = nn.Sequential(nn.Conv2d(3, 16, 5, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x / 255.0).flatten(1)
