"""Evaluation image sets: load-and-resize, and every registered data set's ``evaluation_sets``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

import gancraft.components  # noqa: F401  (every data set registered)
from gancraft.core.errors import ConfigError
from gancraft.core.registry import DATASETS
from gancraft.data.image_sets import ImageSet, load_images
from gancraft.data.transforms import to_tensor
from tests.data.test_folders_and_transforms import write_celeba


def test_load_images_resizes_bicubic_without_cropping(tmp_path: Path) -> None:
    image = Image.effect_noise((40, 20), 60).convert("RGB")
    image.save(tmp_path / "a.png")
    batch = load_images([tmp_path / "a.png"], 16)
    assert batch.shape == (1, 3, 16, 16)
    assert torch.equal(batch[0], to_tensor(image.resize((16, 16), Image.BICUBIC)))  # the whole image, squeezed
    assert torch.equal(load_images([tmp_path / "a.png"])[0], to_tensor(image))  # no size: as it is


def test_image_set_limits_orders_and_batches() -> None:
    images = torch.arange(5).float().view(5, 1, 1, 1).expand(5, 3, 2, 2)
    s = ImageSet("x", render=lambda i: images[i], indices=[4, 3, 2, 1, 0])
    assert len(s.limit(3)) == 3 and len(s.limit(None)) == 5
    batches = list(s.limit(3).batches(2))
    assert [b[:, 0, 0, 0].tolist() for b in batches] == [[4.0, 3.0], [2.0]]
    assert s.load([4])[0, 0, 0, 0] == 0.0
    with pytest.raises(ValueError, match="either files or a render"):
        ImageSet("bad")


def _world(mode: str) -> object:
    extra = {"domains": ["no_glasses", "round", "aviator"]} if mode == "domains" else {}
    return DATASETS.build("glasses_world", mode=mode, size=32, n=6, **extra)


#: how to build each registered data set tiny, and the domains its evaluation sets must have
def tiny_builders(root: Path) -> dict[str, tuple[object, list[str]]]:
    from tests.conftest import write_toy_domains
    from tests.data.test_domains import make_folders

    write_toy_domains(root / "toy", n_train=3, n_test=2, size=16)
    make_folders(root / "dom", {"x": 2, "y": 3})
    write_celeba(root / "celeba", [("000001.jpg", -1, 0), ("000002.jpg", 1, 0), ("000003.jpg", -1, 2), ("000004.jpg", 1, 2)])
    return {
        "glasses_world": (lambda: _world("unpaired"), ["A", "B"]),
        "unpaired_folders": (lambda: DATASETS.build("unpaired_folders", root=str(root / "toy"), load_size=16, crop_size=16), ["A", "B"]),
        "celeba": (lambda: DATASETS.build("celeba", root=str(root / "celeba"), load_size=8, crop_size=8), ["A", "B"]),
        "domain_folders": (lambda: DATASETS.build("domain_folders", root=str(root / "dom"), size=16), ["x", "y"]),
        "stargan_v2_domains": (lambda: DATASETS.build("stargan_v2_domains", root=None, size=32,
                                                      world={"n": 6, "domains": ["no_glasses", "round"]}), ["no_glasses", "round"]),
    }


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_data_set_offers_its_evaluation_images(name: str, tmp_path: Path) -> None:
    builders = tiny_builders(tmp_path)
    assert name in builders, f"data set {name!r} has no tiny builder here; add one so its evaluation_sets are tested"
    build, domains = builders[name]
    sets = build().evaluation_sets("test", 2, 16)
    assert list(sets) == domains
    for image_set in sets.values():
        batch = next(image_set.batches(8))
        assert batch.shape[1:] == (3, 16, 16) and batch.min() >= -1 and batch.max() <= 1
        assert len(image_set) >= 1


def test_the_glasses_world_renders_held_out_faces_of_the_split_asked_for() -> None:
    world = _world("unpaired")
    test, train = world.evaluation_sets("test", 3), world.evaluation_sets("train", 3)
    assert len(test["A"]) == 3
    assert not torch.equal(test["A"].load([0]), train["A"].load([0]))  # disjoint seeds
    assert torch.equal(test["A"].load([1]), world.evaluation_sets("test", 5)["A"].load([1]))  # face i is face i
    per_domain = _world("domains").evaluation_sets("test", 2)
    assert {d: len(s) for d, s in per_domain.items()} == {"no_glasses": 2, "round": 2, "aviator": 2}


def test_folder_data_sets_give_their_test_folders(tmp_path: Path) -> None:
    from tests.conftest import write_toy_domains

    write_toy_domains(tmp_path / "toy", n_train=3, n_test=2, size=16)
    sets = DATASETS.build("unpaired_folders", root=str(tmp_path / "toy")).evaluation_sets("test")
    assert [p.parent.name for p in sets["A"].files] == ["testA", "testA"]
    pair = DATASETS.build("unpaired_folders", dir_a=str(tmp_path / "toy" / "trainA"), dir_b=str(tmp_path / "toy" / "trainB"))
    with pytest.raises(ConfigError, match="test_a=DIR test_b=DIR"):
        pair.evaluation_sets("test")


def test_the_glasses_world_pairs_each_face_with_its_exact_ground_truth() -> None:
    from gancraft.evaluation.world_metrics import build_eval_set

    pairs = _world("domains").evaluation_pairs("test", 3, 32)
    assert set(pairs) == {("round", "no_glasses"), ("aviator", "no_glasses"), ("no_glasses", "round"), ("no_glasses", "aviator")}
    es = build_eval_set(3, 32, ["round", "aviator"])
    inputs, truth = pairs[("round", "no_glasses")]
    assert torch.equal(inputs.load([0, 1, 2]), es.styled["round"]) and torch.equal(truth.load([0, 1, 2]), es.no_glasses)
    remove = _world("unpaired").evaluation_pairs("test", 3, 32)
    assert list(remove) == [("B", "A")]
    worn = build_eval_set(3, 32)
    assert torch.equal(remove[("B", "A")][0].load([0, 1, 2]), worn.with_glasses)
