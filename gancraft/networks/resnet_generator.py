"""The CycleGAN ResNet generator (Johnson et al.), as in the reference implementation."""

from __future__ import annotations

import torch
from torch import nn

from gancraft.core.errors import ConfigError
from gancraft.networks.layers import attention_blend, conv_bias, norm_layer, register_attention_weight
from gancraft.core.registry import NETWORKS


class ResnetBlock(nn.Module):
    """x + [pad, conv3, norm, relu, (dropout), pad, conv3, norm](x)."""

    def __init__(self, dim: int, norm: str, dropout: float, padding: str) -> None:
        super().__init__()
        pad = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d, "zero": nn.ZeroPad2d}[padding]
        norm_fn, bias = norm_layer(norm), conv_bias(norm)
        layers: list[nn.Module] = [pad(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_fn(dim), nn.ReLU(True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [pad(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_fn(dim)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@NETWORKS.register("resnet_generator")
class ResnetGenerator(nn.Module):
    """7x7 stem, ``n_downsampling`` stride-2 convs, ``n_blocks`` residual blocks, as many
    upsamplings, 7x7 out conv, tanh.

    ``upsample="transpose"`` is the reference's transposed convolution;
    ``"resize"`` (nearest upsampling then a 3x3 conv) avoids its checkerboard artefacts.

    ``attention=True`` (not in the reference; after AttentionGAN/GANimation) adds a
    fourth output channel, a sigmoid mask ``a``, and returns ``a * rgb + (1 - a) * x``:
    the generator repaints only where it needs to (the eye band, for glasses) and passes
    every other pixel through, which answers the paper's tone shifts and lost detail.
    Its buffer ``attention_weight`` (1 by default) mixes in the plain output while a training
    schedule warms the attention up.

    ``residual=True`` (not in the reference; after Shen & Liu, "Learning residual images for
    face attribute manipulation", 2017) returns ``clamp(x + r)``: the last conv draws only the
    change ``r``. Unlike a sigmoid mask it has no gate that can close: the adversarial gradient
    reaches every pixel of ``r`` at full strength, while the cycle and identity losses pull
    ``r`` towards zero wherever nothing needs to change.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        dropout: float = 0.0,
        upsample: str = "transpose",
        padding: str = "reflect",
        n_downsampling: int = 2,
        attention: bool = False,
        residual: bool = False,
    ) -> None:
        super().__init__()
        if upsample not in ("transpose", "resize"):
            raise ConfigError(f"upsample {upsample!r} is not one of transpose, resize")
        if padding not in ("reflect", "replicate", "zero"):
            raise ConfigError(f"padding {padding!r} is not one of reflect, replicate, zero")
        norm_fn, bias = norm_layer(norm), conv_bias(norm)
        self.stem = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), norm_fn(ngf), nn.ReLU(True))
        self.down = nn.Sequential(
            *[
                nn.Sequential(
                    nn.Conv2d(ngf * 2**i, ngf * 2 ** (i + 1), 3, stride=2, padding=1, bias=bias),
                    norm_fn(ngf * 2 ** (i + 1)),
                    nn.ReLU(True),
                )
                for i in range(n_downsampling)
            ]
        )
        width = ngf * 2**n_downsampling
        self.blocks = nn.Sequential(*[ResnetBlock(width, norm, dropout, padding) for _ in range(n_blocks)])
        ups = []
        for i in range(n_downsampling):
            c_in, c_out = width // 2**i, width // 2 ** (i + 1)
            if upsample == "transpose":
                conv: list[nn.Module] = [nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, bias=bias)]
            else:
                conv = [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias)]
            ups.append(nn.Sequential(*conv, norm_fn(c_out), nn.ReLU(True)))
        self.up = nn.Sequential(*ups)
        if (attention or residual) and in_channels != out_channels:
            raise ConfigError("attention and residual need in_channels == out_channels (the output builds on the input)")
        if attention and residual:
            raise ConfigError("choose one of attention and residual for the generator's output")
        self.attention, self.residual = attention, residual
        out_conv = nn.Conv2d(ngf, out_channels + int(attention), 7)
        plain = not (attention or residual)
        self.head = nn.Sequential(nn.ReflectionPad2d(3), out_conv, nn.Tanh()) if plain else nn.Sequential(nn.ReflectionPad2d(3), out_conv)
        if attention:
            register_attention_weight(self)  # a training schedule may lower it (CycleGAN's attention_warmup)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.raw(x)
        if self.residual:
            # clamp (not tanh): the change passes at full gradient wherever the result is a valid pixel
            return (x + y).clamp(-1.0, 1.0)
        if not self.attention:
            return y
        return attention_blend(y, x, self.attention_weight)

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """The output before any blend: the image, with ``attention`` the rgb logits and the mask logit,
        with ``residual`` the change ``r``."""
        return self.head(self.up(self.blocks(self.down(self.stem(x)))))

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)``: where an attention generator repaints ``x`` (1) and where it passes it through (0)."""
        if not self.attention:
            raise ConfigError("mask() needs an attention generator (attention=true)")
        return torch.sigmoid(self.raw(x)[:, -1:])
