"""resolve_device: the one place ``auto`` becomes a device."""

from __future__ import annotations

import pytest
import torch

from gancraft.core.device import resolve_device
from gancraft.core.errors import ConfigError


def test_auto_is_cuda_when_present_else_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") and resolve_device(None) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda") and resolve_device("auto", index=1) == torch.device("cuda:1")


def test_names_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu") == torch.device("cpu") and resolve_device(torch.device("meta")) == torch.device("meta")
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda:0")
    with pytest.raises(ConfigError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
