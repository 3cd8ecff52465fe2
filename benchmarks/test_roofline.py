"""The roofline figure: a CycleGAN training step's FLOP/s as a share of the machine's
matmul FLOP/s, both measured in the same run.

The step is the recipe's (ResNet-9 generator, ngf 64, 70x70 PatchGAN, BCE, pool 50) at
128 px, batch 1, fp32: about 470 GFLOP, counted by ``torch.utils.flop_counter``
(convolutions and matrix products, forward and backward). The matmul rate is the best
square fp32 product of 1024, 2048 and 4096, measured in every round.

Variants run interleaved, one step each per round, with a matmul measurement in every
round, so that a machine shared with other work slows them all alike. The share uses
the best step time and the best matmul rate of the run (a conservative denominator),
and the *reference* FLOP count (gancraft's batched passes compute a sliver more:
input gradients of the first convolution for real images that ride along in a batch).

Results go to ``results/roofline_cpu_<N>threads.json`` and pytest-benchmark's JSON.
``ROOFLINE_ROUNDS`` (default 4), ``ROOFLINE_THREADS`` (default: torch's own, one per
core) and ``ROOFLINE_VARIANTS=reference,gancraft,gancraft_cl`` (the default; add
``gancraft_compiled`` for ``trainer.compile=true``, which takes minutes to compile) change the run.
"""

from __future__ import annotations

import os
import time

import torch

import harness

SIZE, BATCH = 128, 1
ROUNDS = int(os.environ.get("ROOFLINE_ROUNDS", "4"))
VARIANTS = {
    "reference": {"batch_passes": False, "channels_last": False, "fused_adam": False},  # six generator calls, foreach Adam
    "gancraft": {"batch_passes": True, "channels_last": False, "fused_adam": True},  # the default
    "gancraft_cl": {"batch_passes": True, "channels_last": True, "fused_adam": True},  # trainer.channels_last=true
    # trainer.compile=true: inductor fuses norms, activations and pads (minutes to compile; opt-in)
    "gancraft_compiled": {"batch_passes": True, "channels_last": False, "fused_adam": True, "compile": True},
}
DEFAULT_VARIANTS = "reference,gancraft,gancraft_cl"
WANTED = [v for v in os.environ.get("ROOFLINE_VARIANTS", DEFAULT_VARIANTS).split(",") if v in VARIANTS]
if os.environ.get("ROOFLINE_THREADS"):
    torch.set_num_threads(int(os.environ["ROOFLINE_THREADS"]))


def test_cyclegan_step_share_of_matmul(benchmark) -> None:
    runs = {}
    for name in WANTED:
        model = harness.cyclegan(SIZE, **VARIANTS[name])
        batch = harness.cyclegan_batch(SIZE, BATCH, channels_last=VARIANTS[name]["channels_last"])
        if VARIANTS[name].get("compile"):
            model.train_step(batch, 0)  # compiles; the flop counter cannot see inside compiled kernels
        flops = harness.count_flops(lambda: model.train_step(batch, 0))  # also the warm-up step
        runs[name] = {"model": model, "batch": batch, "flops": flops, "times": []}
    matmul: list[dict[str, float]] = []

    def one_round() -> None:
        matmul.append(harness.matmul_flops_per_s(repeat=2))
        for run in runs.values():
            start = time.perf_counter()
            run["model"].train_step(run["batch"], 0)
            run["times"].append(time.perf_counter() - start)

    benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=0)
    best_mm = max(m["best"] for m in matmul)
    reference_flops = runs.get("reference", next(iter(runs.values())))["flops"]
    results = {}
    for name, run in runs.items():
        s = harness.summary(run["times"])
        results[name] = {**VARIANTS[name], "gflop_counted": run["flops"] / 1e9, "step_s": run["times"], "step_s_best": s["best_s"],
                         "step_s_median": s["median_s"], "steps_per_s_best": 1 / s["best_s"],
                         "share_of_matmul_best": reference_flops / s["best_s"] / best_mm,
                         "share_of_matmul_median": reference_flops / s["median_s"] / best_mm}
    report = {"step": {"model": "cyclegan resnet_9blocks ngf64 + patchgan ndf64, bce, pool 50", "size": SIZE, "batch": BATCH,
                       "precision": "fp32", "gflop_per_step": reference_flops / 1e9},
              "matmul_gflop_per_s_best": best_mm / 1e9, "matmul_gflop_per_s_rounds": [m["best"] / 1e9 for m in matmul],
              "machine": harness.machine(), "variants": results}
    path = harness.write_json(harness.RESULTS / f"roofline_cpu_{torch.get_num_threads()}threads.json", report)
    benchmark.extra_info.update({f"{n}_share_of_matmul_best": r["share_of_matmul_best"] for n, r in results.items()})
    benchmark.extra_info.update({f"{n}_step_s_best": r["step_s_best"] for n, r in results.items()})
    benchmark.extra_info.update({"matmul_gflop_per_s_best": best_mm / 1e9, "threads": torch.get_num_threads()})
    print(f"\n{torch.get_num_threads()} threads, matmul best {best_mm / 1e9:.1f} GFLOP/s, {reference_flops / 1e9:.1f} GFLOP/step; {path}")
    for name, r in results.items():
        print(f"  {name}: {r['step_s_best']:.2f} s/step best ({r['step_s_median']:.2f} median): "
              f"{100 * r['share_of_matmul_best']:.1f} % of matmul (median {100 * r['share_of_matmul_median']:.1f} %)")
    assert 400e9 < reference_flops < 550e9  # the step the issue sizes (~470 GFLOP)
