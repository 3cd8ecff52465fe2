"""Process-group set-up for torchrun, and the few collectives the trainer uses.

Run ``torchrun --nproc_per_node=N -m gancraft train recipe=...``: torchrun sets
``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` and the rendezvous address; one process
alone needs nothing.

Gradients are averaged over ranks by :class:`GradientAllReduce`, an explicit,
bucketed all-reduce that runs just before each optimizer step, instead of wrapping
each network in ``DistributedDataParallel``. A GAN step breaks DDP's assumptions:
the discriminator is frozen (``requires_grad=False``) while the generator's loss
back-propagates through it, networks run several forward passes per backward
(CycleGAN's translation, reconstruction and identity passes), and R1 needs
``autograd.grad(create_graph=True)``, which DDP does not support. Reducing the
gradients of exactly the parameters an optimizer is about to update is correct in
all of these cases, and costs one collective per bucket per update
(docs/performance.md explains the trade-off).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

#: gradients are flattened into buckets of about this many bytes per all-reduce
BUCKET_BYTES = 25 * 1024 * 1024


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


def init_distributed(device_kind: str = "auto", timeout_s: float = 1800.0) -> DistributedContext:
    """Join the torchrun process group when there is one (NCCL on CUDA, gloo on the CPU).

    Multi-node runs use torchrun's rendezvous (``--nnodes``, ``--rdzv-endpoint``); this
    function only reads the environment torchrun sets.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and not device_kind.startswith("cpu")
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=datetime.timedelta(seconds=timeout_s))
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


def broadcast_module(module: nn.Module, ctx: DistributedContext, src: int = 0) -> None:
    """Copy rank ``src``'s parameters and buffers to every rank (start all replicas equal)."""
    if not ctx.enabled:
        return
    tensors = [t for t in (*module.parameters(), *module.buffers())]
    for bucket in _buckets(tensors):
        flat = torch.cat([t.detach().reshape(-1) for t in bucket])
        dist.broadcast(flat, src)
        _unflatten_into(flat, bucket, lambda t: t.data)


def _buckets(tensors: Iterable[torch.Tensor], bucket_bytes: int = BUCKET_BYTES) -> list[list[torch.Tensor]]:
    """Group tensors by (device, dtype), in order, into buckets of about ``bucket_bytes``."""
    groups: dict[tuple[torch.device, torch.dtype], list[list[torch.Tensor]]] = {}
    sizes: dict[tuple[torch.device, torch.dtype], int] = {}
    for t in tensors:
        key = (t.device, t.dtype)
        nbytes = t.numel() * t.element_size()
        if key not in groups or sizes[key] + nbytes > bucket_bytes and groups[key][-1]:
            groups.setdefault(key, []).append([])
            sizes[key] = 0
        groups[key][-1].append(t)
        sizes[key] += nbytes
    return [bucket for buckets in groups.values() for bucket in buckets if bucket]


def _unflatten_into(flat: torch.Tensor, bucket: list[torch.Tensor], target) -> None:
    offset = 0
    for t in bucket:
        n = t.numel()
        target(t).copy_(flat[offset : offset + n].view_as(t))
        offset += n


def all_reduce_gradients(params: Iterable[torch.Tensor], ctx: DistributedContext, bucket_bytes: int = BUCKET_BYTES) -> int:
    """Average ``.grad`` of ``params`` over ranks, in place; returns the number of collectives.

    Parameters without a gradient are skipped: which ones have none is decided by the
    model's code (a frozen network, a detached input), the same on every rank.
    Buckets are reduced asynchronously, all in flight at once, then waited for.
    """
    if not ctx.enabled:
        return 0
    grads = [p.grad for p in params if p.grad is not None]
    pending = []
    for bucket in _buckets(grads, bucket_bytes):
        flat = torch.cat([g.reshape(-1) for g in bucket]) if len(bucket) > 1 else bucket[0].reshape(-1).clone()
        pending.append((dist.all_reduce(flat, op=dist.ReduceOp.SUM, async_op=True), flat, bucket))
    for work, flat, bucket in pending:
        work.wait()
        flat.div_(ctx.world_size)
        _unflatten_into(flat, bucket, lambda g: g)
    return len(pending)


class GradientAllReduce:
    """Called by :meth:`Precision.step` before each optimizer step: averages that
    optimizer's gradients over ranks."""

    def __init__(self, ctx: DistributedContext, bucket_bytes: int = BUCKET_BYTES) -> None:
        self.ctx, self.bucket_bytes = ctx, bucket_bytes
        self.collectives = 0

    def __call__(self, optimizer: torch.optim.Optimizer) -> None:
        params = (p for group in optimizer.param_groups for p in group["params"])
        self.collectives += all_reduce_gradients(params, self.ctx, self.bucket_bytes)
