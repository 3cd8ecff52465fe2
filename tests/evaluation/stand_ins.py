"""Stand-ins the evaluation tests share: networks with fixed random weights, no downloads."""

from __future__ import annotations

import torch
from torch import nn


class TinyExtractor(nn.Module):
    """A fixed random conv net standing in for Inception: [0, 255] 299 px -> 16 features."""

    name = "tiny-test-extractor"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layers = nn.Sequential(nn.Conv2d(3, 16, 5, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x / 255.0).flatten(1)


def smooth_images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """``n`` smooth random images in [-1, 1] (low-frequency noise, upsampled)."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(n, 3, 4, 4, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(small, size=size, mode="bilinear", align_corners=False)


class TensorData:
    """A data set stand-in whose evaluation sets are given tensors, ``{split: {domain: N x 3 x H x W}}``."""

    def __init__(self, images: dict[str, dict[str, torch.Tensor]]) -> None:
        self.images = images
        self.calls: list[tuple[str, int | None]] = []

    def evaluation_sets(self, split: str = "test", n: int | None = None, size: int | None = None):
        from gancraft.data.image_sets import ImageSet

        self.calls.append((split, n))
        return {d: ImageSet(f"{split}/{d}", render=lambda i, t=t: t[i], indices=list(range(len(t))))
                for d, t in self.images[split].items()}


class ScriptedModel:
    """A model stand-in with tasks and a known ``translate``: ``a2b`` halves the image, ``b2a`` doubles it;
    ``latent/<d>`` adds ``z[:, 0] / 10`` (so outputs differ exactly by their codes); ``reference/<d>``
    returns the reference."""

    def __init__(self, domains: tuple[str, ...] = ("A", "B"), multi: bool = False) -> None:
        from gancraft.models.tasks import TranslationTask

        self.multi = multi
        if multi:
            self._tasks = [TranslationTask(f"{g}/{d}", target=d, guidance=g, fixed={"domain": d}, latent_dim=3 if g == "latent" else 0)
                           for g in ("latent", "reference") for d in domains]
        else:
            self._tasks = [TranslationTask("a2b", source="A", target="B", fixed={"direction": "a2b"}),
                           TranslationTask("b2a", source="B", target="A", fixed={"direction": "b2a"})]

    def tasks(self):
        return list(self._tasks)

    def translate(self, x: torch.Tensor, direction: str | None = None, domain: str | None = None, z=None,
                  reference=None, num: int = 1, seed=None) -> torch.Tensor:
        if direction is not None:
            return (x * 0.5 if direction == "a2b" else (x * 2).clamp(-1, 1))
        if reference is not None:
            return reference.clone()
        if z is None:
            z = torch.randn(num, 3, generator=torch.Generator().manual_seed(seed or 0))
            outs = torch.stack([(x + z[k, 0] / 10).clamp(-1, 1) for k in range(num)], 1)
            return outs if num > 1 else outs[:, 0]
        return (x + z[:, :1, None, None] / 10).clamp(-1, 1)


def scripted_context(model: ScriptedModel, data: TensorData | None = None, size: int = 32, seed: int = 0):
    from gancraft.evaluation.context import EvalContext

    return EvalContext(translate=model.translate, tasks=model.tasks(), size=size, device=torch.device("cpu"),
                       dataset=(lambda split: data) if data is not None else None, seed=seed)


class FakeOracle:
    """Says nobody wears glasses; stands in for the trained oracle. Records the batch sizes it saw."""

    classes = ["no_glasses", "round", "rectangular", "cat_eye", "aviator", "sunglasses"]

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, images: torch.Tensor):
        from types import SimpleNamespace

        n = images.shape[0]
        self.calls.append(n)
        probs = torch.zeros(n, 6)
        probs[:, 0] = 1.0
        return SimpleNamespace(glasses=torch.zeros(n, dtype=torch.bool), probs=probs, label=["no_glasses"] * n)
