"""Reconstruction losses: one L1 distance under the names the models use it for."""

from __future__ import annotations

import torch
from torch import nn

from gancraft.core.registry import LOSSES


@LOSSES.register("l1")
@LOSSES.register("cycle")
@LOSSES.register("identity")
@LOSSES.register("style")
@LOSSES.register("diversity")
class L1Loss(nn.Module):
    """Mean absolute difference, computed in fp32.

    The same distance serves as the cycle loss (``F(G(x))`` vs ``x``), the identity
    loss (``G(y)`` vs ``y``), StarGAN v2's style reconstruction (``E(G(x, s))`` vs
    ``s``) and its diversity term (between two outputs made with different styles;
    the model *subtracts* that one from the generator's objective).
    """

    def __init__(self) -> None:  # no settings: a key given in a recipe is a mistake, reported by the registry
        super().__init__()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a.float() - b.float()).abs().mean()
