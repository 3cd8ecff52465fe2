"""run.py: the config resolved once before anything is built, callbacks built by name and
called by the trainer after each checkpoint with the in-memory model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gancraft.core import checkpoint as ckpt
from gancraft.core.errors import ConfigError
from gancraft.core.registry import CALLBACKS
from gancraft.engine.run import build_callbacks, build_trainer
from gancraft.engine.trainer import Trainer
from tests.engine.test_trainer import tiny


@CALLBACKS.register("test_recorder")
class Recorder:
    """Records what the trainer hands it; ``every`` as the evaluate callback has it."""

    def __init__(self, every: int = 1, tag: str = "") -> None:
        self.every, self.tag = every, tag
        self.calls: list[tuple[int, Path, bool, dict[str, torch.Tensor]]] = []

    def on_checkpoint(self, model, step: int, run_dir: Path) -> None:
        if step % self.every == 0:
            weights = {k: v.clone() for k, v in ckpt.network_state(model.networks()).items()}
            self.calls.append((step, run_dir, model.training, weights))
            self.model = model


def test_callbacks_from_the_config_see_the_in_memory_model_after_each_checkpoint(toy_root, tmp_path, monkeypatch) -> None:
    cfg = tiny(toy_root, tmp_path / "run", "trainer.max_steps=6", "trainer.checkpoint_every=2",
               "+callbacks=[{name: test_recorder, every: 4, tag: a}, {name: test_recorder}]")
    trainer = build_trainer(cfg)
    every4, every = trainer.callbacks
    assert isinstance(every4, Recorder) and (every4.every, every4.tag, every.every) == (4, "a", 1)
    # nothing is read back from disk while training: the callback gets the model itself
    monkeypatch.setattr(ckpt, "load_weights", lambda *_: pytest.fail("a checkpoint was reloaded"))
    last = trainer.fit()
    monkeypatch.undo()
    assert [c[0] for c in every.calls] == [2, 4, 6] and [c[0] for c in every4.calls] == [4]
    assert every.model is trainer.model and all(c[1] == tmp_path / "run" for c in every.calls)
    assert not any(c[2] for c in every.calls)  # in eval mode while called
    assert trainer.model.training  # and back in training mode afterwards
    saved = ckpt.load_weights(last)  # the weights it saw at step 6 are the ones saved at step 6
    assert all(torch.equal(every.calls[-1][3][k], saved[k]) for k in saved)
    assert any(not torch.equal(every.calls[0][3][k], saved[k]) for k in saved)  # and they moved in between


def test_unknown_or_malformed_callbacks_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="unknown callback 'nope'; registered: .*test_recorder.*import gancraft.components"):
        build_callbacks([{"name": "nope"}])
    with pytest.raises(ConfigError, match="needs a name"):
        build_callbacks(["evaluate"])
    with pytest.raises(ConfigError, match="accepted keys: every, tag"):
        build_callbacks([{"name": "test_recorder", "evry": 2}])


def test_trainer_refuses_an_object_that_is_not_a_callback(toy_root, tmp_path) -> None:
    trainer = build_trainer(tiny(toy_root, tmp_path, "trainer.max_steps=1"))
    with pytest.raises(ConfigError, match="on_checkpoint"):
        Trainer(trainer.model, trainer.dataset, trainer.config, tmp_path, callbacks=[object()])


def test_init_from_is_read_once_and_resolved_into_the_config(toy_root, tmp_path, monkeypatch) -> None:
    first = build_trainer(tiny(toy_root, tmp_path / "a", "trainer.max_steps=1")).fit()
    reads = []
    real = ckpt.load_config
    monkeypatch.setattr("gancraft.engine.run.load_config", lambda p: reads.append(p) or real(p))
    trainer = build_trainer(tiny(toy_root, tmp_path / "b", "trainer.max_steps=1", f"init_from={tmp_path / 'a'}"))
    assert reads == [first] and trainer.full_config.init_from == str(first)  # the run dir became its checkpoint
    weights = ckpt.load_weights(first)
    assert all(torch.equal(ckpt.network_state(trainer.model.networks())[k], weights[k]) for k in weights)
