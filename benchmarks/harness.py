"""Shared pieces of the benchmarks and of ``gpu.sh``: models at a given size, synthetic
batches, timing with device syncs, FLOP counting and the machine's matmul FLOP/s.

Synthetic tensors are used for model speed (the data path is measured on its own in
``test_data_loading.py``), so that a step's time is the model's alone.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

import gancraft.components  # noqa: F401  (fills the registries)
from gancraft.engine.acceleration import prepare_networks
from gancraft.core.distributed import DistributedContext
from gancraft.core.precision import Precision
from gancraft.engine.trainer import TrainerConfig
from gancraft.models.base import GANModel
from gancraft.core.registry import MODELS

RESULTS = Path(__file__).resolve().parent / "results"


def sync(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def cyclegan(size: int, *, ngf: int = 64, n_blocks: int = 9, ndf: int = 64, device: str = "cpu", precision: str = "fp32",
             channels_last: bool = False, compile: bool = False, batch_passes: bool | None = None, fused_adam: bool = True,
             seed: int = 0) -> GANModel:
    """The recipe's CycleGAN (ResNet-9, 70x70 PatchGAN, BCE, pool 50), set up for training.
    ``batch_passes=False, fused_adam=False`` is the reference's step."""
    torch.manual_seed(seed)
    model = MODELS.build("cyclegan", generator={"name": "resnet_generator", "ngf": ngf, "n_blocks": n_blocks},
                         discriminator={"name": "patchgan_discriminator", "ndf": ndf}, gan_loss="bce")
    if batch_passes is not None:
        model._batch_passes = batch_passes  # False: the reference's six separate generator calls
    model = _setup(model, device, precision, channels_last, compile)
    if not fused_adam:  # the reference's optimizer: PyTorch's default Adam (foreach), not the fused kernel
        for name, opt in model.optimizers.items():
            group = opt.param_groups[0]
            model.optimizers[name] = torch.optim.Adam(group["params"], lr=group["lr"], betas=group["betas"])
    return model


def stargan_v2(size: int, *, device: str = "cpu", precision: str = "fp32", channels_last: bool = False, compile: bool = False,
               domains: int = 3, seed: int = 0, **arch: Any) -> GANModel:
    """StarGAN v2 with the reference architecture at ``size`` (``arch`` may thin it)."""
    torch.manual_seed(seed)
    model = MODELS.build("stargan_v2", domains=[f"d{i}" for i in range(domains)], img_size=size, **arch)
    return _setup(model, device, precision, channels_last, compile)


def _setup(model: GANModel, device: str, precision: str, channels_last: bool, compile: bool) -> GANModel:
    dev = torch.device(device)
    model = model.to(dev)
    model.setup(10**6, 10**6, Precision(precision, dev))
    prepare_networks(model, TrainerConfig(max_steps=1, channels_last=channels_last, compile=compile), DistributedContext(), dev)
    model.train()
    return model


def cyclegan_batch(size: int, batch: int, device: str = "cpu", channels_last: bool = False) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(size * 1000 + batch)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    make = lambda: (torch.rand(batch, 3, size, size, generator=g) * 2 - 1).to(device).contiguous(memory_format=fmt)  # noqa: E731
    return {"A": make(), "B": make()}


def stargan_batch(size: int, batch: int, domains: int = 3, device: str = "cpu", channels_last: bool = False) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(size * 1000 + batch)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    image = lambda: (torch.rand(batch, 3, size, size, generator=g) * 2 - 1).to(device).contiguous(memory_format=fmt)  # noqa: E731
    label = lambda: torch.randint(0, domains, (batch,), generator=g).to(device)  # noqa: E731
    return {"image": image(), "label": label(), "ref": image(), "ref2": image(), "ref_label": label()}


def time_calls(fn: Callable[[], Any], repeat: int, warmup: int = 1, device: str = "cpu") -> list[float]:
    """Seconds per call of ``fn``, ``repeat`` times after ``warmup`` calls (device-synced)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return times


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of one call of ``fn`` as ``torch.utils.flop_counter`` counts them (convolutions
    and matrix products, forward and backward: the work that the roofline compares)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def matmul_flops_per_s(device: str = "cpu", dtype: torch.dtype = torch.float32, sizes: tuple[int, ...] = (1024, 2048, 4096),
                       repeat: int = 3) -> dict[str, float]:
    """The machine's measured matmul rate: the best over a few square sizes and repeats.

    Taking the best (not a typical) rate makes the roofline share conservative."""
    rates = {}
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        reps = max(1, int(2 * 1024**3 // n**3))  # about as much work per timing at every size
        best = min(time_calls(lambda: [a @ b for _ in range(reps)], repeat=repeat, device=device))
        rates[str(n)] = 2 * n**3 * reps / best
    return {"best": max(rates.values()), **{f"n{k}": v for k, v in rates.items()}}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version()}
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
        info["cpu"] = model
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    try:
        info["load_avg_1m"] = float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def summary(times: list[float]) -> dict[str, float]:
    return {"best_s": min(times), "median_s": statistics.median(times), "n": len(times)}


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path
