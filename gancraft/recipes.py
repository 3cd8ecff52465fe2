"""Find configs (recipes, evaluation protocols) and compose them with Hydra.

A recipe is named (``cyclegan_glasses``) or given as a path (``my/recipe.yaml``).
Names are looked up in ``./recipes/`` first, then in the copy that ships inside the
package. Every recipe starts from ``_base.yaml`` (``defaults: [_base, _self_]``),
which is always found in the packaged directory, so a recipe anywhere on disk can
use it. ``key=value`` overrides are Hydra's (``+key=value`` adds a key).

The same three functions serve every kind of config (recipes and protocols):
:func:`find_config` (a name or a path -> a file), :func:`compose_config` (Hydra, with
overrides; a malformed YAML file is one line naming the file, line and column) and
:func:`read_yaml` (one file, same errors). :func:`compose_recipe` adds what a recipe
needs (its sections); :mod:`gancraft.engine.schema` checks its values before it is built.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from gancraft.core.errors import ConfigError
from gancraft.core.shipped import shipped_dir

#: the two ways of giving a run's length; an override of one clears the other
_STOPPING = ("trainer.max_steps", "trainer.epochs")


def _register_resolvers() -> None:
    OmegaConf.register_new_resolver("add", lambda *xs: sum(xs), replace=True)
    OmegaConf.register_new_resolver("mul", lambda a, b: a * b, replace=True)


_register_resolvers()


def config_dirs(local: str, packaged: Path | None) -> list[Path]:
    """``./<local>/`` then ``packaged``: where named configs are looked up, in order, without repeats."""
    dirs = [d for d in (Path.cwd() / local, packaged) if d is not None and d.is_dir()]
    return [d for i, d in enumerate(dirs) if d.resolve() not in {x.resolve() for x in dirs[:i]}]


def recipe_dirs() -> list[Path]:
    """Where named recipes are looked up, in order: ./recipes, then the packaged copy."""
    return config_dirs("recipes", shipped_dir("recipes"))


def list_configs(dirs: Sequence[Path]) -> list[str]:
    """The config names in ``dirs`` (``_*.yaml`` are partials, not listed)."""
    return sorted({p.stem for d in dirs for p in d.glob("*.yaml") if not p.stem.startswith("_")})


def list_recipes() -> list[str]:
    return list_configs(recipe_dirs())


def data_sources() -> list[str]:
    """The options of the ``data`` config group (``data=NAME``): ``recipes/data/*.yaml``."""
    return list_configs([d / "data" for d in recipe_dirs()])


def find_config(name: str, dirs: Sequence[Path], kind: str, known: Sequence[str] | None = None) -> Path:
    """A ``kind`` file (a recipe, a protocol) from a name looked up in ``dirs``, or a path to a
    ``.yaml`` file; an unknown name lists ``known`` (default: the names in ``dirs``)."""
    path = Path(name).expanduser()
    if path.suffix in (".yaml", ".yml") or path.parent != Path("."):
        if path.is_file():
            return path.resolve()
        raise ConfigError(f"{kind} file {name!r} does not exist")
    for directory in dirs:
        candidate = directory / f"{name}.yaml"
        if candidate.is_file():
            return candidate.resolve()
    known = list_configs(dirs) if known is None else known
    raise ConfigError(f"unknown {kind} {name!r}; known: {', '.join(known) or 'none'} (or give a path to a .yaml file)")


def find_recipe(recipe: str) -> Path:
    """A recipe file from a name or a path."""
    return find_config(recipe, recipe_dirs(), "recipe")


def yaml_error(err: Exception, fallback: Path | str) -> ConfigError:
    """A YAML syntax error as one line: ``file, line L, column C: problem``."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    if mark is None:
        return ConfigError(f"{fallback}: malformed YAML: {problem}")
    name = mark.name if mark.name and not str(mark.name).startswith("<") else str(fallback)
    return ConfigError(f"{name}, line {mark.line + 1}, column {mark.column + 1}: malformed YAML: {problem}")


def read_yaml(path: str | Path) -> Any:
    """One YAML file as plain data; a syntax error names the file, line and column."""
    import yaml

    path = Path(path)
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise yaml_error(err, path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}") from None


def prepare_overrides(words: Sequence[str]) -> list[str]:
    """Command-line overrides made safe for Hydra's grammar, which the shell's habits break.

    ``key=~/x`` (Hydra's lexer rejects ``~``) becomes the expanded home path; an override of
    ``trainer.max_steps`` (or ``trainer.epochs``) that the words do not pair with the other
    clears the other, so a recipe measured in epochs can be cut short with ``trainer.max_steps=10``.
    """
    out = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep and value.startswith("~"):
            value = os.path.expanduser(value)
            word = f"{key}={_quote(value)}"
        out.append(word)
    given = {w.partition("=")[0].lstrip("+") for w in out if "=" in w}
    for mine, other in (_STOPPING, _STOPPING[::-1]):
        value = next((w.partition("=")[2] for w in out if w.partition("=")[0].lstrip("+") == mine), None)
        if value is not None and value.lower() not in ("null", "none", "~") and other not in given:
            out.append(f"{other}=null")
    return out


def _quote(value: str) -> str:
    """``value`` as a Hydra override value: as it is when plain, else single-quoted."""
    if re.fullmatch(r"[\w./\-+:@%]*", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _hydra_message(err: Exception) -> str:
    """Hydra's and OmegaConf's multi-line messages as one line, without the parser's noise."""
    text = " ".join(str(err).split())
    text = re.sub(r"\s*See https://hydra\.cc\S* for details", "", text)
    text = re.sub(r"\s*full_key: .*$", "", text)
    if "LexerNoViableAltException" in text or "mismatched input" in text or "no viable alternative" in text:
        word = text.split(": ", 1)[-1].split(" ^")[0]
        return f"cannot parse the override {word!r}; quote a value with spaces or special characters: key='value'"
    return text


def compose_config(path: Path, dirs: Sequence[Path], overrides: Sequence[str] = (), kind: str = "config") -> DictConfig:
    """Compose the ``kind`` file ``path`` (a recipe, a protocol) with Hydra, its ``defaults`` found
    beside it, then in ``dirs``, and apply ``overrides``; returns a plain resolved config (no
    ``hydra`` node). A malformed file or a bad override is one ConfigError line naming it."""
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    what = f"{kind} {path.stem}"
    read_yaml(path)  # a malformed top file: one line, before Hydra's own message
    searchpath = ",".join(f"file://{d}" for d in dirs)
    words = [f"hydra.searchpath=[{searchpath}]"] if dirs else []
    try:
        with initialize_config_dir(config_dir=str(path.parent), version_base=None):
            cfg = compose(config_name=path.stem, overrides=[*words, *prepare_overrides(overrides)])
        OmegaConf.resolve(cfg)
        missing = sorted(OmegaConf.missing_keys(cfg))
    except yaml.YAMLError as err:  # a malformed file among the defaults
        raise yaml_error(err, path) from None
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(f"{what}: {_hydra_message(err)}") from None
    if missing:
        raise ConfigError(f"{what} needs a value for {', '.join(missing)} (add {missing[0]}=...)")
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))  # drop the `hydra` node and struct flags
    cfg.pop("hydra", None)
    return cfg


def compose_recipe(recipe: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``recipe`` with Hydra and apply ``overrides``; returns a resolved config. Its values
    are checked against the recipe schema when it is built (:mod:`gancraft.engine.schema`)."""
    path = find_recipe(recipe)
    sources = data_sources()
    for word in overrides:
        key, _, value = word.partition("=")
        if key.lstrip("+") == "data.name" and value in sources:
            raise ConfigError(f"{word} would keep the current source's other keys; switch the data source with data={value}")
    cfg = compose_config(path, recipe_dirs(), overrides, "recipe")
    for key in ("data", "model", "trainer"):
        if key not in cfg:
            raise ConfigError(f"recipe {path.stem} has no '{key}' section")
    cfg.setdefault("recipe", path.stem)
    return cfg
