"""Registries: build components by name.

One :class:`Registry` per kind of component. A component registers itself with a
decorator and is built from a recipe by its name::

    @NETWORKS.register("resnet_generator")
    class ResnetGenerator(nn.Module): ...

    net = NETWORKS.build("resnet_generator", ngf=64)

Recipes name components with ``name: resnet_generator``; ``_target_: pkg.mod.Class``
is the escape hatch for a class nobody registered.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from gancraft.core.errors import ConfigError, UnknownNameError

T = TypeVar("T", bound=Callable[..., Any])


class Registry:
    """A name -> factory table for one kind of component."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., Any]] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers a class or function under ``name``."""

        def decorator(obj: T) -> T:
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> Callable[..., Any]:
        """The factory registered as ``name``; unknown names list the close matches."""
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(self.names())}"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; {hint}") from None

    def build(self, name: str, **kwargs: Any) -> Any:
        """Build the component registered as ``name`` with ``kwargs``; a wrong keyword is a ConfigError."""
        factory = self.get(name)
        check_arguments(factory, kwargs, f"{self.kind} {name!r}")
        return factory(**kwargs)

    def factory_for(self, cfg: Mapping[str, Any]) -> Callable[..., Any]:
        """The class or function a config mapping names: ``name``, or the ``_target_`` escape hatch."""
        if "_target_" in cfg:
            return locate(str(cfg["_target_"]))
        if "name" not in cfg:
            raise ConfigError(f"a {self.kind} config needs a 'name' (one of {', '.join(self.names())}) or a '_target_'")
        return self.get(str(cfg["name"]))

    def build_from_config(self, cfg: Mapping[str, Any], **extra: Any) -> Any:
        """Build from a config mapping with ``name`` (or ``_target_``) plus keyword arguments."""
        kwargs = {k: v for k, v in dict(cfg).items() if k not in ("name", "_target_")}
        kwargs.update(extra)
        factory = self.factory_for(cfg)
        check_arguments(factory, kwargs, str(cfg["_target_"]) if "_target_" in cfg else f"{self.kind} {cfg['name']!r}")
        return factory(**kwargs)

    def names(self, pattern: str | None = None) -> list[str]:
        """Registered names, sorted; ``pattern`` is a shell-style filter such as ``'*gan*'``."""
        names = sorted(self._entries)
        return [n for n in names if fnmatch.fnmatch(n, pattern)] if pattern else names

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def check_arguments(factory: Callable[..., Any], kwargs: Mapping[str, Any], what: str) -> None:
    """Raise a ConfigError naming the bad key when ``kwargs`` do not fit ``factory``'s signature."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    params = signature.parameters.values()
    accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
    unknown = [key for key in kwargs if key not in accepted]
    if unknown and not takes_any:  # named first: a typo is the likelier mistake than a missing key
        close = [m for key in unknown for m in difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"{what}: unknown key(s) {', '.join(unknown)}{hint}; accepted keys: {', '.join(accepted)}")
    try:
        signature.bind(**kwargs)
    except TypeError as err:
        raise ConfigError(f"{what}: {err}; accepted keys: {', '.join(accepted)}") from None


def locate(path: str) -> Callable[..., Any]:
    """Import ``package.module.Attribute`` (the ``_target_`` escape hatch)."""
    module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"_target_ {path!r} cannot be imported; give a full 'package.module.Class' path") from None


NETWORKS = Registry("network")
LOSSES = Registry("loss")
DATASETS = Registry("dataset")
MODELS = Registry("model")
METRICS = Registry("metric")
#: things the trainer calls after each checkpoint, built from ``callbacks:`` in a recipe
#: (see :class:`gancraft.core.callbacks.TrainingCallback`); evaluation registers ``evaluate``.
CALLBACKS = Registry("callback")

REGISTRIES: dict[str, Registry] = {
    "networks": NETWORKS,
    "losses": LOSSES,
    "datasets": DATASETS,
    "models": MODELS,
    "metrics": METRICS,
    "callbacks": CALLBACKS,
}
