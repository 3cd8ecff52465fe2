import numpy as np
import pytest
import torch

from gancraft.cli import main
from gancraft.core.errors import CheckpointError, ConfigError
from gancraft.inference.export import OnnxTranslator, export_onnx
from gancraft.inference.translator import Translator
from gancraft.inference.tryon import TryOn
from tests.faces.helpers import TINY_STARGAN, tiny_checkpoint, world_photo

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def cyclegan(tmp_path_factory):
    root = tmp_path_factory.mktemp("cg")
    ckpt = tiny_checkpoint(root / "ckpt")
    files = export_onnx(ckpt, root / "model.onnx")
    return ckpt, files


def test_cyclegan_generators_match_pytorch_at_any_batch_size(cyclegan):
    ckpt, files = cyclegan
    assert [f.name for f in files] == ["model.onnx", "model.G_B.onnx"]
    torch_t, onnx_t = Translator.load(ckpt, device="cpu"), OnnxTranslator.load(files[0])
    for n in (1, 3):
        x = torch.rand(n, 3, 32, 32) * 2 - 1
        for direction in ("a2b", "b2a"):
            diff = (onnx_t.translate(x, direction=direction) - torch_t.translate(x, direction=direction)).abs().max()
            assert float(diff) <= 1e-4


def test_cyclegan_with_moving_averages_exports_them(tmp_path):
    from gancraft.core.checkpoint import save_checkpoint
    from gancraft.core.registry import MODELS
    from tests.faces.helpers import TINY_CYCLEGAN, WORLD_32

    model_cfg = {**TINY_CYCLEGAN, "ema_beta": 0.9}
    net = MODELS.build_from_config(model_cfg)
    with torch.no_grad():  # averages unlike the online generators, as after training
        for p in [*net.G_A_ema.parameters(), *net.G_B_ema.parameters()]:
            p.add_(0.05 * torch.randn_like(p))
    ckpt = save_checkpoint(tmp_path / "ckpt", networks=net.networks(), config={"seed": 0, "model": model_cfg, "data": WORLD_32}, meta={"step": 1})
    files = export_onnx(ckpt, tmp_path / "ema.onnx")
    assert [f.name for f in files] == ["ema.onnx", "ema.G_B_ema.onnx"]
    torch_t, onnx_t = Translator.load(ckpt, device="cpu"), OnnxTranslator.load(files[0])
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    for direction in ("a2b", "b2a"):
        assert float((onnx_t.translate(x, direction=direction) - torch_t.translate(x, direction=direction)).abs().max()) <= 1e-4


def test_stargan_generator_mapping_and_style_encoder_match_pytorch(tmp_path):
    ckpt = tiny_checkpoint(tmp_path / "ckpt", TINY_STARGAN)
    files = export_onnx(ckpt, tmp_path / "sg.onnx")
    assert [f.name for f in files] == ["sg.onnx", "sg.mapping_network_ema.onnx", "sg.style_encoder_ema.onnx"]
    torch_t, onnx_t = Translator.load(ckpt, device="cpu"), OnnxTranslator.load(files[0])
    x, ref = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    for condition in ({"domain": "round", "num": 2, "seed": 3}, {"domain": "aviator", "reference": ref}):
        diff = (onnx_t.translate(x, **condition) - torch_t.translate(x, **condition)).abs().max()
        assert float(diff) <= 1e-4


def test_tryon_runs_on_the_export(cyclegan):
    ckpt, files = cyclegan
    photo, _ = world_photo([(400, 300)])
    result = TryOn.load(files[0]).apply(photo, direction="a2b")
    assert result.translated == 1 and result.images[0].shape == photo.shape


def test_export_command_and_its_errors(cyclegan, tmp_path, capsys):
    ckpt, _ = cyclegan
    assert main(["export", f"checkpoint={ckpt}", "format=onnx", f"output={tmp_path / 'm.onnx'}"]) == 0
    assert "m.G_B.onnx" in capsys.readouterr().out
    assert main(["export", f"checkpoint={ckpt}", "format=tflite", f"output={tmp_path / 'm.onnx'}"]) == 2
    with pytest.raises(ConfigError, match=r"\.onnx"):
        export_onnx(ckpt, tmp_path / "m.bin")
    with pytest.raises(CheckpointError, match="does not exist"):
        OnnxTranslator.load(tmp_path / "none.onnx")
    (tmp_path / "m.G_B.onnx").unlink()
    with pytest.raises(CheckpointError, match="no G_B"):
        OnnxTranslator.load(tmp_path / "m.onnx").translate(torch.zeros(1, 3, 32, 32), direction="b2a")
    assert np.isfinite(OnnxTranslator.load(tmp_path / "m.onnx").translate(torch.zeros(1, 3, 32, 32)).numpy()).all()
