"""The ``gancraft`` command line: parse ``key=value`` arguments, call the library.

Each subcommand is a function ``fn(args: dict[str, str], overrides: list[str]) -> int``
named in :data:`COMMANDS` by its import path, imported only when it runs (so that
``gancraft list`` does not pay for FastAPI or clean-fid). ``args`` holds the
command's own ``key=value`` words (``recipe=``, ``checkpoint=``, ...); ``overrides``
holds every word in order, for commands that pass them on to Hydra.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from gancraft.core.errors import GancraftError

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

USAGE = """usage: gancraft COMMAND [SUBCOMMAND] [key=value ...]

commands:
  list [networks|losses|datasets|models|metrics|recipes]   registered components
  train recipe=NAME|PATH [key=value ...]                    train a recipe
  translate checkpoint=DIR input=FILE|DIR output=DIR ...    translate images
  evaluate checkpoint=DIR protocol=NAME                     FID/KID/LPIPS/world metrics
  tryon checkpoint=DIR input=FILE|DIR output=DIR ...        glasses on photos at full resolution
  export checkpoint=DIR format=onnx output=FILE.onnx        ONNX export (onnxruntime)
  data curate input=DIR output=DIR [size=256]               photos -> aligned face crops + reasons
  data synth out=DIR n=N size=S                             render the glasses world to disk
  data prepare input=DIR output=FILE size=S                 pre-resized uint8 image cache
  oracle train                                              retrain the glasses-world oracle
  hype create|serve|report ...                              HYPE human studies
"""


def parse_key_values(words: Sequence[str]) -> dict[str, str]:
    """``['a=1', 'b.c=x']`` -> ``{'a': '1', 'b.c': 'x'}``; a word without ``=`` is an error."""
    out: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise GancraftError(f"argument {word!r} is not key=value (for example recipe=cyclegan_glasses)")
        out[key.lstrip("+~")] = value
    return out


def resolve(argv: Sequence[str]) -> tuple[Callable[[dict[str, str], list[str]], int], list[str]]:
    """Find the function for ``argv`` and the words left for it."""
    if not argv:
        raise GancraftError("no command given\n" + USAGE)
    command, rest = argv[0], list(argv[1:])
    sub = rest[0] if rest and "=" not in rest[0] else None
    if sub is not None and (command, sub) in COMMANDS:
        target, rest = COMMANDS[(command, sub)], rest[1:]
    elif (command, None) in COMMANDS:
        target = COMMANDS[(command, None)]
    else:
        known = sorted({" ".join(filter(None, k)) for k in COMMANDS})
        raise GancraftError(f"unknown command {' '.join(argv[:2])!r}; known: {', '.join(known)}")
    module_name, _, fn_name = target.partition(":")
    return getattr(importlib.import_module(module_name), fn_name), rest


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        fn, rest = resolve(argv)
        # `list networks` is a positional word; every other command takes key=value words.
        words = [w for w in rest if "=" in w]
        positional = [w for w in rest if "=" not in w]
        args = parse_key_values(words)
        if positional:
            args["_positional"] = " ".join(positional)
        return int(fn(args, words) or 0)
    except GancraftError as err:
        print(f"gancraft: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gancraft: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
