"""Try-on and ONNX on the CPU: onnxruntime vs torch eager translation, and a 12-megapixel try-on.

    pytest benchmarks/test_tryon.py --benchmark-enable --benchmark-json=benchmarks/results/tryon_cpu.json -s

onnxruntime runs with as many intra-op threads as torch has, so both use the same cores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gancraft.core.checkpoint import save_checkpoint
from gancraft.core.registry import MODELS
from gancraft.faces.detect import FaceDetector
from gancraft.inference.export import OnnxTranslator, export_onnx
from gancraft.inference.translator import Translator
from gancraft.inference.tryon import TryOn
from gancraft.world import render_face

pytest.importorskip("onnxruntime")
pytest.importorskip("cv2")

#: the CPU recipe's generator (64 px) and the paper's (256 px)
GENERATORS = {64: {"ngf": 16, "n_blocks": 6, "upsample": "resize", "attention": True}, 256: {"ngf": 64, "n_blocks": 9}}


def _checkpoint(directory: Path, size: int) -> Path:
    torch.manual_seed(0)
    model = {"name": "cyclegan", "generator": {"name": "resnet_generator", **GENERATORS[size]}, "discriminator": {"name": "patchgan_discriminator", "ndf": 8}}
    net = MODELS.build_from_config(model)
    data = {"name": "glasses_world", "size": size, "load_size": size, "crop_size": size}
    return save_checkpoint(directory, networks=net.networks(), config={"seed": 0, "model": model, "data": data}, meta={"step": 0})


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
@pytest.mark.parametrize("size,batch", [(64, 16), (256, 2)])
def test_translate_throughput(benchmark, rate, tmp_path: Path, backend: str, size: int, batch: int) -> None:
    ckpt = _checkpoint(tmp_path / "ckpt", size)
    if backend == "torch":
        translator = Translator.load(ckpt, device="cpu")
    else:
        translator = OnnxTranslator.load(export_onnx(ckpt, tmp_path / "g.onnx")[0], threads=torch.get_num_threads())
    images = torch.rand(batch, 3, size, size) * 2 - 1
    out = benchmark.pedantic(translator.translate, args=(images,), kwargs={"direction": "a2b"}, rounds=5, warmup_rounds=1)
    assert out.shape == images.shape
    rate(benchmark, batch, "images_per_s", size=size, batch=batch, backend=backend)


def _twelve_megapixels() -> np.ndarray:
    """A 4000 x 3000 photo (textured) with one 1500 px world face in it."""
    rng = np.random.default_rng(0)
    small = Image.fromarray((rng.random((6, 8, 3)) * 255).astype(np.uint8)).resize((4000, 3000), Image.BICUBIC)
    face = Image.fromarray(render_face(11, 512).image).resize((1500, 1500), Image.BICUBIC)
    small.paste(face, (1200, 700))
    return np.asarray(small)


def test_tryon_latency_12_megapixels(benchmark, rate, tmp_path: Path) -> None:
    photo = _twelve_megapixels()
    tryon = TryOn(Translator.load(_checkpoint(tmp_path / "ckpt", 64), device="cpu"))
    result = benchmark.pedantic(tryon.apply, args=(photo,), kwargs={"direction": "a2b"}, rounds=3, warmup_rounds=1)
    assert result.translated == 1 and result.images[0].shape == photo.shape
    rate(benchmark, 1, "photos_per_s", megapixels=photo.shape[0] * photo.shape[1] / 1e6, faces=1)


def test_detection_latency_12_megapixels(benchmark, rate) -> None:
    photo = _twelve_megapixels()
    faces = benchmark.pedantic(FaceDetector(), args=(photo,), rounds=3, warmup_rounds=1)
    assert len(faces) == 1
    rate(benchmark, 1, "photos_per_s", megapixels=photo.shape[0] * photo.shape[1] / 1e6)
