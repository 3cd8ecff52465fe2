"""StarGAN v2 networks (Choi et al., 2020): generator, mapping network, style encoder, discriminator.

Faithful to clovaai/stargan-v2 in architecture and parameter count (at 256 px, 2
domains, ``w_hpf=0``: generator 33,892,995, mapping network 2,438,272, style encoder
20,916,928, discriminator 20,852,290), with two additions:

- ``base_dim`` / ``max_conv_dim`` / ``hidden_dim`` make thin variants for CPU runs
  (the reference's widths are the defaults);
- the per-domain parts (mapping-network heads, style-encoder heads, the
  discriminator's outputs) are stacked tensors with the domain as their first axis,
  so that domains can be added to a trained network (:meth:`remap_domains`).

Per-domain outputs are computed for every domain and the one asked for is picked
per sample, as the reference does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from einops import einsum, rearrange
from torch import nn

from gancraft.core.errors import ConfigError
from gancraft.networks.layers import attention_blend, register_attention_weight
from gancraft.core.registry import NETWORKS

SQRT2 = math.sqrt(2.0)


def he_init(module: nn.Module) -> None:
    """The reference's init: Kaiming-normal (fan-in, ReLU gain) weights, zero biases."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, DomainLinear):
        for w in module.weight:  # one fan-in per domain head
            nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(module.bias)


def _check_size(img_size: int, smallest: int) -> None:
    if img_size < smallest or img_size & (img_size - 1):
        raise ConfigError(f"img_size {img_size} must be a power of two >= {smallest}")


def pick_domain(per_domain: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(B, D, ...)`` outputs of every domain -> ``(B, ...)`` the one of each sample's domain ``y``."""
    return per_domain[torch.arange(per_domain.shape[0], device=per_domain.device), y.to(per_domain.device).long()]


def run_block(block: nn.Module, *args: torch.Tensor, checkpoint: bool = False) -> torch.Tensor:
    """``block(*args)``; with ``checkpoint``, while training with gradients recorded, the block's
    inner activations are not kept but recomputed during backward (only its inputs are saved).

    Non-reentrant checkpointing also supports double backward, so R1's
    ``autograd.grad(..., create_graph=True)`` through a checkpointed discriminator is exact
    (the recomputed activations are then kept by the penalty's graph, so that pass saves less).
    """
    if checkpoint and block.training and torch.is_grad_enabled():
        return torch.utils.checkpoint.checkpoint(block, *args, use_reentrant=False)
    return block(*args)


class ResBlk(nn.Module):
    """Pre-activation residual block: [IN] LReLU conv [avg-pool] [IN] LReLU conv, plus a
    (learned 1x1 when widths differ, pooled) shortcut; the sum is divided by sqrt(2)."""

    def __init__(self, dim_in: int, dim_out: int, normalize: bool = False, downsample: bool = False) -> None:
        super().__init__()
        self.normalize, self.downsample = normalize, downsample
        self.conv1 = nn.Conv2d(dim_in, dim_in, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        if normalize:
            self.norm1 = nn.InstanceNorm2d(dim_in, affine=True)
            self.norm2 = nn.InstanceNorm2d(dim_in, affine=True)
        self.skip = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False) if dim_in != dim_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.skip is None else self.skip(x)
        if self.downsample:
            shortcut = F.avg_pool2d(shortcut, 2)
        h = self.norm1(x) if self.normalize else x
        h = self.conv1(F.leaky_relu(h, 0.2))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        h = self.norm2(h) if self.normalize else h
        h = self.conv2(F.leaky_relu(h, 0.2))
        return (shortcut + h) / SQRT2


class AdaIN(nn.Module):
    """``(1 + gamma(s)) * IN(x) + beta(s)``."""

    def __init__(self, style_dim: int, channels: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.affine = nn.Linear(style_dim, channels * 2)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        gamma, beta = rearrange(self.affine(s), "b (two c) -> two b c 1 1", two=2)
        return (1 + gamma) * self.norm(x) + beta


class AdainResBlk(nn.Module):
    """AdaIN residual block with nearest-neighbour upsampling. With ``w_hpf > 0`` the
    shortcut is dropped (the high-pass skips carry the detail instead), as in the reference."""

    def __init__(self, dim_in: int, dim_out: int, style_dim: int = 64, w_hpf: float = 0.0, upsample: bool = False) -> None:
        super().__init__()
        self.w_hpf, self.upsample = w_hpf, upsample
        self.norm1 = AdaIN(style_dim, dim_in)
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.norm2 = AdaIN(style_dim, dim_out)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, 1, 1)
        self.skip = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False) if dim_in != dim_out else None

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.norm1(x, s), 0.2)
        if self.upsample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv1(h)
        h = self.conv2(F.leaky_relu(self.norm2(h, s), 0.2))
        if self.w_hpf > 0:
            return h
        shortcut = F.interpolate(x, scale_factor=2, mode="nearest") if self.upsample else x
        if self.skip is not None:
            shortcut = self.skip(shortcut)
        return (h + shortcut) / SQRT2


def high_pass(x: torch.Tensor, w_hpf: float) -> torch.Tensor:
    """Depthwise 3x3 Laplacian-style high-pass filter divided by ``w_hpf``."""
    kernel = torch.full((3, 3), -1.0, device=x.device, dtype=x.dtype)
    kernel[1, 1] = 8.0
    kernel = (kernel / w_hpf).expand(x.shape[1], 1, 3, 3)
    return F.conv2d(x, kernel, padding=1, groups=x.shape[1])


@NETWORKS.register("stargan_v2_generator")
class Generator(nn.Module):
    """Encoder (ResBlks with IN, down to 16 px at 256) -> decoder (AdaIN ResBlks driven by the style code).

    ``attention=True`` (not in the reference) adds a mask channel and blends the output
    with the input (:func:`~gancraft.networks.layers.attention_blend`), so pixels outside
    the part a style changes pass through untouched. Its buffer ``attention_weight`` (1 by
    default, saved with the weights) mixes in the plain output while a training schedule warms the
    attention up (:class:`~gancraft.models.stargan_v2.StarGANv2`'s ``attention_warmup``).

    ``forward(x, s, masks=None)``; with ``w_hpf > 0`` the caller supplies ``masks``
    (two heatmaps, ``(B, 1, H, W)`` each: ``masks[0]`` for the 32 px skip, ``masks[1]``
    for 64 and 128 px), whose high-passed encoder features are added to the decoder's.
    """

    def __init__(
        self,
        img_size: int = 256,
        style_dim: int = 64,
        max_conv_dim: int = 512,
        w_hpf: float = 0.0,
        base_dim: int | None = None,
        attention: bool = False,
        checkpoint_activations: bool = False,
    ) -> None:
        super().__init__()
        _check_size(img_size, 16)
        self.img_size, self.w_hpf, self.attention = img_size, w_hpf, attention
        self.checkpoint_activations = checkpoint_activations  # recompute each block in backward: less memory, ~1/3 more compute
        dim_in = base_dim or 2**14 // img_size
        self.stem = nn.Conv2d(3, dim_in, 3, 1, 1)
        self.encoder, self.decoder = nn.ModuleList(), nn.ModuleList()
        repeat = int(math.log2(img_size)) - 4 + (1 if w_hpf > 0 else 0)
        dim_out = dim_in
        for _ in range(repeat):
            dim_out = min(dim_in * 2, max_conv_dim)
            self.encoder.append(ResBlk(dim_in, dim_out, normalize=True, downsample=True))
            self.decoder.insert(0, AdainResBlk(dim_out, dim_in, style_dim, w_hpf, upsample=True))
            dim_in = dim_out
        for _ in range(2):  # bottleneck
            self.encoder.append(ResBlk(dim_out, dim_out, normalize=True))
            self.decoder.insert(0, AdainResBlk(dim_out, dim_out, style_dim, w_hpf))
        width = base_dim or 2**14 // img_size
        self.to_rgb = nn.Sequential(nn.InstanceNorm2d(width, affine=True), nn.LeakyReLU(0.2), nn.Conv2d(width, 3 + int(attention), 1, 1, 0))
        if attention:
            register_attention_weight(self)  # a training schedule may lower it (model.attention_warmup)

    @torch.no_grad()
    def close_mask(self, bias: float = -3.0) -> None:
        """With ``attention``: start the mask closed everywhere (``sigmoid(-3)`` = 0.05: zero weights,
        negative bias), so that outputs begin as the input and the generator opens the mask only
        where the domain differs. Call after weight init (He init would undo it)."""
        if self.attention:
            self.to_rgb[-1].weight[-1].zero_()
            self.to_rgb[-1].bias[-1] = bias

    def forward(self, x: torch.Tensor, s: torch.Tensor, masks: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        out = self.raw(x, s, masks)
        return attention_blend(out, x, self.attention_weight) if self.attention else out

    def raw(self, x: torch.Tensor, s: torch.Tensor, masks: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """The output before the attention blend: ``(B, 3, H, W)``, or with ``attention`` ``(B, 4, H, W)``
        (rgb before tanh, then the mask's logit; see :func:`~gancraft.networks.layers.attention_blend`)."""
        x = self.stem(x)
        skips: dict[int, torch.Tensor] = {}
        for block in self.encoder:
            if masks is not None and x.shape[2] in (32, 64, 128):
                skips[x.shape[2]] = x
            x = run_block(block, x, checkpoint=self.checkpoint_activations)
        for block in self.decoder:
            x = run_block(block, x, s, checkpoint=self.checkpoint_activations)
            size = x.shape[2]
            if masks is not None and size in skips:
                mask = F.interpolate(masks[0] if size == 32 else masks[1], size=size, mode="bilinear")
                x = x + high_pass(mask * skips[size], self.w_hpf)
        return self.to_rgb(x)


class DomainLinear(nn.Module):
    """One linear layer per domain, stacked: weight ``(D, out, in)``, bias ``(D, out)``.

    Input ``(B, in)`` (shared by every domain) or ``(B, D, in)`` (one per domain);
    output ``(B, D, out)``.
    """

    def __init__(self, num_domains: int, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_domains, dim_out, dim_in))
        self.bias = nn.Parameter(torch.zeros(num_domains, dim_out))
        with torch.no_grad():
            for w in self.weight:  # nn.Linear's default, per head
                nn.init.kaiming_uniform_(w, a=math.sqrt(5))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        pattern = "b i, d o i -> b d o" if h.dim() == 2 else "b d i, d o i -> b d o"
        return einsum(h, self.weight, pattern) + self.bias


def remap_rows(tensor: torch.Tensor, source: Sequence[int | None]) -> torch.Tensor:
    """New rows along axis 0: row ``j`` is old row ``source[j]``, or the mean of the old rows when None."""
    mean = tensor.mean(0)
    return torch.stack([tensor[i] if i is not None else mean for i in source]).contiguous()


class DomainHeads:
    """Mixin for networks whose per-domain parameters are stacked along axis 0."""

    num_domains: int

    def domain_parameters(self) -> list[nn.Parameter]:  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    @torch.no_grad()
    def remap_domains(self, source: Sequence[int | None]) -> None:
        """Rebuild the per-domain parameters for ``len(source)`` domains: domain ``j`` takes
        old domain ``source[j]``'s head, or the mean of the old heads when ``None``.

        Replaces the parameters: build optimizers afterwards.
        """
        for module, name in self._domain_slots():
            old = getattr(module, name)
            setattr(module, name, nn.Parameter(remap_rows(old.data, source), requires_grad=old.requires_grad))
        self.num_domains = len(source)

    def _domain_slots(self) -> list[tuple[nn.Module, str]]:  # pragma: no cover
        raise NotImplementedError


@NETWORKS.register("stargan_v2_mapping")
class MappingNetwork(DomainHeads, nn.Module):
    """Latent code z -> style code of domain y: a shared MLP trunk, then one MLP head per domain."""

    def __init__(self, latent_dim: int = 16, style_dim: int = 64, num_domains: int = 2, hidden_dim: int = 512) -> None:
        super().__init__()
        self.num_domains, self.latent_dim, self.style_dim = num_domains, latent_dim, style_dim
        trunk: list[nn.Module] = [nn.Linear(latent_dim, hidden_dim), nn.ReLU()]
        for _ in range(3):
            trunk += [nn.Linear(hidden_dim, hidden_dim), nn.ReLU()]
        self.trunk = nn.Sequential(*trunk)
        dims = [hidden_dim] * 4 + [style_dim]
        self.heads = nn.ModuleList(DomainLinear(num_domains, a, b) for a, b in zip(dims[:-1], dims[1:]))

    def _domain_slots(self) -> list[tuple[nn.Module, str]]:
        return [(head, name) for head in self.heads for name in ("weight", "bias")]

    def all_domains(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, D, style_dim)``: the style code of every domain."""
        h = self.trunk(z)
        for i, head in enumerate(self.heads):
            h = head(h)
            if i < len(self.heads) - 1:
                h = F.relu(h)
        return h

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return pick_domain(self.all_domains(z), y)


def _trunk(img_size: int, max_conv_dim: int, base_dim: int | None) -> tuple[nn.Sequential, int]:
    """The style encoder's and discriminator's shared body: conv, ResBlks down to 4 px, conv 4x4 -> 1 px."""
    dim_in = base_dim or 2**14 // img_size
    blocks: list[nn.Module] = [nn.Conv2d(3, dim_in, 3, 1, 1)]
    dim_out = dim_in
    for _ in range(int(math.log2(img_size)) - 2):
        dim_out = min(dim_in * 2, max_conv_dim)
        blocks.append(ResBlk(dim_in, dim_out, downsample=True))
        dim_in = dim_out
    blocks += [nn.LeakyReLU(0.2), nn.Conv2d(dim_out, dim_out, 4, 1, 0), nn.LeakyReLU(0.2)]
    return nn.Sequential(*blocks), dim_out


def _run_trunk(trunk: nn.Sequential, x: torch.Tensor, checkpoint: bool) -> torch.Tensor:
    """``trunk(x)`` with each ResBlk checkpointed when ``checkpoint`` (see :func:`run_block`)."""
    for layer in trunk:
        x = run_block(layer, x, checkpoint=checkpoint) if isinstance(layer, ResBlk) else layer(x)
    return x


@NETWORKS.register("stargan_v2_style_encoder")
class StyleEncoder(DomainHeads, nn.Module):
    """Image -> style code of domain y: a shared conv trunk, then one linear head per domain."""

    def __init__(
        self,
        img_size: int = 256,
        style_dim: int = 64,
        num_domains: int = 2,
        max_conv_dim: int = 512,
        base_dim: int | None = None,
        checkpoint_activations: bool = False,
    ) -> None:
        super().__init__()
        _check_size(img_size, 8)
        self.num_domains, self.img_size = num_domains, img_size
        self.checkpoint_activations = checkpoint_activations
        self.trunk, width = _trunk(img_size, max_conv_dim, base_dim)
        self.head = DomainLinear(num_domains, width, style_dim)

    def _domain_slots(self) -> list[tuple[nn.Module, str]]:
        return [(self.head, "weight"), (self.head, "bias")]

    def all_domains(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(_run_trunk(self.trunk, x, self.checkpoint_activations).flatten(1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return pick_domain(self.all_domains(x), y)


@NETWORKS.register("stargan_v2_discriminator")
class Discriminator(DomainHeads, nn.Module):
    """Multi-task discriminator: a shared conv trunk and one real/fake logit per domain."""

    def __init__(self, img_size: int = 256, num_domains: int = 2, max_conv_dim: int = 512, base_dim: int | None = None,
                 checkpoint_activations: bool = False) -> None:
        super().__init__()
        _check_size(img_size, 8)
        self.num_domains, self.img_size = num_domains, img_size
        self.checkpoint_activations = checkpoint_activations
        self.trunk, width = _trunk(img_size, max_conv_dim, base_dim)
        self.head = nn.Conv2d(width, num_domains, 1, 1, 0)

    def _domain_slots(self) -> list[tuple[nn.Module, str]]:
        return [(self.head, "weight"), (self.head, "bias")]

    @torch.no_grad()
    def remap_domains(self, source: Sequence[int | None]) -> None:
        super().remap_domains(source)
        self.head.out_channels = len(source)

    def all_domains(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(_run_trunk(self.trunk, x, self.checkpoint_activations)).flatten(1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return pick_domain(self.all_domains(x), y)


@NETWORKS.register("stargan_v2_domain_classifier")
class DomainClassifier(DomainHeads, nn.Module):
    """Auxiliary domain classifier (not in StarGAN v2; StarGAN v1's / AC-GAN's classification
    loss): an image of any size -> one logit per domain.

    A stem conv, ``depth`` pre-activation ResBlks each halving the size (no normalisation, as the
    discriminator), then the mean- and max-pooled features into one linear layer. Global pooling
    lets it take non-square inputs, such as an upsampled eye-band crop. ``depth`` defaults to
    bringing the shorter side down to about 4-8 px. Its linear head is stacked with the domain
    first (``head.weight``: ``domains x features``), so :meth:`remap_domains` grows it as it grows
    the discriminator's outputs.
    """

    def __init__(self, num_domains: int = 2, in_size: Sequence[int] = (64, 64), base_dim: int = 16, max_conv_dim: int = 64,
                 depth: int | None = None) -> None:
        super().__init__()
        h, w = (int(v) for v in in_size)
        if min(h, w) < 4:
            raise ConfigError(f"the domain classifier's input {h}x{w} is too small (at least 4 px a side)")
        depth = max(1, int(math.log2(min(h, w))) - 2) if depth is None else depth
        self.num_domains, self.in_size = num_domains, (h, w)
        blocks: list[nn.Module] = [nn.Conv2d(3, base_dim, 3, 1, 1)]
        dim_in = dim_out = base_dim
        for _ in range(depth):
            dim_out = min(dim_in * 2, max_conv_dim)
            blocks.append(ResBlk(dim_in, dim_out, downsample=True))
            dim_in = dim_out
        blocks.append(nn.LeakyReLU(0.2))
        self.trunk = nn.Sequential(*blocks)
        self.head = nn.Linear(2 * dim_out, num_domains)

    def _domain_slots(self) -> list[tuple[nn.Module, str]]:
        return [(self.head, "weight"), (self.head, "bias")]

    @torch.no_grad()
    def remap_domains(self, source: Sequence[int | None]) -> None:
        super().remap_domains(source)
        self.head.out_features = len(source)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.trunk(x)
        return self.head(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1))
