"""Glasses-world rendering speed (images/s = 1 / mean time). Run: pytest benchmarks/ --benchmark-enable."""

from __future__ import annotations

import itertools

import pytest

from gancraft.world import GlassesWorld, render_face, render_variants


@pytest.mark.parametrize("size", [64, 256])
def test_render_face(benchmark, size: int) -> None:
    seeds = itertools.count()
    result = benchmark(lambda: render_face(next(seeds), size, "round"))
    assert result.image.shape == (size, size, 3)
    benchmark.extra_info["images_per_second"] = 1.0 / benchmark.stats.stats.mean


@pytest.mark.parametrize("size", [64, 256])
def test_render_all_styles_of_one_face(benchmark, size: int) -> None:
    """A face layer plus all six variants (no glasses and five styles): the paired ground truth."""
    seeds = itertools.count()
    result = benchmark(lambda: render_variants(next(seeds), size))
    assert len(result) == 6
    benchmark.extra_info["images_per_second"] = 6.0 / benchmark.stats.stats.mean


def test_dataset_item_64px(benchmark) -> None:
    """One unpaired training item (two renders, crop, flip) at 64 px, as a DataLoader worker sees it."""
    ds = GlassesWorld(n=10_000, size=64, load_size=72, crop_size=64)
    keys = ((i, i * 7919) for i in itertools.count())
    item = benchmark(lambda: ds[next(keys)])
    assert item["A"].shape == (3, 64, 64)
    benchmark.extra_info["items_per_second"] = 1.0 / benchmark.stats.stats.mean
