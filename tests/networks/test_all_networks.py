"""Every registered network is built tiny, run forward and backward: a new network
without an entry in TINY fails here until it gets one."""

import pytest
import torch

import gancraft.components  # noqa: F401
from gancraft.core.registry import NETWORKS

#: name -> (constructor kwargs, call that takes the network and returns an output tensor)
_X = lambda: torch.randn(2, 3, 32, 32)  # noqa: E731
_Y = lambda: torch.tensor([0, 2])  # noqa: E731
_THIN = {"img_size": 32, "base_dim": 8, "max_conv_dim": 32}
TINY = {
    "resnet_generator": ({"ngf": 4, "n_blocks": 1}, lambda net: net(_X())),
    "patchgan_discriminator": ({"ndf": 4, "n_layers": 2}, lambda net: net(_X())),
    "stargan_v2_generator": ({**_THIN, "style_dim": 8}, lambda net: net(_X(), torch.randn(2, 8))),
    "stargan_v2_mapping": ({"latent_dim": 4, "style_dim": 8, "num_domains": 3, "hidden_dim": 16}, lambda net: net(torch.randn(2, 4), _Y())),
    "stargan_v2_style_encoder": ({**_THIN, "style_dim": 8, "num_domains": 3}, lambda net: net(_X(), _Y())),
    "stargan_v2_discriminator": ({**_THIN, "num_domains": 3}, lambda net: net(_X(), _Y())),
    "stargan_v2_domain_classifier": ({"num_domains": 3, "in_size": (24, 44), "base_dim": 8, "max_conv_dim": 16},
                                     lambda net: net(torch.randn(2, 3, 24, 44))),
}


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
