"""Make a model's networks fast for training: backend flags, channels_last, the
multi-process gradient all-reduce, and ``torch.compile`` with an eager fallback.

The model keeps calling ``self.G_A(...)``: networks are changed in place, or
replaced by a wrapper that holds the very same parameters (so the optimizers the
model already built keep working, and checkpoints are written unwrapped).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gancraft.core.distributed import DistributedContext, GradientAllReduce, broadcast_module
from gancraft.core.precision import Precision

if TYPE_CHECKING:
    from gancraft.engine.trainer import TrainerConfig
    from gancraft.models.base import GANModel

log = logging.getLogger(__name__)


def configure_backends(device: torch.device) -> None:
    """Process-wide switches that only change speed, never results' meaning.

    ``cudnn.benchmark`` picks the fastest convolution algorithm per input shape (GAN
    training uses a fixed crop size, so the search is paid once).
    """
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


class CompiledNetwork(nn.Module):
    """``torch.compile`` of a network that falls back to eager execution, for good and
    with one warning, when compiling fails (no C++ compiler, an unsupported op, ...).

    The eager network is ``_orig_mod``, as in ``torch.compile``'s own wrapper, so
    checkpoints and :func:`gancraft.core.checkpoint.unwrap` see the plain network.
    """

    def __init__(self, net: nn.Module, name: str = "network", **compile_kwargs: Any) -> None:
        super().__init__()
        self._orig_mod = net
        self.name = name
        self.failed = False
        # kept out of the module tree: its parameters are _orig_mod's, listed once
        self.__dict__["_compiled"] = torch.compile(net, **compile_kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if not self.failed:
            try:
                return self._compiled(*args, **kwargs)
            except Exception as err:  # compile is an optimisation: never fail a run for it
                self.failed = True
                log.warning("torch.compile failed for %s (%s: %s); running it eagerly", self.name, type(err).__name__, str(err).splitlines()[0] if str(err) else "")
        return self._orig_mod(*args, **kwargs)


def prepare_networks(
    model: GANModel, config: TrainerConfig, ctx: DistributedContext, device: torch.device, precision: Precision | None = None
) -> None:
    """Apply the trainer's speed options to ``model``'s trainable networks, in place.

    - ``channels_last``: NHWC weights (and the trainer feeds NHWC batches): the layout
      tensor cores and oneDNN's fastest convolutions want.
    - several ranks: every network starts from rank 0's weights, and each optimizer
      step first averages its gradients over ranks (:class:`GradientAllReduce`, hooked
      into ``precision``, the one the model steps with; why not DDP: see :mod:`gancraft.core.distributed`).
    - ``compile``: each trainable network compiled separately (:class:`CompiledNetwork`).
    """
    configure_backends(device)
    if ctx.enabled:
        broadcast_module(model, ctx)  # every network, EMA copies too: they start equal everywhere
        if precision is None:
            raise ValueError("prepare_networks needs the model's precision to sync gradients over ranks")
        precision.grad_sync = GradientAllReduce(ctx)
    for name, net in model.trainable_networks().items():
        if config.channels_last:
            net.to(memory_format=torch.channels_last)  # in place: parameters keep their identity
        if config.compile and not isinstance(net, CompiledNetwork):
            setattr(model, name, CompiledNetwork(net, name))
