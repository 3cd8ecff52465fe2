"""The R1 gradient penalty on real images (Mescheder et al., 2018)."""

from __future__ import annotations

import torch

from gancraft.core.precision import Precision
from gancraft.core.registry import LOSSES


@LOSSES.register("r1")
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
