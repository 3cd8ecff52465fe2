import numpy as np
import pytest
import torch

from gancraft.data.celeba import CelebAUnpaired
from gancraft.data.folders import UnpairedFolders
from gancraft.data.transforms import ImageTransform, to_tensor, to_uint8
from gancraft.core.errors import ConfigError


def test_items_are_in_range_and_reproducible_from_their_key(toy_root) -> None:
    ds = UnpairedFolders(root=str(toy_root), load_size=36, crop_size=32, flip=True)
    a, b = ds[(3, 1234)], ds[(3, 1234)]
    assert a["A"].shape == a["B"].shape == (3, 32, 32)
    assert a["A"].min() >= -1 and a["A"].max() <= 1
    assert torch.equal(a["A"], b["A"]) and torch.equal(a["B"], b["B"])
    assert len(ds) == 12


def test_the_seed_changes_crop_and_partner(toy_root) -> None:
    ds = UnpairedFolders(root=str(toy_root), load_size=36, crop_size=32, flip=True)
    variants = {tuple(ds[(0, s)]["A"].flatten()[:20].tolist()) for s in range(12)}
    assert len(variants) > 1


def test_test_split_is_centred_and_not_flipped(toy_root) -> None:
    ds = UnpairedFolders(root=str(toy_root), split="test", load_size=36, crop_size=32, flip=True)
    assert len(ds) == 4
    assert torch.equal(ds[(0, 1)]["A"], ds[(0, 2)]["A"])


def test_transform_round_trip_and_bicubic_resize() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (10, 10, 3), dtype=np.uint8)
    assert torch.equal(to_uint8(to_tensor(pixels)), torch.from_numpy(pixels))
    out = ImageTransform(20, 16, flip=False, train=True)(pixels, torch.Generator().manual_seed(0))
    assert out.shape == (3, 16, 16)
    with pytest.raises(ValueError):
        ImageTransform(16, 20)


def test_flip_mirrors_the_image() -> None:
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    pixels[:, 0] = 255
    flips = [ImageTransform(4, 4, flip=True)(pixels, torch.Generator().manual_seed(s)) for s in range(10)]
    assert any(float(f[0, 0, -1]) == 1.0 for f in flips) and any(float(f[0, 0, 0]) == 1.0 for f in flips)


def write_celeba(root, files):
    from PIL import Image

    (root / "img_align_celeba").mkdir(parents=True)
    lines = [str(len(files)), "Smiling Eyeglasses"]
    parts = []
    for i, (name, glasses, split) in enumerate(files):
        Image.new("RGB", (8, 8), (i * 20, 0, 0)).save(root / "img_align_celeba" / name)
        lines.append(f"{name}  1 {glasses}")
        parts.append(f"{name} {split}")
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text("\n".join(parts) + "\n")


def test_celeba_splits_by_attribute_and_partition(tmp_path) -> None:
    write_celeba(tmp_path, [("000001.jpg", -1, 0), ("000002.jpg", 1, 0), ("000003.jpg", -1, 0), ("000004.jpg", 1, 2), ("000005.jpg", -1, 2)])
    train = CelebAUnpaired(str(tmp_path), split="train", load_size=8, crop_size=8)
    assert [p.name for p in train.a.files] == ["000001.jpg", "000003.jpg"]
    assert [p.name for p in train.b.files] == ["000002.jpg"]
    test = CelebAUnpaired(str(tmp_path), split="test", load_size=8, crop_size=8)
    assert [p.name for p in test.b.files] == ["000004.jpg"]
    assert train[(0, 0)]["A"].shape == (3, 8, 8)
    with pytest.raises(ConfigError, match="no attribute 'Hat'"):
        CelebAUnpaired(str(tmp_path), attribute="Hat")
