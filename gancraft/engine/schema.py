"""The recipe schema: every value of a composed recipe checked before anything runs.

:func:`validate_recipe` is the first thing :func:`gancraft.engine.run.build_trainer` does, so
a recipe trained from Python is checked as one trained from the command line.

Each section is checked against the typed signature of the thing it builds, so the
schema and the code cannot drift apart:

- ``trainer`` against :class:`gancraft.engine.trainer.TrainerConfig` (a dataclass);
- ``data`` against the data source its ``name`` (or ``_target_``) names, so a key left
  over from another source (``n`` of the glasses world under ``unpaired_folders``) is an
  error naming the keys that source takes;
- ``model`` against the model's constructor, and each nested network section
  (``model.generator``) against that network's;
- ``callbacks`` against each callback's;
- the top-level keys against :class:`RecipeTop`.

On top of the types, :data:`RANGES` holds the value ranges of keys whose builders are
typed without them, and :func:`check_relations` the rules between keys
(``data.crop_size <= data.load_size``). Every failure is one :class:`ConfigError` line
naming the key, the value and what is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

import gancraft.data  # noqa: F401  (the registries a recipe builds from, as run.py fills them)
import gancraft.models  # noqa: F401
import gancraft.world  # noqa: F401
from gancraft.core.errors import ConfigError
from gancraft.core.registry import CALLBACKS, DATASETS, MODELS
from gancraft.core.values import Range, bind
from gancraft.engine.trainer import TrainerConfig


@dataclass
class RecipeTop:
    """The top-level keys of a recipe (besides the sections). Other top-level keys are a
    recipe's own variables (``new_domain`` in ``stargan_v2_add_domain``) and pass as they are."""

    seed: int
    recipe: str = ""
    run_dir: str | None = None
    resume: str | None = None
    init_from: str | None = None
    callbacks: list[dict[str, Any]] | None = None


_SIDE = Range(low=16, multiple_of=4)  # what the generators take: 16 px or more, halved twice
_LOAD = Range(low=16)

#: ranges by dotted key, for values whose builders' types do not carry them
RANGES: dict[str, Range] = {
    "seed": Range(low=0),
    "trainer.max_steps": Range(low=1),
    "trainer.epochs": Range(low=1),
    "trainer.batch_size": Range(low=1),
    "trainer.num_workers": Range(low=0),
    "trainer.prefetch_factor": Range(low=1),
    "trainer.log_every": Range(low=1),
    "trainer.sample_every": Range(low=0),
    "trainer.num_samples": Range(low=1),
    "trainer.checkpoint_every": Range(low=0),
    "trainer.keep_checkpoints": Range(low=1),
    "data.load_size": _LOAD,
    "data.crop_size": _SIDE,
    "data.n": Range(low=1),
    "model.img_size": _SIDE,
    "model.lr": Range(low=0),
    "model.f_lr": Range(low=0),
    "model.pool_size": Range(low=0),
    "model.generator.ngf": Range(low=1),
    "model.generator.n_blocks": Range(low=0),
    "model.discriminator.ndf": Range(low=1),
    "model.discriminator.n_layers": Range(low=1),
}


def check_section(section: Any, registry: Any, key: str) -> None:
    """``section`` (``{name: ..., **kwargs}``) checked against the builder it names, and its
    nested network sections (a mapping with a ``name`` or ``_target_``) against theirs."""
    from gancraft.core.registry import NETWORKS

    if not isinstance(section, Mapping):
        raise ConfigError(f"{key} must be a mapping of settings, got {section!r}")
    if isinstance(section.get("name"), (list, dict)):
        raise ConfigError(f"{key}.name={section['name']} is not a name; expected one of {', '.join(registry.names())}")
    factory = registry.factory_for(section)
    what = f"{key} _target_ {section['_target_']}" if "_target_" in section else f"{registry.kind} {section['name']!r}"
    values = {k: v for k, v in section.items() if k not in ("name", "_target_")}
    bind(factory, values, what, prefix=f"{key}.")
    for sub, value in values.items():
        if isinstance(value, Mapping) and ("_target_" in value or "name" in value):
            check_section(value, NETWORKS, f"{key}.{sub}")


def check_ranges(cfg: Mapping[str, Any]) -> None:
    for dotted, rule in RANGES.items():
        value = OmegaConf.select(cfg, dotted, default=None) if isinstance(cfg, DictConfig) else _select(cfg, dotted)
        if value is not None:
            rule.check(dotted, value)


def _select(cfg: Mapping[str, Any], dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def check_relations(cfg: Mapping[str, Any]) -> None:
    """Rules between keys."""
    data = cfg.get("data") or {}
    load, crop = data.get("load_size"), data.get("crop_size")
    if isinstance(load, int) and isinstance(crop, int) and crop > load:
        raise ConfigError(f"data.crop_size={crop} is larger than data.load_size={load}; a crop must fit the resized image (crop_size <= load_size)")


def validate_recipe(cfg: DictConfig | Mapping[str, Any]) -> None:
    """Check a composed recipe; raises one :class:`ConfigError` line for the first bad value."""
    plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    assert isinstance(plain, dict)
    top = {k: v for k, v in plain.items() if k in RecipeTop.__dataclass_fields__}
    bind(RecipeTop, top, "a recipe")
    trainer = plain.get("trainer")
    if not isinstance(trainer, Mapping):
        raise ConfigError(f"trainer must be a mapping of settings, got {trainer!r}")
    bind(TrainerConfig, trainer, "trainer", prefix="trainer.")
    check_section(plain.get("data"), DATASETS, "data")
    check_section(plain.get("model"), MODELS, "model")
    for i, callback in enumerate(plain.get("callbacks") or []):
        if isinstance(callback, Mapping) and callback.get("name") in CALLBACKS:  # others: build_callbacks says what is registered
            check_section(callback, CALLBACKS, f"callbacks[{i}]")
    check_ranges(plain)
    check_relations(plain)
