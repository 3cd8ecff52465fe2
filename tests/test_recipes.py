"""Every recipe composes, and every recipe runs two tiny training steps (on the CPU,
32 px, thin networks). A recipe whose model has no entry in TINY, or that needs a value
(``???``) with no entry in NEEDS, fails here until it gets one."""

from pathlib import Path

import pytest

from gancraft.engine.run import build_trainer
from gancraft.recipes import compose_recipe, list_recipes
from tests.conftest import TINY_CYCLEGAN

#: model name -> overrides that make any recipe of that model tiny
TINY = {"cyclegan": TINY_CYCLEGAN}

#: data source -> overrides that make it tiny; ``{root}`` is the toy folder data set
TINY_DATA = {"unpaired_folders": ["data.root={root}"]}

#: recipe -> values for its required (``???``) keys; ``{root}`` as above
NEEDS: dict[str, list[str]] = {}


def compose(recipe: str, root: Path, *extra: str):
    words = [w.format(root=root) for w in NEEDS.get(recipe, [])]
    base = compose_recipe(recipe, words + ["data.root=" + str(root)] if _needs_root(recipe, words) else words)
    assert base.model.name in TINY, f"add tiny overrides for model {base.model.name!r} to TINY"
    data = [w.format(root=root) for w in TINY_DATA.get(base.data.name, [])]
    return compose_recipe(recipe, words + data + TINY[base.model.name] + list(extra))


def _needs_root(recipe: str, words: list[str]) -> bool:
    from gancraft.errors import ConfigError

    try:
        compose_recipe(recipe, words)
    except ConfigError as err:
        if "data.root" in str(err):
            return True
        raise AssertionError(f"recipe {recipe} needs values; add them to NEEDS: {err}") from None
    return False


@pytest.mark.parametrize("recipe", list_recipes())
def test_recipe_composes_with_seed_and_sections(recipe: str, toy_root: Path) -> None:
    cfg = compose(recipe, toy_root)
    assert {"seed", "data", "model", "trainer"} <= set(cfg)


@pytest.mark.parametrize("recipe", list_recipes())
def test_recipe_trains_two_tiny_steps(recipe: str, toy_root: Path, tmp_path: Path) -> None:
    cfg = compose(recipe, toy_root, "trainer.epochs=null", "trainer.max_steps=2", "trainer.sample_every=1", f"run_dir={tmp_path}")
    last = build_trainer(cfg).fit()
    assert (last / "model.safetensors").is_file()
    assert (tmp_path / "samples" / "step_00000002.png").is_file()
