"""The library calls behind ``gancraft list | train | translate | evaluate``.

Each is a plain typed function; :func:`gancraft.cli.bind_words` turns the command line
into its arguments (``size=128`` -> ``size: int``), so the checks live in the signatures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gancraft.core.errors import ConfigError
from gancraft.core.registry import REGISTRIES
from gancraft.core.values import ImageSide, PositiveInt


def list_command(kind: str | None = None, /) -> int:
    """``gancraft list [KIND]``: registered components (and recipes), one per line."""
    import gancraft.components  # noqa: F401  (fills the registries)
    from gancraft.recipes import list_recipes

    kinds = {**{k: r.names for k, r in REGISTRIES.items()}, "recipes": list_recipes}
    if kind is not None and kind not in kinds:
        raise ConfigError(f"cannot list {kind!r}; choose from {', '.join(kinds)}")
    for name in [kind] if kind else list(kinds):
        if kind is None:
            print(f"{name}:")
        for entry in kinds[name]():
            print(entry if kind else f"  {entry}")
    return 0


def train_command(*overrides: str, recipe: str) -> int:
    """``gancraft train recipe=NAME|PATH key=value ...``: compose the recipe, check it, train it."""
    import gancraft.components  # noqa: F401  (recipes may name any registered component, e.g. the evaluate callback)
    from gancraft.engine.run import train
    from gancraft.recipes import compose_recipe

    path = train(compose_recipe(recipe, overrides))
    if path is not None:
        print(f"checkpoint: {path}")
    return 0


def _existing(path: Path, key: str) -> Path:
    if not path.exists():
        raise ConfigError(f"{key}={path} does not exist; give an existing file or folder")
    return path


def _output_folder(path: Path, key: str = "output") -> Path:
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{key}={path} is an existing file; give a folder to write into")
    return path


def translate_command(
    checkpoint: Path,
    input: Path,
    output: Path,
    size: ImageSide | None = None,
    batch_size: PositiveInt = 8,
    device: str = "auto",
    skip_bad: bool = False,
    **condition: Any,
) -> int:
    """``gancraft translate checkpoint=DIR|FILE.pth input=FILE|DIR output=DIR [direction=a2b | domain=D num=N seed=S reference=IMG]``.

    CycleGAN takes ``direction``; StarGAN v2 takes ``domain`` with ``num`` latent styles drawn
    from ``seed`` (``psi``: truncation) or one ``reference`` image. ``size``: the side images
    are resized to (default: the training size). ``skip_bad=true`` leaves unreadable inputs out
    and lists them; otherwise one stops the run before anything is written.
    """
    import gancraft.components  # noqa: F401
    from gancraft.inference.translator import Translator, check_output, condition_from_words

    given = condition_from_words(condition, "gancraft translate")
    _existing(checkpoint, "checkpoint")
    _existing(input, "input")
    check_output(input, output)  # before the model loads: a wrong output costs nothing
    if "reference" in given:
        _existing(given["reference"], "reference")
    translator = Translator.load(checkpoint, device=device)
    if size is not None:
        translator.size = size
    written = translator.translate_files(input, output, batch_size=batch_size, skip_bad=skip_bad, **given)
    skipped = f"; skipped {len(translator.skipped)} unreadable input(s), listed above" if translator.skipped else ""
    print(f"wrote {len(written)} image(s) to {output}{skipped}")
    return 0


def evaluate_command(checkpoint: Path, protocol: str, out: Path | None = None, **settings: Any) -> int:
    """``gancraft evaluate checkpoint=DIR protocol=NAME [out=DIR] [setting=value ...]``.

    Other ``key=value`` words replace the protocol's settings (``n=200``, ``device=cpu``).
    """
    import gancraft.components  # noqa: F401
    from gancraft.evaluation.protocols import run_protocol

    _existing(checkpoint, "checkpoint")
    out = _output_folder(out or checkpoint / "eval" / Path(protocol).stem, "out")  # a protocol may be a path
    result = run_protocol(checkpoint, protocol, out, **settings)
    print(f"metrics: {out / 'metrics.json'}")
    return 0 if result is not None else 1
