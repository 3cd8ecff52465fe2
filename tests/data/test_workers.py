"""DataLoader workers: a worker's DataError is one line; a bad file is dropped once for the
whole run (every worker, every epoch); workers ignore stop signals."""

import logging
import os
import signal

import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from gancraft.cli import main
from gancraft.core.errors import DataError
from gancraft.data import folders
from gancraft.data.folders import UnpairedFolders, dropped_files
from gancraft.data.sampling import EpochSampler
from gancraft.data.workers import next_batch, unwrap_worker_error, worker_init
from gancraft.engine.run import build_trainer
from gancraft.recipes import compose_recipe
from tests.conftest import TINY_CYCLEGAN


class Failing(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        raise DataError(f"image '/data/x{i}.png' cannot be read (broken data stream); re-export it or set data.skip_bad=true")


def test_a_worker_data_error_comes_back_as_its_own_line(monkeypatch) -> None:
    from gancraft.data import workers

    raw = []
    monkeypatch.setattr(workers, "unwrap_worker_error", lambda err: raw.append(str(err)) or unwrap_worker_error(err))
    loader = DataLoader(Failing(), batch_size=1, num_workers=1, worker_init_fn=worker_init)
    with pytest.raises(DataError) as err:
        next_batch(iter(loader))
    assert "Traceback" in raw[0]  # what torch hands back
    assert str(err.value) == "image '/data/x0.png' cannot be read (broken data stream); re-export it or set data.skip_bad=true"
    plain = DataError("one line")
    assert unwrap_worker_error(plain) is plain


def folder_with_bad_files(root, good: int = 8, bad: tuple[int, ...] = (1, 4, 7, 10)):
    for split in ("trainA", "trainB"):
        (root / split).mkdir(parents=True)
    for i in range(good + len(bad)):
        name = root / "trainA" / f"{i:03d}.png"
        if i in bad:
            name.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
        else:
            Image.new("RGB", (32, 32), (i * 10, 50, 90)).save(name)
    for i in range(4):
        Image.new("RGB", (32, 32), (0, i * 40, 0)).save(root / "trainB" / f"{i}.png")
    return [root / "trainA" / f"{i:03d}.png" for i in bad]


def test_skip_bad_drops_a_file_once_across_workers_and_epochs(tmp_path, monkeypatch) -> None:
    bad = folder_with_bad_files(tmp_path)
    reads = tmp_path / "reads.log"
    real_load = folders.load_image

    def counting_load(path):  # runs in the worker processes (forked with this patch)
        with open(reads, "a") as fh:
            fh.write(f"{path.name}\n")
        return real_load(path)

    monkeypatch.setattr(folders, "load_image", counting_load)
    data = UnpairedFolders(root=str(tmp_path), load_size=8, crop_size=8, skip_bad=True)
    n = len(data)
    sampler = EpochSampler(n, 1, shuffle=False)  # in order: a file is never in flight in two workers at once
    loader = DataLoader(data, batch_size=1, sampler=sampler, num_workers=2, persistent_workers=True, prefetch_factor=1, worker_init_fn=worker_init)
    batches = iter(loader)
    for _ in range(3 * n):  # three epochs
        assert next_batch(batches)["A"].shape == (1, 3, 8, 8)
    del batches
    assert sorted(dropped_files(data)) == bad  # the main process sees what the workers found
    names = reads.read_text().split()
    for path in bad:
        assert names.count(path.name) == 1, f"{path.name} read {names.count(path.name)} times"


def tiny(root, run_dir, *extra):
    return compose_recipe(
        "cyclegan_glasses",
        ["data=unpaired_folders", f"data.root={root}", *TINY_CYCLEGAN, "data.load_size=32", "data.crop_size=32",
         "model.generator.n_blocks=1", "model.n_epochs=1", "model.n_epochs_decay=1", "trainer.sample_every=0",
         "trainer.checkpoint_every=0", f"run_dir={run_dir}", *extra],
    )


def test_training_with_workers_logs_the_dropped_files_once(tmp_path, caplog) -> None:
    bad = folder_with_bad_files(tmp_path / "data")
    cfg = tiny(tmp_path / "data", tmp_path / "run", "data.skip_bad=true", "trainer.num_workers=2", "trainer.max_steps=12", "trainer.prefetch_factor=1")
    with caplog.at_level(logging.WARNING):
        build_trainer(cfg).fit()
    summary = [r.getMessage() for r in caplog.records if "dropped 4 bad file(s)" in r.getMessage()]
    assert len(summary) == 1 and all(str(p) in summary[0] for p in bad)


def test_a_bad_file_in_a_worker_stops_training_with_one_line(tmp_path, capsys) -> None:
    folder_with_bad_files(tmp_path / "data", bad=(0,))
    cfg = tiny(tmp_path / "data", tmp_path / "run", "trainer.num_workers=1", "trainer.max_steps=5")
    with pytest.raises(DataError) as err:
        build_trainer(cfg).fit()
    assert len(str(err.value).splitlines()) == 1 and "000.png" in str(err.value)
    words = ["data=unpaired_folders", f"data.root={tmp_path / 'data'}", *TINY_CYCLEGAN, "data.load_size=32", "data.crop_size=32",
             "trainer.num_workers=1", "trainer.max_steps=5", f"run_dir={tmp_path / 'run2'}"]
    assert main(["train", "recipe=cyclegan_glasses", *words]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "000.png" in lines[0] and lines[0].startswith("gancraft: error: image")


def test_workers_ignore_stop_signals() -> None:
    class Pids(Dataset):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, i):
            os.kill(os.getpid(), signal.SIGTERM)  # would kill a worker with the default handler
            os.kill(os.getpid(), signal.SIGINT)
            return torch.tensor(os.getpid())

    pids = [int(b) for b in DataLoader(Pids(), batch_size=1, num_workers=1, worker_init_fn=worker_init)]
    assert len(pids) == 2 and os.getpid() not in pids
