"""A corpus of awkward and broken image files, made here, run through every entry point
that reads images: training folders, ``translate``, ``evaluate`` (folder data),
``data prepare`` and ``hype create``. Each file loads correctly or gives one line naming
it; nothing is lost or half-written."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gancraft.cli import main
from gancraft.core.errors import DataError
from gancraft.data.folders import UnpairedFolders
from gancraft.data.image_io import MAX_PIXELS, list_images, load_image
from tests.conftest import TINY_CYCLEGAN

NON_UTF8 = os.fsdecode(b"caf\xe9.png")  # a Latin-1 file name: not valid UTF-8


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int) -> bytes:
    """A valid PNG header announcing ``side x side`` pixels (a few bytes of data)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b"")


def make_corpus(folder: Path) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Files that must load (name -> expected (width, height)) and files that must fail."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rgb = Image.fromarray((rng.random((40, 48, 3)) * 255).astype(np.uint8))
    rgb.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray((rng.random((40, 48)) * 65535).astype(np.uint16)).save(folder / "sixteen.png")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(folder / "rgba.png")
    rgb.convert("P", palette=Image.ADAPTIVE).save(folder / "palette.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    rgb.save(folder / "rotated.jpg", exif=exif)
    rgb.save(folder / NON_UTF8)
    rgb.save(folder / "plain.png")
    good = {"cmyk.jpg": (48, 40), "sixteen.png": (48, 40), "rgba.png": (48, 40), "palette.png": (48, 40),
            "rotated.jpg": (40, 48), NON_UTF8: (48, 40), "plain.png": (48, 40)}
    data = (folder / "plain.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.jpg").write_text("this is a text file, not a JPEG\n")
    side = int(MAX_PIXELS**0.5) + 100
    (folder / "bomb.png").write_bytes(bomb_png(side))
    os.symlink("loop.png", folder / "loop.png")  # a symlink loop
    return good, ["bomb.png", "empty.png", "loop.png", "text.jpg", "truncated.png"]


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    good, bad = make_corpus(folder)
    return folder, good, bad


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_every_file_loads_or_names_itself_in_one_line(corpus) -> None:
    folder, good, bad = corpus
    listed = {p.name for p in list_images(folder)}
    assert listed == set(good) | set(bad)  # nothing silently left out, not even the symlink loop
    for name, size in good.items():
        image = load_image(folder / name)
        assert image.mode == "RGB" and image.size == size, name
    assert np.asarray(load_image(folder / "rgba.png")).min() > 60  # half-transparent over white, not black
    for name in bad:
        with pytest.raises(DataError) as err:
            load_image(folder / name)
        assert name in str(err.value) and "\n" not in str(err.value), name


def test_a_file_that_disappears_mid_run_is_named(corpus) -> None:
    folder, _, _ = corpus
    for split in ("trainA", "trainB"):
        (folder.parent / split).mkdir()
    for name in ("plain.png", "cmyk.jpg"):
        for split in ("trainA", "trainB"):
            os.link(folder / name, folder.parent / split / name)
    data = UnpairedFolders(root=str(folder.parent), load_size=32, crop_size=32)
    (folder.parent / "trainA" / "plain.png").unlink()  # gone after the listing
    with pytest.raises(DataError, match=r"trainA/plain.png' does not exist"):
        data[1]
    os.link(folder / "plain.png", folder.parent / "trainA" / "plain.png")
    lenient = UnpairedFolders(root=str(folder.parent), load_size=32, crop_size=32, skip_bad=True)
    (folder.parent / "trainA" / "cmyk.jpg").unlink()
    assert lenient[0]["A"].shape == (3, 32, 32)  # plain.png (next in order) stands in
    assert [p.name for p in lenient.a.dropped] == ["cmyk.jpg"]


def train_words(root: Path, run: Path, *extra: str) -> list[str]:
    return ["train", "recipe=cyclegan_glasses", "data=unpaired_folders", f"data.root={root}", *TINY_CYCLEGAN,
            "model.generator.ngf=4", "model.generator.n_blocks=1", "model.discriminator.ndf=4", "trainer.max_steps=12",
            "trainer.sample_every=0", "trainer.checkpoint_every=0", f"run_dir={run}", *extra]


def test_training_folders(corpus, tmp_path, capsys, caplog) -> None:
    folder, good, bad = corpus
    for split in ("trainA", "trainB"):
        os.symlink(folder, tmp_path / split)
    assert main(train_words(tmp_path, tmp_path / "strict")) == 2
    line = one_line(capsys.readouterr().err)
    assert any(name in line for name in bad)
    assert not (tmp_path / "strict" / "checkpoints").exists()
    assert main(train_words(tmp_path, tmp_path / "lenient", "data.skip_bad=true")) == 0
    summary = [r.getMessage() for r in caplog.records if "bad file(s)" in r.getMessage()]
    assert len(summary) == 1 and all(name in summary[0] for name in bad)
    assert (tmp_path / "lenient" / "checkpoints" / "step_00000012").is_dir()


@pytest.fixture(scope="module")
def tiny_checkpoint(toy_root, tmp_path_factory):
    from gancraft.engine.run import build_trainer
    from gancraft.recipes import compose_recipe

    run = tmp_path_factory.mktemp("run")
    words = train_words(toy_root, run)[2:]
    return build_trainer(compose_recipe("cyclegan_glasses", [*words, "trainer.max_steps=1"])).fit()


def test_translate(corpus, tiny_checkpoint, tmp_path, capsys) -> None:
    folder, good, bad = corpus
    before = {p.name: (p.read_bytes() if not p.is_symlink() else None) for p in folder.iterdir()}
    args = ["translate", f"checkpoint={tiny_checkpoint}", f"input={folder}", f"output={tmp_path / 'out'}", "direction=a2b", "batch_size=16"]
    assert main(args) == 2
    line = one_line(capsys.readouterr().err)
    assert any(name in line for name in bad) and "nothing was written" in line
    assert not (tmp_path / "out").exists()
    assert main([*args, "skip_bad=true"]) == 0
    out = capsys.readouterr()
    assert "wrote 7 image(s)" in out.out and "skipped 5 unreadable input(s)" in out.out
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert written == {f"{Path(n).stem}.png" for n in good}
    for path in (tmp_path / "out").iterdir():
        Image.open(path).load()
    assert {p.name: (p.read_bytes() if not p.is_symlink() else None) for p in folder.iterdir()} == before  # inputs untouched


def test_evaluate_with_folder_data(corpus, tiny_checkpoint, tmp_path, capsys) -> None:
    folder, _, bad = corpus
    code = main(["evaluate", f"checkpoint={tiny_checkpoint}", "protocol=cyclegan", f"test_a={folder}", f"test_b={folder}",
                 f"out={tmp_path / 'eval'}", "device=cpu"])
    assert code == 2
    line = one_line(capsys.readouterr().err)
    assert any(name in line for name in bad), line


def test_data_prepare(corpus, tmp_path, capsys, caplog) -> None:
    folder, good, bad = corpus
    out = tmp_path / "cache.gcache"
    assert main(["data", "prepare", f"input={folder}", "size=32", f"output={out}", "workers=1", "progress=false"]) == 0
    assert f"wrote {len(good)} images" in capsys.readouterr().out
    left_out = [r.getMessage() for r in caplog.records if "left out of the cache" in r.getMessage()]
    assert len(left_out) == len(bad) and all(any(name in m for m in left_out) for name in bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.gcache", "corpus"]  # no temporary files left


def test_hype_create(corpus, tmp_path, capsys) -> None:
    folder, good, bad = corpus
    fake = tmp_path / "fake"
    fake.mkdir()
    for i in range(12):
        Image.new("RGB", (20, 20), (i * 20, 0, 0)).save(fake / f"{i}.png")
    words = ["hype", "create", "name=bad", f"real={folder}", f"fake={fake}", "raters=2", "images_per_rater=12", f"study={tmp_path / 'study'}"]
    code = main(words)
    err = capsys.readouterr().err
    line = one_line(err)
    assert code == 2 and any(name in line for name in bad) and "no study was created" in line, line
    assert not (tmp_path / "study").exists()  # nothing half-written
    ok = tmp_path / "good"
    ok.mkdir()
    for name in good:
        os.link(folder / name, ok / name)
    assert main([*words[:3], f"real={ok}", f"fake={fake}", "raters=1", "images_per_rater=6", f"study={tmp_path / 'study2'}"]) == 0


def test_tryon(corpus, tiny_checkpoint, tmp_path, capsys, caplog) -> None:
    pytest.importorskip("cv2")
    folder, good, bad = corpus
    before = {p.name: (p.read_bytes() if not p.is_symlink() else None) for p in folder.iterdir()}
    args = ["tryon", f"checkpoint={tiny_checkpoint}", f"input={folder}", f"output={tmp_path / 'out'}", "direction=a2b",
            "eyes=0.35,0.45,0.65,0.45"]
    assert main(args) == 0  # unreadable photos are counted and named, never a crash
    out = capsys.readouterr().out
    assert f"{len(good) + len(bad)} photo(s)" in out and f"{len(bad)} unreadable" in out
    named = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert all(any(name in m for m in named) for name in bad)
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert written == {f"{Path(n).stem}.png" for n in good}  # a photo without a usable face is written unchanged
    for path in (tmp_path / "out").iterdir():
        Image.open(path).load()
    assert {p.name: (p.read_bytes() if not p.is_symlink() else None) for p in folder.iterdir()} == before  # inputs untouched
    assert main([*args[:3], f"output={folder / 'inside'}", *args[4:]]) == 2  # never write into the input folder
    assert "inside input" in one_line(capsys.readouterr().err)
