"""Training steps per second on synthetic batches (the model alone; loading is measured
in test_data_loading.py).

CycleGAN: the recipe's networks (ResNet-9, ngf 64, 70x70 PatchGAN), batch 1, at 64,
128 and 256 px; ``reference`` runs the six generator passes one by one and steps
PyTorch's default (foreach) Adam, as the reference implementation does; ``gancraft``
batches the passes and uses the fused Adam kernel (the defaults). StarGAN v2:
the reference architecture at 64 and 128 px, batch 8 (its recipe's batch); slow on a
CPU, deselect it with ``-k "not stargan"``.
"""

from __future__ import annotations

import pytest

import harness

ROUNDS = {64: 5, 128: 3, 256: 1}


@pytest.mark.parametrize("size", [64, 128, 256])
@pytest.mark.parametrize("variant", ["reference", "gancraft"])
def test_cyclegan_train_step(benchmark, rate, size: int, variant: str) -> None:
    if size == 256 and variant == "reference":
        pytest.skip("256 px: one variant is enough on a CPU")
    model = harness.cyclegan(size, batch_passes=variant == "gancraft", fused_adam=variant == "gancraft")
    batch = harness.cyclegan_batch(size, 1)
    logs = benchmark.pedantic(model.train_step, args=(batch, 0), rounds=ROUNDS[size], warmup_rounds=1)
    assert set(logs) >= {"G_A", "D_A", "cycle_A", "idt_A"}
    rate(benchmark, 1, "steps_per_s", size=size, batch=1, variant=variant)


@pytest.mark.parametrize("size", [64, 128])
def test_stargan_v2_train_step(benchmark, rate, size: int) -> None:
    pytest.importorskip("gancraft.models.stargan_v2")
    model = harness.stargan_v2(size)
    batch = harness.stargan_batch(size, 8)
    # minutes per step on a 2-core CPU: one warm-up and one timed step
    logs = benchmark.pedantic(model.train_step, args=(batch, 0), rounds=1, warmup_rounds=1)
    assert logs
    rate(benchmark, 1, "steps_per_s", size=size, batch=8)
