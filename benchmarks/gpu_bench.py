"""The measurements behind ``benchmarks/gpu.sh``; writes one JSON file.

On a GPU: CycleGAN (the recipe's networks) at 256 px, batch 1 and 16, in fp32 eager
and in the fast configuration (bf16 autocast, channels_last, torch.compile), with
steps/s, images/s, peak memory and the speed-up; and StarGAN v2's peak memory at
256 px, batch 8 (reference architecture), in fp32 and bf16, without and with activation
checkpointing (``model.checkpoint_activations``).

Without a GPU (or with ``--cpu``): the same code path at tiny sizes, so that CI can
check the script still runs (numbers from it mean nothing).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

CONFIGS = {
    "fp32_eager": {"precision": "fp32", "channels_last": False, "compile": False},
    "fast": {"precision": "bf16", "channels_last": True, "compile": True},
}


def _free(device: str) -> None:
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_gib(device: str) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None


def cyclegan_case(size: int, batch: int, config: dict[str, Any], device: str, steps: int, warmup: int, arch: dict[str, int]) -> dict[str, Any]:
    _free(device)
    torch._dynamo.reset()
    model = harness.cyclegan(size, device=device, **config, **arch)
    data = harness.cyclegan_batch(size, batch, device=device, channels_last=config["channels_last"])
    start = time.perf_counter()
    harness.time_calls(lambda: model.train_step(data, 0), repeat=0, warmup=warmup, device=device)
    warm_s = time.perf_counter() - start
    times = harness.time_calls(lambda: model.train_step(data, 0), repeat=steps, warmup=0, device=device)
    s = harness.summary(times)
    compiled_ok = all(not getattr(model.networks()[n], "failed", False) for n in model.trainable)
    return {**config, "size": size, "batch": batch, "steps_per_s": 1 / s["median_s"], "images_per_s": batch / s["median_s"],
            "step_s_median": s["median_s"], "step_s_best": s["best_s"], "warmup_s": warm_s, "compiled": config["compile"] and compiled_ok,
            "peak_memory_gib": _peak_gib(device)}


def stargan_case(size: int, batch: int, precision: str, device: str, steps: int, arch: dict[str, int],
                 checkpoint: bool = False) -> dict[str, Any]:
    _free(device)
    model = harness.stargan_v2(size, device=device, precision=precision, checkpoint_activations=checkpoint, **arch)
    data = harness.stargan_batch(size, batch, device=device)
    times = harness.time_calls(lambda: model.train_step(data, 0), repeat=steps, warmup=1, device=device)
    peak = _peak_gib(device)
    return {"precision": precision, "checkpoint_activations": checkpoint, "size": size, "batch": batch, "step_s_median": harness.summary(times)["median_s"],
            "peak_memory_gib": peak, "fits_16gb": None if peak is None else peak < 16 * 1e9 / 2**30}


def _guarded(results: list, fn, *args) -> None:
    try:
        results.append(fn(*args))
    except Exception as err:  # an out-of-memory or compile failure is a result too
        results.append({"args": repr(args[:3]), "error": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"})
        traceback.print_exc()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(harness.RESULTS / "gpu.json"))
    parser.add_argument("--cpu", action="store_true", help="the tiny CPU path (what CI runs)")
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args(argv)
    gpu = torch.cuda.is_available() and not args.cpu
    device = "cuda" if gpu else "cpu"
    if gpu:
        size, batches, steps, warmup = 256, (1, 16), args.steps or 10, 3
        arch: dict[str, int] = {}
        sg = {"size": 256, "batch": 8, "arch": {}}
        configs = CONFIGS
    else:
        size, batches, steps, warmup = 32, (1, 2), args.steps or 1, 1
        arch = {"ngf": 8, "n_blocks": 2, "ndf": 8}
        sg = {"size": 32, "batch": 2, "arch": {"hidden_dim": 32, "max_conv_dim": 32, "base_dim": 8, "style_dim": 16, "latent_dim": 8}}
        # torch.compile on the CPU needs minutes of C++ compilation: the smoke path checks the rest
        configs = {name: {**c, "compile": False} for name, c in CONFIGS.items()}
    report: dict[str, Any] = {"device": device, "machine": harness.machine(), "cyclegan": [], "stargan_v2": []}
    if gpu:
        report["matmul_flops_per_s"] = {"fp32": harness.matmul_flops_per_s(device, torch.float32, (4096, 8192))["best"],
                                        "bf16": harness.matmul_flops_per_s(device, torch.bfloat16, (4096, 8192))["best"]}
    for batch in batches:
        for name, config in configs.items():
            _guarded(report["cyclegan"], cyclegan_case, size, batch, config, device, steps, warmup, arch)
            report["cyclegan"][-1]["config"] = name
            print(report["cyclegan"][-1], flush=True)
    speedups = {}
    for batch in batches:
        rows = {r["config"]: r for r in report["cyclegan"] if r.get("batch") == batch and "error" not in r}
        if {"fp32_eager", "fast"} <= set(rows):
            speedups[f"batch_{batch}"] = rows["fast"]["steps_per_s"] / rows["fp32_eager"]["steps_per_s"]
    report["speedup_fast_over_fp32_eager"] = speedups
    if "stargan_v2" in harness.MODELS:
        for checkpoint in (False, True):  # activation checkpointing: the memory it saves, the time it costs
            for precision in ("fp32", "bf16"):
                _guarded(report["stargan_v2"], stargan_case, sg["size"], sg["batch"], precision, device, 2 if gpu else 1, sg["arch"], checkpoint)
                print(report["stargan_v2"][-1], flush=True)
    path = harness.write_json(args.out, report)
    print(f"speed-up of the fast configuration over fp32 eager: {speedups}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
