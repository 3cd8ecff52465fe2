"""prepare_networks: channels_last in place, compile with an eager fallback, the
distributed gradient hook; and mixed precision with R1 under fp32/bf16/fp16."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from gancraft.core import checkpoint as ckpt
from gancraft.engine.acceleration import CompiledNetwork, prepare_networks
from gancraft.core.distributed import DistributedContext
from gancraft.core.precision import Precision
from gancraft.engine.trainer import TrainerConfig
from gancraft.losses.r1 import r1_penalty
from gancraft.models.cyclegan import CycleGAN


def tiny_cyclegan() -> CycleGAN:
    torch.manual_seed(0)
    model = CycleGAN(generator={"name": "resnet_generator", "ngf": 4, "n_blocks": 1}, discriminator={"name": "patchgan_discriminator", "ndf": 4}, pool_size=0)
    model.setup(10, 10, Precision("fp32"))
    return model


def test_channels_last_is_in_place_and_keeps_the_optimizers_parameters() -> None:
    model = tiny_cyclegan()
    before = [id(p) for p in model.optimizers["G"].param_groups[0]["params"]]
    prepare_networks(model, TrainerConfig(max_steps=1, channels_last=True), DistributedContext(), torch.device("cpu"))
    conv = model.G_A.stem[1]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()
    assert [id(p) for p in model.G_A.parameters()] + [id(p) for p in model.G_B.parameters()] == before
    assert model.precision.grad_sync is None  # one process: nothing to reduce


def _failing_backend(gm, example_inputs):
    raise RuntimeError("no compiler here")


def test_compile_failure_falls_back_to_eager_once_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    torch._dynamo.reset()
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    wrapped = CompiledNetwork(net, "G_A", backend=_failing_backend)
    x = torch.randn(1, 3, 8, 8)
    with caplog.at_level(logging.WARNING):
        out = wrapped(x)
        out2 = wrapped(x)
    assert torch.equal(out, net(x)) and torch.equal(out2, out) and wrapped.failed
    assert sum("torch.compile failed for G_A" in r.message for r in caplog.records) == 1
    # checkpoints see the plain network
    assert ckpt.unwrap(wrapped) is net and set(wrapped.state_dict()) == {f"_orig_mod.{k}" for k in net.state_dict()}
    assert len(list(wrapped.parameters())) == 2


def test_compiled_network_trains_like_the_eager_one() -> None:
    torch._dynamo.reset()
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.InstanceNorm2d(4), nn.ReLU(), nn.Conv2d(4, 1, 3))
    twin = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.InstanceNorm2d(4), nn.ReLU(), nn.Conv2d(4, 1, 3))
    twin.load_state_dict(net.state_dict())
    wrapped = CompiledNetwork(net, "D", backend="aot_eager")  # traced and partitioned, no C++ compiler needed
    x = torch.randn(2, 3, 8, 8)
    wrapped(x).square().mean().backward()
    twin(x).square().mean().backward()
    assert not wrapped.failed
    for a, b in zip(net.parameters(), twin.parameters()):
        torch.testing.assert_close(a.grad, b.grad)


def test_trainer_option_wraps_trainable_networks_and_checkpoints_stay_plain() -> None:
    model = tiny_cyclegan()
    plain = {k: v.clone() for k, v in ckpt.network_state(model.networks()).items()}
    prepare_networks(model, TrainerConfig(max_steps=1, compile=True), DistributedContext(), torch.device("cpu"))
    assert all(isinstance(model.networks()[n], CompiledNetwork) for n in model.trainable)
    state = ckpt.network_state(model.networks())
    assert state.keys() == plain.keys() and all(torch.equal(state[k], plain[k]) for k in state)


@pytest.mark.parametrize("mode", ["fp32", "bf16", "fp16"])
def test_r1_is_the_same_penalty_under_every_precision(mode: str) -> None:
    """R1 of a small D under autocast (and fp16 loss scaling) matches the fp32 value."""
    torch.manual_seed(0)
    d = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 3, padding=1))
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    reference = r1_penalty(d(x), x)
    precision = Precision(mode, "cpu")
    if mode == "fp16":
        precision.scaler._init_scale = 2.0**8  # noqa: SLF001 (scaled: unscaling must undo it)
    with precision.autocast():
        logits = d(x)
    value = r1_penalty(logits, x, precision)
    tol = {"fp32": 1e-6, "bf16": 5e-2, "fp16": 1e-2}[mode]
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, reference, rtol=tol, atol=0)
    # the penalty's own gradient reaches D's weights in every mode
    precision.backward(value)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in d.parameters() if p.dim() > 1)


def test_fp16_overflow_in_r1_skips_the_step_and_lowers_the_scale() -> None:
    """With too large a loss scale R1's gradient overflows in fp16: the step is skipped
    (weights unchanged) and the scale halves, as for any other fp16 overflow."""
    torch.manual_seed(0)
    d = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 3, padding=1))
    opt = torch.optim.Adam(d.parameters())
    before = [p.detach().clone() for p in d.parameters()]
    precision = Precision("fp16", "cpu")
    precision.scaler._init_scale = 2.0**24  # noqa: SLF001
    x = torch.randn(2, 3, 16, 16, requires_grad=True) * 100
    with precision.autocast():
        logits = d(x)
    precision.backward(r1_penalty(logits, x, precision))
    precision.step(opt)
    precision.update()
    assert all(torch.equal(a, b) for a, b in zip(before, d.parameters()))
    assert precision.scaler.get_scale() == 2.0**23
