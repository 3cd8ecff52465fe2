"""Model tasks: what each registered model says can be evaluated, and that its translate takes it."""

from __future__ import annotations

import pytest
import torch

import gancraft.components  # noqa: F401
from gancraft.core.registry import MODELS
from gancraft.models.tasks import TranslationTask

TINY = {
    "cyclegan": {"generator": {"name": "resnet_generator", "ngf": 4, "n_blocks": 1},
                 "discriminator": {"name": "patchgan_discriminator", "ndf": 4, "n_layers": 1}},
    "stargan_v2": {"domains": ["no_glasses", "round"], "img_size": 32, "style_dim": 8, "latent_dim": 4,
                   "hidden_dim": 16, "max_conv_dim": 16, "base_dim": 8},
}


def test_a_task_adds_only_its_own_kind_of_guidance() -> None:
    latent = TranslationTask("latent/b", target="b", guidance="latent", fixed={"domain": "b"}, latent_dim=2)
    z = torch.zeros(1, 2)
    assert latent.condition(z=z)["z"] is z and latent.condition(num=3, seed=1) == {"domain": "b", "num": 3, "seed": 1}
    assert latent.sources(["a", "b", "c"]) == ["a", "c"]
    fixed = TranslationTask("a2b", source="a", target="b", fixed={"direction": "a2b"})
    assert fixed.condition() == {"direction": "a2b"} and fixed.sources(["a", "b"]) == ["a"]
    with pytest.raises(ValueError, match="takes no reference"):
        latent.condition(reference=z)
    with pytest.raises(ValueError, match="latent_dim"):
        TranslationTask("latent/b", target="b", guidance="latent")
    with pytest.raises(ValueError, match="guidance 'style'"):
        TranslationTask("x", target="b", guidance="style")
    with pytest.raises(TypeError):
        fixed.fixed["direction"] = "b2a"  # tasks are read-only


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_declares_tasks_its_translate_runs(name: str) -> None:
    assert name in TINY, f"model {name!r} has no tiny config here; add one so its tasks() are tested"
    torch.manual_seed(0)
    model = MODELS.build(name, **TINY[name]).eval()
    tasks = model.tasks()
    assert tasks and len({t.name for t in tasks}) == len(tasks)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    for task in tasks:
        guide = {"fixed": {}, "latent": {"z": torch.randn(2, max(task.latent_dim, 1))}, "reference": {"reference": x}}[task.guidance]
        with torch.no_grad():
            out = model.translate(x, **task.condition(**guide))
        assert out.shape == x.shape and torch.isfinite(out).all(), task.name


def test_the_base_model_declares_nothing() -> None:
    from gancraft.models.base import GANModel

    assert GANModel().tasks() == []
