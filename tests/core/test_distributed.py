"""Multi-process training on the CPU (gloo): 2 ranks x batch b == 1 rank x batch 2b."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gancraft.core import checkpoint as ckpt
from gancraft.core.distributed import DistributedContext, GradientAllReduce, _buckets, all_reduce_gradients
from gancraft.core.precision import Precision
from gancraft.engine.run import build_trainer
from gancraft.networks.patchgan import PatchDiscriminator
from gancraft.networks.resnet_generator import ResnetGenerator
from gancraft.recipes import compose_recipe

TINY = [
    "data.load_size=36",
    "data.crop_size=32",
    "model.generator.ngf=4",
    "model.generator.n_blocks=1",
    "model.discriminator.ndf=4",
    "model.pool_size=0",  # the history pool is per rank by nature: off, so the maths is per sample
    "trainer.epochs=null",
    "trainer.max_steps=4",  # 12 images, global batch 4: crosses an epoch boundary
    "trainer.num_workers=0",
    "trainer.progress=false",
    "trainer.device=cpu",
    "trainer.precision=fp32",
    "trainer.sample_every=0",
]


def launch(args: list[str], world: int = 2, timeout: float = 120) -> None:
    """Start ``world`` ranks of ``python ARGS`` the way torchrun does (RANK, WORLD_SIZE,
    MASTER_ADDR/PORT in the environment) and wait for them all.

    (Not torchrun itself: its agent-hosted store makes a worker abort at exit now and
    then on gloo, after all work is done; that launcher detail is not under test.)
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world)}
    procs = [subprocess.Popen([sys.executable, *args], env={**base, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(world)]
    results = [p.communicate(timeout=timeout) + (p.returncode,) for p in procs]
    for rank, (_, err, code) in enumerate(results):
        assert code == 0, f"rank {rank} failed:\n{err[-3000:]}"


def _outputs(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What the trained networks compute on a fixed input."""
    x = torch.linspace(-1, 1, 3 * 32 * 32).reshape(1, 3, 32, 32)
    out = {}
    for name in ("G_A", "G_B", "D_A", "D_B"):
        net = ResnetGenerator(ngf=4, n_blocks=1) if name.startswith("G") else PatchDiscriminator(ndf=4)
        net.load_state_dict({k.split(".", 1)[1]: v for k, v in weights.items() if k.startswith(name + ".")})
        with torch.no_grad():
            out[name] = net(x)
    return out


def test_two_ranks_match_one_rank_with_the_double_batch(toy_root: Path, tmp_path: Path) -> None:
    overrides = ["recipe=cyclegan_glasses", "data=unpaired_folders", f"data.root={toy_root}", *TINY]
    launch(["-m", "gancraft", "train", *overrides, "trainer.batch_size=2", f"run_dir={tmp_path / 'two'}"])

    def single(batch: int, name: str) -> dict[str, torch.Tensor]:
        cfg = compose_recipe("cyclegan_glasses", [o for o in overrides if not o.startswith("recipe=")] + [f"trainer.batch_size={batch}", f"run_dir={tmp_path / name}"])
        return ckpt.load_weights(build_trainer(cfg).fit())

    one = single(4, "one")
    two = ckpt.load_weights(tmp_path / "two" / "checkpoints" / "step_00000004")
    assert one.keys() == two.keys()
    # Conv weights agree to float precision. (The biases of convs followed by instance
    # norm have a gradient that is zero in exact arithmetic; Adam turns its float noise
    # into +-lr steps, so they are compared through the networks' outputs instead.)
    for key in (k for k in one if k.endswith("weight")):
        torch.testing.assert_close(two[key], one[key], rtol=0, atol=1e-6, msg=key)
    outs_one, outs_two = _outputs(one), _outputs(two)
    for name in outs_one:
        torch.testing.assert_close(outs_two[name], outs_one[name], rtol=0, atol=2e-5, msg=name)
    # Control: a single rank with batch b (no reduction) is far off; the test can tell.
    half = _outputs(single(2, "half"))
    assert max((half[n] - outs_one[n]).abs().max().item() for n in half) > 1e-3


def test_buckets_group_by_dtype_in_order_and_respect_the_size() -> None:
    a, b, c = torch.zeros(10), torch.zeros(10), torch.zeros(3, dtype=torch.float64)
    d = torch.zeros(100)
    buckets = _buckets([a, c, b, d], bucket_bytes=80)
    assert [[t is x for t, x in zip(bk, ref)] for bk, ref in zip(buckets, [[a, b], [d], [c]])] == [[True, True], [True], [True]]


def test_single_process_reduction_is_a_no_op_and_precision_calls_the_sync() -> None:
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.full((3,), 2.0)
    assert all_reduce_gradients([p], DistributedContext()) == 0 and torch.equal(p.grad, torch.full((3,), 2.0))
    opt = torch.optim.SGD([p], lr=0.5)
    seen = []
    precision = Precision("fp32")
    precision.grad_sync = seen.append
    precision.step(opt)
    assert seen == [opt] and torch.equal(p.detach(), torch.zeros(3))
    assert GradientAllReduce(DistributedContext())(opt) is None


@pytest.mark.slow  # ~10 s of process start-up; the end-to-end test above covers the same path
def test_gradient_all_reduce_averages_over_gloo_ranks(tmp_path: Path, world: int = 2) -> None:
    """Each rank's gradient is its rank + 1; after the reduction every rank holds the mean.
    A parameter without a gradient (a frozen network) stays without one."""
    script = tmp_path / "worker.py"
    script.write_text(
        "import os, torch, torch.distributed as dist\n"
        "from gancraft.core.distributed import init_distributed, GradientAllReduce\n"
        "ctx = init_distributed('cpu')\n"
        "ps = [torch.nn.Parameter(torch.zeros(n)) for n in (5, 7, 300)] + [torch.nn.Parameter(torch.zeros(2))]\n"
        "for p in ps[:3]: p.grad = torch.full_like(p, ctx.rank + 1.0)\n"
        "sync = GradientAllReduce(ctx, bucket_bytes=64)\n"
        "sync(torch.optim.SGD(ps, lr=1.0))\n"
        f"mean = sum(range(1, {world} + 1)) / {world}\n"
        "assert all(torch.equal(p.grad, torch.full_like(p, mean)) for p in ps[:3]), [p.grad for p in ps]\n"
        "assert ps[3].grad is None and sync.collectives == 2\n"
        "dist.destroy_process_group()\n"
    )
    launch([str(script)], world=world, timeout=60)
