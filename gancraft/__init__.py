"""gancraft: a modular PyTorch library for unpaired image-to-image GANs."""

from gancraft.core.errors import GancraftError
from gancraft.core.registry import DATASETS, LOSSES, METRICS, MODELS, NETWORKS, Registry

__version__ = "0.1.0"

__all__ = ["DATASETS", "LOSSES", "METRICS", "MODELS", "NETWORKS", "GancraftError", "Registry", "__version__"]
