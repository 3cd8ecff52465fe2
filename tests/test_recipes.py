"""Every recipe composes, and every recipe runs two tiny training steps (on the CPU,
32 px, thin networks). A recipe whose model has no entry in TINY, or that needs a value
(``???`` or a required null) with no entry in NEEDS, fails here until it gets one."""

import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from gancraft.core.checkpoint import load_weights, network_state
from gancraft.core.logger import read_log
from gancraft.engine.run import build_trainer
from gancraft.core.errors import ConfigError
from gancraft.recipes import compose_recipe, list_recipes
from tests.conftest import TINY_CYCLEGAN

TINY_STARGAN_V2 = [
    "data.size=32",
    "data.world.n=64",
    "model.hidden_dim=16",
    "model.max_conv_dim=32",
    "model.base_dim=8",
    "model.style_dim=8",
    "model.latent_dim=4",
    "trainer.batch_size=2",
    "trainer.num_samples=2",
    "trainer.num_workers=0",
    "trainer.progress=false",
    "trainer.device=cpu",
    "trainer.precision=fp32",
    "trainer.epochs=null",
]

#: model name -> overrides that make any recipe of that model tiny
TINY = {"cyclegan": TINY_CYCLEGAN, "stargan_v2": TINY_STARGAN_V2}

#: data source -> overrides that make it tiny; ``{root}`` is the toy folder data set
TINY_DATA = {"unpaired_folders": ["data.root={root}"]}

#: recipe -> values for its required keys; ``{stargan_ckpt}`` is a tiny trained StarGAN v2
#: checkpoint whose domains are no_glasses and round
NEEDS: dict[str, list[str]] = {"stargan_v2_add_domain": ["init_from={stargan_ckpt}", "new_domain=cat_eye"]}


@pytest.fixture(scope="module")
def stargan_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("stargan_base")
    words = [*TINY_STARGAN_V2, "data.domains=[no_glasses,round]", "trainer.max_steps=1", "trainer.sample_every=0", f"run_dir={run}"]
    return build_trainer(compose_recipe("stargan_v2_glasses_styles_cpu", words)).fit()


def compose(recipe: str, root: Path, stargan_ckpt: Path | None, *extra: str):
    words = [w.format(root=root, stargan_ckpt=stargan_ckpt) for w in NEEDS.get(recipe, [])]
    try:
        base = compose_recipe(recipe, words)
    except ConfigError as err:
        if "data.root" not in str(err):
            raise AssertionError(f"recipe {recipe} needs values; add them to NEEDS: {err}") from None
        base = compose_recipe(recipe, [*words, f"data.root={root}"])
    assert base.model.name in TINY, f"add tiny overrides for model {base.model.name!r} to TINY"
    data = [w.format(root=root) for w in TINY_DATA.get(base.data.name, [])]
    return compose_recipe(recipe, words + data + TINY[base.model.name] + list(extra))


def _ckpt_if_needed(recipe: str, request: pytest.FixtureRequest) -> Path | None:
    needs = " ".join(NEEDS.get(recipe, []))
    return request.getfixturevalue("stargan_ckpt") if "{stargan_ckpt}" in needs else None


@pytest.mark.parametrize("recipe", list_recipes())
def test_recipe_composes_with_seed_and_sections(recipe: str, toy_root: Path, request: pytest.FixtureRequest) -> None:
    cfg = compose(recipe, toy_root, _ckpt_if_needed(recipe, request))
    assert {"seed", "data", "model", "trainer"} <= set(cfg)


@pytest.mark.parametrize("recipe", list_recipes())
def test_recipe_trains_two_tiny_steps(recipe: str, toy_root: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    cfg = compose(recipe, toy_root, _ckpt_if_needed(recipe, request), "trainer.max_steps=2", "trainer.sample_every=1",
                  "trainer.log_every=1", f"run_dir={tmp_path}")
    trainer = build_trainer(cfg)
    before = {k: v.clone() for k, v in network_state(trainer.model.networks()).items()}
    last = trainer.fit()
    after = load_weights(last)
    assert after.keys() == before.keys()
    moved = [k for k in after if not torch.equal(after[k], before[k])]
    assert len(moved) > len(after) // 4, "two steps should change most weights"
    records = read_log(tmp_path / "logs" / "metrics.jsonl")
    assert [r["step"] for r in records] == [1, 2]
    assert all(math.isfinite(v) for r in records for v in r.values())
    with Image.open(tmp_path / "samples" / "step_00000002.png") as grid:
        rows = trainer.model.sample_images(trainer.sample_batch())
        n, size = rows[0].shape[0], rows[0].shape[-1]
        assert n == min(cfg.trainer.num_samples, len(trainer.dataset))
        assert grid.size == (n * (size + 2) + 2, len(rows) * (size + 2) + 2)  # n columns x rows of images, 2 px padding


def test_an_added_domain_run_saves_its_resolved_domains(toy_root: Path, tmp_path: Path, stargan_ckpt: Path) -> None:
    """The checkpoint stands alone: its config lists the domains, not a pointer to the old run."""
    from gancraft.core.checkpoint import load_config

    cfg = compose("stargan_v2_add_domain", toy_root, stargan_ckpt, "trainer.max_steps=1", "trainer.sample_every=0", f"run_dir={tmp_path}")
    saved = load_config(build_trainer(cfg).fit())
    assert list(saved.model.domains) == ["no_glasses", "round", "cat_eye"]
    assert list(saved.data.domains) == ["no_glasses", "round", "cat_eye"]
    assert saved.model.new_domains is None and "domains_from" not in saved.model
