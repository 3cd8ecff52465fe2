"""GAN systems, registered by name in :data:`gancraft.core.registry.MODELS`."""

from gancraft.models import cyclegan, stargan_v2  # noqa: F401  (registration)
from gancraft.models.base import GANModel
from gancraft.models.cyclegan import CycleGAN

__all__ = ["CycleGAN", "GANModel"]
