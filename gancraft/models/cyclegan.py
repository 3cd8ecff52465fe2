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

from gancraft.core.checkpoint import load_network_state, load_weights, unwrap
from gancraft.models.base import GANModel, adam, set_requires_grad
from gancraft.models.ema import ema_copy, ema_update
from gancraft.models.image_pool import ImagePool
from gancraft.models.schedules import linear_decay, warmup_factor
from gancraft.models.tasks import TranslationTask
from gancraft.networks.layers import attention_blend, init_weights, set_attention_weight
from gancraft.core.registry import LOSSES, MODELS, NETWORKS
from gancraft.core.errors import ConfigError

DIRECTIONS = ("a2b", "b2a")
GENERATORS = ("G_A", "G_B")
MASK_PENALTIES = ("area", "change")


def per_sample(net: torch.nn.Module) -> bool:
    """True when ``net``'s output for one sample does not depend on the rest of its batch
    (no batch norm, no norm layer that tracks running statistics)."""
    return not any(
        isinstance(m, torch.nn.modules.batchnorm._BatchNorm) or getattr(m, "track_running_stats", False)
        for m in net.modules()
        if isinstance(m, torch.nn.modules.batchnorm._NormBase)
    )


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
        attention_warmup: int = 0,
        mask_gradient: str = "all",
        lambda_mask: float = 0.0,
        mask_penalty: str = "area",
        ema_beta: float = 0.0,
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
        self._batch_passes: bool | None = None  # decided on first use (see batch_passes)
        if attention_warmup < 0:
            raise ConfigError(f"model.attention_warmup={attention_warmup} must be >= 0 (steps; 0: no warm-up)")
        if attention_warmup and not all(hasattr(g, "attention_weight") for g in (self.G_A, self.G_B)):
            raise ConfigError("model.attention_warmup needs an attention generator (model.generator.attention=true)")
        self.attention_warmup = int(attention_warmup)
        if mask_gradient not in ("all", "adversarial"):
            raise ConfigError(f"model.mask_gradient {mask_gradient!r} is not one of all, adversarial")
        if (mask_gradient == "adversarial" or lambda_mask) and not all(hasattr(g, "raw") and getattr(g, "attention", False) for g in (self.G_A, self.G_B)):
            raise ConfigError("model.mask_gradient=adversarial and model.lambda_mask need an attention generator (model.generator.attention=true)")
        if lambda_mask and mask_gradient != "adversarial":
            raise ConfigError("model.lambda_mask works with model.mask_gradient=adversarial (it penalises the translations' masks)")
        self.mask_gradient, self.lambda_mask = mask_gradient, float(lambda_mask)
        if mask_penalty not in MASK_PENALTIES:
            raise ConfigError(f"model.mask_penalty {mask_penalty!r} is not one of {', '.join(MASK_PENALTIES)}")
        self.mask_penalty = mask_penalty
        if not 0.0 <= ema_beta < 1.0:
            raise ConfigError(f"model.ema_beta={ema_beta} must be in [0, 1) (0: no moving average, the reference)")
        self.ema_beta = float(ema_beta)
        if self.ema_beta:
            self.G_A_ema, self.G_B_ema = ema_copy(self.G_A), ema_copy(self.G_B)

    def networks(self) -> dict[str, torch.nn.Module]:
        return {name: getattr(self, name) for name in self.trainable + self._ema_names()}

    def _ema_names(self) -> tuple[str, ...]:
        return tuple(f"{g}_ema" for g in GENERATORS) if self.ema_beta else ()

    def _inference(self, generator: str) -> torch.nn.Module:
        """The generator that translates: its moving average when ``ema_beta`` > 0."""
        return getattr(self, f"{generator}_ema" if self.ema_beta else generator)

    def init_from(self, checkpoint: Any, config: Any = None) -> None:
        """Start from another run's weights; a checkpoint without moving averages (trained with
        ``ema_beta: 0``) starts them from its generators."""
        flat = load_weights(checkpoint)
        names = self.trainable + tuple(n for n in self._ema_names() if any(k.startswith(f"{n}.") for k in flat))
        load_network_state({n: getattr(self, n) for n in names}, flat)
        for name in self._ema_names():
            if name not in names:
                getattr(self, name).load_state_dict(unwrap(getattr(self, name.removesuffix("_ema"))).state_dict())

    # --- optimisation -------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            "G": adam(itertools.chain(self.G_A.parameters(), self.G_B.parameters()), lr=self.lr, betas=self.betas),
            "D": adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()), lr=self.lr, betas=self.betas),
        }

    def configure_schedulers(self, total_steps: int, steps_per_epoch: int) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        unit = steps_per_epoch if self.schedule_unit == "epoch" else 1
        return {name: linear_decay(opt, self.n_epochs, self.n_epochs_decay, unit) for name, opt in self.optimizers.items()}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        real_A, real_B = batch["A"], batch["B"]
        opt_G, opt_D, precision = self.optimizers["G"], self.optimizers["D"], self.precision
        if self.attention_warmup:
            self._warm_attention(step)

        # Generators, with the discriminators frozen.
        set_requires_grad([self.D_A, self.D_B], False)
        opt_G.zero_grad(set_to_none=True)
        identity = self.lambda_identity > 0
        with precision.autocast():
            if self.mask_gradient == "adversarial":
                # the masks learn once the warm-up is over (before it they stay as initialised)
                learning = step >= self.attention_warmup
                fake_B, fake_A, rec_A, rec_B, idt_A, idt_B, masks = self._generate_adversarial_masks(real_A, real_B, identity, learning)
            else:
                fake_B, fake_A, rec_A, rec_B, idt_A, idt_B = self._generate(real_A, real_B, identity)
                masks = None
            logs = {
                "G_A": self.gan_loss(self.D_A(fake_B), real=True, for_discriminator=False),
                "G_B": self.gan_loss(self.D_B(fake_A), real=True, for_discriminator=False),
                "cycle_A": self.cycle_loss(rec_A, real_A) * self.lambda_A,
                "cycle_B": self.cycle_loss(rec_B, real_B) * self.lambda_B,
            }
            if identity:
                logs["idt_A"] = self.identity_loss(idt_A, real_B) * self.lambda_B * self.lambda_identity
                logs["idt_B"] = self.identity_loss(idt_B, real_A) * self.lambda_A * self.lambda_identity
            if masks is not None and self.lambda_mask > 0:
                logs["mask_A"], logs["mask_B"] = (m.mean() * (self.lambda_mask if learning else 0.0) for m in masks)
        loss_G = sum(logs.values())
        precision.backward(loss_G)
        precision.step(opt_G)
        for name in self._ema_names():
            ema_update(getattr(self, name), unwrap(getattr(self, name.removesuffix("_ema"))), self.ema_beta)

        # Discriminators, on reals and on fakes drawn from the history pools.
        set_requires_grad([self.D_A, self.D_B], True)
        opt_D.zero_grad(set_to_none=True)
        pooled_B, pooled_A = self.pool_B.query(fake_B), self.pool_A.query(fake_A)
        with precision.autocast():
            logs["D_A"] = self._discriminator_loss(self.D_A, real_B, pooled_B)
            logs["D_B"] = self._discriminator_loss(self.D_B, real_A, pooled_A)
        precision.backward(logs["D_A"] + logs["D_B"])
        precision.step(opt_D)
        precision.update()
        return {name: value.detach() for name, value in logs.items()}

    def _generate(self, real_A: torch.Tensor, real_B: torch.Tensor, identity: bool) -> tuple[torch.Tensor | None, ...]:
        """fake_B, fake_A, rec_A, rec_B, idt_A, idt_B (the identity outputs None without the identity loss)."""
        if self.batch_passes:
            # Several inputs of one generator as one batch (3 calls instead of 6):
            # the same per-sample maths, with larger and faster convolutions.
            n = real_A.shape[0]
            outs = self.G_A(torch.cat([real_A, real_B]) if identity else real_A).split(n)
            fake_B, idt_A = outs if identity else (outs[0], None)
            outs = self.G_B(torch.cat([real_B, real_A, fake_B] if identity else [real_B, fake_B])).split(n)
            fake_A, idt_B, rec_A = outs if identity else (outs[0], None, outs[1])
            rec_B = self.G_A(fake_A)
        else:
            fake_B, fake_A = self.G_A(real_A), self.G_B(real_B)
            rec_A, rec_B = self.G_B(fake_B), self.G_A(fake_A)
            idt_A, idt_B = (self.G_A(real_B), self.G_B(real_A)) if identity else (None, None)
        return fake_B, fake_A, rec_A, rec_B, idt_A, idt_B

    def _raw(self, G: torch.nn.Module, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """``G``'s outputs before the attention blend, one batched call when norms are per sample."""
        if self.batch_passes:
            return list(G.raw(torch.cat(inputs)).split(inputs[0].shape[0]))
        return [G.raw(x) for x in inputs]

    def _generate_adversarial_masks(self, real_A: torch.Tensor, real_B: torch.Tensor, identity: bool,
                                    learning: bool = True) -> tuple[Any, ...]:
        """As :meth:`_generate`, plus the two translations' masks as ``lambda_mask`` penalises them
        (:meth:`_penalised_mask`); the masks learn from the adversarial
        loss (and ``lambda_mask``) only: every output that no discriminator judges (identity,
        reconstruction, and the translations as they enter the cycle) blends with a detached mask.
        With ``learning`` false (during the warm-up) no output moves the masks.

        Why: passing the input through (mask 0) satisfies the cycle and identity losses exactly, so
        their gradient closes the mask wherever the generator is not yet right, the band included;
        a closed sigmoid mask then gets no gradient and never reopens. Measured on the CPU recipe:
        with the warm-up alone the mask closed again within 300 steps of the blend reaching full
        weight (identity PSNR 100 dB, no glasses drawn). The adversarial loss alone closes it too
        while the generator's own pixels are worse than the input (early in training: mean mask
        0.05 by step 100), hence no mask learning until the warm-up has taught the generator to
        draw. The values are the same either way; only which loss may move the mask changes.
        """
        def blend(raw: torch.Tensor, x: torch.Tensor, G: torch.nn.Module, judged: bool) -> torch.Tensor:
            return attention_blend(raw, x, G.attention_weight, detach_mask=not (judged and learning))

        raw_A = self._raw(self.G_A, [real_A, real_B] if identity else [real_A])
        fake_B, fake_B_cycle = blend(raw_A[0], real_A, self.G_A, True), blend(raw_A[0], real_A, self.G_A, False)
        raw_B = self._raw(self.G_B, [real_B, fake_B_cycle, real_A] if identity else [real_B, fake_B_cycle])
        fake_A, fake_A_cycle = blend(raw_B[0], real_B, self.G_B, True), blend(raw_B[0], real_B, self.G_B, False)
        rec_A = blend(raw_B[1], fake_B_cycle, self.G_B, False)
        rec_B = blend(self.G_A.raw(fake_A_cycle), fake_A_cycle, self.G_A, False)
        idt_A = blend(raw_A[1], real_B, self.G_A, False) if identity else None
        idt_B = blend(raw_B[2], real_A, self.G_B, False) if identity else None
        masks = (self._penalised_mask(raw_A[0], real_A), self._penalised_mask(raw_B[0], real_B))
        return fake_B, fake_A, rec_A, rec_B, idt_A, idt_B, masks

    def _penalised_mask(self, raw: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)``: what ``lambda_mask`` penalises the mean of. ``area``: the mask itself.
        ``change``: the mask weighted by how far the generator's own pixels lie from the input
        (``a * |tanh(rgb) - x|``, the weight detached), the L1 of the change the mask makes.

        Why ``change``: the adversarial gradient that opens the mask is proportional to
        ``tanh(rgb) - x``, so where the wanted change has low contrast (dark frames on dark
        skin) it is weak, while an area penalty presses as hard on every face. Measured on the
        CPU recipe with ``area``: the mask opened 0.149 of the eye band on dark faces against 0.184
        on light ones. Weighting the penalty by the same difference makes the balance
        independent of the contrast."""
        mask = torch.sigmoid(raw[:, -1:])
        if self.mask_penalty == "area":
            return mask
        return mask * (torch.tanh(raw[:, :-1]) - x).abs().mean(1, keepdim=True).detach()

    def _warm_attention(self, step: int) -> None:
        """Ramp the attention blend's share from 0 to 1 over the first ``attention_warmup`` steps.

        Why: a sigmoid mask that closes (passes the input through) satisfies the cycle and
        identity losses at once, and once closed its gradient vanishes, so the adversarial
        loss cannot reopen it: measured on the CPU recipe, the mask had closed everywhere by
        step 1,000 (identity PSNR 60-78 dB, no glasses drawn) with BCE and with LSGAN. Starting
        as the plain generator teaches it to draw glasses first; on its own the warm-up is not
        enough (the mask closed again once the blend was full), hence ``mask_gradient``.
        """
        for g in (self.G_A, self.G_B):
            set_attention_weight(g, warmup_factor(step, self.attention_warmup))

    def _discriminator_loss(self, D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """``0.5 * (loss(D(real), real) + loss(D(fake), fake))``; one batched pass when D's norm is per sample."""
        if self.batch_passes:
            logits_real, logits_fake = D(torch.cat([real, fake])).split(real.shape[0])
        else:
            logits_real, logits_fake = D(real), D(fake)
        return 0.5 * (self.gan_loss(logits_real, real=True) + self.gan_loss(logits_fake, real=False))

    @property
    def batch_passes(self) -> bool:
        """Whether several inputs of one network may run as one batch: only when every
        norm is per sample (instance norm without running statistics, or none), so that
        batching changes speed and nothing else."""
        if self._batch_passes is None:
            self._batch_passes = all(per_sample(getattr(self, n)) for n in self.trainable)
        return self._batch_passes

    # --- images -------------------------------------------------------------------
    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Rows: real A, A->B, A->B->A, real B, B->A, B->A->B (by the generators that translate)."""
        real_A, real_B = batch["A"], batch["B"]
        G_A, G_B = self._inference("G_A"), self._inference("G_B")
        fake_B, fake_A = G_A(real_A), G_B(real_B)
        return [real_A, fake_B, G_B(fake_B), real_B, fake_A, G_A(fake_A)]

    def translate(self, images: torch.Tensor, direction: str = "a2b", **_: Any) -> torch.Tensor:
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
        return self._inference("G_A" if direction == "a2b" else "G_B")(images)

    def tasks(self) -> list[TranslationTask]:
        """The two directions: ``a2b`` (domain A to B) and ``b2a``."""
        return [TranslationTask("a2b", source="A", target="B", fixed={"direction": "a2b"}),
                TranslationTask("b2a", source="B", target="A", fixed={"direction": "b2a"})]

    # --- state --------------------------------------------------------------------
    def extra_state(self) -> dict[str, torch.Tensor]:
        return {**self.pool_A.state_dict("pool_A."), **self.pool_B.state_dict("pool_B.")}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        device = next(self.parameters()).device
        self.pool_A.load_state_dict(state, "pool_A.", device)
        self.pool_B.load_state_dict(state, "pool_B.", device)
