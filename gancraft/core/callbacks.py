"""The one hook the trainer offers to code above it (evaluation, sample pages, ...).

The engine never imports evaluation: a recipe lists callbacks by name
(``callbacks: [{name: evaluate, protocol: world, every: 1000}]``), the run builds them
from :data:`gancraft.core.registry.CALLBACKS`, and the trainer calls each one on the
main process after every checkpoint it writes, with the model still in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TrainingCallback(Protocol):
    def on_checkpoint(self, model: Any, step: int, run_dir: Path) -> None:
        """Called after the checkpoint of ``step`` is written; ``model`` is the in-memory GANModel."""
        ...
