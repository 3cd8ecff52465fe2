"""Memory accounting without a GPU: saved-for-backward bytes on hand-computed cases, fake == real."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode

from gancraft.engine.memory import GiB, MemoryEstimate, SavedTensorTracker, optimizer_bytes, parameter_bytes, saved_tensor_bytes


def test_linear_then_relu_saves_the_input_and_the_output_by_hand():
    torch.manual_seed(0)
    lin, lin2 = nn.Linear(7, 3), nn.Linear(7, 2)
    x = torch.randn(5, 7)  # needs no grad: the weight's gradient needs x (5*7 floats), not the weight
    params = [*lin.parameters(), *lin2.parameters()]
    with SavedTensorTracker(exclude=params) as tracker:
        out = torch.relu(lin(x))  # relu saves its output (5*3 floats)
        out2 = lin2(x[:, :])  # a view of x saved again: the same storage, counted once
        assert tracker.live == 5 * 7 * 4 + 5 * 3 * 4
        assert tracker.count == 2
        (out.sum() + out2.sum()).backward()
    assert tracker.live == 0  # backward released the graph
    assert tracker.peak == tracker.total == 5 * 7 * 4 + 5 * 3 * 4
    assert tracker.by_dtype == {"float32": 200}


def test_parameters_are_saved_when_the_input_needs_grad_and_excluded_on_request():
    lin = nn.Linear(4, 6, bias=False)
    x = torch.randn(2, 4, requires_grad=True)
    assert saved_tensor_bytes(lambda: lin(x)).peak_bytes == (2 * 4 + 6 * 4) * 4  # input and weight
    assert saved_tensor_bytes(lambda: lin(x), exclude=lin.parameters()).peak_bytes == 2 * 4 * 4


def test_dropped_graphs_stop_counting_and_the_peak_remembers():
    lin = nn.Linear(8, 8)
    x = torch.randn(16, 8)

    def two_graphs():
        lin(x).relu()  # the graph dies with its output at once
        return lin(x).relu()

    result = saved_tensor_bytes(two_graphs, exclude=lin.parameters())
    # each graph: x (16*8) and the relu output (16*8); the first graph is gone before the
    # second is built, so the peak is one graph's, and x counts again in the total when re-saved
    assert result.peak_bytes == 2 * 16 * 8 * 4
    assert result.total_bytes == 4 * 16 * 8 * 4
    assert result.result.shape == (16, 8)


def test_parameter_and_adam_bytes():
    lin = nn.Linear(7, 3)  # 24 parameters
    frozen = nn.Linear(2, 2).requires_grad_(False)  # 6 parameters, no gradient or moments
    assert parameter_bytes([lin, frozen]) == 30 * 4
    assert optimizer_bytes([lin, frozen]) == 24 * 4 * 3  # gradient + two Adam moments
    est = MemoryEstimate(weights=GiB, gradients_and_optimizer=2 * GiB, activations=10 * GiB)
    assert est.total == 13 * GiB
    assert est.with_margin(fixed=GiB, relative=0.2) == 16 * GiB
    assert est.fits(16 * GiB) and not est.fits(16 * GiB - 1)
    assert est.as_dict(16 * GiB)["fits"] is True


@pytest.mark.filterwarnings("ignore:Accessing the data pointer of FakeTensor")  # deepcopy of the EMA networks
def test_fake_tensors_account_a_stargan_generator_step_exactly_as_real_ones():
    from gancraft.core.precision import Precision
    from gancraft.models.stargan_v2 import StarGANv2

    arch = {"img_size": 32, "style_dim": 8, "latent_dim": 4, "hidden_dim": 16, "max_conv_dim": 16, "base_dim": 8}

    def measure() -> int:
        torch.manual_seed(0)
        model = StarGANv2(domains=["a", "b"], **arch)
        model.setup(1, 1, Precision("fp32"))
        x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.tensor([0, 1])
        zs = (torch.randn(2, 4), torch.randn(2, 4))
        params = [p for net in model.networks().values() for p in net.parameters()]
        return saved_tensor_bytes(lambda: model._g_step(x, y, 1 - y, 1.0, zs=zs), exclude=params).peak_bytes

    real = measure()
    with FakeTensorMode():
        fake = measure()
    assert fake == real > 0
