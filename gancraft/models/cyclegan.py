"""CycleGAN (Zhu et al., 2017), faithful to the reference implementation.

Two generators (``G_A``: A -> B, ``G_B``: B -> A) and two discriminators (``D_A``
judges domain B, ``D_B`` judges domain A, the reference's naming). Per step: both
generators update on adversarial + cycle + identity losses with the discriminators
frozen, then both discriminators update on real vs pooled fakes, loss halved.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from gancraft.models.base import GANModel, set_requires_grad
from gancraft.models.image_pool import ImagePool
from gancraft.models.schedules import linear_decay
from gancraft.networks.layers import init_weights
from gancraft.registry import LOSSES, MODELS, NETWORKS
from gancraft.errors import ConfigError

DIRECTIONS = ("a2b", "b2a")


@MODELS.register("cyclegan")
class CycleGAN(GANModel):
    trainable = ("G_A", "G_B", "D_A", "D_B")

    def __init__(
        self,
        generator: dict[str, Any] | None = None,
        discriminator: dict[str, Any] | None = None,
        gan_loss: str = "lsgan",
        lambda_A: float = 10.0,
        lambda_B: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        init: str = "normal",
        init_gain: float = 0.02,
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        n_epochs: int = 100,
        n_epochs_decay: int = 100,
        schedule_unit: str = "epoch",
        seed: int = 0,
    ) -> None:
        super().__init__()
        generator = dict(generator or {"name": "resnet_generator"})
        discriminator = dict(discriminator or {"name": "patchgan_discriminator"})
        if schedule_unit not in ("epoch", "step"):
            raise ConfigError(f"model.schedule_unit {schedule_unit!r} is not one of epoch, step")
        self.G_A = init_weights(NETWORKS.build_from_config(generator), init, init_gain)
        self.G_B = init_weights(NETWORKS.build_from_config(generator), init, init_gain)
        self.D_A = init_weights(NETWORKS.build_from_config(discriminator), init, init_gain)
        self.D_B = init_weights(NETWORKS.build_from_config(discriminator), init, init_gain)
        self.gan_loss = LOSSES.build(gan_loss)
        self.cycle_loss = LOSSES.build("cycle")
        self.identity_loss = LOSSES.build("identity")
        self.lambda_A, self.lambda_B, self.lambda_identity = lambda_A, lambda_B, lambda_identity
        self.pool_A, self.pool_B = ImagePool(pool_size, seed), ImagePool(pool_size, seed + 1)
        self.lr, self.betas = lr, (beta1, beta2)
        self.n_epochs, self.n_epochs_decay, self.schedule_unit = n_epochs, n_epochs_decay, schedule_unit

    def networks(self) -> dict[str, torch.nn.Module]:
        return {name: getattr(self, name) for name in self.trainable}

    # --- optimisation -------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        fused = next(self.parameters()).is_cuda  # fused Adam kernels exist on CUDA only
        return {
            "G": torch.optim.Adam(itertools.chain(self.G_A.parameters(), self.G_B.parameters()), lr=self.lr, betas=self.betas, fused=fused or None),
            "D": torch.optim.Adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()), lr=self.lr, betas=self.betas, fused=fused or None),
        }

    def configure_schedulers(self, total_steps: int, steps_per_epoch: int) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        unit = steps_per_epoch if self.schedule_unit == "epoch" else 1
        return {name: linear_decay(opt, self.n_epochs, self.n_epochs_decay, unit) for name, opt in self.optimizers.items()}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        real_A, real_B = batch["A"], batch["B"]
        opt_G, opt_D, precision = self.optimizers["G"], self.optimizers["D"], self.precision

        # Generators, with the discriminators frozen.
        set_requires_grad([self.D_A, self.D_B], False)
        opt_G.zero_grad(set_to_none=True)
        with precision.autocast():
            fake_B = self.G_A(real_A)
            rec_A = self.G_B(fake_B)
            fake_A = self.G_B(real_B)
            rec_B = self.G_A(fake_A)
            logs = {
                "G_A": self.gan_loss(self.D_A(fake_B), real=True, for_discriminator=False),
                "G_B": self.gan_loss(self.D_B(fake_A), real=True, for_discriminator=False),
                "cycle_A": self.cycle_loss(rec_A, real_A) * self.lambda_A,
                "cycle_B": self.cycle_loss(rec_B, real_B) * self.lambda_B,
            }
            if self.lambda_identity > 0:
                logs["idt_A"] = self.identity_loss(self.G_A(real_B), real_B) * self.lambda_B * self.lambda_identity
                logs["idt_B"] = self.identity_loss(self.G_B(real_A), real_A) * self.lambda_A * self.lambda_identity
        loss_G = sum(logs.values())
        precision.backward(loss_G)
        precision.step(opt_G)

        # Discriminators, on reals and on fakes drawn from the history pools.
        set_requires_grad([self.D_A, self.D_B], True)
        opt_D.zero_grad(set_to_none=True)
        pooled_B, pooled_A = self.pool_B.query(fake_B), self.pool_A.query(fake_A)
        with precision.autocast():
            logs["D_A"] = 0.5 * (self.gan_loss(self.D_A(real_B), real=True) + self.gan_loss(self.D_A(pooled_B), real=False))
            logs["D_B"] = 0.5 * (self.gan_loss(self.D_B(real_A), real=True) + self.gan_loss(self.D_B(pooled_A), real=False))
        precision.backward(logs["D_A"] + logs["D_B"])
        precision.step(opt_D)
        precision.update()
        return {name: value.detach() for name, value in logs.items()}

    # --- images -------------------------------------------------------------------
    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Rows: real A, A->B, A->B->A, real B, B->A, B->A->B."""
        real_A, real_B = batch["A"], batch["B"]
        fake_B, fake_A = self.G_A(real_A), self.G_B(real_B)
        return [real_A, fake_B, self.G_B(fake_B), real_B, fake_A, self.G_A(fake_A)]

    def translate(self, images: torch.Tensor, direction: str = "a2b", **_: Any) -> torch.Tensor:
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
        return (self.G_A if direction == "a2b" else self.G_B)(images)

    # --- state --------------------------------------------------------------------
    def extra_state(self) -> dict[str, torch.Tensor]:
        return {**self.pool_A.state_dict("pool_A."), **self.pool_B.state_dict("pool_B.")}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        device = next(self.parameters()).device
        self.pool_A.load_state_dict(state, "pool_A.", device)
        self.pool_B.load_state_dict(state, "pool_B.", device)
