"""Training-memory accounting that needs no GPU.

The memory a training step holds at its peak is, to first order, (1) the tensors
autograd saves for backward, alive all at once when the forward pass ends, plus
(2) the weights, their gradients and the optimizer's state. (1) is measured here
with ``torch.autograd.graph.saved_tensors_hooks`` (each storage counted once, however
many ops save it), and it can be measured under
``torch._subclasses.fake_tensor.FakeTensorMode``, where tensors have shapes, dtypes
and strides but no data: a 256 px StarGAN v2 step at batch 8 is then accounted in
seconds and with no memory. (2) is counted from the parameters.

What this leaves out (a device's real peak is higher): the CUDA context (about
0.5 GiB), cuDNN/cuBLAS workspaces, the caching allocator's rounding and
fragmentation, temporaries that live within one op or one backward node (for
example the gradient of an activation while the next one is computed), and, with
activation checkpointing, the recomputed activations of the one block being
back-propagated. Add a margin before calling a budget "enough".
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

GiB = 2**30


def _storage_key(tensor: torch.Tensor) -> int:
    """An id of the tensor's storage (its StorageImpl), valid for real, meta and fake tensors."""
    return tensor.untyped_storage()._cdata


def _storage_bytes(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().nbytes()


@dataclass
class SavedTensors:
    """What :func:`saved_tensor_bytes` measured."""

    peak_bytes: int  #: the most bytes of distinct storages saved for backward alive at once
    total_bytes: int  #: bytes of every storage saved during the call, each counted once per time it became saved
    count: int  #: storages counted in ``total_bytes``
    by_dtype: dict[str, int]  #: ``total_bytes`` split by dtype (shows what autocast kept in fp32)
    result: Any = None  #: what the callable returned

    @property
    def peak_gib(self) -> float:
        return self.peak_bytes / GiB


class _Holder:
    """What the graph keeps instead of a saved tensor; its death means the graph let the tensor go."""

    __slots__ = ("tensor", "__weakref__")

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor


class SavedTensorTracker:
    """Context manager: counts the bytes autograd saves for backward while it is active.

    ``live`` (bytes saved and not yet released), ``peak`` and ``total`` can be read at
    any time, for example from module hooks, to attribute saves to a part of a network.
    Each storage counts once however many graph nodes save it (or views of it), for as
    long as any of them holds it: it stops counting when the graph that saved it is freed
    (after ``backward``, or when its outputs are dropped). ``exclude``: tensors whose
    storages are not counted (typically the parameters, accounted separately).
    """

    def __init__(self, exclude: Iterable[torch.Tensor] = ()) -> None:
        self.excluded = {_storage_key(t) for t in exclude}
        self.live = self.peak = self.total = self.count = 0
        self.by_dtype: dict[str, int] = {}
        self._refs: dict[int, int] = {}  # storage -> holders alive; a held storage cannot be freed, so its key stays unique
        self._sizes: dict[int, int] = {}
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)

    def _release(self, key: int) -> None:
        self._refs[key] -= 1
        if self._refs[key] == 0:  # no graph holds it: the key may be reused by a new storage
            del self._refs[key]
            self.live -= self._sizes.pop(key)

    def _pack(self, tensor: torch.Tensor) -> Any:
        key = _storage_key(tensor)
        if key in self.excluded:
            return tensor
        if key not in self._refs:
            size = self._sizes[key] = _storage_bytes(tensor)
            self._refs[key] = 0
            self.live += size
            self.total += size
            self.count += 1
            self.peak = max(self.peak, self.live)
            dtype = str(tensor.dtype).removeprefix("torch.")
            self.by_dtype[dtype] = self.by_dtype.get(dtype, 0) + size
        self._refs[key] += 1
        # detached: an op's saved output would otherwise hold its own graph through the
        # holder (a reference cycle that only the garbage collector breaks); autograd
        # re-attaches the graph when it unpacks
        holder = _Holder(tensor.detach())
        weakref.finalize(holder, self._release, key)
        return holder

    @staticmethod
    def _unpack(packed: Any) -> torch.Tensor:
        return packed.tensor if isinstance(packed, _Holder) else packed

    def __enter__(self) -> SavedTensorTracker:
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)


def saved_tensor_bytes(fn: Callable[[], Any], exclude: Iterable[torch.Tensor] = ()) -> SavedTensors:
    """Run ``fn()`` and measure the tensors autograd saves for backward while it runs
    (see :class:`SavedTensorTracker`).

    Works under ``FakeTensorMode`` and on the meta device. Only saves made while ``fn``
    runs on this thread are seen. Activation checkpointing's inner saves go to its own
    hooks (they are recomputed, not kept) and are not seen; the block inputs it keeps are.
    """
    with SavedTensorTracker(exclude) as tracker:
        result = fn()
    return SavedTensors(tracker.peak, tracker.total, tracker.count, dict(tracker.by_dtype), result)


def parameter_bytes(modules: Iterable[nn.Module]) -> int:
    """Bytes of the modules' parameters and buffers (each storage once)."""
    seen: dict[int, int] = {}
    for module in modules:
        for t in [*module.parameters(), *module.buffers()]:
            seen.setdefault(_storage_key(t), _storage_bytes(t))
    return sum(seen.values())


def optimizer_bytes(modules: Iterable[nn.Module], states_per_param: int = 2) -> int:
    """Bytes of the trainable parameters' gradients plus ``states_per_param`` optimizer
    tensors of their shape and dtype each (Adam: 2, its first and second moments)."""
    params = {_storage_key(p): p for m in modules for p in m.parameters() if p.requires_grad}
    return sum(p.numel() * p.element_size() for p in params.values()) * (1 + states_per_param)


@dataclass
class MemoryEstimate:
    """Peak training memory of one phase of a step, in bytes, and whether it fits a budget."""

    weights: int  #: parameters and buffers of every network held (EMA copies included)
    gradients_and_optimizer: int  #: gradients plus Adam moments of the trainable networks
    activations: int  #: peak bytes saved for backward in the phase (:func:`saved_tensor_bytes`)
    recompute: int = 0  #: with activation checkpointing: the largest block's activations, rebuilt in its backward
    scaled_from_batch: int | None = None  #: the batch measured, when activations were scaled linearly

    @property
    def total(self) -> int:
        return self.weights + self.gradients_and_optimizer + self.activations + self.recompute

    def with_margin(self, fixed: int = GiB, relative: float = 0.2) -> int:
        """``total`` plus what the accounting leaves out: ``fixed`` bytes (CUDA context about
        0.5 GiB, cuDNN workspaces) and ``relative`` of the activations (allocator rounding and
        fragmentation, per-op temporaries)."""
        return self.total + fixed + math.ceil(relative * (self.activations + self.recompute))

    def fits(self, budget: int, fixed: int = GiB, relative: float = 0.2) -> bool:
        return self.with_margin(fixed, relative) <= budget

    def as_dict(self, budget: int | None = None, fixed: int = GiB, relative: float = 0.2) -> dict[str, Any]:
        out: dict[str, Any] = {
            "weights_gib": self.weights / GiB,
            "gradients_and_adam_gib": self.gradients_and_optimizer / GiB,
            "activations_gib": self.activations / GiB,
            "recompute_gib": self.recompute / GiB,
            "total_gib": self.total / GiB,
            "with_margin_gib": self.with_margin(fixed, relative) / GiB,
            "margin": f"+{fixed / GiB:g} GiB fixed (CUDA context, workspaces) +{relative:.0%} of activations (allocator, temporaries)",
        }
        if self.scaled_from_batch is not None:
            out["activations_scaled_from_batch"] = self.scaled_from_batch
        if budget is not None:
            out["budget_gib"] = budget / GiB
            out["fits"] = self.fits(budget, fixed, relative)
        return out
