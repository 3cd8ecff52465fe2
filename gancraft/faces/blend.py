"""Which pixels of a translated face to paste back: the model's attention mask, or the change.

A blend weight is computed at the model's size (1 where the model repainted, 0 where it
passed the input through), warped back to the photo, feathered there, and then every
photo pixel whose weight is 0 keeps its exact value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

#: attention values below LO are "passed through"; from HI on the model's pixel is taken whole
ATTENTION_LO, ATTENTION_HI = 0.02, 0.10
#: the same for the change (max channel difference on [0, 1]) when a model has no attention mask
CHANGE_LO, CHANGE_HI = 0.01, 0.04


def _mask_logit_layer(module: nn.Module) -> nn.Module | None:
    """The layer whose output's last channel is the attention logit (ResNet ``head``, StarGAN v2 ``to_rgb``)."""
    if not getattr(module, "attention", False):
        return None
    return getattr(module, "head", None) or getattr(module, "to_rgb", None)


@contextmanager
def attention_probe(model: nn.Module | None) -> Iterator[list[torch.Tensor]]:
    """Record the attention masks (N x H x W in [0, 1]) the generators of ``model`` compute while inside."""
    seen: list[torch.Tensor] = []
    layers = [m for m in (_mask_logit_layer(x) for x in (model.modules() if model is not None else ())) if m is not None]
    handles = [layer.register_forward_hook(lambda _m, _i, out: seen.append(torch.sigmoid(out[:, -1].detach().float()).cpu())) for layer in layers]
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def _ramp(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return ((x - lo) / (hi - lo)).clamp(0, 1)


def face_region(eyes: torch.Tensor | list, size: int, width: float = 1.7, height: float = 1.1, drop: float = 0.1) -> torch.Tensor:
    """A soft ellipse (H x W in [0, 1]) over the glasses of a model-size crop whose eyes are at ``eyes`` (2 x (x, y)).

    Its half-axes are ``width`` and ``height`` eye distances, its centre ``drop`` eye distances
    below the eyes: where glasses go (frames to the ears, lenses about half an eye distance
    above and below the eyes), not the hair, mouth or background, which a model that meets
    something unlike its training data may repaint.
    """
    e = torch.as_tensor(eyes, dtype=torch.float32)
    d = float((e[1] - e[0]).norm())
    cx, cy = float(e[:, 0].mean()), float(e[:, 1].mean()) + drop * d
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing="ij")
    r = (((x - cx) / (width * d)) ** 2 + ((y - cy) / (height * d)) ** 2).sqrt()
    return ((1.0 - r) / 0.15).clamp(0, 1)


def blend_weights(inputs: torch.Tensor, outputs: torch.Tensor, attention: torch.Tensor | None = None, region: torch.Tensor | None = None) -> torch.Tensor:
    """Blend weights N x H x W in [0, 1] at the model's size.

    ``inputs``/``outputs`` are N x 3 x H x W in [-1, 1]; ``attention`` (N x H x W) is the
    model's own mask when it has one. The weight is widened by a pixel (thin frames keep
    their edges), limited to ``region`` (H x W, e.g. :func:`face_region`) and tapered to 0 at
    the crop's border (no seam where the crop ends).
    """
    if attention is not None:
        w = _ramp(attention.float(), ATTENTION_LO, ATTENTION_HI)
    else:
        w = _ramp((outputs.float() - inputs.float()).abs().amax(1) / 2, CHANGE_LO, CHANGE_HI)
    w = F.max_pool2d(w[:, None], 3, 1, 1)[:, 0]
    h, wd = w.shape[-2:]
    border = torch.ones(h, wd)
    border[:2], border[-2:], border[:, :2], border[:, -2:] = 0, 0, 0, 0
    return w * border * (region if region is not None else 1.0)
