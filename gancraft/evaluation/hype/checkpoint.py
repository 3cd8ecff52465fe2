"""``fake=CHECKPOINT``: render the fake images of a study with a trained model.

The inputs (``input=DIR``, by default the ``real=`` folder) are translated by
:class:`gancraft.inference.translator.Translator` into ``STUDY/_translated/``; each
output keeps its input's file stem, so a rubric pairs it with its before image.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _value(text: Any) -> Any:
    """``'2'`` -> 2, ``'0.5'`` -> 0.5, anything else stays a string."""
    if not isinstance(text, str):
        return text
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def translate_folder(
    checkpoint: Path, inputs: Path, out: Path, *, condition: dict[str, Any] | None = None, batch_size: int = 8
) -> list[Path]:
    """Translate every image of ``inputs`` with the model in ``checkpoint``; returns the written files."""
    from gancraft.inference.translator import Translator

    condition = {k: _value(v) for k, v in (condition or {}).items()}
    log.info("translating %s with %s into %s", inputs, checkpoint, out)
    translator = Translator.load(checkpoint)
    return sorted(translator.translate_files(inputs, out, batch_size=batch_size, **condition))
