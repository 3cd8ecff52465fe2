"""Make a model's networks fast for training: channels_last, DDP, torch.compile."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch
from torch.nn.parallel import DistributedDataParallel

from gancraft.engine.distributed import DistributedContext

if TYPE_CHECKING:
    from gancraft.engine.trainer import TrainerConfig
    from gancraft.models.base import GANModel

log = logging.getLogger(__name__)


def prepare_networks(model: GANModel, config: TrainerConfig, ctx: DistributedContext, device: torch.device) -> None:
    """Wrap each trainable network in place (the model keeps calling ``self.G_A(...)``)."""
    for name, net in model.trainable_networks().items():
        if config.channels_last:
            net = net.to(memory_format=torch.channels_last)
        if ctx.enabled:
            net = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False)
        if config.compile:
            try:
                net = torch.compile(net)
            except Exception as err:  # compile is an optimisation: never fail a run for it
                log.warning("torch.compile failed for %s (%s); running eagerly", name, err)
        setattr(model, name, net)
