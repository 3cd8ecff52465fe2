"""The ``evaluate`` training callback: a protocol run on the in-memory model after a checkpoint.

A recipe asks for it with ``callbacks: [{name: evaluate, protocol: world, every: 1000}]``;
results go to ``RUN/eval/step_XXXXXXXX/`` (``metrics.json``, ``metrics.md``), as
``gancraft evaluate`` would write them for that checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gancraft.core.registry import CALLBACKS


@CALLBACKS.register("evaluate")
class EvaluateCallback:
    """Evaluate with ``protocol`` every ``every`` steps; ``overrides`` change its settings (``{n: 50}``)."""

    def __init__(self, protocol: str, every: int = 1, overrides: dict[str, Any] | None = None) -> None:
        from gancraft.evaluation.protocols import load_protocol

        if int(every) < 1:
            from gancraft.core.errors import ConfigError

            raise ConfigError(f"callback evaluate: every={every} must be a positive number of steps")
        self.protocol, self.every = protocol, int(every)
        self.settings = load_protocol(protocol, **dict(overrides or {}))  # a bad protocol fails before training

    def on_checkpoint(self, model: Any, step: int, run_dir: Path) -> dict[str, Any] | None:
        """Evaluate ``model`` as it is in memory (its mode is restored afterwards); None when skipped."""
        if step % self.every:
            return None
        from omegaconf import OmegaConf

        from gancraft.evaluation.protocols import evaluate
        from gancraft.inference.translator import Translator

        run_dir = Path(run_dir)
        config_file = run_dir / "config.yaml"
        config = OmegaConf.load(config_file) if config_file.is_file() else OmegaConf.create({})
        device = next((p.device for p in model.parameters()), None)
        was_training = model.training
        try:
            translator = Translator(model, config, device=device or "cpu")
            return evaluate(translator, dict(self.settings), run_dir / "eval" / f"step_{step:08d}",
                            checkpoint=str(run_dir / "checkpoints" / f"step_{step:08d}"), step=step)
        finally:
            model.train(was_training)
