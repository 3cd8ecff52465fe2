import pytest
import torch

from gancraft.models.schedules import linear_decay


def lrs(n_constant: int, n_decay: int, unit: int, steps: int) -> list[float]:
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = linear_decay(opt, n_constant, n_decay, unit)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_reference_linear_rule_by_epoch() -> None:
    # 100 + 100 epochs of 3 steps: constant for the first 100 epochs, then 1 - k/101
    values = lrs(100, 100, unit=3, steps=600)
    assert values[0] == 1.0 and values[3 * 99 + 2] == 1.0
    assert values[3 * 100] == pytest.approx(1 - 1 / 101)
    assert values[-1] == pytest.approx(1 / 101)
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_step_based_rule() -> None:
    values = lrs(2, 2, unit=1, steps=4)
    assert values == pytest.approx([1.0, 1.0, 2 / 3, 1 / 3])


def test_warmup_factor_is_linear_then_one() -> None:
    from gancraft.models.schedules import warmup_factor

    assert [warmup_factor(s, 4) for s in (0, 1, 2, 4, 10)] == [0.0, 0.25, 0.5, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0  # no warm-up
