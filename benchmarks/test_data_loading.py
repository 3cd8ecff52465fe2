"""Data loading images per second: decoding files versus the prepared cache.

Source images are 512 px JPEGs (a stand-in for large face photos), trained at
``load_size`` 286 / crop 256 as in the CycleGAN recipe. One process, no workers:
the cost of one item, which workers then divide.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gancraft.data.folders import UnpairedFolders
from gancraft.data.prepared import ENV, prepare

N = 24


@pytest.fixture(scope="module")
def photo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for domain in "AB":
        folder = root / f"train{domain}"
        folder.mkdir()
        for i in range(N):
            small = Image.fromarray((rng.random((16, 16, 3)) * 255).astype(np.uint8)).resize((512, 512), Image.BICUBIC)
            noisy = np.clip(np.asarray(small) + rng.normal(0, 12, (512, 512, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(noisy).save(folder / f"{i:03d}.jpg", quality=92)
    return root


def _read_all(data) -> int:
    for i in range(N):
        item = data[(i, 1000 + i)]
    assert item["A"].shape == (3, 256, 256)
    return 2 * N  # each item is one A and one B image


@pytest.mark.parametrize("source", ["folders", "prepared"])
def test_unpaired_items_per_second(benchmark, rate, photo_root, monkeypatch, source: str) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # what one DataLoader worker gets (gancraft's worker_init)
    if source == "prepared":
        prepare(photo_root, 286, workers=1, progress=False)
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, "none")
    data = UnpairedFolders(root=str(photo_root), load_size=286, crop_size=256)
    assert (data.a.prepared is not None) == (source == "prepared")
    try:
        n = benchmark.pedantic(_read_all, args=(data,), rounds=3, warmup_rounds=1)
    finally:
        torch.set_num_threads(threads)
    rate(benchmark, n, "images_per_s", source=source, source_px=512, load_size=286, crop_size=256)
