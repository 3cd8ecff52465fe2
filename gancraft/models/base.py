"""The small contract every GAN system keeps, and the only thing the trainer knows.

A model builds its own networks and losses by name, owns its optimizers and LR
schedulers, and performs a whole training step (all its updates, in its own order)
in :meth:`GANModel.train_step`. The trainer feeds batches, logs what comes back,
writes checkpoints and samples; it knows nothing about CycleGAN or StarGAN v2.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from gancraft.core.precision import Precision
from gancraft.models.tasks import TranslationTask


class GANModel(nn.Module):
    """Base class of GAN systems.

    Subclasses implement :meth:`configure_optimizers`, :meth:`train_step` and
    :meth:`translate`, and may override :meth:`configure_schedulers`,
    :meth:`sample_images`, :meth:`extra_state` / :meth:`load_extra_state` (for
    training state that is not a network or an optimizer, such as an image pool).

    Networks are plain attributes (``self.G_A``); :meth:`networks` lists them by
    name, so that the engine can wrap the trainable ones (DDP, compile) without the
    model knowing.
    """

    #: names of attributes that are trained networks (wrapped for DDP); EMA copies are not in it.
    trainable: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.precision = Precision("fp32")
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}

    # --- set-up -----------------------------------------------------------------
    def setup(self, total_steps: int, steps_per_epoch: int, precision: Precision) -> None:
        """Called once by the trainer after the model is on its device."""
        self.precision = precision
        self.optimizers = self.configure_optimizers()
        self.schedulers = self.configure_schedulers(total_steps, steps_per_epoch)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def resolved_config(self) -> dict[str, object]:
        """Dotted config keys -> values the model worked out while it was built (StarGAN v2's
        domain list, when it came from another checkpoint). The run saves them into its
        config, so that a checkpoint stands alone."""
        return {}

    def init_from(self, checkpoint: Path) -> None:
        """Start from another run's weights (``init_from=CKPT``): fine-tuning, not resuming.

        Models whose shape can change between runs (new StarGAN v2 domains) override this.
        """
        from gancraft.core.checkpoint import load_network_state, load_weights

        load_network_state(self.networks(), load_weights(checkpoint))

    def configure_schedulers(
        self, total_steps: int, steps_per_epoch: int
    ) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """LR schedulers stepped once per training step; none by default."""
        return {}

    # --- training -----------------------------------------------------------------
    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """One full training step; returns detached scalar tensors to log (no ``.item()``)."""
        raise NotImplementedError

    def step_schedulers(self) -> None:
        for scheduler in self.schedulers.values():
            scheduler.step()

    def sample_images(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Rows of an image grid for the trainer's sample PNGs (each N x 3 x H x W in [-1, 1])."""
        return []

    # --- inference ----------------------------------------------------------------
    def translate(self, images: torch.Tensor, **condition) -> torch.Tensor:
        raise NotImplementedError

    def tasks(self) -> list[TranslationTask]:
        """What can be evaluated: the translations this model does (see :mod:`gancraft.models.tasks`)."""
        return []

    # --- state --------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        """Every network (trained and EMA) by attribute name, as saved in checkpoints."""
        return {name: module for name, module in self.named_children()}

    def trainable_networks(self) -> dict[str, nn.Module]:
        return {name: getattr(self, name) for name in self.trainable}

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Training state that is neither a network nor an optimizer (tensors only)."""
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        pass


def set_requires_grad(modules: nn.Module | Iterable[nn.Module], flag: bool) -> None:
    """Freeze or unfreeze networks (the discriminators while the generators update)."""
    for module in [modules] if isinstance(modules, nn.Module) else modules:
        for p in module.parameters():
            p.requires_grad_(flag)


def adam(params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float], weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam with PyTorch's fused kernel where it exists (CUDA and CPU floats): one kernel over
    every parameter instead of a dozen ``foreach`` passes; on the CPU that is ~5x faster per step."""
    params = list(params)
    fused = all(p.device.type in ("cuda", "cpu") and p.is_floating_point() for p in params)
    return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay, fused=fused or None)
