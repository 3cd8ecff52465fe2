import pickle

import pytest
import torch
from torch import nn

from gancraft.core import checkpoint as ckpt
from gancraft.core.errors import CheckpointError


def nets() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {"G": nn.Linear(3, 2), "D": nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))}


def test_round_trip_weights_config_and_state(tmp_path) -> None:
    source = nets()
    opt = torch.optim.Adam(source["G"].parameters())
    source["G"](torch.randn(4, 3)).sum().backward()
    opt.step()
    state = {"step": 7, "optimizers": {"G": opt.state_dict()}, "rng": ckpt.rng_state()}
    path = ckpt.save_checkpoint(tmp_path / "step_7", networks=source, config={"a": {"b": 1}}, training_state=state, meta={"step": 7})
    target = {"G": nn.Linear(3, 2), "D": nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))}
    ckpt.load_network_state(target, ckpt.load_weights(path))
    for name in source:
        for a, b in zip(source[name].state_dict().values(), target[name].state_dict().values()):
            assert torch.equal(a, b)
    assert ckpt.load_config(path).a.b == 1
    loaded = ckpt.load_training_state(path)  # weights_only=True inside
    assert loaded["step"] == 7 and "state" in loaded["optimizers"]["G"]


def test_training_state_file_loads_with_weights_only(tmp_path) -> None:
    path = ckpt.save_checkpoint(tmp_path / "c", networks=nets(), config={}, training_state={"rng": ckpt.rng_state()})
    torch.load(path / ckpt.STATE_FILE, weights_only=True)


def test_a_pickle_with_code_is_refused(tmp_path) -> None:
    path = ckpt.save_checkpoint(tmp_path / "c", networks=nets(), config={}, training_state={})

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (path / ckpt.STATE_FILE).write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError, match="refused to load .*training_state.pt.*holds code") as err:
        ckpt.load_training_state(path)
    assert "\n" not in str(err.value) and "weights_only=False" not in str(err.value)


def test_a_planted_torch_pickle_is_refused_in_one_line(tmp_path) -> None:
    import os

    path = ckpt.save_checkpoint(tmp_path / "c", networks=nets(), config={}, training_state={})

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"step": Evil()}, path / ckpt.STATE_FILE)  # the torch zip format, as a planted file would be
    with pytest.raises(CheckpointError, match="holds code") as err:
        ckpt.load_training_state(path)
    assert len(str(err.value).splitlines()) == 1


def test_damaged_files_are_one_line(tmp_path) -> None:
    path = ckpt.save_checkpoint(tmp_path / "c", networks=nets(), config={}, training_state={"step": 1})
    for name, load in ((ckpt.STATE_FILE, ckpt.load_training_state), (ckpt.MODEL_FILE, ckpt.load_weights)):
        data = (path / name).read_bytes()
        (path / name).write_bytes(data[: len(data) // 2])
        with pytest.raises(CheckpointError, match=f"{name}.* is damaged"):
            load(path)


def test_rng_state_restores_every_generator() -> None:
    import random

    import numpy as np

    state = ckpt.rng_state()
    expected = (torch.rand(3), random.random(), np.random.rand())
    ckpt.set_rng_state(state)
    assert torch.equal(torch.rand(3), expected[0]) and random.random() == expected[1] and np.random.rand() == expected[2]


def test_manager_keeps_the_newest_and_points_latest(tmp_path) -> None:
    manager = ckpt.CheckpointManager(tmp_path / "checkpoints", keep=2)
    for step in (1, 2, 3):
        manager.save(step, networks=nets(), config={}, training_state={})
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*")) == ["step_00000002", "step_00000003"]
    assert manager.latest().name == "step_00000003"
    assert ckpt.find_checkpoint(tmp_path).name == "step_00000003"  # from the run directory


def test_failed_write_leaves_no_partial_checkpoint(tmp_path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", broken)
    with pytest.raises(CheckpointError, match="cannot write checkpoint"):
        ckpt.save_checkpoint(tmp_path / "step_1", networks=nets(), config={}, training_state={"x": 1})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["save_file", "torch.save", "latest"])
def test_a_full_disk_keeps_the_previous_checkpoint_and_says_so(tmp_path, monkeypatch, where) -> None:
    import errno

    manager = ckpt.CheckpointManager(tmp_path / "checkpoints", keep=1)
    manager.save(1, networks=nets(), config={}, training_state={"step": 1})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "save_file":
        monkeypatch.setattr(ckpt, "save_file", full)
    elif where == "torch.save":
        monkeypatch.setattr(ckpt.torch, "save", full)
    else:
        monkeypatch.setattr(ckpt.os, "replace", lambda src, dst: full() if str(dst).endswith(ckpt.LATEST) else os_replace(src, dst))
    with pytest.raises(CheckpointError, match=r"disk is full; the previous checkpoint .*step_00000001.* is intact") as err:
        manager.save(2, networks=nets(), config={}, training_state={"step": 2})
    assert len(str(err.value).splitlines()) == 1
    monkeypatch.undo()
    assert manager.latest().name == "step_00000001"
    assert ckpt.load_training_state(manager.latest())["step"] == 1
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith(".")]


os_replace = __import__("os").replace


def test_pruning_and_interrupted_writes_leave_only_complete_checkpoints(tmp_path) -> None:
    root = tmp_path / "checkpoints"
    manager = ckpt.CheckpointManager(root, keep=1)
    manager.save(1, networks=nets(), config={}, training_state={})
    # what a kill -9 leaves: a temporary write, a half-deleted old checkpoint, a temporary pointer
    (root / ".step_00000002.tmpabc").mkdir()
    (root / ".trash-step_00000000.1").mkdir()
    (root / ".latest.xyz.tmp").write_text("x")
    half = root / "step_00000000"
    half.mkdir()
    (half / ckpt.CONFIG_FILE).write_text("{}")  # no weights: never chosen
    (root / ckpt.LATEST).unlink()
    assert manager.latest().name == "step_00000001"
    manager.save(2, networks=nets(), config={}, training_state={})
    assert sorted(p.name for p in root.iterdir()) == [ckpt.LATEST, "step_00000002"]


def test_missing_and_mismatched_checkpoints(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        ckpt.find_checkpoint(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        ckpt.find_checkpoint(tmp_path)
    path = ckpt.save_checkpoint(tmp_path / "c", networks=nets(), config={})
    with pytest.raises(CheckpointError, match="do not fit"):
        ckpt.load_network_state({"G": nn.Linear(5, 2)}, ckpt.load_weights(path))
    with pytest.raises(CheckpointError, match="cannot be resumed"):
        ckpt.load_training_state(path)
