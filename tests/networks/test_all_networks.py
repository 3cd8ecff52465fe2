"""Every registered network is built tiny, run forward and backward: a new network
without an entry in TINY fails here until it gets one."""

import pytest
import torch

import gancraft.components  # noqa: F401
from gancraft.registry import NETWORKS

#: name -> (constructor kwargs, call that takes the network and returns an output tensor)
TINY = {
    "resnet_generator": ({"ngf": 4, "n_blocks": 1}, lambda net: net(torch.randn(2, 3, 32, 32))),
    "patchgan_discriminator": ({"ndf": 4, "n_layers": 2}, lambda net: net(torch.randn(2, 3, 32, 32))),
}


def _stargan_calls() -> None:
    """StarGAN v2 networks register themselves with their own tiny calls (see their tests)."""
    try:
        from tests.networks.test_stargan_v2 import TINY_NETWORKS  # type: ignore[import-not-found]
    except ImportError:
        return
    TINY.update(TINY_NETWORKS)


_stargan_calls()


@pytest.mark.parametrize("name", NETWORKS.names())
def test_every_registered_network_runs_forward_and_backward(name: str) -> None:
    assert name in TINY, f"add a tiny configuration for network {name!r} to TINY"
    kwargs, call = TINY[name]
    torch.manual_seed(0)
    net = NETWORKS.build(name, **kwargs)
    out = call(net)
    assert torch.isfinite(out).all()
    out.float().mean().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
