"""Sample keys and the resumable, shardable sampler.

A data set item is asked for by a key ``(index, seed)``: ``seed`` drives every
random choice made for that item (crop, flip, the unpaired partner). Because the
sampler computes the keys from ``(run seed, epoch, position)``, the data order and
augmentations are the same in every worker layout, on every number of ranks, and
after a resume in the middle of an epoch. A plain ``int`` key means ``(index, index)``
(deterministic, for evaluation).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

SampleKey = int | tuple[int, int]


def unpack_key(key: SampleKey) -> tuple[int, int]:
    """``key`` -> ``(index, seed)``."""
    if isinstance(key, tuple):
        return int(key[0]), int(key[1])
    return int(key), int(key)


def item_generator(seed: int) -> torch.Generator:
    """A CPU generator for one item's random choices."""
    return torch.Generator().manual_seed(seed & 0x7FFF_FFFF_FFFF_FFFF)


class EpochSampler(Sampler[tuple[int, int]]):
    """Shuffled keys, epoch after epoch, sharded over ranks, startable at any step.

    Global batch ``b`` of step ``s`` is positions ``[s*b, (s+1)*b)`` of the epoch's
    permutation; rank ``r`` of ``w`` takes every ``w``-th item of that slice, so
    ``w`` ranks with batch ``b/w`` see exactly the items of one rank with batch ``b``.
    """

    def __init__(
        self,
        size: int,
        batch_size: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        start_step: int = 0,
    ) -> None:
        if size < batch_size * world_size:
            raise ValueError(f"data set of {size} items is smaller than one global batch of {batch_size * world_size}")
        self.size, self.batch_size, self.seed, self.shuffle = size, batch_size, seed, shuffle
        self.rank, self.world_size, self.start_step = rank, world_size, start_step

    @property
    def steps_per_epoch(self) -> int:
        return self.size // (self.batch_size * self.world_size)

    def keys_for_epoch(self, epoch: int) -> list[tuple[int, int]]:
        """This rank's keys of ``epoch`` in order (the last incomplete global batch dropped)."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(self.size, generator=g) if self.shuffle else torch.arange(self.size)
        aug = torch.randint(0, 2**62, (self.size,), generator=g)
        global_batch = self.batch_size * self.world_size
        keys = []
        for step in range(self.steps_per_epoch):
            for pos in range(step * global_batch + self.rank, (step + 1) * global_batch, self.world_size):
                keys.append((int(order[pos]), int(aug[pos])))
        return keys

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, offset = divmod(self.start_step, self.steps_per_epoch)
        offset *= self.batch_size
        while True:
            yield from self.keys_for_epoch(epoch)[offset:]
            epoch, offset = epoch + 1, 0

    def __len__(self) -> int:  # infinite stream; DataLoader only needs this for its progress
        return 2**62
