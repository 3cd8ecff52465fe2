"""Losses, registered by name in :data:`gancraft.core.registry.LOSSES`."""

from gancraft.losses import adversarial, r1, reconstruction  # noqa: F401  (registration)
from gancraft.losses.adversarial import AdversarialLoss
from gancraft.losses.r1 import r1_penalty

__all__ = ["AdversarialLoss", "r1_penalty"]
