"""Find recipes and compose them with Hydra.

A recipe is named (``cyclegan_glasses``) or given as a path (``my/recipe.yaml``).
Names are looked up in ``./recipes/`` first, then in the copy that ships inside the
package. Every recipe starts from ``_base.yaml`` (``defaults: [_base, _self_]``),
which is always found in the packaged directory, so a recipe anywhere on disk can
use it. ``key=value`` overrides are Hydra's (``+key=value`` adds a key).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gancraft.core.errors import ConfigError
from gancraft.core.shipped import shipped_dir

#: keys the command line consumes before Hydra sees the rest
COMMAND_KEYS = ("recipe",)


def _register_resolvers() -> None:
    OmegaConf.register_new_resolver("add", lambda *xs: sum(xs), replace=True)
    OmegaConf.register_new_resolver("mul", lambda a, b: a * b, replace=True)


_register_resolvers()


def recipe_dirs() -> list[Path]:
    """Where named recipes are looked up, in order: ./recipes, then the packaged copy."""
    dirs = [Path.cwd() / "recipes", shipped_dir("recipes")]
    dirs = [d for d in dirs if d is not None and d.is_dir()]
    return [d for i, d in enumerate(dirs) if d.resolve() not in {x.resolve() for x in dirs[:i]}]


def list_recipes() -> list[str]:
    names = {p.stem for d in recipe_dirs() for p in d.glob("*.yaml") if not p.stem.startswith("_")}
    return sorted(names)


def find_recipe(recipe: str) -> Path:
    """A recipe file from a name or a path."""
    path = Path(recipe).expanduser()
    if path.suffix in (".yaml", ".yml") or path.parent != Path("."):
        if path.is_file():
            return path.resolve()
        raise ConfigError(f"recipe file {recipe!r} does not exist")
    for directory in recipe_dirs():
        candidate = directory / f"{recipe}.yaml"
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(f"unknown recipe {recipe!r}; known: {', '.join(list_recipes())} (or give a path to a .yaml file)")


def compose_recipe(recipe: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``recipe`` with Hydra and apply ``overrides``; returns a resolved config."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    path = find_recipe(recipe)
    searchpath = ",".join(f"file://{d}" for d in recipe_dirs())
    words = [w for w in overrides if w.split("=", 1)[0].lstrip("+~") not in COMMAND_KEYS]
    try:
        with initialize_config_dir(config_dir=str(path.parent), version_base=None):
            cfg = compose(config_name=path.stem, overrides=[f"hydra.searchpath=[{searchpath}]", *words])
        OmegaConf.resolve(cfg)
        missing = sorted(OmegaConf.missing_keys(cfg))
    except (HydraException, OmegaConfBaseException) as err:
        message = " ".join(str(err).split())
        raise ConfigError(f"recipe {path.stem}: {message}") from None
    if missing:
        raise ConfigError(f"recipe {path.stem} needs a value for {', '.join(missing)} (add {missing[0]}=...)")
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))  # drop the `hydra` node and struct flags
    cfg.pop("hydra", None)
    for key in ("data", "model", "trainer"):
        if key not in cfg:
            raise ConfigError(f"recipe {path.stem} has no '{key}' section")
    cfg.setdefault("recipe", path.stem)
    return cfg
