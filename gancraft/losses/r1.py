"""The R1 gradient penalty on real images (Mescheder et al., 2018)."""

from __future__ import annotations

import torch
from torch import nn

from gancraft.core.precision import Precision
from gancraft.core.registry import LOSSES


def r1_penalty(logits: torch.Tensor, images: torch.Tensor, precision: Precision | None = None) -> torch.Tensor:
    """``0.5 * E[ ||d D(x) / d x||^2 ]`` for real ``images`` (which must require grad).

    Under fp16 the gradient is taken of the *scaled* output and unscaled afterwards,
    so that small gradients do not underflow (PyTorch's AMP gradient-penalty recipe).
    """
    out = logits.float().sum()
    scale = 1.0
    if precision is not None and precision.scaler.is_enabled():
        out = precision.scale(out)
        scale = precision.unscale_factor()
    (grad,) = torch.autograd.grad(out, images, create_graph=True)
    grad = grad.float() / scale
    return 0.5 * grad.pow(2).flatten(1).sum(1).mean()


@LOSSES.register("r1")
class R1Penalty(nn.Module):
    """:func:`r1_penalty` as a loss module, built by name like the other losses."""

    def __init__(self) -> None:
        super().__init__()

    def forward(self, logits: torch.Tensor, images: torch.Tensor, precision: Precision | None = None) -> torch.Tensor:
        return r1_penalty(logits, images, precision)
