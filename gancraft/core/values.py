"""Typed values: check a value against a type hint, bind a mapping to a signature.

One mechanism serves the command line (``key=value`` words are strings) and the recipe
schema (config values are already typed by YAML): :func:`coerce` turns a value into the
type a parameter's hint names, or raises one :class:`ConfigError` line naming the key,
the value and what is accepted; :func:`bind` does it for every key of a mapping against
a function's (or class's) signature and rejects keys the signature does not take.

Ranges are part of the type: ``Annotated[int, Range(low=1)]`` (see :data:`PositiveInt`).
"""

from __future__ import annotations

import collections.abc as cabc
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from gancraft.core.errors import ConfigError

_NULL_WORDS = ("null", "none", "~")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class Range:
    """A range rule for numbers: ``low <= value <= high`` and a multiple of ``multiple_of``."""

    low: float | None = None
    high: float | None = None
    multiple_of: int | None = None

    def describe(self) -> str:
        parts = []
        if self.low is not None and self.high is not None:
            parts.append(f"from {self.low:g} to {self.high:g}")
        elif self.low is not None:
            parts.append(f"at least {self.low:g}")
        elif self.high is not None:
            parts.append(f"at most {self.high:g}")
        if self.multiple_of:
            parts.append(f"a multiple of {self.multiple_of}")
        return " and ".join(parts)

    def check(self, key: str, value: Any) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        bad = (self.low is not None and value < self.low) or (self.high is not None and value > self.high)
        bad = bad or bool(self.multiple_of and value % self.multiple_of)
        if bad:
            raise ConfigError(f"{key}={value} is out of range; it must be {self.describe()}")


PositiveInt = Annotated[int, Range(low=1)]
NonNegativeInt = Annotated[int, Range(low=0)]
#: the side of an image a network takes: the ResNet generator halves it twice
ImageSide = Annotated[int, Range(low=16, multiple_of=4)]


class _Mismatch(Exception):
    """The value does not fit this hint (try the next member of a union)."""


def describe(hint: Any) -> str:
    """A type hint in words, for error messages."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        rules = " ".join(r.describe() for r in args[1:] if isinstance(r, Range))
        return f"{describe(args[0])} {rules}".strip()
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (list, tuple, cabc.Sequence):
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin in (dict, cabc.Mapping):
        return "a mapping"
    names = {int: "a whole number", float: "a number", bool: "true or false", str: "a string", Path: "a path", type(None): "null"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _parse_word(text: str) -> Any:
    """A command-line string as a YAML scalar or list (``5``, ``0.5``, ``null``, ``[a,b]``)."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _coerce(value: Any, hint: Any, key: str, from_text: bool) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty or hint is object:
        return _parse_word(value) if from_text and isinstance(value, str) else value
    if origin is Annotated:
        out = _coerce(value, args[0], key, from_text)
        for rule in args[1:]:
            if isinstance(rule, Range):
                rule.check(key, out)
        return out
    if origin in (Union, types.UnionType):
        members = sorted(args, key=lambda a: a is str)  # a string matches everything: try it last
        for member in members:
            try:
                return _coerce(value, member, key, from_text)
            except _Mismatch:
                continue
        raise _Mismatch
    if hint is type(None):
        if value is None or (from_text and isinstance(value, str) and value.lower() in _NULL_WORDS):
            return None
        raise _Mismatch
    if origin is Literal:
        text = str(value)
        for choice in args:
            if text == str(choice):
                return choice
        raise _Mismatch
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
        raise _Mismatch
    if hint in (int, float):
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, int) or (hint is float and isinstance(value, float)):
            return hint(value)
        if isinstance(value, str):
            try:
                return hint(value.strip())  # int("10.5") fails: a whole number is asked for
            except ValueError:
                raise _Mismatch from None
        raise _Mismatch
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _Mismatch
    if hint is Path or (isinstance(hint, type) and issubclass(hint, Path)):
        if isinstance(value, (str, Path)) and str(value):
            return Path(value).expanduser()
        raise _Mismatch
    if origin in (list, tuple, cabc.Sequence) or hint in (list, tuple):
        item = args[0] if args else Any
        if from_text and isinstance(value, str):
            parsed = _parse_word(value) if value.startswith("[") else [v.strip() for v in value.split(",") if v.strip()]
            value = parsed if isinstance(parsed, list) else [parsed]
        if isinstance(value, (list, tuple)):
            return [_coerce(v, item, key, from_text) for v in value]
        raise _Mismatch
    if origin in (dict, cabc.Mapping) or hint in (dict, cabc.Mapping):
        if isinstance(value, Mapping):
            return dict(value)
        raise _Mismatch
    if isinstance(hint, type):
        if isinstance(value, hint):
            return value
        raise _Mismatch
    return value  # a hint this module does not model (a Protocol, a TypeVar): the callee decides


def coerce(value: Any, hint: Any, key: str, *, from_text: bool = False) -> Any:
    """``value`` as the type ``hint`` names; ``from_text``: ``value`` is a command-line string.

    A value that does not fit is one ``ConfigError`` line: ``key=value is not a whole number``.
    """
    try:
        return _coerce(value, hint, key, from_text)
    except _Mismatch:
        raise ConfigError(f"{key}={_show(value)} is not {describe(hint)}") from None


def hint_of(default: Any) -> Any:
    """The type a setting's default value asks for: ``200`` a whole number, ``0.5`` a number,
    ``true`` a boolean, ``[a, b]`` a list; ``null`` and strings (often a word like ``auto`` among
    other values) take any value, read as YAML."""
    if isinstance(default, bool):
        return bool
    for kind in (int, float, list, dict):
        if isinstance(default, kind):
            return kind
    return Any


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value)


def type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The parameters' type hints of a function or a class's ``__init__`` (``{}`` when unreadable)."""
    targets = [fn.__init__, fn] if inspect.isclass(fn) else [fn]  # type: ignore[misc]
    for target in targets:
        try:
            hints = typing.get_type_hints(target, include_extras=True)
        except Exception:  # noqa: BLE001  (a forward reference nobody can resolve: no checking)
            continue
        if hints:
            return hints
    return {}


def parameters(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """The named parameters of ``fn`` (``self`` excluded); ``{}`` without a signature."""
    try:
        return {n: p for n, p in inspect.signature(fn).parameters.items() if n != "self"}
    except (TypeError, ValueError):
        return {}


def bind(fn: Callable[..., Any], values: Mapping[str, Any], what: str, *, prefix: str = "", from_text: bool = False) -> dict[str, Any]:
    """``values`` checked against ``fn``'s signature: each typed by its hint, none unknown, none missing.

    ``what`` names the thing in errors (``"data source unpaired_folders"``); ``prefix`` is
    put before each key (``"data."``). Keys a ``**kwargs`` parameter would take pass as they
    are. Returns the coerced values.
    """
    params = parameters(fn)
    if not params:
        return dict(values)
    hints = type_hints(fn)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    named = {n: p for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in named:
            out[key] = coerce(value, hints.get(key, Any), prefix + key, from_text=from_text)
        elif takes_any:
            out[key] = value
        else:
            raise ConfigError(f"{what} does not take {prefix}{key}={_show(value)}; it takes {', '.join(named) or 'nothing'}")
    missing = [n for n, p in named.items() if p.default is p.empty and n not in out]
    if missing:
        raise ConfigError(f"{what} needs {', '.join(f'{prefix}{m}=...' for m in missing)}")
    return out
