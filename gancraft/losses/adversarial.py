"""Adversarial losses on discriminator logits, computed in fp32.

Every loss has the same call: ``loss(logits, real=True|False, for_discriminator=...)``.
The generator's loss is ``loss(D(fake), real=True, for_discriminator=False)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gancraft.core.registry import LOSSES


class AdversarialLoss(nn.Module):
    def __init__(self) -> None:  # no settings: a key given in a recipe is a mistake, reported by the registry
        super().__init__()

    def forward(self, logits: torch.Tensor, real: bool, for_discriminator: bool = True) -> torch.Tensor:
        return self.compute(logits.float(), real, for_discriminator)

    def compute(self, logits: torch.Tensor, real: bool, for_discriminator: bool) -> torch.Tensor:
        raise NotImplementedError


@LOSSES.register("bce")
@LOSSES.register("nonsaturating")
class BCELoss(AdversarialLoss):
    """Binary cross-entropy on logits (the original GAN loss; for the generator the
    non-saturating form ``-log D(G(x))``, as in the paper, the reference's ``vanilla``
    and StarGAN v2)."""

    def compute(self, logits: torch.Tensor, real: bool, for_discriminator: bool) -> torch.Tensor:
        target = torch.ones_like(logits) if real else torch.zeros_like(logits)
        return F.binary_cross_entropy_with_logits(logits, target)


@LOSSES.register("lsgan")
class LSGANLoss(AdversarialLoss):
    """Least-squares GAN: mean squared error to 1 (real) or 0 (fake); the reference default."""

    def compute(self, logits: torch.Tensor, real: bool, for_discriminator: bool) -> torch.Tensor:
        return F.mse_loss(logits, torch.ones_like(logits) if real else torch.zeros_like(logits))


@LOSSES.register("hinge")
class HingeLoss(AdversarialLoss):
    """Hinge loss: D minimises relu(1 - D(real)) + relu(1 + D(fake)); G minimises -D(fake)."""

    def compute(self, logits: torch.Tensor, real: bool, for_discriminator: bool) -> torch.Tensor:
        if not for_discriminator:
            return -logits.mean()
        return F.relu(1.0 - logits).mean() if real else F.relu(1.0 + logits).mean()
