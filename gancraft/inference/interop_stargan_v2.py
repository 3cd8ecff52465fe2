"""Load clovaai/stargan-v2 checkpoints into gancraft's StarGAN v2.

The reference saves ``{step:06d}_nets_ema.ckpt`` (a dict of ``generator``,
``mapping_network`` and ``style_encoder`` state dicts) and ``{step:06d}_nets.ckpt``
(the same plus ``discriminator``) with ``torch.save``. They hold only tensors and
dicts, so they are read with ``torch.load(weights_only=True)``: nothing is unpickled.

Key layout differences (the weights are the same numbers):

- generator: ``from_rgb`` -> ``stem``, ``encode``/``decode`` -> ``encoder``/``decoder``,
  ``conv1x1`` -> ``skip``, AdaIN ``fc`` -> ``affine``; the high-pass ``hpf.filter`` buffer
  is dropped (gancraft computes it from ``w_hpf``);
- mapping network: ``shared`` -> ``trunk``; the per-domain ``unshared.<d>.<layer>`` heads are
  stacked along a leading domain axis into ``heads.<k>``;
- style encoder: ``shared`` -> ``trunk``, ``unshared.<d>`` stacked into ``head``;
- discriminator: ``main.<i>`` -> ``trunk.<i>``, its last conv -> ``head``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from gancraft.core.errors import CheckpointError
from gancraft.models.stargan_v2 import StarGANv2

_BLOCK_RENAMES = ((".conv1x1.", ".skip."), (".fc.", ".affine."))


def _rename_block(key: str) -> str:
    for old, new in _BLOCK_RENAMES:
        key = key.replace(old, new)
    return key


def convert_generator(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        if key.startswith("hpf."):
            continue
        key = re.sub(r"^from_rgb\.", "stem.", key)
        key = re.sub(r"^encode\.", "encoder.", key)
        key = re.sub(r"^decode\.", "decoder.", key)
        out[_rename_block(key)] = value
    return out


def _stack_heads(state: dict[str, torch.Tensor], pattern: str) -> dict[str, list[tuple[int, torch.Tensor]]]:
    """``unshared.<d>.<rest>`` -> {rest: [(d, tensor), ...]}."""
    groups: dict[str, list[tuple[int, torch.Tensor]]] = {}
    for key, value in state.items():
        match = re.match(pattern, key)
        if match:
            groups.setdefault(match.group(2), []).append((int(match.group(1)), value))
    return groups


def _stacked(items: list[tuple[int, torch.Tensor]]) -> torch.Tensor:
    return torch.stack([v for _, v in sorted(items, key=lambda t: t[0])])


def convert_mapping(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {re.sub(r"^shared\.", "trunk.", k): v for k, v in state.items() if k.startswith("shared.")}
    groups = _stack_heads(state, r"^unshared\.(\d+)\.(\d+\.(?:weight|bias))$")
    layers = sorted({int(rest.split(".")[0]) for rest in groups})  # Sequential indices 0, 2, 4, 6
    for k, layer in enumerate(layers):
        for param in ("weight", "bias"):
            out[f"heads.{k}.{param}"] = _stacked(groups[f"{layer}.{param}"])
    return out


def convert_style_encoder(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {_rename_block(re.sub(r"^shared\.", "trunk.", k)): v for k, v in state.items() if k.startswith("shared.")}
    groups = _stack_heads(state, r"^unshared\.(\d+)\.((?:weight|bias))$")
    for param in ("weight", "bias"):
        out[f"head.{param}"] = _stacked(groups[param])
    return out


def convert_discriminator(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    last = max(int(k.split(".")[1]) for k in state if k.startswith("main."))
    out = {}
    for key, value in state.items():
        index = int(key.split(".")[1])
        rest = key.split(".", 2)[2]
        out[f"head.{rest}" if index == last else _rename_block(f"trunk.{index}.{rest}")] = value
    return out


CONVERTERS = {
    "generator": convert_generator,
    "mapping_network": convert_mapping,
    "style_encoder": convert_style_encoder,
    "discriminator": convert_discriminator,
}


def read_reference_checkpoint(path: str | Path) -> dict[str, dict[str, torch.Tensor]]:
    """A reference ``*.ckpt`` file as ``{network: state dict}``, read without unpickling objects."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"StarGAN v2 checkpoint {str(path)!r} does not exist (expected e.g. 100000_nets_ema.ckpt)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt file, or objects that are not plain tensors/dicts
        raise CheckpointError(f"cannot read StarGAN v2 checkpoint {str(path)!r}: {str(err).splitlines()[0]}") from None
    if not isinstance(state, dict) or not any(k in state for k in CONVERTERS):
        raise CheckpointError(f"{str(path)!r} is not a StarGAN v2 checkpoint (no generator / mapping_network / style_encoder)")
    # Checkpoints written from nn.DataParallel without unwrapping carry a "module." prefix.
    return {net: {k.removeprefix("module."): v for k, v in sd.items()} for net, sd in state.items() if net in CONVERTERS}


def infer_architecture(nets: dict[str, dict[str, torch.Tensor]]) -> dict[str, Any]:
    """Model settings read off the reference state dicts (every one can be overridden)."""
    arch: dict[str, Any] = {}
    mapping = nets.get("mapping_network")
    if mapping is not None:
        arch["latent_dim"] = mapping["shared.0.weight"].shape[1]
        arch["hidden_dim"] = mapping["shared.0.weight"].shape[0]
        heads = {int(k.split(".")[1]) for k in mapping if k.startswith("unshared.")}
        arch["num_domains"] = len(heads)
        last = max(int(k.split(".")[2]) for k in mapping if k.startswith("unshared.0."))
        arch["style_dim"] = mapping[f"unshared.0.{last}.weight"].shape[0]
    generator = nets.get("generator")
    if generator is not None:
        has_hpf = "hpf.filter" in generator
        downs = len({int(k.split(".")[1]) for k in generator if k.startswith("encode.")}) - 2
        arch["img_size"] = 2 ** (downs + 4 - (1 if has_hpf else 0))
        arch["base_dim"] = generator["from_rgb.weight"].shape[0]
        arch["max_conv_dim"] = max(v.shape[0] for k, v in generator.items() if k.startswith("encode.") and k.endswith("conv2.weight"))
    encoder = nets.get("style_encoder")
    if encoder is not None:  # it goes deeper than the generator: the widest layer is there
        widths = [v.shape[0] for k, v in encoder.items() if k.startswith("shared.") and k.endswith("conv2.weight")]
        arch["max_conv_dim"] = max(widths + [arch.get("max_conv_dim", 0)])
    return arch


def load_reference_stargan_v2(
    path: str | Path,
    domains: list[str] | None = None,
    nets_path: str | Path | None = None,
    **arch: Any,
) -> StarGANv2:
    """A :class:`StarGANv2` holding a reference checkpoint's weights, ready for ``translate``.

    ``path`` is the ``*_nets_ema.ckpt`` file: it fills the EMA networks (the ones that
    translate). The online networks and the discriminator come from ``nets_path``
    (default: the ``*_nets.ckpt`` beside it, when present); otherwise the online networks
    are copies of the EMA ones. ``domains`` names the domains (default ``domain_0``, ...);
    ``arch`` overrides what is read off the weights (``img_size``, ``style_dim``, ...).
    A reference ``w_hpf > 0`` generator is loaded, but translating like the reference
    then needs its facial-landmark masks (``model.generator_ema(x, s, masks)``).
    """
    path = Path(path).expanduser()
    ema = read_reference_checkpoint(path)
    if nets_path is None and path.name.endswith("_nets_ema.ckpt"):
        sibling = path.with_name(path.name.replace("_nets_ema.ckpt", "_nets.ckpt"))
        nets_path = sibling if sibling.is_file() else None
    online = read_reference_checkpoint(nets_path) if nets_path is not None else {}
    settings = {**infer_architecture(ema), **arch}
    num_domains = settings.pop("num_domains", 2)
    w_hpf = settings.pop("w_hpf", 0.0)
    domains = list(domains) if domains is not None else [f"domain_{i}" for i in range(num_domains)]
    if len(domains) != num_domains:
        raise CheckpointError(f"the checkpoint has {num_domains} domains but {len(domains)} names were given")
    model = StarGANv2(domains=domains, **settings)
    if w_hpf:
        _enable_hpf(model, w_hpf)
    for name, convert in CONVERTERS.items():
        source = online.get(name, ema.get(name))
        targets = [name] + ([f"{name}_ema"] if name != "discriminator" else [])
        for target in targets:
            state = ema.get(name) if target.endswith("_ema") else source
            if state is None:
                if target == "discriminator":
                    continue
                raise CheckpointError(f"{str(path)!r} holds no {name} weights")
            try:
                getattr(model, target).load_state_dict(convert(state), strict=True)
            except RuntimeError as err:
                first = str(err).splitlines()[0]
                raise CheckpointError(f"{name} weights do not fit the architecture ({first}); pass img_size=/style_dim=/... to match") from None
    return model


def _enable_hpf(model: StarGANv2, w_hpf: float) -> None:
    """Rebuild the generators for a reference ``w_hpf > 0`` checkpoint (an extra down/up level, no AdaIN shortcut)."""
    from gancraft.networks.stargan_v2 import Generator

    g = model.generator
    width = g.stem.out_channels
    max_dim = max(b.conv2.out_channels for b in g.encoder)
    for name in ("generator", "generator_ema"):
        setattr(model, name, Generator(model.img_size, model.style_dim, max_dim, w_hpf, width))
    model.generator_ema.requires_grad_(False)
