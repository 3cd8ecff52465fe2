"""The library calls behind ``gancraft list | train | translate | evaluate``."""

from __future__ import annotations

from pathlib import Path

from gancraft.core.errors import ConfigError
from gancraft.core.registry import REGISTRIES


def _require(args: dict[str, str], *keys: str) -> None:
    missing = [k for k in keys if not args.get(k)]
    if missing:
        raise ConfigError(f"missing {', '.join(f'{k}=...' for k in missing)}")


def list_command(args: dict[str, str], words: list[str]) -> int:
    """``gancraft list [KIND]``: registered components (and recipes), one per line."""
    import gancraft.components  # noqa: F401  (fills the registries)
    from gancraft.recipes import list_recipes

    kinds = {**{k: r.names for k, r in REGISTRIES.items()}, "recipes": list_recipes}
    wanted = args.get("_positional", "").split() or list(kinds)
    for kind in wanted:
        if kind not in kinds:
            raise ConfigError(f"cannot list {kind!r}; choose from {', '.join(kinds)}")
        if len(wanted) > 1:
            print(f"{kind}:")
        for name in kinds[kind]():
            print(f"  {name}" if len(wanted) > 1 else name)
    return 0


def train_command(args: dict[str, str], words: list[str]) -> int:
    """``gancraft train recipe=NAME|PATH key=value ...``."""
    import gancraft.components  # noqa: F401
    from gancraft.engine.run import train
    from gancraft.recipes import compose_recipe

    _require(args, "recipe")
    path = train(compose_recipe(args["recipe"], words))
    if path is not None:
        print(f"checkpoint: {path}")
    return 0


#: translate arguments that are not part of the model's condition
_TRANSLATE_KEYS = {"checkpoint", "input", "output", "batch_size", "device", "size", "skip_bad"}


def _parse_value(text: str) -> object:
    """``'5'`` -> 5, ``'0.5'`` -> 0.5, anything else stays a string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def translate_command(args: dict[str, str], words: list[str]) -> int:
    """``gancraft translate checkpoint=DIR|FILE.pth input=FILE|DIR output=DIR [direction=a2b | domain=... num=... seed=... reference=...]``."""
    import gancraft.components  # noqa: F401
    from gancraft.inference.translator import Translator

    _require(args, "checkpoint", "input", "output")
    translator = Translator.load(args["checkpoint"], device=args.get("device", "auto"))
    if args.get("size"):
        translator.size = int(args["size"])
    condition = {k: _parse_value(v) for k, v in args.items() if k not in _TRANSLATE_KEYS and not k.startswith("_")}
    skip_bad = args.get("skip_bad", "false").lower() in ("1", "true", "yes")
    written = translator.translate_files(args["input"], args["output"], batch_size=int(args.get("batch_size", 8)), skip_bad=skip_bad, **condition)
    skipped = f"; skipped {len(translator.skipped)} unreadable input(s), listed above" if translator.skipped else ""
    print(f"wrote {len(written)} image(s) to {Path(args['output'])}{skipped}")
    return 0


def evaluate_command(args: dict[str, str], words: list[str]) -> int:
    """``gancraft evaluate checkpoint=DIR protocol=NAME [out=DIR] [key=value ...]``."""
    import gancraft.components  # noqa: F401
    from gancraft.evaluation.protocols import run_protocol

    _require(args, "checkpoint", "protocol")
    extra = {k: _parse_value(v) for k, v in args.items() if k not in ("checkpoint", "protocol", "out") and not k.startswith("_")}
    out = Path(args.get("out") or Path(args["checkpoint"]) / "eval" / args["protocol"])
    result = run_protocol(args["checkpoint"], args["protocol"], out, **extra)
    print(f"metrics: {out / 'metrics.json'}")
    return 0 if result is not None else 1
