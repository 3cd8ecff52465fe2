"""The small contract every GAN system keeps, and the only thing the trainer knows.

A model builds its own networks and losses by name, owns its optimizers, LR schedulers
and the rest of its training state, and performs a whole training step (all its
updates, in its own order) in :meth:`GANModel.train_step`. The trainer calls only:

- :meth:`setup` (builds the optimizers and schedulers, once, on the device),
- :meth:`train_step` then :meth:`step_schedulers` (which returns the LRs the step used),
- :meth:`sample_images` (rows of the sample grids),
- :meth:`state_dict` / :meth:`load_state_dict` (everything a resume needs),
- :meth:`trainable_networks` (for DDP / channels_last / compile wrapping).

The run calls the class method :meth:`resolve_config` before it builds anything, and
:meth:`init_from` to start from another run's weights. It knows nothing about CycleGAN
or StarGAN v2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

from gancraft.core.checkpoint import load_network_state, load_weights, network_state
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

    # --- before building ----------------------------------------------------------
    @classmethod
    def resolve_config(cls, cfg: DictConfig, init_config: DictConfig | None = None) -> None:
        """Fill in, in place, the config keys that depend on something outside the recipe
        (``init_config``: the config of the checkpoint named by ``init_from``, if any), so that
        data and model are built from one resolved config and a checkpoint stands alone.
        Nothing to do by default."""

    # --- set-up -----------------------------------------------------------------
    def setup(self, total_steps: int, steps_per_epoch: int, precision: Precision) -> None:
        """Called once by the trainer after the model is on its device."""
        self.precision = precision
        self.optimizers = self.configure_optimizers()
        self.schedulers = self.configure_schedulers(total_steps, steps_per_epoch)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def configure_schedulers(
        self, total_steps: int, steps_per_epoch: int
    ) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """LR schedulers stepped once per training step; none by default."""
        return {}

    def init_from(self, checkpoint: Path, config: DictConfig | None = None) -> None:
        """Start from another run's weights (``init_from=CKPT``): fine-tuning, not resuming.
        ``config`` is that checkpoint's config, as the run already read it (for models that need it).

        Models whose shape can change between runs (new StarGAN v2 domains) override this.
        """
        load_network_state(self.networks(), load_weights(checkpoint))

    # --- training -----------------------------------------------------------------
    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """One full training step; returns detached scalar tensors to log (no ``.item()``)."""
        raise NotImplementedError

    def step_schedulers(self) -> dict[str, float]:
        """Step every LR scheduler; returns ``lr_<optimizer>``: the LR the step just taken used."""
        used = {f"lr_{name}": float(opt.param_groups[0]["lr"]) for name, opt in self.optimizers.items()}
        for scheduler in self.schedulers.values():
            scheduler.step()
        return used

    def sample_images(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Rows of an image grid for the trainer's sample PNGs (each N x 3 x H x W in [-1, 1])."""
        return []

    # --- inference ----------------------------------------------------------------
    def translate(self, images: torch.Tensor, **condition: Any) -> torch.Tensor:
        raise NotImplementedError

    def tasks(self) -> list[TranslationTask]:
        """What can be evaluated: the translations this model does (see :mod:`gancraft.models.tasks`)."""
        return []

    # --- networks -----------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        """Every network (trained and EMA) by attribute name, as saved in checkpoints."""
        return {name: module for name, module in self.named_children()}

    def trainable_networks(self) -> dict[str, nn.Module]:
        return {name: getattr(self, name) for name in self.trainable}

    # --- state --------------------------------------------------------------------
    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """Everything a resume needs, as tensors and plain containers (``weights_only`` loadable):

        ``networks`` (every network, EMA copies included, flat ``"<network>.<param>"`` on the CPU:
        what a checkpoint's ``model.safetensors`` holds), ``optimizers``, ``schedulers``,
        ``precision`` (the loss scaler) and ``extra`` (:meth:`extra_state`).

        With arguments it is :meth:`torch.nn.Module.state_dict` (as when nested in another module).
        """
        if args or kwargs:
            return super().state_dict(*args, **kwargs)
        return {
            "networks": network_state(self.networks()),
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "schedulers": {name: sched.state_dict() for name, sched in self.schedulers.items()},
            "precision": self.precision.state_dict(),
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:  # type: ignore[override]
        """Restore what :meth:`state_dict` returned (after :meth:`setup`, so the optimizers exist).
        A plain module state dict (no ``networks`` key) is loaded as :meth:`torch.nn.Module.load_state_dict` does."""
        if "networks" not in state:
            return super().load_state_dict(state, strict=strict, assign=assign)
        load_network_state(self.networks(), state["networks"], strict=strict)
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][name])
        self.precision.load_state_dict(state.get("precision", {}))
        self.load_extra_state(state.get("extra", {}))
        return None

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
