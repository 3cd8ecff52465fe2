"""Glasses-world rendering speed: images per second at 64 and 256 px.

Run: ``pytest benchmarks/test_world_render.py --benchmark-enable -s``. One process,
no workers: the cost of one image, which DataLoader workers then divide.
"""

from __future__ import annotations

import itertools

import pytest

from gancraft.world import GlassesWorld, render_face, render_variants


@pytest.mark.parametrize("size", [64, 256])
def test_render_face(benchmark, rate, size: int) -> None:
    """One face with one glasses style, drawn from scratch."""
    seeds = itertools.count()
    result = benchmark(lambda: render_face(next(seeds), size, "round"))
    assert result.image.shape == (size, size, 3)
    rate(benchmark, 1, "images_per_s", size=size)


@pytest.mark.parametrize("size", [64, 256])
def test_render_all_styles_of_one_face(benchmark, rate, size: int) -> None:
    """A face layer plus its six variants (no glasses and five styles): the paired ground truth."""
    seeds = itertools.count()
    result = benchmark(lambda: render_variants(next(seeds), size))
    assert len(result) == 6
    rate(benchmark, 6, "images_per_s", size=size)


def test_dataset_item_64px(benchmark, rate) -> None:
    """One unpaired training item (two renders, crop, flip) at 64 px, as a DataLoader worker sees it."""
    ds = GlassesWorld(n=10_000, size=64, load_size=72, crop_size=64)
    keys = ((i, i * 7919) for i in itertools.count())
    item = benchmark(lambda: ds[next(keys)])
    assert item["A"].shape == (3, 64, 64)
    rate(benchmark, 2, "images_per_s", size=64)
