"""`gancraft data prepare`: one memory-mapped uint8 file that folder data sets read transparently."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gancraft.cli import main
from gancraft.data.folders import UnpairedFolders
from gancraft.data.prepared import ENV, PreparedImages, default_output, find_prepared, prepare
from gancraft.core.errors import DataError
from tests.conftest import write_toy_domains


@pytest.fixture()
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(ENV, raising=False)
    return write_toy_domains(tmp_path / "toy", n_train=5, n_test=2, size=40)


def _items(root: Path, keys) -> list[dict[str, torch.Tensor]]:
    data = UnpairedFolders(root=str(root), load_size=36, crop_size=32)
    return data, [data[k] for k in keys]


def test_items_from_the_cache_are_bit_identical_to_items_from_the_files(root: Path) -> None:
    keys = [(0, 11), (3, 12345), 4, (1, 7)]
    files_data, from_files = _items(root, keys)
    assert files_data.a.prepared is None
    out = prepare(root, 36, workers=1, progress=False)
    assert out == default_output(root, 36) and out.is_file()
    cache_data, from_cache = _items(root, keys)
    assert cache_data.a.prepared is not None and cache_data.a.prepared.path == out
    for x, y in zip(from_files, from_cache):
        assert torch.equal(x["A"], y["A"]) and torch.equal(x["B"], y["B"])
    # the cached pixels are really what is read: the source files are not opened
    for f in cache_data.a.files:
        f.write_bytes(b"broken")
        os.utime(f, ns=(0, 0))
    cache_data.a.prepared.stat = [[6, 0]] * len(cache_data.a.prepared.stat)  # sources "unchanged" as far as the cache knows
    assert torch.equal(cache_data[(0, 11)]["A"], from_files[0]["A"])


def test_layout_size_and_contents_of_the_file(root: Path) -> None:
    out = prepare(root, 24, output=root / "elsewhere.gcache", workers=2, progress=False)
    cache = PreparedImages(out)
    assert cache.count == 14 and cache.size == 24 and cache.pixels.shape == (14, 24, 24, 3)
    assert cache.offset % 4096 == 0 and out.stat().st_size == cache.offset + 14 * 24 * 24 * 3
    src = root / "trainA" / "002.png"
    expected = np.asarray(Image.open(src).convert("RGB").resize((24, 24), Image.BICUBIC))
    assert np.array_equal(np.asarray(cache.get(src)), expected)
    # survives pickling (DataLoader workers) and re-opens its map lazily
    clone = pickle.loads(pickle.dumps(cache))
    assert clone._pixels is None and np.array_equal(np.asarray(clone.get(src)), expected)


def test_found_through_the_environment_stale_files_read_directly_and_off_switch(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = prepare(root, 36, output=root.parent / "cache.gcache", workers=1, progress=False)
    files = sorted((root / "trainA").glob("*.png"))
    assert find_prepared(files) is None  # not in the default place
    monkeypatch.setenv(ENV, str(out))
    cache = find_prepared(files)
    assert cache is not None and cache.get(files[1]) is not None
    # a file changed after preparing is read from disk, not from the stale cache
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(files[1])
    os.utime(files[1], ns=(time.time_ns(), time.time_ns() + 10**9))
    assert cache.get(files[1]) is None
    data = UnpairedFolders(root=str(root), load_size=36, crop_size=36, flip=False)
    assert data[1]["A"].eq(-1).all()  # the new black image
    monkeypatch.setenv(ENV, "none")
    assert find_prepared(files) is None


def test_bad_files_are_left_out_and_still_raise_when_read(root: Path) -> None:
    (root / "trainA" / "zzz.png").write_bytes(b"not a png")
    out = prepare(root, 36, workers=1, progress=False)
    assert PreparedImages(out).count == 14
    data = UnpairedFolders(root=str(root), load_size=36, crop_size=32)
    assert data.a.prepared is not None
    with pytest.raises(DataError, match="zzz.png"):
        data.a.load(5)


def test_cli(root: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "prepare", f"input={root}", "size=16", "workers=1", "progress=false"]) == 0
    assert "wrote 14 images at 16 px" in capsys.readouterr().out
    assert main(["data", "prepare", f"input={root}"]) == 2
    assert "size=S" in capsys.readouterr().err
    assert main(["data", "prepare", f"input={root / 'missing'}", "size=8"]) == 2
    assert "does not exist" in capsys.readouterr().err
