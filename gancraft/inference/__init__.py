"""Inference: the Translator, try-on on photos, ONNX export, and interop with reference checkpoints."""

from gancraft.inference.interop import load_reference_cyclegan
from gancraft.inference.translator import Translator
from gancraft.inference.tryon import TryOn

__all__ = ["Translator", "TryOn", "load_reference_cyclegan"]
