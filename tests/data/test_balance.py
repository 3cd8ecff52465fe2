"""Group-balanced sampling: every group drawn equally often, groups from the data or a table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from gancraft.core.errors import ConfigError, DataError
from gancraft.data.balance import GroupBalancer, groups_of_files, read_group_table
from gancraft.data.folders import UnpairedFolders
from gancraft.data.sampling import item_generator
from gancraft.world.dataset import GlassesWorld
from gancraft.world.face import sample_face
from tests.conftest import write_toy_domains


def test_balancer_draws_a_rare_group_as_often_as_a_common_one() -> None:
    groups = ["light"] * 90 + ["dark"] * 10
    balancer = GroupBalancer(groups, "tone")
    g = torch.Generator().manual_seed(0)
    drawn = Counter(groups[balancer.draw(g)] for _ in range(4000))
    assert balancer.counts() == {"dark": 10, "light": 90}
    assert abs(drawn["dark"] / 4000 - 0.5) < 0.03  # 10 % of the data, half of the draws
    # within a group, every item is drawn
    g = torch.Generator().manual_seed(1)
    assert {balancer.draw(g) for _ in range(2000)} >= set(range(90, 100))


def test_balancer_refuses_an_empty_data_set() -> None:
    with pytest.raises(DataError, match="no items"):
        GroupBalancer([], "tone")


def test_group_tables_read_csv_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "g.csv").write_text("file,skin\ntrainA/000.png,dark\ntrainA/001.png,light\n")
    assert read_group_table(tmp_path / "g.csv", "skin") == {"trainA/000.png": "dark", "trainA/001.png": "light"}
    (tmp_path / "m.jsonl").write_text(json.dumps({"path": "trainB/000.png", "tone_group": "medium"}) + "\n")
    assert read_group_table(tmp_path / "m.jsonl", "tone_group") == {"trainB/000.png": "medium"}
    with pytest.raises(DataError, match="row 1 lacks"):
        read_group_table(tmp_path / "g.csv", "tone_group")
    with pytest.raises(ConfigError, match="does not exist"):
        read_group_table(tmp_path / "missing.csv", "skin")


def test_files_are_matched_by_relative_path_then_by_name(tmp_path: Path) -> None:
    files = [tmp_path / "trainA" / "000.png", tmp_path / "other" / "x.png"]
    table = {"trainA/000.png": "dark", "x.png": "light", "a/y.png": "dark", "b/y.png": "light"}
    assert groups_of_files(files, table, tmp_path, "skin") == ["dark", "light"]
    with pytest.raises(DataError, match="no row"):  # y.png is in the table twice: ambiguous by name
        groups_of_files([tmp_path / "c" / "y.png"], table, tmp_path, "skin")
    with pytest.raises(DataError, match="1 images have no row"):
        groups_of_files([tmp_path / "y.png"], table, tmp_path, "skin")


def test_unpaired_folders_balance_both_domains_from_a_csv(tmp_path: Path) -> None:
    toy_root = write_toy_domains(tmp_path)
    # trainA: 12 images, one of them "dark"; trainB likewise with image 5
    rows = ["file,skin"] + [f"train{d}/{i:03d}.png,{'dark' if i == (0 if d == 'A' else 5) else 'light'}" for d in "AB" for i in range(12)]
    (tmp_path / "groups.csv").write_text("\n".join(rows) + "\n")
    data = UnpairedFolders(root=str(toy_root), load_size=40, crop_size=40, flip=False, balance_by="skin", groups=str(tmp_path / "groups.csv"))
    assert data.balance is not None
    a_draws = Counter(data.balance[0].draw(item_generator(s)) for s in range(2000))
    b_draws = Counter(data.balance[1].draw(item_generator(s)) for s in range(2000))
    assert abs(a_draws[0] / 2000 - 0.5) < 0.04 and abs(b_draws[5] / 2000 - 0.5) < 0.04
    # __getitem__ uses the draws: pinned to one item per domain, the item is those two images
    data.balance[0].members, data.balance[1].members = [torch.tensor([3])], [torch.tensor([7])]
    item = data[(0, 123)]
    g = item_generator(0)
    assert torch.equal(item["A"], data.transform(data.a.load(3), g))
    assert torch.equal(item["B"], data.transform(data.b.load(7), g))


def test_unpaired_folders_balance_needs_a_groups_table(toy_root: Path) -> None:
    with pytest.raises(ConfigError, match="needs data.groups"):
        UnpairedFolders(root=str(toy_root), load_size=40, crop_size=40, balance_by="skin")


def test_glasses_world_balances_a_face_attribute() -> None:
    world = GlassesWorld(size=32, n=40, balance_by="tone_group", flip=False)
    assert world.balance is not None
    expected = Counter(sample_face(world.seed_of(i, "A")).tone_group for i in range(40))
    assert world.balance[0].counts() == dict(sorted(expected.items()))
    # the training item is the balanced draw's face: pin the draw to face 7
    world.balance[0].members = [torch.tensor([7])]
    world.balance[1].members = [torch.tensor([11])]
    plain = GlassesWorld(size=32, n=40, split="train", flip=False)
    assert torch.allclose(world[(0, 5)]["A"], plain[(7, 5)]["A"])
    assert torch.allclose(world[(0, 5)]["B"], GlassesWorld(size=32, n=40, split="train", flip=False, train=False)[11]["B"])


def test_glasses_world_refuses_an_unknown_attribute() -> None:
    with pytest.raises(ConfigError, match="not a face attribute"):
        GlassesWorld(size=32, n=4, balance_by="shoe_size")
