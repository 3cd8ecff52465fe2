import math

import pytest
import torch

from gancraft.core.precision import Precision
from gancraft.core.registry import LOSSES
import gancraft.losses  # noqa: F401


_LOGITS = torch.tensor([-2.0, 0.0, 2.0])
_A, _B = torch.zeros(2, 3), torch.tensor([[1.0, -1.0, 2.0], [0.0, 0.0, 0.0]])
_sp = lambda v: math.log1p(math.exp(v))  # noqa: E731  softplus: -log(sigmoid(-v))
#: every registered loss on known inputs: name -> (call, expected value); a new loss fails until listed
KNOWN = {
    "bce": (lambda f: f(_LOGITS, real=True), (_sp(2) + _sp(0) + _sp(-2)) / 3),
    "nonsaturating": (lambda f: f(_LOGITS, real=True, for_discriminator=False), (_sp(2) + _sp(0) + _sp(-2)) / 3),
    "lsgan": (lambda f: f(_LOGITS, real=False), (4 + 0 + 4) / 3),
    "hinge": (lambda f: f(_LOGITS, real=True), (3 + 1 + 0) / 3),
    **{name: (lambda f: f(_A, _B), 4 / 6) for name in ("l1", "cycle", "identity", "style", "diversity")},
    # D(x) = sum(x^2) on one 1x1x2 image x = (1, 2): dD/dx = 2x = (2, 4), R1 = 0.5 * (4 + 16)
    "r1": (lambda f: f((lambda x: (x**2).flatten(1).sum(1))(_R1_X), _R1_X), 10.0),
}
_R1_X = torch.tensor([[[[1.0, 2.0]]]], requires_grad=True)


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_registered_loss_on_known_inputs(name: str) -> None:
    assert name in KNOWN, f"add loss {name!r} with a known input and value to KNOWN"
    call, expected = KNOWN[name]
    value = call(LOSSES.build(name))
    assert value.dtype == torch.float32 and value.dim() == 0
    assert float(value.detach()) == pytest.approx(expected, rel=1e-6)


def test_bce_on_zero_logits_is_log_two() -> None:
    bce = LOSSES.build("bce")
    zeros = torch.zeros(2, 1, 4, 4)
    assert float(bce(zeros, real=True)) == pytest.approx(math.log(2))
    assert float(bce(zeros, real=False)) == pytest.approx(math.log(2))
    assert float(bce(torch.full((3,), 20.0), real=True)) == pytest.approx(0.0, abs=1e-6)


def test_nonsaturating_is_the_bce_loss() -> None:
    assert LOSSES.get("nonsaturating") is LOSSES.get("bce")


def test_lsgan_is_mean_squared_error_to_the_target() -> None:
    ls = LOSSES.build("lsgan")
    x = torch.tensor([0.0, 0.5, 1.0])
    assert float(ls(x, real=True)) == pytest.approx((1 + 0.25 + 0) / 3)
    assert float(ls(x, real=False)) == pytest.approx((0 + 0.25 + 1) / 3)


def test_hinge_for_discriminator_and_generator() -> None:
    hinge = LOSSES.build("hinge")
    x = torch.tensor([-2.0, 0.0, 2.0])
    assert float(hinge(x, real=True)) == pytest.approx((3 + 1 + 0) / 3)
    assert float(hinge(x, real=False)) == pytest.approx((0 + 1 + 3) / 3)
    assert float(hinge(x, real=True, for_discriminator=False)) == pytest.approx(0.0)
    assert float(hinge(torch.tensor([1.0, 3.0]), real=True, for_discriminator=False)) == pytest.approx(-2.0)


def test_losses_are_fp32_under_half_inputs() -> None:
    assert LOSSES.build("bce")(torch.zeros(4, dtype=torch.bfloat16), real=True).dtype == torch.float32


@pytest.mark.parametrize("name", ["cycle", "identity", "style", "diversity"])
def test_reconstruction_losses_are_one_mean_absolute_error(name: str) -> None:
    loss = LOSSES.build(name)
    a, b = torch.zeros(2, 3), torch.tensor([[1.0, -1.0, 2.0], [0.0, 0.0, 0.0]])
    assert float(loss(a, b)) == pytest.approx(4 / 6)
    assert float(loss(b, b)) == 0.0


def test_r1_penalty_matches_a_hand_computed_gradient() -> None:
    # D(x) = sum(w * x^2) per image: dD/dx = 2 w x, so R1 = 0.5 * mean_i ||2 w x_i||^2
    torch.manual_seed(0)
    w = torch.randn(1, 3, 4, 4)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    logits = (w * x**2).flatten(1).sum(1)
    r1 = LOSSES.build("r1")(logits, x)
    expected = 0.5 * (2 * w * x.detach()).pow(2).flatten(1).sum(1).mean()
    assert float(r1.detach()) == pytest.approx(float(expected), rel=1e-6)
    r1.backward()  # differentiable (create_graph) so that D is penalised through it
    assert x.grad is not None


def test_r1_penalty_is_the_same_under_fp16_loss_scaling() -> None:
    torch.manual_seed(0)
    w = torch.randn(1, 3, 4, 4)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    precision = Precision("fp16", "cpu")
    logits = (w * x**2).flatten(1).sum(1)
    scaled = LOSSES.build("r1")(logits, x, precision)
    plain = LOSSES.build("r1")(logits, x)
    assert precision.scaler.is_enabled()
    assert float(scaled) == pytest.approx(float(plain), rel=1e-5)
