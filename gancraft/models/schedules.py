"""Learning-rate and warm-up schedules."""

from __future__ import annotations

import torch


def linear_decay(
    optimizer: torch.optim.Optimizer, n_constant: int, n_decay: int, unit: int = 1
) -> torch.optim.lr_scheduler.LambdaLR:
    """Constant LR for ``n_constant`` units, then linear decay towards zero over ``n_decay``.

    Stepped once per training step; ``unit`` is the number of steps per unit (the
    steps in an epoch for the reference's epoch-based rule, 1 for a step-based one).
    The factor in unit ``e`` (0-based) is ``1 - max(0, e + 1 - n_constant) / (n_decay + 1)``,
    the reference's ``linear`` policy.
    """

    def factor(step: int) -> float:
        e = step // max(unit, 1)
        return 1.0 - max(0, e + 1 - n_constant) / float(n_decay + 1)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def warmup_factor(step: int, steps: int) -> float:
    """``step / steps``, capped at 1: a linear warm-up over ``steps`` (0: none, always 1)."""
    return 1.0 if steps <= 0 else min(1.0, step / steps)
