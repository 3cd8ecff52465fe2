"""The ``evaluate`` training callback on an in-memory model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

import gancraft.components  # noqa: F401
from gancraft.core.callbacks import TrainingCallback
from gancraft.core.checkpoint import save_checkpoint
from gancraft.core.errors import ConfigError
from gancraft.core.registry import CALLBACKS, MODELS
from gancraft.evaluation import protocols
from stand_ins import FakeOracle
from test_protocols import TINY_CYCLEGAN


@pytest.fixture()
def fake_oracle(monkeypatch: pytest.MonkeyPatch) -> FakeOracle:
    from gancraft.world import oracle

    fake = FakeOracle()
    monkeypatch.setattr(oracle, "load_oracle", lambda *a, **k: fake)
    return fake


def test_evaluate_callback_scores_the_model_in_memory(tmp_path: Path, fake_oracle: FakeOracle) -> None:
    torch.manual_seed(0)
    config = {"seed": 0, "model": TINY_CYCLEGAN, "data": {"name": "glasses_world", "size": 32, "n": 4}}
    model = MODELS.build_from_config(config["model"]).train()
    OmegaConf.save(OmegaConf.create(config), tmp_path / "config.yaml")
    callback = CALLBACKS.build("evaluate", protocol="world", every=2, overrides={"n": 4, "batch_size": 4, "device": "cpu"})
    assert isinstance(callback, TrainingCallback)
    assert callback.on_checkpoint(model, 3, tmp_path) is None  # not a multiple of every
    assert not (tmp_path / "eval").exists()
    # No checkpoint on disk at all: the callback must use the model it is given.
    result = callback.on_checkpoint(model, 4, tmp_path)
    assert model.training  # the model goes back to training mode
    saved = json.loads((tmp_path / "eval" / "step_00000004" / "metrics.json").read_text())
    assert saved["step"] == 4 and saved["metrics"] == pytest.approx(result["metrics"])
    assert saved["metrics"]["world/remove_success"] == 1.0 and saved["counts"]["faces"] == 4
    # The same numbers as evaluating the saved checkpoint of that model.
    ckpt = save_checkpoint(tmp_path / "ckpt", networks=model.networks(), config=config, meta={"step": 4})
    from_disk = protocols.run_protocol(ckpt, "world", tmp_path / "disk", n=4, batch_size=4, device="cpu")
    assert from_disk["metrics"] == pytest.approx(result["metrics"])
    # A changed in-memory model gives other numbers: nothing was read back from disk.
    with torch.no_grad():
        for p in model.G_A.parameters():
            p.add_(0.5)
    changed = callback.on_checkpoint(model, 6, tmp_path)
    assert changed["metrics"]["world/add_identity_psnr"] != result["metrics"]["world/add_identity_psnr"]


def test_evaluate_callback_checks_its_settings_before_training() -> None:
    with pytest.raises(ConfigError, match="unknown protocol 'nope'"):
        CALLBACKS.build("evaluate", protocol="nope")
    with pytest.raises(ConfigError, match="no setting 'nn'"):
        CALLBACKS.build("evaluate", protocol="world", overrides={"nn": 3})
    with pytest.raises(ConfigError, match="every=0"):
        CALLBACKS.build("evaluate", protocol="world", every=0)
