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


def find_config(name: str, dirs: Sequence[Path], kind: str, known: Sequence[str]) -> Path:
    """A ``kind`` file (a recipe, a protocol) from a name looked up in ``dirs``, or a path."""
    path = Path(name).expanduser()
    if path.suffix in (".yaml", ".yml") or path.parent != Path("."):
        if path.is_file():
            return path.resolve()
        raise ConfigError(f"{kind} file {name!r} does not exist")
    for directory in dirs:
        candidate = directory / f"{name}.yaml"
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(f"unknown {kind} {name!r}; known: {', '.join(known) or 'none'} (or give a path to a .yaml file)")


def compose_config(path: Path, dirs: Sequence[Path], overrides: Sequence[str], kind: str) -> DictConfig:
    """Compose the file ``path`` with Hydra (``defaults`` found in ``dirs``) and ``overrides``;
    returns a resolved plain config. A broken file or override is a ConfigError naming it."""
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    searchpath = ",".join(f"file://{d}" for d in dirs)
    try:
        with initialize_config_dir(config_dir=str(path.parent), version_base=None):
            cfg = compose(config_name=path.stem, overrides=[f"hydra.searchpath=[{searchpath}]", *overrides])
        OmegaConf.resolve(cfg)
        missing = sorted(OmegaConf.missing_keys(cfg))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{kind} file {mark.name if mark is not None else path}:{where}: {problem}") from None
    except (HydraException, OmegaConfBaseException) as err:
        message = " ".join(str(err).split())
        raise ConfigError(f"{kind} {path.stem}: {message}") from None
    if missing:
        raise ConfigError(f"{kind} {path.stem} needs a value for {', '.join(missing)} (add {missing[0]}=...)")
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))  # drop the `hydra` node and struct flags
    cfg.pop("hydra", None)
    return cfg


def find_recipe(recipe: str) -> Path:
    """A recipe file from a name or a path."""
    return find_config(recipe, recipe_dirs(), "recipe", list_recipes())


def compose_recipe(recipe: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``recipe`` with Hydra and apply ``overrides``; returns a resolved config."""
    path = find_recipe(recipe)
    words = [w for w in overrides if w.split("=", 1)[0].lstrip("+~") not in COMMAND_KEYS]
    cfg = compose_config(path, recipe_dirs(), words, "recipe")
    for key in ("data", "model", "trainer"):
        if key not in cfg:
            raise ConfigError(f"recipe {path.stem} has no '{key}' section")
    cfg.setdefault("recipe", path.stem)
    return cfg
