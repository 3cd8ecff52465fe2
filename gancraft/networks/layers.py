"""Small building blocks shared by the networks: norm layers by name, weight init, the attention blend."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gancraft.core.errors import ConfigError

NORMS = ("instance", "batch", "none")


def norm_layer(kind: str) -> Callable[[int], nn.Module]:
    """A factory ``channels -> norm module``.

    ``instance`` has no affine parameters and no running statistics, ``batch`` has
    both: the reference CycleGAN's choices.
    """
    if kind == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)
    if kind == "batch":
        return lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True)
    if kind == "none":
        return lambda c: nn.Identity()
    raise ConfigError(f"norm {kind!r} is not one of {', '.join(NORMS)}")


def conv_bias(norm: str) -> bool:
    """Convs before a norm carry a bias only with instance norm, as in the reference.

    (Batch norm's shift makes a bias redundant; the reference keeps it for instance
    norm because that norm has no affine shift of its own.)
    """
    return norm == "instance"


INITS = ("normal", "kaiming", "xavier", "orthogonal")


def init_weights(net: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise conv/linear weights (biases to zero) and batch-norm scales N(1, gain)."""
    if kind not in INITS:
        raise ConfigError(f"init {kind!r} is not one of {', '.join(INITS)}")

    def apply(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if kind == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif kind == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            elif kind == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            else:
                nn.init.orthogonal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)

    net.apply(apply)
    return net


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def attention_blend(output: torch.Tensor, x: torch.Tensor, weight: torch.Tensor | float = 1.0, detach_mask: bool = False) -> torch.Tensor:
    """``(B, C+1, H, W)`` raw output -> ``a * tanh(rgb) + (1 - a) * x`` with the sigmoid mask ``a``
    in the last channel: the generator repaints where it must and passes every other pixel of
    ``x`` through (after AttentionGAN/GANimation; not in the reference networks).

    ``weight`` < 1 mixes in the plain output ``tanh(rgb)``: ``weight * blend + (1 - weight) * tanh(rgb)``,
    the attention warm-up (see :class:`~gancraft.models.cyclegan.CycleGAN`'s ``attention_warmup``).
    ``detach_mask``: the same values, but no gradient reaches the mask through this output
    (CycleGAN's ``mask_gradient: adversarial``)."""
    rgb, mask = torch.tanh(output[:, :-1]), torch.sigmoid(output[:, -1:])
    if detach_mask:
        mask = mask.detach()
    blend = mask * rgb + (1 - mask) * x
    if isinstance(weight, float) and weight == 1.0:
        return blend
    return weight * blend + (1 - weight) * rgb


def register_attention_weight(module: torch.nn.Module) -> None:
    """Give an attention generator its ``attention_weight`` buffer (the blend's share, 1 by default).

    Saved with the weights, so that a checkpoint taken during a warm-up translates as the model
    did when it was taken; a checkpoint from before warm-ups existed has no such entry and loads
    blending fully.
    """
    module.register_buffer("attention_weight", torch.ones(()))

    def fill_missing(state_dict: dict, prefix: str, *_: object) -> None:
        state_dict.setdefault(prefix + "attention_weight", torch.ones(()))

    module._register_load_state_dict_pre_hook(fill_missing)


def set_attention_weight(net: torch.nn.Module, weight: float) -> None:
    """Set every ``attention_weight`` buffer in ``net`` (the blend's share of an attention generator's
    output, see :func:`attention_blend`) to ``weight``."""
    for module in net.modules():
        buffer = getattr(module, "attention_weight", None)
        if isinstance(buffer, torch.Tensor):
            buffer.fill_(weight)
