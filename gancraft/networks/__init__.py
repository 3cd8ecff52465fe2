"""Networks, registered by name in :data:`gancraft.core.registry.NETWORKS`."""

from gancraft.networks import patchgan, resnet_generator, stargan_v2  # noqa: F401  (registration)
from gancraft.networks.layers import count_parameters, init_weights
from gancraft.networks.patchgan import PatchDiscriminator
from gancraft.networks.resnet_generator import ResnetGenerator

__all__ = ["PatchDiscriminator", "ResnetGenerator", "count_parameters", "init_weights"]
