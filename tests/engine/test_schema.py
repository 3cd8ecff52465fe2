"""The recipe schema: every composed value is checked before anything runs, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gancraft.core.errors import ConfigError
from gancraft.engine.run import build_trainer
from gancraft.engine.schema import validate_recipe
from gancraft.engine.trainer import TrainerConfig
from gancraft.recipes import compose_recipe
from tests.conftest import TINY_CYCLEGAN
from tests.test_recipes import TINY_STARGAN_V2


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["trainer.max_steps=abc"], "trainer.max_steps=abc is not a whole number or null"),
        (["trainer.max_steps=10.5"], "trainer.max_steps=10.5 is not a whole number or null"),
        (["model.generator.ngf=eight"], "model.generator.ngf=eight is not a whole number"),
        (["model.discriminator.n_layers=0"], "model.discriminator.n_layers=0 is out of range; it must be at least 1"),
        (["trainer.batch_size=-1"], "trainer.batch_size=-1 is out of range; it must be at least 1"),
        (["trainer.progress=maybe"], "trainer.progress=maybe is not true or false"),
        (["seed=abc"], "seed=abc is not a whole number"),
        (["data.crop_size=300"], "data.crop_size=300 is larger than data.load_size=64"),
        (["data.crop_size=30"], "data.crop_size=30 is out of range; it must be at least 16 and a multiple of 4"),
        (["+trainer.max_step=10"], "trainer does not take trainer.max_step=10; it takes max_steps, epochs,"),
        (["model.generator.name=resnet_generatr"], "unknown network 'resnet_generatr'; did you mean resnet_generator"),
        (["~model.generator.name", "+model.generator._target_=no_such_package.MyGenerator"],
         "module 'no_such_package' cannot be imported"),
    ],
)
def test_a_bad_value_is_one_line_naming_key_value_and_what_is_accepted(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_recipe(compose_recipe("cyclegan_glasses_cpu", overrides))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_key_left_over_from_another_data_source_names_the_keys_it_takes(toy_root: Path) -> None:
    with pytest.raises(ConfigError) as err:
        validate_recipe(compose_recipe("cyclegan_glasses_cpu", ["data=unpaired_folders", f"data.root={toy_root}", "+data.n=4000"]))
    assert str(err.value).startswith("dataset 'unpaired_folders' does not take data.n=4000; it takes root, split,")


def _data_group_recipes() -> list[str]:
    """Recipes whose data section comes from the ``data`` config group (recipes/data/*.yaml)."""
    from gancraft.recipes import data_sources, list_recipes

    options = set(data_sources())
    out = []
    for recipe in list_recipes():
        cfg = compose_recipe(recipe) if recipe != "stargan_v2_add_domain" else None
        if cfg is not None and cfg.data.name in options:
            out.append(recipe)
    return out


@pytest.mark.parametrize("recipe", _data_group_recipes())
def test_switching_the_data_source_needs_no_extra_keys(recipe: str, toy_root: Path) -> None:
    """``data=unpaired_folders`` replaces the data section; ``trainer.max_steps`` alone sets the length."""
    cfg = compose_recipe(recipe, ["data=unpaired_folders", f"data.root={toy_root}", "trainer.max_steps=10"])
    validate_recipe(cfg)
    assert cfg.data.name == "unpaired_folders" and cfg.data.root == str(toy_root)
    assert "n" not in cfg.data and "mode" not in cfg.data
    config = TrainerConfig.from_config(cfg.trainer)
    assert config.max_steps == 10 and config.epochs is None


def test_renaming_the_data_source_points_to_the_data_group() -> None:
    with pytest.raises(ConfigError, match=r"^data\.name=unpaired_folders would keep .*; switch the data source with data=unpaired_folders$"):
        compose_recipe("cyclegan_glasses", ["data.name=unpaired_folders", "data.root=x"])


def test_home_paths_work_in_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.conftest import write_toy_domains

    monkeypatch.setenv("HOME", str(tmp_path))
    write_toy_domains(tmp_path / "data" / "glasses", n_train=2, n_test=1)
    cfg = compose_recipe("cyclegan_glasses", ["data=unpaired_folders", "data.root=~/data/glasses"])
    assert cfg.data.root == str(tmp_path / "data" / "glasses")


def test_epochs_override_clears_max_steps() -> None:
    cfg = compose_recipe("cyclegan_glasses_cpu", ["trainer.epochs=2"])
    assert cfg.trainer.epochs == 2 and cfg.trainer.max_steps is None


def test_a_recipe_built_from_python_is_checked_too() -> None:
    cfg = compose_recipe("cyclegan_glasses_cpu", ["trainer.batch_size=0"])
    with pytest.raises(ConfigError, match=r"^trainer\.batch_size=0 is out of range; it must be at least 1$"):
        build_trainer(cfg)


def test_a_folder_run_cut_short_with_max_steps_trains(toy_root: Path, tmp_path: Path) -> None:
    words = ["data=unpaired_folders", f"data.root={toy_root}", *TINY_CYCLEGAN, "trainer.max_steps=2", "trainer.sample_every=0", f"run_dir={tmp_path}"]
    words.remove("trainer.epochs=null")  # what the user types: no epochs=null needed
    last = build_trainer(compose_recipe("cyclegan_glasses", words)).fit()
    assert last is not None and last.name == "step_00000002"


def test_stargan_v2_null_domains_take_every_sub_folder(tmp_path: Path) -> None:
    from tests.conftest import write_toy_domains

    root = write_toy_domains(tmp_path / "toy", n_train=3, n_test=1, size=32)
    words = [*TINY_STARGAN_V2, f"data.root={root}", "data.domains=null", "trainer.max_steps=1", "trainer.sample_every=0", f"run_dir={tmp_path / 'run'}"]
    trainer = build_trainer(compose_recipe("stargan_v2_glasses_styles_cpu", words))
    assert list(trainer.model.domains) == ["testA", "testB", "trainA", "trainB"]
