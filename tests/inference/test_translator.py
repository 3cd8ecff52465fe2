import numpy as np
import pytest
import torch
from PIL import Image

from gancraft.cli import main
from gancraft.engine.run import build_trainer
from gancraft.core.errors import CheckpointError, DataError
from gancraft.inference.translator import Translator
from gancraft.recipes import compose_recipe
from tests.conftest import TINY_CYCLEGAN


@pytest.fixture(scope="module")
def checkpoint(toy_root, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    cfg = compose_recipe("cyclegan_glasses", ["data=unpaired_folders", f"data.root={toy_root}", *TINY_CYCLEGAN, "trainer.max_steps=2", f"run_dir={run}"])
    return build_trainer(cfg).fit()


def test_load_from_run_directory_matches_the_trained_generator(checkpoint) -> None:
    translator = Translator.load(checkpoint.parent.parent, device="cpu")
    assert translator.size == 32
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    out = translator.translate(x, direction="a2b")
    with torch.no_grad():
        assert torch.allclose(out, translator.model.G_A(x))
    assert not torch.allclose(out, translator.translate(x, direction="b2a"))


def test_translate_command_writes_one_image_per_input(checkpoint, toy_root, tmp_path) -> None:
    assert main(["translate", f"checkpoint={checkpoint}", f"input={toy_root / 'testA'}", f"output={tmp_path}", "direction=a2b", "batch_size=3"]) == 0
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    assert written == sorted(p.name for p in (toy_root / "testA").glob("*.png"))
    assert np.asarray(Image.open(tmp_path / written[0])).shape == (32, 32, 3)


def test_translate_a_single_file_at_another_size(checkpoint, toy_root, tmp_path) -> None:
    translator = Translator.load(checkpoint, device="cpu")
    translator.size = 48
    [path] = translator.translate_files(toy_root / "testB" / "000.png", tmp_path, direction="b2a")
    assert Image.open(path).size == (48, 48)


def test_user_errors(checkpoint, tmp_path) -> None:
    translator = Translator.load(checkpoint, device="cpu")
    with pytest.raises(DataError, match="N x 3 x H x W"):
        translator.translate(torch.zeros(3, 8, 8))
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataError, match="not an image file"):
        translator.translate_files(tmp_path / "a.txt", tmp_path / "out")
    with pytest.raises(CheckpointError):
        Translator.load(tmp_path / "nothing-here")


def _write(folder, name, mode="RGB", colour=(200, 40, 90)):
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.new(mode, (32, 32), colour if mode != "CMYK" else (10, 200, 30, 0))
    image.save(folder / name)
    return folder / name


def test_output_inside_input_or_a_file_is_refused(checkpoint, toy_root, tmp_path) -> None:
    from gancraft.core.errors import ConfigError

    images = tmp_path / "in"
    _write(images, "a.png")
    before = (images / "a.png").read_bytes()
    translator = Translator.load(checkpoint, device="cpu")
    for output in (images, images / "sub", images / ".." / "in"):
        with pytest.raises(ConfigError, match="inside input"):
            translator.translate_files(images, output)
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(ConfigError, match="is a file"):
        translator.translate_files(images, tmp_path / "file.png")
    assert sorted(p.name for p in images.iterdir()) == ["a.png"] and (images / "a.png").read_bytes() == before


def test_inputs_sharing_a_stem_write_separate_outputs(checkpoint, tmp_path) -> None:
    images = tmp_path / "in"
    _write(images, "cmyk.jpg", "CMYK")
    _write(images, "cmyk.png")
    _write(images, "solo.png")
    written = Translator.load(checkpoint, device="cpu").translate_files(images, tmp_path / "out", direction="a2b")
    assert sorted(p.name for p in written) == ["cmyk_jpg.png", "cmyk_png.png", "solo.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cmyk_jpg.png", "cmyk_png.png", "solo.png"]


def test_a_bad_input_stops_before_anything_is_written_or_is_skipped_and_listed(checkpoint, tmp_path, caplog, capsys) -> None:
    images = tmp_path / "in"
    for i in range(5):
        _write(images, f"{i}.png")
    (images / "3.png").write_bytes(b"this is not a png")
    out = tmp_path / "out"
    with pytest.raises(DataError, match=r"3.png.*nothing was written"):
        Translator.load(checkpoint, device="cpu").translate_files(images, out, batch_size=2)
    assert not out.exists()
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DataError):
        Translator.load(checkpoint, device="cpu").translate_files(images, out, batch_size=2)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]  # no staging folder left behind
    translator = Translator.load(checkpoint, device="cpu")
    written = translator.translate_files(images, out, batch_size=2, skip_bad=True)
    assert sorted(p.name for p in written) == ["0.png", "1.png", "2.png", "4.png"]
    assert [p.name for p, _ in translator.skipped] == ["3.png"]
    assert "skipped 1 unreadable input(s)" in caplog.text and "3.png" in caplog.text
    assert main(["translate", f"checkpoint={checkpoint}", f"input={images}", f"output={tmp_path / 'o2'}", "skip_bad=true"]) == 0
    assert "wrote 4 image(s)" in capsys.readouterr().out
