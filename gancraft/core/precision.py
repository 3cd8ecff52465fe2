"""Mixed precision: autocast, loss scaling and optimizer steps for a GAN's several optimizers.

A model never calls ``loss.backward()`` or ``optimizer.step()`` itself: it calls
:meth:`Precision.backward` and :meth:`Precision.step`, so that fp16 loss scaling
(one ``GradScaler`` for all optimizers, updated once per training step) and
bf16/fp32 share one code path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch

from gancraft.core.errors import ConfigError

MODES = ("fp32", "bf16", "fp16", "auto")


def resolve_mode(mode: str, device: torch.device) -> str:
    """``auto`` -> bf16 on a GPU that has it, else fp32."""
    if mode not in MODES:
        raise ConfigError(f"precision {mode!r} is not one of {', '.join(MODES)}")
    if mode == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    return mode


class Precision:
    """Autocast context plus scaled backward/step for one device."""

    def __init__(self, mode: str = "fp32", device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.mode = resolve_mode(mode, self.device)
        self.dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.mode]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.mode == "fp16")
        #: set by the engine under torchrun: averages an optimizer's gradients over ranks
        #: (see :class:`gancraft.core.distributed.GradientAllReduce`)
        self.grad_sync: Callable[[torch.optim.Optimizer], None] | None = None

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Forward passes run inside this; losses are computed in fp32 by the loss modules."""
        if self.mode == "fp32":
            yield
            return
        with torch.autocast(self.device.type, dtype=self.dtype):
            yield

    def backward(self, loss: torch.Tensor, *, create_graph: bool = False) -> None:
        self.scaler.scale(loss).backward(create_graph=create_graph)

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        """The loss as it is back-propagated (for penalties taken with ``autograd.grad``)."""
        return self.scaler.scale(loss)

    def unscale_factor(self) -> float | torch.Tensor:
        """Divide gradients obtained from :meth:`scale`-d losses by this."""
        return self.scaler.get_scale() if self.scaler.is_enabled() else 1.0

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Average gradients over ranks (when distributed), unscale, skip on inf/nan (fp16), step.

        Gradients are reduced while still scaled: the reduction is linear, and every
        rank then sees the same gradients, so fp16's skip-on-overflow agrees everywhere.
        """
        if self.grad_sync is not None:
            self.grad_sync(optimizer)
        self.scaler.step(optimizer)

    def update(self) -> None:
        """Once per training step, after every optimizer has stepped."""
        self.scaler.update()

    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler.is_enabled() else {}

    def load_state_dict(self, state: dict) -> None:
        if state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state)
