"""Per-domain folders, class-balanced sources and reference pairs for StarGAN v2."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image

from gancraft.data.domains import DomainFolders, ReferencePairs
from gancraft.core.errors import ConfigError, DataError
from gancraft.core.registry import DATASETS


def make_folders(root, sizes: dict[str, int]) -> None:
    """Each domain's images are filled with that domain's grey level, so labels can be read back."""
    for k, (domain, n) in enumerate(sizes.items()):
        (root / domain).mkdir(parents=True)
        for i in range(n):
            value = 40 * k + i % 3  # the domain in the tens, a small per-file change
            Image.fromarray(np.full((12, 12, 3), value, np.uint8)).save(root / domain / f"{i}.png")


def domain_of(image: torch.Tensor) -> int:
    return int(round(((image.mean().item() + 1) * 127.5) / 40))


@pytest.fixture
def root(tmp_path):
    make_folders(tmp_path, {"aviator": 2, "round": 12, "cat_eye": 4})
    return tmp_path


def test_domain_folders_list_domains_and_labels(root):
    data = DomainFolders(str(root), size=8, rand_crop_prob=0.0)
    assert data.domains == ["aviator", "cat_eye", "round"]  # sorted sub-folders
    assert Counter(data.labels) == {0: 2, 1: 4, 2: 12}
    item = data[0]
    assert item["image"].shape == (3, 8, 8) and item["label"].item() == 0
    ordered = DomainFolders(str(root), domains=["round", "aviator"], size=8)
    assert ordered.domains == ["round", "aviator"] and len(ordered) == 14
    with pytest.raises(DataError, match="cat"):
        DomainFolders(str(root), domains=["round", "cats"], size=8)
    with pytest.raises(DataError, match="does not exist"):
        DomainFolders(str(root / "nowhere"))


def test_reference_pairs_are_class_balanced_and_from_the_target_domain(root):
    data = ReferencePairs(DomainFolders(str(root), size=8, flip=False, rand_crop_prob=0.0))
    sources, targets = Counter(), Counter()
    for seed in range(600):
        item = data[(seed % len(data), seed)]
        assert domain_of(item["image"]) == [0, 2, 1][item["label"].item()]  # folder k <-> sorted label
        ref_domain = [0, 2, 1][item["ref_label"].item()]
        assert domain_of(item["ref"]) == ref_domain and domain_of(item["ref2"]) == ref_domain
        sources[item["label"].item()] += 1
        targets[item["ref_label"].item()] += 1
    # 2 vs 4 vs 12 images, but every domain is drawn about a third of the time
    for counts in (sources, targets):
        assert all(150 <= counts[d] <= 250 for d in range(3)), counts


def test_items_are_reproducible_from_their_key(root):
    data = ReferencePairs(DomainFolders(str(root), size=8))
    a, b = data[(3, 12345)], data[(3, 12345)]
    for k in a:
        assert torch.equal(a[k], b[k])
    differ = [not torch.equal(data[(3, s)]["ref"], a["ref"]) or data[(3, s)]["ref_label"] != a["ref_label"] for s in range(10)]
    assert any(differ)


def test_unbalanced_mode_takes_the_indexed_source(root):
    data = ReferencePairs(DomainFolders(str(root), size=8, rand_crop_prob=0.0), balanced=False)
    assert all(data[(i, 7)]["label"].item() == data.labels[i] for i in range(len(data)))


def test_registered_builder_keeps_the_given_label_order(root):
    data = DATASETS.build("stargan_v2_domains", root=str(root), domains=["round", "aviator"], size=8)
    assert data.domains == ["round", "aviator"]
    assert set(data[(0, 1)]) == {"image", "label", "ref", "ref2", "ref_label"}
    with pytest.raises(DataError, match="square"):  # a domain without a folder
        DATASETS.build("stargan_v2_domains", root=str(root), domains=["round", "square"], size=8)


def test_glasses_world_is_the_default(tmp_path):
    data = DATASETS.build("stargan_v2_domains", domains=["no_glasses", "round"], size=32, world={"n": 8})
    item = data[(0, 3)]
    assert item["image"].shape == (3, 32, 32) and data.domains == ["no_glasses", "round"]
