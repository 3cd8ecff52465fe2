"""Process-group set-up for torchrun, and the few collective helpers the trainer uses.

Run ``torchrun --nproc_per_node=N -m gancraft train recipe=...``: torchrun sets
``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; one process alone needs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_kind: str = "auto") -> DistributedContext:
    """Join the torchrun process group when there is one (NCCL on CUDA, gloo on the CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device_kind != "cpu"
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return DistributedContext(rank=rank, local_rank=local_rank, world_size=world_size)


def reduce_mean(values: dict[str, torch.Tensor], ctx: DistributedContext) -> dict[str, torch.Tensor]:
    """Average logged scalars over ranks (one collective for all of them)."""
    if not ctx.enabled or not values:
        return values
    names = sorted(values)
    stacked = torch.stack([values[n].float() for n in names])
    dist.all_reduce(stacked, op=dist.ReduceOp.SUM)
    stacked /= ctx.world_size
    return dict(zip(names, stacked.unbind()))


def barrier(ctx: DistributedContext) -> None:
    if ctx.enabled:
        dist.barrier()
