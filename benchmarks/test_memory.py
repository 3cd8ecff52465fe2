"""Estimated peak training memory of StarGAN v2 at the reference's 256 px architecture, batch 8,
without a GPU: does it fit a 16 GiB card?

Each phase of a step (two discriminator updates, two generator updates) runs under
``FakeTensorMode`` (shapes and dtypes, no data, no compute) while
:mod:`gancraft.engine.memory` counts the bytes autograd saves for backward; weights
(the 4 trained networks and the 3 EMA copies), gradients and Adam's two moments are
counted from the parameters. bf16 uses the CPU's autocast (no CUDA here): convolutions
and linear layers run in bf16 as on a GPU. With activation checkpointing the largest
single block's activations, recomputed during its own backward, are added.

The verdict adds a margin for what the count leaves out (see ``MARGIN``); a measured
peak on a GPU is ``benchmarks/gpu.sh``'s ``stargan_v2`` rows. Writes
``results/memory_stargan_v2_256px.json``. Run:
``pytest benchmarks/test_memory.py --benchmark-enable -s``.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode

import harness
from gancraft.engine.memory import GiB, MemoryEstimate, SavedTensorTracker, optimizer_bytes, parameter_bytes
from gancraft.core.precision import Precision
from gancraft.models.stargan_v2 import StarGANv2
from gancraft.networks.stargan_v2 import AdainResBlk, ResBlk

SIZE, BATCH = 256, 8
DOMAINS = ["no_glasses", "round", "rectangular", "cat_eye", "aviator"]  # the recipe's five
BUDGET = 16 * GiB
#: CUDA context (~0.5 GiB) + cuDNN/cuBLAS workspaces (~0.5 GiB), and 20 % of the activations for
#: the caching allocator's rounding and fragmentation and per-op temporaries (activation gradients)
MARGIN = {"fixed": GiB, "relative": 0.2}


def _phases(model: StarGANv2, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
    x, y, y_trg = batch["image"], batch["label"], batch["ref_label"]
    z, z2 = (torch.randn(x.shape[0], model.latent_dim) for _ in range(2))
    return {
        "D/latent": lambda: model._d_step(x, y, y_trg, z=z),
        "D/ref": lambda: model._d_step(x, y, y_trg, x_ref=batch["ref"]),
        "G/latent": lambda: model._g_step(x, y, y_trg, 1.0, zs=(z, z2)),
        "G/ref": lambda: model._g_step(x, y, y_trg, 1.0, x_refs=(batch["ref"], batch["ref2"])),
    }


def _largest_block(model: StarGANv2, fn, exclude: list[torch.Tensor]) -> int:
    """The most bytes one residual block saves, run without checkpointing: what a checkpointed
    block rebuilds during its backward, on top of everything else still held."""
    nets = [model.generator, model.style_encoder, model.discriminator]
    tracker = SavedTensorTracker(exclude)
    sizes, handles, start = [0], [], {}
    for block in (m for net in nets for m in net.modules() if isinstance(m, (ResBlk, AdainResBlk))):
        handles.append(block.register_forward_pre_hook(lambda m, a: start.__setitem__(m, tracker.total)))
        handles.append(block.register_forward_hook(lambda m, a, o: sizes.append(tracker.total - start[m])))
    flags = [net.checkpoint_activations for net in nets]
    try:
        for net in nets:
            net.checkpoint_activations = False
        with tracker:
            fn()
    finally:
        for net, flag in zip(nets, flags):
            net.checkpoint_activations = flag
        for h in handles:
            h.remove()
    return max(sizes)


def measure(precision: str, checkpoint: bool, batch: int = BATCH, fake: bool = True) -> tuple[int, int, dict[str, dict[str, Any]]]:
    """Weight bytes, gradient + Adam bytes, and per phase the peak saved bytes (``saved``), the
    largest block's (``recompute``, with checkpointing) and the saved bytes by dtype."""
    with FakeTensorMode() if fake else contextlib.nullcontext(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Accessing the data pointer of FakeTensor")  # deepcopy of the EMA nets
        torch.manual_seed(0)
        model = StarGANv2(domains=DOMAINS, img_size=SIZE, checkpoint_activations=checkpoint)
        model.setup(1, 1, Precision(precision))
        model.train()
        data = harness.stargan_batch(SIZE, batch, domains=len(DOMAINS))
        nets = model.networks()
        params = [t for net in nets.values() for t in [*net.parameters(), *net.buffers()]]
        phases = {}
        for name, fn in _phases(model, data).items():
            with SavedTensorTracker(params) as tracker:
                fn()
            phases[name] = {"saved": tracker.peak, "recompute": _largest_block(model, fn, params) if checkpoint else 0,
                            "by_dtype": dict(tracker.by_dtype)}
        trained: list[nn.Module] = [nets[n] for n in ("generator", "mapping_network", "style_encoder", "discriminator")]
        return parameter_bytes(nets.values()), optimizer_bytes(trained), phases


def estimate(precision: str, checkpoint: bool) -> dict[str, Any]:
    """The heaviest phase's :class:`MemoryEstimate` (as a dict, with every phase's numbers).

    Fake tensors at batch 8; if fake tensors cannot run some op, real CPU tensors at batch 1
    and 2, extrapolated per phase to batch 8 (saved bytes are affine in the batch: bf16
    weight copies do not grow with it)."""
    try:
        weights, optim, phases = measure(precision, checkpoint)
        tensors, note = "fake", None
    except Exception as err:  # noqa: BLE001 - any op FakeTensorMode cannot run
        (weights, optim, one), (_, _, two) = (measure(precision, checkpoint, batch=b, fake=False) for b in (1, 2))
        phases = {name: {key: one[name][key] + (BATCH - 1) * (two[name][key] - one[name][key]) for key in ("saved", "recompute")}
                  for name in one}
        tensors, note = "real CPU, batch 1 and 2, extrapolated to 8", f"{type(err).__name__}: {err}"[:300]
    heaviest = max(phases, key=lambda n: phases[n]["saved"] + phases[n]["recompute"])
    est = MemoryEstimate(weights, optim, phases[heaviest]["saved"], phases[heaviest]["recompute"], scaled_from_batch=None if note is None else 2)
    rows = {name: {"saved_gib": p["saved"] / GiB, "recompute_gib": p["recompute"] / GiB,
                   **({"by_dtype_gib": {k: v / GiB for k, v in p["by_dtype"].items()}} if "by_dtype" in p else {})}
            for name, p in phases.items()}
    out = {"precision": precision, "checkpoint_activations": checkpoint, "heaviest_phase": heaviest, "tensors": tensors,
           **est.as_dict(BUDGET, **MARGIN), "phases": rows}
    if note:
        out["fake_tensor_error"] = note
    return out


def test_stargan_v2_256px_batch8_training_memory(benchmark) -> None:
    rows: list[dict[str, Any]] = []

    def run() -> None:
        rows.clear()
        rows.extend(estimate(p, c) for p in ("fp32", "bf16") for c in (False, True))

    benchmark.pedantic(run, rounds=1, iterations=1)
    table = {(r["precision"], r["checkpoint_activations"]): r for r in rows}
    for r in rows:
        benchmark.extra_info[f"{r['precision']}{'_ckpt' if r['checkpoint_activations'] else ''}_gib"] = round(r["with_margin_gib"], 2)
        print(f"\n{r['precision']:5} checkpoint={r['checkpoint_activations']!s:5} {r['heaviest_phase']:8} "
              f"weights {r['weights_gib']:.2f} + grads/Adam {r['gradients_and_adam_gib']:.2f} + activations "
              f"{r['activations_gib']:.2f} + recompute {r['recompute_gib']:.2f} = {r['total_gib']:.2f} GiB; "
              f"with margin {r['with_margin_gib']:.2f} GiB: fits 16 GiB: {r['fits']}", end="")
    harness.write_json(harness.RESULTS / "memory_stargan_v2_256px.json", {
        "model": f"stargan_v2, reference architecture, {SIZE} px, batch {BATCH}, {len(DOMAINS)} domains",
        "method": "saved-for-backward bytes under FakeTensorMode (gancraft.engine.memory) + weights, gradients, Adam moments",
        "autocast": "CPU autocast policy for bf16 (no CUDA here)",
        "leaves_out": "CUDA context, cuDNN/cuBLAS workspaces, allocator fragmentation, per-op temporaries: covered by the margin",
        "budget_gib": BUDGET / GiB, "margin": rows[0]["margin"], "machine": harness.machine(), "estimates": rows,
    })
    # checkpointing and bf16 must each cut the activations, and the recipe must fit with one of them
    assert table["fp32", True]["activations_gib"] < 0.5 * table["fp32", False]["activations_gib"]
    assert table["bf16", False]["activations_gib"] < 0.6 * table["fp32", False]["activations_gib"]
    assert table["bf16", False]["fits"] and table["bf16", True]["fits"] and table["fp32", True]["fits"]
    assert all(r["heaviest_phase"].startswith("G/") for r in rows)

