"""The ``gancraft`` command line: bind ``key=value`` words to a plain typed function, call it.

Each subcommand is an ordinary Python function named in :data:`COMMANDS` by its import
path and imported only when it runs (so that ``gancraft list`` does not pay for FastAPI
or clean-fid). Its signature is its command line (:func:`bind_words`):

- a keyword parameter ``size: int`` takes the word ``size=128``, typed by its hint
  (:mod:`gancraft.core.values`); a parameter without a default is required;
- a positional-only parameter (before ``/``) takes a bare word (``gancraft list networks``);
- ``*overrides`` (its keyword parameters then come after it) takes every other ``key=value``,
  ``+key=value`` and ``~key`` word, verbatim and in order (the Hydra overrides of ``train``);
- a ``dict`` parameter ``condition`` takes ``condition.KEY=value`` words;
- ``**options`` takes every other ``key=value`` word, its value read as YAML.

Anything else (an unknown key, a word that is not ``key=value``, a value of the wrong
type) is one line on stderr and exit status 2, before the command runs.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gancraft.core.errors import ConfigError, GancraftError
from gancraft.core.values import bind, coerce, describe, parameters, type_hints

# (command, subcommand or None) -> "module:function"
COMMANDS: dict[tuple[str, str | None], str] = {
    ("list", None): "gancraft.commands:list_command",
    ("train", None): "gancraft.commands:train_command",
    ("translate", None): "gancraft.commands:translate_command",
    ("evaluate", None): "gancraft.commands:evaluate_command",
    ("tryon", None): "gancraft.inference.tryon:tryon_command",
    ("export", None): "gancraft.inference.export:export_command",
    ("data", "curate"): "gancraft.faces.curate:curate_command",
    ("data", "synth"): "gancraft.world.synth:synth_command",
    ("data", "prepare"): "gancraft.data.prepared:prepare_command",
    ("oracle", "train"): "gancraft.world.oracle:train_command",
    ("hype", "create"): "gancraft.evaluation.hype.cli:create_command",
    ("hype", "serve"): "gancraft.evaluation.hype.cli:serve_command",
    ("hype", "report"): "gancraft.evaluation.hype.cli:report_command",
}

USAGE = """usage: gancraft COMMAND [SUBCOMMAND] [key=value ...]   (gancraft COMMAND --help: its arguments)

commands:
  list [networks|losses|datasets|models|metrics|callbacks|recipes]   registered components
  train recipe=NAME|PATH [key=value ...]                    train a recipe
  translate checkpoint=DIR input=FILE|DIR output=DIR ...    translate images
  evaluate checkpoint=DIR protocol=NAME                     FID/KID/LPIPS/world metrics
  tryon checkpoint=DIR input=FILE|DIR output=DIR ...        glasses on photos at full resolution
  export checkpoint=DIR format=onnx output=FILE.onnx        ONNX export (onnxruntime)
  data curate input=DIR output=DIR [size=256]               photos -> aligned face crops + reasons
  data synth out=DIR n=N size=S                             render the glasses world to disk
  data prepare input=DIR size=S [output=FILE]               pre-resized uint8 image cache
  oracle train                                              retrain the glasses-world oracle
  hype create|serve|report ...                              HYPE human studies
"""

_HELP_WORDS = ("-h", "--help", "help")
_EXAMPLE = "for example recipe=cyclegan_glasses"


def split_word(word: str) -> tuple[str, str]:
    """``'b.c=x=y'`` -> ``('b.c', 'x=y')``; a word that is not ``key=value`` is a ConfigError."""
    key, sep, value = word.partition("=")
    if not sep or not key or not key.lstrip("+~"):
        raise ConfigError(f"argument {word!r} is not key=value ({_EXAMPLE})")
    return key, value


def parse_key_values(words: Sequence[str]) -> dict[str, str]:
    """``['a=1', '+b.c=x']`` -> ``{'a': '1', 'b.c': 'x'}`` (for callers that keep raw strings)."""
    return {key.lstrip("+~"): value for key, value in map(split_word, words)}


def bind_words(fn: Callable[..., Any], words: Sequence[str], what: str) -> tuple[list[Any], dict[str, Any]]:
    """The ``(args, kwargs)`` that call ``fn`` for command-line ``words`` (see the module docstring)."""
    params = parameters(fn)
    hints = type_hints(fn)
    positional = [p for p in params.values() if p.kind is p.POSITIONAL_ONLY]
    keywords = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    mappings = {n for n in keywords if _takes_mapping(hints.get(n))}
    var_positional = any(p.kind is p.VAR_POSITIONAL for p in params.values())
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in params.values())
    bare: list[str] = []
    named: dict[str, Any] = {}
    overrides: list[str] = []
    extra: dict[str, Any] = {}
    for word in words:
        if "=" not in word:
            if var_positional and word.startswith("~") and len(word) > 1:
                overrides.append(word)  # Hydra's "delete this key"
            elif len(bare) < len(positional):
                bare.append(word)
            else:
                raise ConfigError(f"argument {word!r} is not key=value ({_EXAMPLE})")
            continue
        key, value = split_word(word)
        head, dot, rest = key.partition(".")
        if key in keywords:
            named[key] = value
        elif dot and head in mappings:
            named.setdefault(head, {})[rest] = value
        elif var_positional:
            overrides.append(word)
        elif var_keyword:
            extra[key] = coerce(value, Any, key, from_text=True)
        else:
            named[key] = value  # not a parameter: bind() names it with the accepted keys
    missing = [n for n in keywords if params[n].default is params[n].empty and n not in named]
    if missing:
        needs = ", ".join(f"{m}=<{describe(hints.get(m, Any))}>" for m in missing)
        raise ConfigError(f"{what} needs {needs}; usage: {usage_line(fn, what)}")
    kwargs = bind(fn, named, what, from_text=True)
    args = [coerce(word, hints.get(p.name, Any), p.name, from_text=True) for p, word in zip(positional, bare)]
    return [*args, *overrides], {**kwargs, **extra}


def usage_line(fn: Callable[..., Any], what: str) -> str:
    """The ````gancraft ...```` example a command's docstring opens with, else ``what --help``."""
    match = re.search(r"``(gancraft [^`]+)``", inspect.getdoc(fn) or "")
    return match.group(1) if match else f"see {what} --help"


def _takes_mapping(hint: Any) -> bool:
    """Whether ``hint`` is (or is a union holding) a dict type."""
    members = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    return any(m in (dict, Mapping) or typing.get_origin(m) in (dict, Mapping) for m in members)


def resolve(argv: Sequence[str]) -> tuple[Callable[..., Any], list[str], str]:
    """The function for ``argv``, the words left for it, and the command's name."""
    if not argv:
        raise ConfigError("no command given; run gancraft --help")
    command, rest = argv[0], list(argv[1:])
    sub = rest[0] if rest and "=" not in rest[0] else None
    if sub is not None and (command, sub) in COMMANDS:
        key, rest = (command, sub), rest[1:]
    elif (command, None) in COMMANDS:
        key = (command, None)
    else:
        known = sorted({" ".join(filter(None, k)) for k in COMMANDS})
        raise ConfigError(f"unknown command {' '.join(argv[:2])!r}; known: {', '.join(known)}")
    module_name, _, fn_name = COMMANDS[key].partition(":")
    return getattr(importlib.import_module(module_name), fn_name), rest, "gancraft " + " ".join(filter(None, key))


def command_help(fn: Callable[..., Any], what: str) -> str:
    """The docstring of a command and its arguments with their types and defaults."""
    hints = type_hints(fn)
    lines = [f"usage: {what} ...", "", inspect.getdoc(fn) or "", "", "arguments:"]
    for name, p in parameters(fn).items():
        if p.kind is p.VAR_POSITIONAL:
            lines.append("  key=value ...         overrides of any setting")
        elif p.kind is p.VAR_KEYWORD:
            lines.append("  key=value ...         settings passed on")
        else:
            default = "required" if p.default is p.empty else "optional" if p.default is None else f"default {p.default}"
            lines.append(f"  {name:20s}  {describe(hints.get(name, Any))} ({default})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in _HELP_WORDS:
        print(USAGE)
        return 0 if argv else 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        fn, rest, what = resolve(argv)
        if any(w in _HELP_WORDS for w in rest):
            print(command_help(fn, what))
            return 0
        args, kwargs = bind_words(fn, rest, what)
        return int(fn(*args, **kwargs) or 0)
    except GancraftError as err:
        message = " ".join(str(err).split())  # one line, whatever the message holds
        print(f"gancraft: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gancraft: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
