"""Load checkpoints saved by the reference implementations into gancraft's networks.

``load_reference_cyclegan`` reads ``latest_net_G_A.pth`` / ``latest_net_D_A.pth`` from
junyanz/pytorch-CycleGAN-and-pix2pix: plain state dicts of an ``nn.Sequential`` named
``model``. The architecture (ngf/ndf, blocks, layers, norm, dropout) is read from the
keys and shapes; keyword arguments override it. Files are loaded with
``weights_only=True``: nothing is unpickled but tensors and containers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gancraft.core.errors import CheckpointError
from gancraft.networks.patchgan import PatchDiscriminator
from gancraft.networks.resnet_generator import ResnetGenerator

_BLOCK = re.compile(r"^model\.(\d+)\.conv_block\.(\d+)\.(.+)$")
_LAYER = re.compile(r"^model\.(\d+)\.(.+)$")
_INSTANCE_STATS = ("running_mean", "running_var", "num_batches_tracked")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A ``.pth`` state dict, safely; a ``module.`` prefix (DataParallel) is removed."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"reference checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a pickle with code objects, or not a torch file at all
        raise CheckpointError(f"{str(path)!r} is not a weights-only state dict ({type(err).__name__})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{str(path)!r} does not hold a state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _norm_kind(state: dict[str, torch.Tensor], prefix: str) -> str:
    if f"{prefix}.running_mean" in state and f"{prefix}.weight" in state:
        return "batch"
    return "instance" if any(k.startswith("model.") for k in state) else "none"


def _generator_mapping(n_blocks: int, n_down: int = 2) -> dict[str, str]:
    """Reference ``model.<i>`` module prefixes -> gancraft module prefixes."""
    mapping = {"model.1": "stem.1", "model.2": "stem.2"}
    for i in range(n_down):
        mapping[f"model.{4 + 3 * i}"] = f"down.{i}.0"
        mapping[f"model.{5 + 3 * i}"] = f"down.{i}.1"
    first_block = 4 + 3 * n_down
    for b in range(n_blocks):
        mapping[f"model.{first_block + b}.conv_block"] = f"blocks.{b}.body"
    first_up = first_block + n_blocks
    for i in range(n_down):
        mapping[f"model.{first_up + 3 * i}"] = f"up.{i}.0"
        mapping[f"model.{first_up + 3 * i + 1}"] = f"up.{i}.1"
    mapping[f"model.{first_up + 3 * n_down + 1}"] = "head.1"
    return mapping


def _discriminator_mapping(n_layers: int) -> dict[str, str]:
    mapping = {"model.0": "stem.0", f"model.{3 * n_layers + 2}": "head"}
    for i in range(n_layers):
        mapping[f"model.{2 + 3 * i}"] = f"body.{i}.0"
        mapping[f"model.{3 + 3 * i}"] = f"body.{i}.1"
    return mapping


def _remap(state: dict[str, torch.Tensor], mapping: dict[str, str]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        if leaf in _INSTANCE_STATS and f"{module}.weight" not in state:
            continue  # stale instance-norm statistics saved by old PyTorch versions
        for ref_prefix in sorted(mapping, key=len, reverse=True):
            if key.startswith(ref_prefix + "."):
                out[mapping[ref_prefix] + key[len(ref_prefix):]] = value
                break
        else:
            raise CheckpointError(f"reference key {key!r} has no place in gancraft's network")
    return out


def _load_into(net: nn.Module, state: dict[str, torch.Tensor], what: str) -> nn.Module:
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"{what} does not fit the architecture: {str(err).splitlines()[0]} (pass ngf/n_blocks/norm explicitly)") from None
    return net.eval()


def load_reference_cyclegan(path: str | Path, **arch: Any) -> nn.Module:
    """A ``ResnetGenerator`` or ``PatchDiscriminator`` holding a reference checkpoint's weights.

    ``arch`` overrides what is read from the file (``ngf``, ``n_blocks``, ``norm``,
    ``dropout``, ``in_channels``, ``out_channels`` / ``ndf``, ``n_layers``, ``norm``).
    """
    state = read_state_dict(path)
    blocks = sorted({int(m.group(1)) for k in state if (m := _BLOCK.match(k))})
    if blocks:  # a ResNet generator
        conv_keys = {int(m.group(2)) for k, v in state.items() if (m := _BLOCK.match(k)) and m.group(3) == "weight" and v.dim() == 4}
        first = state["model.1.weight"]
        kwargs: dict[str, Any] = {
            "ngf": first.shape[0],
            "in_channels": first.shape[1],
            "n_blocks": len(blocks),
            "norm": _norm_kind(state, "model.2"),
            "dropout": 0.5 if 6 in conv_keys else 0.0,
        }
        head = max(int(m.group(1)) for k in state if (m := _LAYER.match(k)))
        kwargs["out_channels"] = state[f"model.{head}.weight"].shape[0]
        kwargs.update(arch)
        net = ResnetGenerator(**kwargs)
        return _load_into(net, _remap(state, _generator_mapping(kwargs["n_blocks"])), f"generator {str(path)!r}")
    layers = sorted({int(m.group(1)) for k in state if (m := _LAYER.match(k)) and k.endswith(".weight") and state[k].dim() == 4})
    if not layers:
        raise CheckpointError(f"{str(path)!r} is neither a reference ResNet generator nor a PatchGAN discriminator")
    first = state[f"model.{layers[0]}.weight"]
    kwargs = {"ndf": first.shape[0], "in_channels": first.shape[1], "n_layers": len(layers) - 2, "norm": _norm_kind(state, "model.3")}
    kwargs.update(arch)
    net = PatchDiscriminator(**kwargs)
    return _load_into(net, _remap(state, _discriminator_mapping(kwargs["n_layers"])), f"discriminator {str(path)!r}")


from gancraft.inference.interop_stargan_v2 import load_reference_stargan_v2  # noqa: E402,F401  (re-export)
