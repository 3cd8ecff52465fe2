"""The one place a device name such as ``"auto"`` becomes a ``torch.device``."""

from __future__ import annotations

import torch

from gancraft.core.errors import ConfigError


def resolve_device(name: str | torch.device | None = "auto", index: int | None = None) -> torch.device:
    """``auto`` (or None): CUDA when there is one (``cuda:index`` when given), else the CPU; any other
    name as ``torch.device``. Asking for CUDA on a machine without it is a ConfigError."""
    if isinstance(name, torch.device):
        return name
    text = "auto" if name is None else str(name)
    if text == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda" if index is None else f"cuda:{index}")
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {text!r} was asked for but no CUDA device is available; use device=cpu")
    try:
        return torch.device(text)
    except RuntimeError:
        raise ConfigError(f"unknown device {text!r}; use auto, cpu, cuda or cuda:N") from None
