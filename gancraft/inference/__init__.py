"""Inference: the Translator, and interop with reference checkpoints."""

from gancraft.inference.interop import load_reference_cyclegan
from gancraft.inference.translator import Translator

__all__ = ["Translator", "load_reference_cyclegan"]
