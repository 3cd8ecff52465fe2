"""The folders that ship beside the code: ``recipes/`` and ``evaluation/``.

In the repository they stay at the top level; a wheel carries them as
``gancraft/_shipped/<name>/`` (``setup.py`` maps them there, no symlinks). This is the
one place that knows both layouts.
"""

from __future__ import annotations

from pathlib import Path

#: the top-level folders that ship inside the wheel
SHIPPED = ("recipes", "evaluation")


def shipped_dir(name: str) -> Path | None:
    """The packaged copy of ``recipes`` or ``evaluation``: inside an installed wheel, else the
    source tree's top-level folder (a checkout or an editable install); ``None`` if neither exists."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not one of the shipped folders {', '.join(SHIPPED)}")
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_shipped" / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    return None
