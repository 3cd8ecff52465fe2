import itertools

import pytest

from gancraft.data.sampling import EpochSampler, unpack_key


def take(sampler: EpochSampler, n: int) -> list[tuple[int, int]]:
    return list(itertools.islice(iter(sampler), n))


def test_each_epoch_is_a_permutation_and_epochs_differ() -> None:
    s = EpochSampler(10, batch_size=2, seed=3)
    keys = take(s, 20)
    first, second = [k[0] for k in keys[:10]], [k[0] for k in keys[10:]]
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second


def test_starting_at_a_step_continues_the_same_stream() -> None:
    full = take(EpochSampler(10, batch_size=2, seed=1), 30)
    resumed = take(EpochSampler(10, batch_size=2, seed=1, start_step=7), 16)
    assert resumed == full[14:30]


def test_ranks_split_each_global_batch() -> None:
    one = take(EpochSampler(12, batch_size=4, seed=2), 12)
    r0 = take(EpochSampler(12, batch_size=2, seed=2, rank=0, world_size=2), 6)
    r1 = take(EpochSampler(12, batch_size=2, seed=2, rank=1, world_size=2), 6)
    for step in range(3):
        assert sorted(one[4 * step : 4 * step + 4]) == sorted(r0[2 * step : 2 * step + 2] + r1[2 * step : 2 * step + 2])


def test_incomplete_last_batch_is_dropped() -> None:
    s = EpochSampler(7, batch_size=3)
    assert s.steps_per_epoch == 2 and len(s.keys_for_epoch(0)) == 6


def test_too_small_data_set() -> None:
    with pytest.raises(ValueError, match="smaller than one global batch"):
        EpochSampler(3, batch_size=2, world_size=2)


def test_unpack_key() -> None:
    assert unpack_key(5) == (5, 5) and unpack_key((5, 9)) == (5, 9)
