"""Reconstruction losses: cycle, identity, style reconstruction and diversity."""

from __future__ import annotations

import torch
from torch import nn

from gancraft.registry import LOSSES


def mean_abs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference in fp32 (the L1 loss of all four)."""
    return (a.float() - b.float()).abs().mean()


@LOSSES.register("cycle")
class CycleLoss(nn.Module):
    """L1 between an image and its round trip ``F(G(x))``."""

    def forward(self, reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        return mean_abs(reconstructed, original)


@LOSSES.register("identity")
class IdentityLoss(nn.Module):
    """L1 between ``G(y)`` and ``y`` for ``y`` already in G's target domain."""

    def forward(self, translated: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        return mean_abs(translated, original)


@LOSSES.register("style")
class StyleReconstructionLoss(nn.Module):
    """L1 between the style code used to generate and the one re-encoded from the output."""

    def forward(self, predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return mean_abs(predicted, target)


@LOSSES.register("diversity")
class DiversityLoss(nn.Module):
    """Mean L1 between two outputs made with different style codes.

    Returned as a positive distance: the model *subtracts* it (weighted) from the
    generator's objective, as in StarGAN v2.
    """

    def forward(self, output_1: torch.Tensor, output_2: torch.Tensor) -> torch.Tensor:
        return mean_abs(output_1, output_2)
