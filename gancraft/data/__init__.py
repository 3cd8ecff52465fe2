"""Data sets, registered by name in :data:`gancraft.core.registry.DATASETS`."""

from gancraft.data import celeba, domains, folders  # noqa: F401  (registration)
from gancraft.data.image_io import list_images, load_image
from gancraft.data.sampling import EpochSampler, unpack_key
from gancraft.data.transforms import ImageTransform, to_tensor, to_uint8

__all__ = ["EpochSampler", "ImageTransform", "list_images", "load_image", "to_tensor", "to_uint8", "unpack_key"]
