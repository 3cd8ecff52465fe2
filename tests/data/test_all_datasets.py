"""Every registered data set is built tiny and read as the trainer reads it: items have the
documented keys, images are 3 x S x S floats in [-1, 1], labels are valid domain indices,
an item is a function of its key, and a DataLoader batches them. A new data set without
an entry in TINY fails here until it gets one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

import gancraft.data  # noqa: F401  (fill DATASETS)
import gancraft.world  # noqa: F401
from gancraft.core.registry import DATASETS
from tests.data.test_folders_and_transforms import write_celeba

SIZE = 16
UNPAIRED = {"A", "B"}
LABELLED = {"image", "label"}
PAIRS = {"image", "label", "ref", "ref2", "ref_label"}


def domain_root(tmp: Path) -> Path:
    for k, domain in enumerate(("no_glasses", "round")):
        (tmp / "dom" / domain).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((20, 20, 3), 60 * k + 30 * i, np.uint8)).save(tmp / "dom" / domain / f"{i}.png")
    return tmp / "dom"


def celeba_root(tmp: Path) -> Path:
    write_celeba(tmp / "celeba", [("000001.jpg", -1, 0), ("000002.jpg", 1, 0), ("000003.jpg", -1, 0), ("000004.jpg", 1, 0)])
    return tmp / "celeba"


#: name -> (kwargs from (toy_root, tmp_path), item keys)
TINY = {
    "unpaired_folders": (lambda toy, tmp: {"root": str(toy), "load_size": 20, "crop_size": SIZE}, UNPAIRED),
    "celeba": (lambda toy, tmp: {"root": str(celeba_root(tmp)), "load_size": 20, "crop_size": SIZE}, UNPAIRED),
    "glasses_world": (lambda toy, tmp: {"size": 32, "load_size": 32, "crop_size": SIZE, "n": 4}, UNPAIRED),
    "domain_folders": (lambda toy, tmp: {"root": str(domain_root(tmp)), "size": SIZE}, LABELLED),
    "stargan_v2_domains": (lambda toy, tmp: {"domains": ["no_glasses", "round"], "size": SIZE, "world": {"n": 4, "size": 32, "load_size": SIZE}}, PAIRS),
}


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_registered_data_set_yields_documented_batches(name: str, toy_root: Path, tmp_path: Path) -> None:
    assert name in TINY, f"add a tiny configuration for data set {name!r} to TINY"
    make_kwargs, keys = TINY[name]
    data = DATASETS.build(name, **make_kwargs(toy_root, tmp_path))
    item = data[(0, 123)]
    assert set(item) == keys
    images = {k: v for k, v in item.items() if k not in ("label", "ref_label")}
    for key, image in images.items():
        assert image.dtype == torch.float32 and image.shape == (3, SIZE, SIZE), key
        assert image.min() >= -1 and image.max() <= 1, key
    if "label" in item:
        assert item["label"].dtype == torch.long and item["label"].dim() == 0
        assert 0 <= int(item["label"]) < len(data.domains)
        assert len(data.labels) == len(data) and set(data.labels) == set(range(len(data.domains)))
    if "ref_label" in item:
        assert 0 <= int(item["ref_label"]) < len(data.domains)
    again = data[(0, 123)]
    assert all(torch.equal(item[k], again[k]) for k in item)  # an item is a function of its key
    batch = next(iter(DataLoader(data, batch_size=2, sampler=[(0, 1), (1, 2)])))
    assert set(batch) == keys
    assert all(batch[k].shape == (2, 3, SIZE, SIZE) for k in images)
