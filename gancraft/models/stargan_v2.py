"""StarGAN v2 (Choi et al., 2020): one generator for many domains, driven by style codes.

Faithful to clovaai/stargan-v2's training: per step the discriminator updates on a
latent-guided fake, then on a reference-guided fake; then generator, mapping network
and style encoder update on the latent-guided path, and the generator alone on the
reference-guided path; then the EMA copies move. Losses: non-saturating adversarial,
R1 on reals, style reconstruction, diversity-sensitive (its weight decays linearly to 0
over ``ds_iter`` steps), cycle. Adam lr 1e-4 (mapping network 1e-6), betas (0, 0.99),
weight decay 1e-4.

Beyond the reference: domains have names (``domains: [round, cat_eye, ...]``),
:meth:`StarGANv2.add_domains` and :meth:`StarGANv2.init_from` grow a trained model by
new domains (:meth:`StarGANv2.resolve_config` works out the domain list from the
``init_from`` checkpoint and ``model.new_domains`` before anything is built), and
:meth:`StarGANv2.translate` offers truncation and explicit styles.

Options beyond the reference, all off by default (the reference's training is then unchanged):
``attention`` / ``attention_warmup`` (a mask-blended generator), ``lambda_cls`` / ``cls_lr`` /
``cls_view`` (an auxiliary domain classifier, see :meth:`StarGANv2._c_step`) and
``mask_gradient: adversarial`` (see :meth:`StarGANv2._fakes`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from omegaconf import DictConfig

from gancraft.core.checkpoint import find_checkpoint, load_config, load_network_state, load_weights, unwrap
from gancraft.core.errors import CheckpointError, ConfigError
from gancraft.core.registry import LOSSES, MODELS, NETWORKS
from gancraft.losses.r1 import r1_penalty
from gancraft.models.base import GANModel, adam
from gancraft.models.ema import ema_copy, ema_update
from gancraft.models.schedules import warmup_factor
from gancraft.models.tasks import TranslationTask
from gancraft.networks.layers import attention_blend, set_attention_weight
from gancraft.networks.stargan_v2 import he_init
from gancraft.world.oracle import eye_band, eye_band_shape

log = logging.getLogger(__name__)

ONLINE = ("generator", "mapping_network", "style_encoder", "discriminator")
EMA = ("generator_ema", "mapping_network_ema", "style_encoder_ema")
PER_DOMAIN = ("mapping_network", "style_encoder", "discriminator", "mapping_network_ema", "style_encoder_ema")
CLASSIFIER = "classifier"  # with lambda_cls > 0 only: checkpoints without it load when lambda_cls = 0
CLS_VIEWS = ("full", "band")
MASK_GRADIENTS = ("all", "adversarial")


def grown_domains(domains: Sequence[str], new_domains: Sequence[str] | None) -> list[str]:
    """``domains`` followed by ``new_domains``; a new name that is empty, repeated or already there is a ConfigError."""
    domains, new = list(domains), list(new_domains or ())
    if any(d is None or d == "" for d in new):
        raise ConfigError("say which domain to add: new_domain=NAME")
    clash = [d for d in new if d in domains]
    if clash or len(set(new)) != len(new):
        raise ConfigError(f"domain(s) {', '.join(clash or new)} already exist or repeat; the model has {', '.join(domains)}; pick a new name")
    return domains + new


def diversity_weight(initial: float, step: int, ds_iter: int) -> float:
    """The diversity-sensitive loss weight at ``step``: ``initial`` decayed linearly to 0 over ``ds_iter`` steps."""
    if ds_iter <= 0:
        return initial
    return initial * max(0.0, 1.0 - step / ds_iter)


@MODELS.register("stargan_v2")
class StarGANv2(GANModel):
    trainable = ONLINE

    def __init__(
        self,
        domains: Sequence[str] | None = ("domain_0", "domain_1"),
        new_domains: Sequence[str] | None = None,
        img_size: int = 256,
        style_dim: int = 64,
        latent_dim: int = 16,
        hidden_dim: int = 512,
        max_conv_dim: int = 512,
        base_dim: int | None = None,
        w_hpf: float = 0.0,
        attention: bool = False,
        attention_warmup: int = 0,
        checkpoint_activations: bool = False,
        lambda_reg: float = 1.0,
        lambda_sty: float = 1.0,
        lambda_ds: float = 1.0,
        lambda_cyc: float = 1.0,
        ds_iter: int = 100_000,
        lr: float = 1e-4,
        f_lr: float = 1e-6,
        beta1: float = 0.0,
        beta2: float = 0.99,
        weight_decay: float = 1e-4,
        ema_beta: float = 0.999,
        adv_loss: str = "nonsaturating",
        new_domain_init: str = "mean",
        lambda_cls: float = 0.0,
        cls_lr: float | None = None,
        cls_view: str = "full",
        mask_gradient: str = "all",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if domains is None:
            raise ConfigError("model.domains is empty: list the domains, or give init_from=CHECKPOINT to take a trained model's")
        domains = grown_domains(domains, new_domains)
        if len(domains) < 2 or len(set(domains)) != len(domains):
            raise ConfigError(f"model.domains must name at least two distinct domains, got {domains}")
        if w_hpf > 0:
            raise ConfigError("model.w_hpf > 0 needs facial-landmark masks (the reference's FAN), which gancraft does not ship; use w_hpf=0")
        if new_domain_init not in ("mean", "first"):
            raise ConfigError(f"model.new_domain_init {new_domain_init!r} is not one of mean, first")
        if attention_warmup < 0:
            raise ConfigError(f"model.attention_warmup={attention_warmup} must be >= 0 (steps; 0: no warm-up)")
        if attention_warmup and not attention:
            raise ConfigError("model.attention_warmup needs the attention generator (model.attention=true)")
        self.attention_warmup = int(attention_warmup)
        if lambda_cls < 0:
            raise ConfigError(f"model.lambda_cls={lambda_cls} must be >= 0 (0: no domain classifier)")
        if cls_view not in CLS_VIEWS:
            raise ConfigError(f"model.cls_view {cls_view!r} is not one of {', '.join(CLS_VIEWS)}")
        if not lambda_cls and (cls_view != "full" or cls_lr is not None):
            raise ConfigError("model.cls_view and model.cls_lr set the domain classifier: give it a weight, model.lambda_cls > 0")
        if cls_lr is not None and cls_lr <= 0:
            raise ConfigError(f"model.cls_lr={cls_lr} must be > 0 (null: the discriminator's lr)")
        if mask_gradient not in MASK_GRADIENTS:
            raise ConfigError(f"model.mask_gradient {mask_gradient!r} is not one of {', '.join(MASK_GRADIENTS)}")
        if mask_gradient == "adversarial" and not attention:
            raise ConfigError("model.mask_gradient=adversarial needs the attention generator (model.attention=true)")
        self.lambda_cls, self.cls_view, self.mask_gradient = float(lambda_cls), cls_view, mask_gradient
        self.cls_lr = lr if cls_lr is None else float(cls_lr)
        self.domains = domains
        self.img_size, self.latent_dim, self.style_dim = img_size, latent_dim, style_dim
        self.arch = {"img_size": img_size, "style_dim": style_dim, "latent_dim": latent_dim, "hidden_dim": hidden_dim, "max_conv_dim": max_conv_dim, "base_dim": base_dim, "attention": attention}
        self.lambda_reg, self.lambda_sty, self.lambda_cyc = lambda_reg, lambda_sty, lambda_cyc
        self.lambda_ds, self.ds_iter = lambda_ds, ds_iter
        self.lr, self.f_lr, self.betas, self.weight_decay = lr, f_lr, (beta1, beta2), weight_decay
        self.ema_beta, self.new_domain_init, self.seed = ema_beta, new_domain_init, seed
        n = len(domains)
        # checkpoint_activations trades compute for memory and leaves the weights as they are,
        # so it is not part of self.arch (a checkpoint loads with either setting)
        convs = {"img_size": img_size, "max_conv_dim": max_conv_dim, "base_dim": base_dim, "checkpoint_activations": checkpoint_activations}
        self.generator = NETWORKS.build("stargan_v2_generator", style_dim=style_dim, w_hpf=w_hpf, attention=attention, **convs)
        self.mapping_network = NETWORKS.build("stargan_v2_mapping", latent_dim=latent_dim, style_dim=style_dim, num_domains=n, hidden_dim=hidden_dim)
        self.style_encoder = NETWORKS.build("stargan_v2_style_encoder", style_dim=style_dim, num_domains=n, **convs)
        self.discriminator = NETWORKS.build("stargan_v2_discriminator", num_domains=n, **convs)
        for name in ONLINE:
            getattr(self, name).apply(he_init)
        self.trainable = ONLINE
        if self.lambda_cls:  # built after the reference's networks are initialised: their init is the same either way
            width = base_dim or 2**14 // img_size
            self.classifier = NETWORKS.build("stargan_v2_domain_classifier", num_domains=n, in_size=self._cls_size(),
                                             base_dim=width, max_conv_dim=max_conv_dim).apply(he_init)
            self.trainable = ONLINE + (CLASSIFIER,)
        if not self.attention_warmup:
            # Without a warm-up the mask starts closed (outputs = inputs). With one it keeps He
            # init's (about half open): the warm-up starts from the plain output, and a closed
            # mask fading in would pull every pixel back to the input where the sigmoid's
            # slope is a fifth of its slope at 0.5 (the trap the warm-up avoids). Reasoned, not
            # measured against a closed start: see docs/stargan_v2.md for what the warm-up reached.
            self.generator.close_mask()
        # The reference copies before He init, so its EMA starts from PyTorch's default
        # init; starting from the online weights makes early EMA samples meaningful.
        for name in EMA:
            setattr(self, name, ema_copy(getattr(self, name.removesuffix("_ema"))))
        self._adv = LOSSES.build(adv_loss)  # plain attributes in a dict: not networks, not saved
        self._l1 = {"style": LOSSES.build("style"), "diversity": LOSSES.build("diversity"), "cycle": LOSSES.build("cycle")}
        self._mean_styles: torch.Tensor | None = None

    # --- bookkeeping --------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        return {name: getattr(self, name) for name in self.trainable + EMA}

    def _per_domain(self) -> tuple[str, ...]:
        return PER_DOMAIN + ((CLASSIFIER,) if self.lambda_cls else ())

    @property
    def num_domains(self) -> int:
        return len(self.domains)

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def domain_index(self, domain: str | int) -> int:
        """A domain's index from its name or index."""
        if isinstance(domain, str) and not domain.lstrip("-").isdigit():
            if domain not in self.domains:
                raise ConfigError(f"unknown domain {domain!r}; this model knows {', '.join(self.domains)}")
            return self.domains.index(domain)
        index = int(domain)
        if not 0 <= index < self.num_domains:
            raise ConfigError(f"domain index {index} is out of range for {self.num_domains} domains ({', '.join(self.domains)})")
        return index

    def _labels(self, domain: Any, n: int) -> torch.Tensor:
        """``domain`` (a name, an index, or one per image) -> ``(n,)`` long labels on the model's device."""
        if domain is None:
            raise ConfigError(f"say which domain to translate to: domain=NAME, one of {', '.join(self.domains)}")
        if isinstance(domain, torch.Tensor):
            labels = domain.to(self.device).long().reshape(-1)
        elif isinstance(domain, (list, tuple)):
            labels = torch.tensor([self.domain_index(d) for d in domain], device=self.device)
        else:
            labels = torch.full((n,), self.domain_index(domain), device=self.device, dtype=torch.long)
        if labels.numel() == 1 and n > 1:
            labels = labels.expand(n)
        if labels.numel() != n:
            raise ConfigError(f"got {labels.numel()} domain labels for {n} images")
        return labels

    # --- optimisation -------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        lrs = {"mapping_network": self.f_lr, CLASSIFIER: self.cls_lr}
        return {
            name: adam(getattr(self, name).parameters(), lr=lrs.get(name, self.lr), betas=self.betas, weight_decay=self.weight_decay)
            for name in self.trainable
        }

    def _zero_grad(self) -> None:
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)

    def _d_step(self, x_real, y_org, y_trg, z=None, x_ref=None) -> dict[str, torch.Tensor]:
        precision = self.precision
        x_real = x_real.detach().requires_grad_(True)
        with precision.autocast():
            out = self.discriminator(x_real, y_org)
            loss_real = self._adv(out, real=True)
        loss_reg = r1_penalty(out, x_real, precision)
        with torch.no_grad(), precision.autocast():
            s_trg = self.mapping_network(z, y_trg) if z is not None else self.style_encoder(x_ref, y_trg)
            x_fake = self.generator(x_real.detach(), s_trg)
        with precision.autocast():
            loss_fake = self._adv(self.discriminator(x_fake, y_trg), real=False)
        loss = loss_real + loss_fake + self.lambda_reg * loss_reg
        self._zero_grad()
        precision.backward(loss)
        precision.step(self.optimizers["discriminator"])
        return {"real": loss_real, "fake": loss_fake, "reg": loss_reg}

    # --- the domain classifier (model.lambda_cls) -------------------------------------------
    def _cls_size(self) -> tuple[int, int]:
        """The classifier's input size: the image's, or (``cls_view: band``) twice the eye band's."""
        if self.cls_view == "band":
            h, w = eye_band_shape(self.img_size, self.img_size)
            return 2 * h, 2 * w
        return self.img_size, self.img_size

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` domain logits of the auxiliary classifier (``lambda_cls > 0``) on images in [-1, 1]:
        the whole image (``cls_view: full``) or its eye band upsampled 2x (``band``: the crop the
        glasses-world's band defines, :func:`~gancraft.world.oracle.eye_band`; the faces are eye-aligned)."""
        if not self.lambda_cls:
            raise ConfigError("this model has no domain classifier (it was built with model.lambda_cls=0)")
        view = eye_band(images, self._cls_size()) if self.cls_view == "band" else images
        return self.classifier(view)

    def _c_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Train the auxiliary domain classifier C on real images with cross-entropy on their domain.

        Why (issue #12): the multi-task discriminator learns slowly what tells the styles apart (on
        the CPU recipe it picks the right domain for 48 % of real faces after 3,000 steps), so the
        adversarial loss barely pays the generator to change a face's style: every output kept its
        source style (1 % style accuracy). A plain classifier learns the styles without an
        adversarial game (the oracle: 99.5 % in about 1,400 steps at batch 64); the generator's
        ``lambda_cls * CE(C(fake), target)`` (StarGAN v1's / AC-GAN's classification loss) then asks
        directly for the target style. Measured on the CPU recipe (``lambda_cls=1``, ``cls_view:
        band``, 800 steps): 10 % latent-guided style accuracy instead of 1 %, but C learns the real
        styles slowly at batch 8 (45 % by step 650) and the generator learns to fool it (C calls
        75-90 % of fakes their target), see docs/stargan_v2.md.

        C is a separate small network with its own Adam rather than a head on the discriminator:
        the discriminator (its trunk, R1 and adversarial objective) stays the reference's, and C
        may look at another view of the image (``cls_view: band``, the eye band at twice its
        resolution) and learn at its own rate (``cls_lr``). It costs 0.11 M parameters at the CPU
        recipe's widths (the discriminator: 0.25 M).
        """
        precision = self.precision
        with precision.autocast():
            logits = self.classify(x.detach())
            loss = F.cross_entropy(logits.float(), y)
        self._zero_grad()
        precision.backward(loss)
        precision.step(self.optimizers[CLASSIFIER])
        return {"loss": loss, "acc": (logits.detach().argmax(1) == y).float().mean()}

    # --- generator outputs (model.mask_gradient) ------------------------------------------------
    def _fakes(self, x_real: torch.Tensor, s_trg: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The fake twice: as the discriminator and classifier judge it, and as it enters the style
        reconstruction, diversity and cycle losses (the same values).

        With ``mask_gradient: adversarial`` (attention generator) the second blends with a detached
        mask, so only the adversarial and classification losses move the mask; during an attention
        warm-up no loss moves it. Why: passing the input through (mask closed) satisfies the cycle
        and style-reconstruction losses, so their gradient closes the mask wherever the generator is
        not yet right (measured on the CPU recipe: mask 0.20-0.23 in the band at the end of the
        warm-up, 0.07-0.17 by step 800). As CycleGAN's option of the same name.
        """
        if self.mask_gradient == "all":
            x_fake = self.generator(x_real, s_trg)
            return x_fake, x_fake
        raw, weight = self.generator.raw(x_real, s_trg), unwrap(self.generator).attention_weight
        judged = attention_blend(raw, x_real, weight, detach_mask=step < self.attention_warmup)
        return judged, attention_blend(raw, x_real, weight, detach_mask=True)

    def _reconstruct(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """The generator on ``x`` for the cycle loss (with ``mask_gradient: adversarial``, a detached mask)."""
        if self.mask_gradient == "all":
            return self.generator(x, s)
        return attention_blend(self.generator.raw(x, s), x, unwrap(self.generator).attention_weight, detach_mask=True)

    def _g_step(self, x_real, y_org, y_trg, lambda_ds, step=0, zs=None, x_refs=None) -> dict[str, torch.Tensor]:
        precision = self.precision
        with precision.autocast():
            s_trg = self.mapping_network(zs[0], y_trg) if zs is not None else self.style_encoder(x_refs[0], y_trg)
            x_fake, x_fake_rec = self._fakes(x_real, s_trg, step)
            loss_adv = self._adv(self.discriminator(x_fake, y_trg), real=True, for_discriminator=False)
            loss_sty = self._l1["style"](self.style_encoder(x_fake_rec, y_trg), s_trg)
            # s_trg2 feeds only the no-grad second fake, so it is computed without a graph: the
            # reference records one, which at 256 px batch 8 in fp32 keeps 1.3 GiB of the style encoder's
            # activations alive for nothing (same gradients, same weights)
            with torch.no_grad():
                s_trg2 = self.mapping_network(zs[1], y_trg) if zs is not None else self.style_encoder(x_refs[1], y_trg)
                x_fake2 = self.generator(x_real, s_trg2)
            loss_ds = self._l1["diversity"](x_fake_rec, x_fake2)
            s_org = self.style_encoder(x_real, y_org)
            loss_cyc = self._l1["cycle"](self._reconstruct(x_fake_rec, s_org), x_real)
            if self.lambda_cls:
                logits = self.classify(x_fake)
                loss_cls = F.cross_entropy(logits.float(), y_trg)
        loss = loss_adv + self.lambda_sty * loss_sty - lambda_ds * loss_ds + self.lambda_cyc * loss_cyc
        logs = {"adv": loss_adv, "sty": loss_sty, "ds": loss_ds, "cyc": loss_cyc}
        if self.lambda_cls:
            loss = loss + self.lambda_cls * loss_cls
            logs.update(cls=loss_cls, cls_acc=(logits.detach().argmax(1) == y_trg).float().mean())
        self._zero_grad()
        precision.backward(loss)
        if zs is not None:
            for name in ("generator", "mapping_network", "style_encoder"):
                precision.step(self.optimizers[name])
        else:
            precision.step(self.optimizers["generator"])
        return logs

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """One reference step. Batch: ``image``/``label`` (source), ``ref``/``ref2``/``ref_label``
        (two references of the target domain); ``z``/``z2`` are drawn here unless given."""
        x_real, y_org = batch["image"], batch["label"].long()
        x_ref, x_ref2, y_trg = batch["ref"], batch["ref2"], batch["ref_label"].long()
        n = x_real.shape[0]
        z = batch["z"] if "z" in batch else torch.randn(n, self.latent_dim, device=x_real.device)
        z2 = batch["z2"] if "z2" in batch else torch.randn(n, self.latent_dim, device=x_real.device)
        lambda_ds = diversity_weight(self.lambda_ds, step, self.ds_iter)
        if self.attention_warmup:
            self._warm_attention(step)
        logs: dict[str, torch.Tensor] = {}
        if self.lambda_cls:  # the classifier learns on every real image of the batch: sources and references
            c_logs = self._c_step(torch.cat([x_real, x_ref, x_ref2]), torch.cat([y_org, y_trg, y_trg]))
            logs.update({"C/real_" + k: v.detach() for k, v in c_logs.items()})
        for prefix, values in (
            ("D/latent_", self._d_step(x_real, y_org, y_trg, z=z)),
            ("D/ref_", self._d_step(x_real, y_org, y_trg, x_ref=x_ref)),
            ("G/latent_", self._g_step(x_real, y_org, y_trg, lambda_ds, step, zs=(z, z2))),
            ("G/ref_", self._g_step(x_real, y_org, y_trg, lambda_ds, step, x_refs=(x_ref, x_ref2))),
        ):
            logs.update({prefix + k: v.detach() for k, v in values.items()})
        for name in EMA:
            ema_update(getattr(self, name), unwrap(getattr(self, name.removesuffix("_ema"))), self.ema_beta)
        self.precision.update()
        self._mean_styles = None
        logs["G/lambda_ds"] = torch.tensor(lambda_ds)
        return logs

    def _warm_attention(self, step: int) -> None:
        """Ramp the attention blend's share from 0 to 1 over the first ``attention_warmup`` steps,
        in the generator and its EMA copy alike.

        Why: a sigmoid mask that closes (passes the input through) satisfies the cycle and style
        reconstruction losses at once, and once closed its gradient vanishes, so the adversarial
        loss cannot reopen it (measured: 1.5 % style accuracy on the CPU recipe, docs/stargan_v2.md).
        Starting as the plain generator and fading the blend in lets the mask learn where to open
        (CycleGAN's CPU recipe: 0 % -> 92-96 %; StarGAN v2's at 800 steps: no gain, the mask closes
        again after the warm-up while the discriminator cannot yet tell the styles apart).
        The EMA copy averages weights trained under the current blend, so it uses the same share;
        after the warm-up both blend fully; the share is saved with the weights.
        """
        weight = warmup_factor(step, self.attention_warmup)
        for name in ("generator", "generator_ema"):
            set_attention_weight(getattr(self, name), weight)

    # --- styles and translation ------------------------------------------------------------
    @torch.no_grad()
    def mean_styles(self, samples: int = 4096) -> torch.Tensor:
        """``(D, style_dim)``: each domain's mean style over ``samples`` latent codes (fixed seed), for truncation."""
        if self._mean_styles is None or self._mean_styles.shape[0] != self.num_domains:
            g = torch.Generator().manual_seed(self.seed)
            z = torch.randn(samples, self.latent_dim, generator=g).to(self.device)
            self._mean_styles = self.mapping_network_ema.all_domains(z).mean(0)
        return self._mean_styles

    @torch.no_grad()
    def latent_styles(self, domain: Any, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """Style codes from latent codes ``z`` (``(n, latent_dim)``) for ``domain``; ``psi < 1`` truncates
        toward the domain's mean style (``s = mean + psi * (s - mean)``)."""
        z = z.to(self.device)
        y = self._labels(domain, z.shape[0])
        s = self.mapping_network_ema(z, y)
        if psi != 1.0:
            mean = self.mean_styles()[y]
            s = mean + psi * (s - mean)
        return s

    @torch.no_grad()
    def reference_styles(self, domain: Any, reference: torch.Tensor) -> torch.Tensor:
        """Style codes of reference images (``(n, 3, H, W)`` in [-1, 1]) read as ``domain``."""
        reference = reference.to(self.device)
        if reference.dim() == 3:
            reference = reference.unsqueeze(0)
        if reference.shape[-1] != self.img_size or reference.shape[-2] != self.img_size:
            reference = nn.functional.interpolate(reference, size=(self.img_size, self.img_size), mode="bilinear", antialias=True)
        return self.style_encoder_ema(reference, self._labels(domain, reference.shape[0]))

    @staticmethod
    def interpolate_styles(start: torch.Tensor, end: torch.Tensor, steps: int) -> torch.Tensor:
        """``steps`` style codes on the straight line from ``start`` to ``end`` (both ends included):
        ``(steps, style_dim)`` for single codes, ``(steps, n, style_dim)`` for batches."""
        t = torch.linspace(0.0, 1.0, steps, device=start.device, dtype=start.dtype)
        t = t.view(-1, *([1] * start.dim()))
        return torch.lerp(start.unsqueeze(0), end.unsqueeze(0), t)

    @torch.no_grad()
    def generate(self, images: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        """The EMA generator on ``images`` with one style code per image."""
        return self.generator_ema(images.to(self.device), styles.to(self.device))

    @torch.no_grad()
    def translate(
        self,
        images: torch.Tensor,
        domain: Any = None,
        z: torch.Tensor | None = None,
        reference: torch.Tensor | None = None,
        psi: float = 1.0,
        num: int = 1,
        seed: int | None = None,
        style: torch.Tensor | None = None,
        **_: Any,
    ) -> torch.Tensor:
        """Translate ``images`` (``(N, 3, H, W)`` in [-1, 1]) with the EMA networks.

        - latent-guided: ``domain`` plus ``z`` (``(num, latent_dim)``, shared by every image,
          or ``(N * num, latent_dim)``), or ``num`` codes drawn from ``seed``;
        - reference-guided: ``domain`` plus ``reference`` (one image for all, or one per image);
        - explicit: ``style`` (``(style_dim,)`` or ``(N, style_dim)``).

        Returns ``(N, 3, H, W)``, or ``(N, num, 3, H, W)`` when each image gets ``num > 1``
        styles (``out[i, k]``: image ``i`` with style ``k``).
        """
        images = images.to(self.device)
        n = images.shape[0]
        if style is not None:
            styles = style.to(self.device).reshape(-1, self.style_dim).expand(n, -1)
            return self.generate(images, styles)
        if reference is not None:
            if domain is None:
                raise ConfigError(f"a reference needs domain=NAME, the domain its image shows: one of {', '.join(self.domains)}")
            s = self.reference_styles(domain, reference)
            styles = s.expand(n, -1) if s.shape[0] == 1 else s
            if styles.shape[0] != n:
                raise ConfigError(f"got {s.shape[0]} reference images for {n} inputs; give one, or one per input")
            return self.generate(images, styles)
        if z is None:
            g = torch.Generator().manual_seed(self.seed if seed is None else int(seed))
            z = torch.randn(num, self.latent_dim, generator=g)
        z = z.to(self.device).reshape(-1, self.latent_dim)
        if z.shape[0] == n * num:
            codes = z  # num codes of its own for every image
        else:
            num = z.shape[0]
            codes = z.repeat(n, 1)  # the same num codes for every image
        styles = self.latent_styles(domain, codes, psi)
        out = self.generate(images.repeat_interleave(num, 0), styles)
        return out.unflatten(0, (n, num)) if num > 1 else out

    def tasks(self) -> list[TranslationTask]:
        """Into each domain from any other: latent-guided for every domain, then reference-guided."""
        return [TranslationTask(f"{guidance}/{d}", target=d, guidance=guidance, fixed={"domain": d},
                                latent_dim=self.latent_dim if guidance == "latent" else 0)
                for guidance in ("latent", "reference") for d in self.domains]

    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Rows: sources, references, reference-guided outputs, then one latent-guided row per domain."""
        x, n = batch["image"], batch["image"].shape[0]
        rows = [x]
        if "ref" in batch:
            rows += [batch["ref"], self.translate(x, domain=batch["ref_label"], reference=batch["ref"])]
        z = torch.randn(1, self.latent_dim, generator=torch.Generator().manual_seed(self.seed))
        for d in range(self.num_domains):
            rows.append(self.translate(x, domain=d, z=z.expand(n, -1)))
        return rows

    # --- new domains ---------------------------------------------------------------------------
    def _remap(self, source: Sequence[int | None]) -> None:
        for name in self._per_domain():
            unwrap(getattr(self, name)).remap_domains(source)
        self._mean_styles = None

    def add_domains(self, names: Sequence[str]) -> None:
        """Grow the mapping-network heads, style-encoder heads and discriminator outputs (and the
        domain classifier's, with ``lambda_cls``) by
        ``names``; each new head starts as the mean of the old ones (``new_domain_init: mean``)
        or a copy of the first. Old domains' outputs are unchanged. Build optimizers afterwards."""
        names = grown_domains(self.domains, names)[self.num_domains:]
        fill = None if self.new_domain_init == "mean" else 0
        self._remap(list(range(self.num_domains)) + [fill] * len(names))
        self.domains = self.domains + names

    @classmethod
    def resolve_config(cls, cfg: DictConfig, init_config: DictConfig | None = None) -> None:
        """The whole domain list, in label order, written into ``model.domains`` and ``data.domains``
        (``model.new_domains`` becomes null): ``model.domains``, or when it is null the ``init_from``
        checkpoint's domains, followed by ``model.new_domains`` (adding domains to a trained model)."""
        model = cfg.model
        new = list(model.get("new_domains", None) or [])
        if model.get("domains") is not None:
            base = list(model.domains)
        elif init_config is not None:
            base = list(init_config.get("model", {}).get("domains", None) or [])
            if not base:
                raise CheckpointError(f"checkpoint {cfg.init_from!r} has no model.domains; is it a StarGAN v2 checkpoint?")
        elif new:
            raise ConfigError(f"adding domain(s) {', '.join(map(str, new))} needs the trained model to add them to: init_from=CHECKPOINT")
        else:
            raise ConfigError("model.domains is empty: list the domains, or give init_from=CHECKPOINT to take a trained model's")
        model.domains = grown_domains(base, new)
        if "new_domains" in model:
            model.new_domains = None
        domains = list(model.domains)
        if "data" in cfg and cfg.data.get("domains", None) is None and "domains" in cfg.data:
            cfg.data.domains = list(domains)  # the data set's labels follow the model's order

    def init_from(self, checkpoint: str | Path, config: DictConfig | None = None) -> list[str]:
        """Start from a trained StarGAN v2 checkpoint (``config``: its config, as the run already read
        it; read here when not given) whose
        domains may be fewer (or ordered differently) than this model's: shared weights are loaded,
        each domain this model shares with the checkpoint gets its trained heads (matched by name),
        and every new domain is grown as in :meth:`add_domains`. Call before ``setup`` (the run's
        ``init_from``). Returns the new domains."""
        path = find_checkpoint(checkpoint)
        old_cfg = (load_config(path) if config is None else config).get("model", {})
        old = list(old_cfg.get("domains", []) or [])
        differ = [f"model.{k}={old_cfg[k]}" for k, v in self.arch.items() if k in old_cfg and old_cfg[k] != v]
        if self.lambda_cls and old_cfg.get("lambda_cls", 0) and old_cfg.get("cls_view", "full") != self.cls_view:
            differ.append(f"model.cls_view={old_cfg.get('cls_view', 'full')}")
        if differ:
            raise ConfigError(f"checkpoint {str(path)!r} has another architecture; set {' '.join(differ)} (and data.size) to match it")
        if not old:
            raise CheckpointError(f"checkpoint {str(path)!r} has no model.domains; is it a StarGAN v2 checkpoint?")
        target = list(self.domains)
        missing = [d for d in old if d not in target]
        if missing:
            raise ConfigError(f"model.domains lacks the checkpoint's domain(s) {', '.join(missing)}; list every old domain plus the new ones")
        self._remap([0] * len(old))  # shape the heads like the checkpoint's, then load it
        weights, networks = load_weights(path), self.networks()
        if self.lambda_cls and not any(k.startswith(CLASSIFIER + ".") for k in weights):
            networks.pop(CLASSIFIER)  # a checkpoint trained without the classifier: it starts untrained
            log.info("checkpoint %s has no domain classifier; model.lambda_cls trains one from scratch", path)
        load_network_state(networks, weights)
        fill = None if self.new_domain_init == "mean" else 0
        self._remap([old.index(d) if d in old else fill for d in target])
        new = [d for d in target if d not in old]
        log.info("initialised from %s: kept domains %s, new domains %s", path, ", ".join(old), ", ".join(new) or "none")
        return new
