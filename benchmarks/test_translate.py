"""Translation images per second: a trained-size CycleGAN generator (ResNet-9, ngf 64)
through :class:`gancraft.inference.Translator` (inference mode, clamped output)."""

from __future__ import annotations

import pytest
import torch

import harness
from gancraft.inference.translator import Translator


@pytest.mark.parametrize("size,batch", [(128, 8), (256, 4)])
def test_cyclegan_translate(benchmark, rate, size: int, batch: int) -> None:
    model = harness.cyclegan(size).eval()
    translator = Translator(model, device="cpu", size=size)
    images = torch.rand(batch, 3, size, size) * 2 - 1
    out = benchmark.pedantic(translator.translate, args=(images,), kwargs={"direction": "a2b"}, rounds=3, warmup_rounds=1)
    assert out.shape == images.shape and out.abs().max() <= 1
    rate(benchmark, batch, "images_per_s", size=size, batch=batch)
