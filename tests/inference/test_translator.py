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
