"""benchmarks/cyclegan_glasses_cpu.py: its reference-generator mode must build a model from the shipped recipe."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import gancraft.components  # noqa: F401
from gancraft.core.registry import MODELS
from gancraft.recipes import compose_recipe

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "cyclegan_glasses_cpu.py"


def test_reference_generator_overrides_build_the_plain_generator() -> None:
    spec = importlib.util.spec_from_file_location("cyclegan_glasses_cpu_script", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    cfg = compose_recipe("cyclegan_glasses_cpu", [*script.REFERENCE_GENERATOR, "model.generator.ngf=4", "model.generator.n_blocks=1"])
    model = MODELS.build_from_config(dict(cfg.model))  # the recipe's mask options must not survive into a plain generator
    assert not model.G_A.attention and model.G_A.up[0][0].__class__.__name__ == "ConvTranspose2d"
    assert model.mask_gradient == "all" and model.lambda_mask == 0 and model.attention_warmup == 0
