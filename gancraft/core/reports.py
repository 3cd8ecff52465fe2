"""Report writing done once: JSON-safe values, Markdown tables and image grids.

Every report of the project (evaluation metrics, the demo, training samples) goes
through these, so ``inf`` is written the same way everywhere and a table is a table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch


def jsonable(x: Any, non_finite: Callable[[float], Any] = str) -> Any:
    """``x`` with NumPy scalars made Python numbers, ``inf``/``nan`` passed through ``non_finite``
    (strings by default: JSON has neither), tuples made lists and any other object replaced by its
    ``name`` or class name."""
    if isinstance(x, dict):
        return {str(k): jsonable(v, non_finite) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v, non_finite) for v in x]
    if hasattr(x, "item") and getattr(x, "ndim", None) == 0:  # numpy or torch scalars
        x = x.item()
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return non_finite(x)
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    if isinstance(x, Path):
        return str(x)
    return getattr(x, "name", None) or type(x).__name__


def write_json(path: str | Path, data: Any) -> Path:
    """``data`` as indented JSON (through :func:`jsonable`) at ``path``; folders are made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(data), indent=2) + "\n")
    return path


def format_number(value: Any) -> str:
    """A metric value for a table: 4 decimals, 1 above 1000, ``inf``/``nan`` spelled out."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)


def markdown_table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; cells are written with ``str`` (format numbers before)."""
    lines = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def save_grid(rows: Sequence[torch.Tensor], path: str | Path) -> Path:
    """Rows of equally many images (each N x 3 x H x W in [-1, 1]) as one PNG; folders are made."""
    from torchvision.utils import save_image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = torch.cat([r.detach().float().cpu() for r in rows])
    save_image(grid, path, nrow=rows[0].shape[0], normalize=True, value_range=(-1, 1), padding=2)
    return path
