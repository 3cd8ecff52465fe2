"""The model contract of GANModel: state_dict() holds everything a resume needs, loads
back into a fresh model so that training continues identically, and survives a
weights_only round trip; step_schedulers() reports the LRs the step used."""

from __future__ import annotations

import io

import pytest
import torch

from gancraft.core.precision import Precision
from tests.models.test_cyclegan import TINY, batch
from gancraft.models.cyclegan import CycleGAN


def fresh(seed: int) -> CycleGAN:
    torch.manual_seed(seed)
    model = CycleGAN(**TINY, pool_size=2, n_epochs=1, n_epochs_decay=2, schedule_unit="step")
    model.setup(total_steps=3, steps_per_epoch=3, precision=Precision("fp32"))
    return model


def test_state_dict_round_trip_continues_training_identically() -> None:
    a = fresh(0)
    for step in range(2):
        a.train_step(batch(), step)
        a.step_schedulers()
    state = a.state_dict()
    assert set(state) == {"networks", "optimizers", "schedulers", "precision", "extra"}
    assert set(state["optimizers"]) == {"G", "D"} and set(state["schedulers"]) == {"G", "D"}
    assert any(k.startswith("pool_A.") for k in state["extra"])
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    b = fresh(1)  # other initial weights: everything must come from the state
    b.load_state_dict(torch.load(buffer, weights_only=True))
    assert b.optimizers["G"].param_groups[0]["lr"] == a.optimizers["G"].param_groups[0]["lr"]
    torch.manual_seed(5)
    a.train_step(batch(), 2)
    torch.manual_seed(5)
    b.train_step(batch(), 2)
    wa, wb = a.state_dict()["networks"], b.state_dict()["networks"]
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")
def test_step_schedulers_returns_the_lr_the_step_used() -> None:
    model = fresh(0)  # the reference's linear rule per step: factor 1 - max(0, s + 1 - 1) / 3
    lrs = [model.step_schedulers()["lr_G"] for _ in range(3)]
    assert lrs == pytest.approx([2e-4, 2e-4 * 2 / 3, 2e-4 / 3])
    assert model.optimizers["G"].param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # for a fourth step


def test_plain_module_state_dicts_still_work() -> None:
    """Nested use (a prefix) and a plain state dict go to nn.Module's own methods."""
    model = fresh(0)
    plain = model.state_dict(prefix="m.")
    assert plain.keys() == {f"m.{k}" for k in torch.nn.Module.state_dict(model)}
    other = fresh(1)
    other.load_state_dict({k.removeprefix("m."): v for k, v in plain.items()})
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters()))
