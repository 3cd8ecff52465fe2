"""LPIPS with the ``lpips`` package: paired distance and the diversity of outputs.

The package ships its linear calibration layers (v0.1) inside the wheel, but builds
its AlexNet trunk from torchvision's pretrained weights, which torchvision would
download. gancraft builds the trunk untrained and loads torchvision's file itself,
from ``weights=PATH`` or from where torch keeps it
(``$TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth``); it never downloads.

Images are float ``N x 3 x H x W`` in ``[-1, 1]``, as everywhere in gancraft.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gancraft.core.errors import ConfigError, MissingWeightsError
from gancraft.core.registry import METRICS

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
WEIGHTS_ENV = "GANCRAFT_LPIPS_ALEXNET"

_MODELS: dict[tuple[str, str], Any] = {}


def default_alexnet_path() -> Path:
    """Where torchvision keeps AlexNet's ImageNet weights (honours ``TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE


def resolve_alexnet_weights(weights: str | os.PathLike[str] | None = None) -> Path:
    """The AlexNet weights file: ``weights``, ``$GANCRAFT_LPIPS_ALEXNET``, or torch's hub cache."""
    given = weights or os.environ.get(WEIGHTS_ENV)
    path = Path(given).expanduser() if given else default_alexnet_path()
    if not path.is_file():
        where = "there (TORCH_HOME moves that folder)" if not given else f"at {default_alexnet_path()}"
        raise MissingWeightsError(
            f"AlexNet weights {ALEXNET_FILE} for LPIPS not found at {path}; put torchvision's file {where} "
            "or give its path (weights=PATH)"
        )
    return path


def load_lpips(weights: str | os.PathLike[str] | None = None, device: str | torch.device = "cpu") -> Any:
    """An ``lpips.LPIPS`` (AlexNet, v0.1) with its trunk loaded from a local file; cached per file."""
    path = resolve_alexnet_weights(weights)
    stat = path.stat()
    key = (f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}", str(torch.device(device)))
    if key in _MODELS:
        return _MODELS[key]
    import warnings

    import lpips as lpips_package

    with warnings.catch_warnings():
        # pnet_rand builds torchvision's AlexNet with the deprecated pretrained=False.
        warnings.simplefilter("ignore", UserWarning)
        model = lpips_package.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file
        raise MissingWeightsError(f"AlexNet weights {path} cannot be read ({err}); replace it with {ALEXNET_FILE}") from None
    features = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    # lpips keeps torchvision's layer indices as module names inside its slices.
    for slice_ in (model.net.slice1, model.net.slice2, model.net.slice3, model.net.slice4, model.net.slice5):
        for name, module in slice_.named_children():
            own = {k.split(".", 1)[1]: v for k, v in features.items() if k.split(".", 1)[0] == name}
            if list(module.parameters()):
                if not own:
                    raise MissingWeightsError(f"AlexNet weights {path} lack layer features.{name}; use {ALEXNET_FILE}")
                module.load_state_dict(own)
    model = model.to(device).eval().requires_grad_(False)
    _MODELS[key] = model
    return model


def _features(model: Any, x: torch.Tensor) -> list[torch.Tensor]:
    """LPIPS's unit-normalized AlexNet activations of ``x`` in [-1, 1]."""
    import lpips as lpips_package

    outs = model.net(model.scaling_layer(x))
    return [lpips_package.normalize_tensor(out) for out in outs]


def _distance(model: Any, f0: list[torch.Tensor], f1: list[torch.Tensor]) -> torch.Tensor:
    """LPIPS from two sets of features, exactly as ``lpips.LPIPS.forward`` combines them."""
    import lpips as lpips_package

    total = 0
    for lin, a, b in zip(model.lins, f0, f1):
        total = total + lpips_package.spatial_average(lin((a - b) ** 2), keepdim=True)
    return total.reshape(-1)


def _model(model: Any, weights: Any, device: Any, like: torch.Tensor) -> Any:
    return model if model is not None else load_lpips(weights, device=device or like.device)


@torch.no_grad()
def lpips_distance(x: torch.Tensor, y: torch.Tensor, *, model: Any = None, weights: Any = None,
                   device: str | torch.device | None = None) -> torch.Tensor:
    """LPIPS between paired images ``x[i]`` and ``y[i]``; a tensor of ``N`` distances."""
    if x.shape != y.shape:
        raise ValueError(f"paired images differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
    net = _model(model, weights, device, x)
    dev = next(net.parameters()).device
    return net(x.to(dev).float(), y.to(dev).float()).reshape(-1)


@torch.no_grad()
def lpips_diversity(outputs: torch.Tensor | Sequence[torch.Tensor], *, model: Any = None, weights: Any = None,
                    device: str | torch.device | None = None) -> float:
    """Mean LPIPS over all pairs of the ``N`` outputs made for each input (Choi et al., 2020).

    ``outputs`` is ``N x B x 3 x H x W`` (or a list of ``N`` batches ``B x 3 x H x W``):
    output ``i`` of input ``b`` is ``outputs[i][b]``. As in that paper's evaluation code,
    the distance of every pair ``i < j`` is averaged over the batch, then over the
    pairs; ``N x 3 x H x W`` is taken as the outputs of one input.
    """
    if isinstance(outputs, torch.Tensor) and outputs.ndim == 4:
        outputs = outputs.unsqueeze(1)
    group = list(outputs)
    if len(group) < 2:
        raise ValueError("diversity needs at least two outputs per input")
    net = _model(model, weights, device, group[0])
    dev = next(net.parameters()).device
    # One trunk pass per output; the N (N - 1) / 2 pairs reuse the features.
    feats = [_features(net, out.to(dev).float()) for out in group]
    values = [
        _distance(net, feats[i], feats[j]).mean() for i in range(len(group)) for j in range(i + 1, len(group))
    ]
    return float(torch.stack(values).mean())


def optional_lpips(wanted: bool | str, weights: Any, device: Any, report: Any, option: str = "lpips_weights") -> Any:
    """The LPIPS model a metric's ``lpips`` option asks for: ``true`` (the AlexNet file is required),
    ``false`` (None), or ``auto`` (None with a note in ``report`` when the file is missing)."""
    if wanted is False or wanted == "false":
        return None
    try:
        path = resolve_alexnet_weights(weights)
    except MissingWeightsError as err:
        if wanted == "auto":
            report.note(f"LPIPS skipped: {err}")
            return None
        raise MissingWeightsError(f"{str(err).replace('(weights=PATH)', f'({option}=PATH)')}, or lpips=false to skip LPIPS") from None
    report.lpips = {"weights": str(path), "net": "alex", "version": "0.1"}
    return load_lpips(path, device=device)


@METRICS.register("lpips")
class LPIPSDistance:
    """Paired LPIPS of each selected task's outputs: ``against: truth``, the exact target images where
    the data set has them (``evaluation_pairs``: the glasses world's same faces with and without
    glasses), keys ``LPIPS_truth/<task>``; ``against: source``, the task's own inputs (how much it
    changed them), keys ``LPIPS_source/<task>``. Latent-guided tasks draw their codes from ``seed``."""

    def __init__(self, tasks: Sequence[str] = ("*",), guidance: Sequence[str] = ("fixed", "latent"),
                 against: str = "truth", split: str = "test", num_images: int | None = None, images: int = 100,
                 lpips: bool | str = True, weights: str | None = None, batch_size: int = 32, seed: int | None = None) -> None:
        if against not in ("truth", "source"):
            raise ConfigError(f"metric lpips: against={against!r} is not one of truth, source")
        self.tasks, self.guidance, self.against, self.split = list(tasks), list(guidance), against, split
        self.num_images, self.images, self.lpips, self.weights = num_images, images, lpips, weights
        self.batch_size, self.seed = int(batch_size), seed

    def __call__(self, context: Any) -> dict[str, float]:
        from gancraft.evaluation.context import task_label

        model = optional_lpips(self.lpips, self.weights, context.device, context.report)
        if model is None:
            return {}
        seed = context.seed if self.seed is None else int(self.seed)
        generator = torch.Generator().manual_seed(seed)
        n = self.num_images or self.images
        pairs = context.evaluation_pairs(self.split, n) if self.against == "truth" else {}
        metrics: dict[str, float] = {}
        for task in context.select_tasks(self.tasks, self.guidance, "metric lpips"):
            for src in task.sources(context.domains):
                if self.against == "truth":
                    if (src, task.target) not in pairs:
                        continue
                    inputs, truth = (s.limit(self.num_images) for s in pairs[(src, task.target)])
                else:
                    inputs = truth = context.image_set(self.split, src, n).limit(self.num_images)
                distances = []
                for x, y in zip(inputs.batches(self.batch_size), truth.batches(self.batch_size)):
                    guide = {"z": torch.randn(x.shape[0], task.latent_dim, generator=generator)} if task.guidance == "latent" else {}
                    distances.append(lpips_distance(context.run(task, x, **guide), y, model=model))
                metrics[f"LPIPS_{self.against}/{task_label(task, src)}"] = float(torch.cat(distances).mean())
                context.report.counts[f"lpips/{task_label(task, src)}"] = len(inputs)
        if not metrics:
            offered = ", ".join(f"{s}2{t}" for s, t in pairs) or "none"
            raise ConfigError(f"metric lpips: no selected task has ground truth in this data set (pairs offered: {offered}); "
                              "use against=source")
        return metrics


@METRICS.register("lpips_diversity")
class LPIPSDiversity:
    """The diversity of Choi et al. (2020): for each source image, ``num_outs`` outputs of a guided task; the mean
    LPIPS over their pairs, averaged per batch of sources, then over the batches. Keys
    ``LPIPS_<guidance>/<src>2<trg>`` (and ``.../mean`` with ``mean``); codes and references are drawn
    as the ``fid`` metric draws them, so both see the same outputs for the same ``seed``."""

    def __init__(self, tasks: Sequence[str] = ("*",), guidance: Sequence[str] = ("latent", "reference"),
                 source_split: str = "test", num_images: int | None = None, images: int = 100, num_outs: int = 10,
                 lpips: bool | str = True, weights: str | None = None, mean: bool = False, batch_size: int = 32,
                 seed: int | None = None) -> None:
        self.tasks, self.guidance, self.source_split = list(tasks), list(guidance), source_split
        self.num_images, self.images, self.num_outs = num_images, images, int(num_outs)
        self.lpips, self.weights, self.mean, self.batch_size, self.seed = lpips, weights, bool(mean), int(batch_size), seed
        if self.num_outs < 2:
            raise ConfigError(f"lpips_diversity needs at least two outputs per input, got num_outs={num_outs}")

    def __call__(self, context: Any) -> dict[str, float]:
        from gancraft.evaluation.context import guided_outputs, reference_stream, task_label

        model = optional_lpips(self.lpips, self.weights, context.device, context.report)
        if model is None:
            return {}
        seed = context.seed if self.seed is None else int(self.seed)
        selected = context.select_tasks(self.tasks, self.guidance, "metric lpips_diversity")
        metrics: dict[str, float] = {}

        def sources(domain: str) -> Any:
            return context.image_set(self.source_split, domain, self.num_images or self.images).limit(self.num_images)

        for guidance in dict.fromkeys(t.guidance for t in selected):
            generator = torch.Generator().manual_seed(seed)
            streams: dict[str, Any] = {}
            table: dict[str, float] = {}
            for task in (t for t in selected if t.guidance == guidance):
                if task.target not in streams:
                    streams[task.target] = reference_stream(sources(task.target), self.batch_size, seed)
                for src in task.sources(context.domains):
                    outputs = guided_outputs(context, task, sources(src), num_outs=self.num_outs, batch_size=self.batch_size,
                                             generator=generator, references=lambda t=task.target: streams[t])
                    per_batch = [lpips_diversity(group, model=model) for group in outputs]
                    table[task_label(task, src)] = float(np.mean(per_batch))  # over batches, as the paper's code
            if self.mean and table:
                table["mean"] = float(np.mean(list(table.values())))
            metrics.update({f"LPIPS_{guidance}/{label}": v for label, v in table.items()})
        return metrics
