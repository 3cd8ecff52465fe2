"""Exponential moving averages of network weights (the generators' EMA copies)."""

from __future__ import annotations

import copy

import torch
from torch import nn


def ema_copy(online: nn.Module) -> nn.Module:
    """A frozen copy of ``online`` to hold its moving average (starts equal to it)."""
    return copy.deepcopy(online).requires_grad_(False)


@torch.no_grad()
def ema_update(ema: nn.Module, online: nn.Module, beta: float) -> None:
    """``ema <- beta * ema + (1 - beta) * online`` for every parameter (the StarGAN v2 reference's
    moving average); buffers (norm statistics, an attention blend's share) are copied, since an
    average of them is not a state the online network was ever in."""
    ema_params = list(ema.parameters())
    online_params = [p.detach() for p in online.parameters()]
    torch._foreach_lerp_(ema_params, online_params, 1.0 - beta)
    for mine, theirs in zip(ema.buffers(), online.buffers()):
        mine.copy_(theirs)
