"""The glasses_world data set: registration, items, determinism, disjoint seeds, paired ground truth."""

from __future__ import annotations

import pytest
import torch

import gancraft.world  # noqa: F401  (registration)
from gancraft.data.transforms import to_tensor
from gancraft.core.errors import ConfigError
from gancraft.core.registry import DATASETS
from gancraft.world import GLASSES_STYLES, paired_faces, render_face, style_for_seed


def test_registered_and_unpaired_items() -> None:
    assert "glasses_world" in DATASETS
    ds = DATASETS.build("glasses_world", n=8, size=32)
    assert len(ds) == 8
    item = ds[(2, 1234)]
    assert set(item) == {"A", "B"}
    for x in item.values():
        assert x.shape == (3, 32, 32) and x.dtype == torch.float32
        assert -1.0 <= float(x.min()) and float(x.max()) <= 1.0
    again = ds[(2, 1234)]
    assert all(torch.equal(item[k], again[k]) for k in item)


def test_a_is_the_plain_face_and_b_another_person_with_glasses() -> None:
    ds = DATASETS.build("glasses_world", n=6, size=32, split="test")
    item = ds[3]  # test: no augmentation, fixed partner
    a_seed, b_seed = ds.seed_of(3, "A"), ds.seed_of(3, "B")
    assert torch.equal(item["A"], to_tensor(render_face(a_seed, 32).image))
    style = style_for_seed(b_seed, GLASSES_STYLES)
    assert style in GLASSES_STYLES
    assert torch.equal(item["B"], to_tensor(render_face(b_seed, 32, style).image))


def test_seed_ranges_are_disjoint_between_domains_and_splits() -> None:
    seeds = {}
    for split in ("train", "test"):
        ds = DATASETS.build("glasses_world", n=1000, size=32, split=split)
        for part in ("A", "B", "domains"):
            seeds[(split, part)] = {ds.seed_of(i, part) for i in range(len(ds))}
    keys = list(seeds)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            assert not seeds[a] & seeds[b], (a, b)


def test_training_augments_from_the_key_seed() -> None:
    ds = DATASETS.build("glasses_world", n=20, size=32, load_size=40, crop_size=32, flip=True)
    outs = {tuple(ds[(0, s)]["A"].flatten()[:200].tolist()) for s in range(6)}
    assert len(outs) > 1  # crops/flips differ by key seed
    assert torch.equal(ds[(0, 5)]["A"], ds[(0, 5)]["A"])


def test_domains_mode_labels_and_images() -> None:
    ds = DATASETS.build("glasses_world", mode="domains", n=10, size=32, split="test")
    assert ds.domains == ["no_glasses", *GLASSES_STYLES]
    assert ds.labels == [i % 5 for i in range(10)]
    for i in (0, 3, 7):
        item = ds[i]
        assert item["label"].dtype == torch.long and int(item["label"]) == ds.labels[i]
        expected = render_face(ds.seed_of(i, "domains"), 32, ds.domains[ds.labels[i]]).image
        assert torch.equal(item["image"], to_tensor(expected))
    only = DATASETS.build("glasses_world", mode="domains", n=4, size=32, domains="round,aviator,sunglasses")
    assert only.domains == ["round", "aviator", "sunglasses"] and only.labels == [0, 1, 2, 0]


def test_bad_configs_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="mode"):
        DATASETS.build("glasses_world", mode="paired")
    with pytest.raises(ConfigError, match="split"):
        DATASETS.build("glasses_world", split="val")
    with pytest.raises(ConfigError, match="style"):
        DATASETS.build("glasses_world", styles=["round", "monocle"])
    with pytest.raises(ConfigError, match="size"):
        DATASETS.build("glasses_world", size=1024)
    with pytest.raises(IndexError):
        DATASETS.build("glasses_world", n=3, size=32)[3]


def test_paired_faces_give_ground_truth_for_every_style() -> None:
    faces = list(paired_faces(2, 32))
    assert len(faces) == 2
    for renders in faces:
        assert list(renders) == ["no_glasses", *GLASSES_STYLES]
        seeds = {r.meta["seed"] for r in renders.values()}
        assert len(seeds) == 1
        assert renders["no_glasses"].meta["worn_style"] in GLASSES_STYLES
