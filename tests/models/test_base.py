"""The shared pieces of every model: the Adam factory."""

from __future__ import annotations

import torch
from torch import nn

from gancraft.models.base import adam


def test_adam_uses_the_fused_kernel_on_the_cpu_and_matches_plain_adam() -> None:
    torch.manual_seed(0)
    a, b = nn.Linear(8, 4), nn.Linear(8, 4)
    b.load_state_dict(a.state_dict())
    fused = adam(a.parameters(), lr=1e-2, betas=(0.5, 0.999), weight_decay=1e-4)
    plain = torch.optim.Adam(b.parameters(), lr=1e-2, betas=(0.5, 0.999), weight_decay=1e-4, foreach=False)
    assert fused.defaults["fused"] is True
    x = torch.randn(16, 8)
    for _ in range(5):
        for net, opt in ((a, fused), (b, plain)):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_adam_falls_back_for_parameters_the_fused_kernel_cannot_take() -> None:
    p = nn.Parameter(torch.zeros(3, dtype=torch.float64).to("meta"))
    assert not adam([p], lr=1e-3, betas=(0.9, 0.999)).defaults["fused"]
