"""StarGAN v2 networks: the reference's parameter counts, shapes, per-domain heads, growth."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gancraft.core.errors import ConfigError
from gancraft.networks.stargan_v2 import DomainLinear, Discriminator, Generator, MappingNetwork, StyleEncoder, he_init
from gancraft.core.registry import NETWORKS

THIN = {"base_dim": 8, "max_conv_dim": 32}


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_parameter_counts_match_the_reference_at_256px_two_domains():
    with torch.device("meta"):  # shapes only: no memory, no init time
        assert count(NETWORKS.build("stargan_v2_generator", img_size=256, w_hpf=0)) == 33_892_995
        assert count(NETWORKS.build("stargan_v2_mapping", num_domains=2)) == 2_438_272
        assert count(NETWORKS.build("stargan_v2_style_encoder", img_size=256, num_domains=2)) == 20_916_928
        assert count(NETWORKS.build("stargan_v2_discriminator", img_size=256, num_domains=2)) == 20_852_290


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("domains", [2, 3, 5])
def test_shapes(size, domains):
    torch.manual_seed(0)
    x = torch.randn(3, 3, size, size)
    y = torch.tensor([0, domains - 1, 1])
    mapping = MappingNetwork(latent_dim=4, style_dim=8, num_domains=domains, hidden_dim=16)
    encoder = StyleEncoder(size, style_dim=8, num_domains=domains, **THIN)
    disc = Discriminator(size, num_domains=domains, **THIN)
    gen = Generator(size, style_dim=8, **THIN)
    s = mapping(torch.randn(3, 4), y)
    assert s.shape == (3, 8)
    assert encoder(x, y).shape == (3, 8)
    assert disc(x, y).shape == (3,)
    assert disc.all_domains(x).shape == (3, domains)
    assert gen(x, s).shape == (3, 3, size, size)
    # encoder down to 16 px (size/16 == 2 levels at 32 px ... as in the reference: log2(size) - 4 levels)
    assert len(gen.encoder) == (size.bit_length() - 1) - 4 + 2


def test_heads_pick_each_samples_domain():
    torch.manual_seed(0)
    mapping = MappingNetwork(latent_dim=4, style_dim=6, num_domains=3, hidden_dim=8)
    z = torch.randn(4, 4)
    every = mapping.all_domains(z)
    y = torch.tensor([2, 0, 1, 2])
    assert torch.equal(mapping(z, y), every[torch.arange(4), y])
    # the per-domain heads differ, so picking the wrong one would show
    assert not torch.allclose(every[:, 0], every[:, 1])


def test_domain_linear_equals_one_linear_per_domain():
    torch.manual_seed(0)
    layer = DomainLinear(3, 5, 4)
    h = torch.randn(2, 5)
    out = layer(h)
    for d in range(3):
        torch.testing.assert_close(out[:, d], nn.functional.linear(h, layer.weight[d], layer.bias[d]))
    per_domain = torch.randn(2, 3, 5)
    out = layer(per_domain)
    torch.testing.assert_close(out[:, 1], nn.functional.linear(per_domain[:, 1], layer.weight[1], layer.bias[1]))


@pytest.mark.parametrize("net_cls", [MappingNetwork, StyleEncoder, Discriminator])
def test_growing_domains_keeps_old_outputs_and_starts_new_heads_at_the_mean(net_cls):
    torch.manual_seed(0)
    if net_cls is MappingNetwork:
        net, x = MappingNetwork(latent_dim=4, style_dim=6, num_domains=2, hidden_dim=8), torch.randn(3, 4)
    else:
        net, x = net_cls(img_size=32, num_domains=2, **THIN), torch.randn(3, 3, 32, 32)
    net.apply(he_init)
    before = net.all_domains(x)
    net.remap_domains([0, 1, None])
    after = net.all_domains(x)
    assert net.num_domains == 3 and after.shape[1] == 3
    torch.testing.assert_close(after[:, :2], before)
    if net_cls is not MappingNetwork:  # linear heads: the mean head gives the mean output
        torch.testing.assert_close(after[:, 2], before.mean(1))
    # reordering moves heads with their names
    net.remap_domains([2, 0])
    torch.testing.assert_close(net.all_domains(x), torch.stack([after[:, 2], after[:, 0]], 1))


def test_he_init_is_kaiming_fan_in():
    torch.manual_seed(0)
    layer = nn.Linear(400, 300)
    he_init(layer)
    assert abs(layer.weight.std().item() - (2 / 400) ** 0.5) < 0.003
    assert torch.count_nonzero(layer.bias) == 0
    heads = DomainLinear(2, 400, 300)
    he_init(heads)
    assert abs(heads.weight[1].std().item() - (2 / 400) ** 0.5) < 0.003


def test_high_pass_skips_use_the_callers_masks():
    torch.manual_seed(0)
    gen = Generator(64, style_dim=8, w_hpf=1.0, **THIN)
    x, s = torch.randn(2, 3, 64, 64), torch.randn(2, 8)
    masks = (torch.rand(2, 1, 64, 64), torch.rand(2, 1, 64, 64))
    out = gen(x, s, masks)
    assert out.shape == (2, 3, 64, 64)
    assert not torch.allclose(out, gen(x, s, (masks[0] * 0, masks[1] * 0)))  # the masks matter


def test_bad_size_is_a_config_error():
    with pytest.raises(ConfigError, match="power of two"):
        Generator(48)


@pytest.mark.parametrize("net_cls", [Discriminator, StyleEncoder])
def test_checkpointed_trunk_supports_r1s_double_backward(net_cls):
    """Non-reentrant checkpointing keeps ``autograd.grad(create_graph=True)`` exact, so the R1
    penalty (a gradient of a gradient) through a checkpointed discriminator is unchanged."""
    from gancraft.losses.r1 import r1_penalty

    x = torch.randn(3, 3, 32, 32)
    y = torch.tensor([0, 1, 1])
    results = []
    for ckpt in (False, True):
        torch.manual_seed(0)
        net = net_cls(32, num_domains=2, checkpoint_activations=ckpt, **THIN).train()
        xr = x.clone().requires_grad_(True)
        out = net(xr, y)
        penalty = r1_penalty(out.sum(-1) if out.dim() > 1 else out, xr)
        grads = torch.autograd.grad(penalty + out.sum(), list(net.parameters()))
        results.append((penalty.detach(), grads))
    torch.testing.assert_close(results[1][0], results[0][0])
    for a, b in zip(results[1][1], results[0][1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_checkpointing_is_off_without_grad_or_in_eval(monkeypatch):
    calls = []
    import torch.utils.checkpoint as tuc

    real = tuc.checkpoint
    monkeypatch.setattr(tuc, "checkpoint", lambda *a, **k: calls.append(1) or real(*a, **k))
    torch.manual_seed(0)
    gen = Generator(32, style_dim=8, checkpoint_activations=True, **THIN)
    x, s = torch.randn(2, 3, 32, 32), torch.randn(2, 8)
    with torch.no_grad():
        gen(x, s)
    gen.eval()
    gen(x, s)
    assert calls == []
    gen.train()
    gen(x, s)
    assert len(calls) == len(gen.encoder) + len(gen.decoder)


def test_attention_generator_starts_near_the_input_and_blends():
    torch.manual_seed(0)
    g = Generator(img_size=32, style_dim=8, max_conv_dim=16, base_dim=8, attention=True)
    g.apply(he_init)
    g.close_mask()
    x, s = torch.rand(2, 3, 32, 32) * 2 - 1, torch.randn(2, 8)
    with torch.no_grad():
        # sigmoid(-3) = 0.047: the output starts within ~0.1 of the input
        assert (g(x, s) - x).abs().max() < 0.1
        g.to_rgb[-1].bias[-1] = -30.0
        assert torch.allclose(g(x, s), x, atol=1e-6)
    assert g(x, s).shape == x.shape
    assert Generator(img_size=32, base_dim=8, max_conv_dim=16).to_rgb[-1].out_channels == 3  # off by default


def test_attention_weight_mixes_the_plain_output_in():
    torch.manual_seed(0)
    g = Generator(img_size=32, style_dim=8, max_conv_dim=16, base_dim=8, attention=True)
    g.apply(he_init)
    x, s = torch.rand(2, 3, 32, 32) * 2 - 1, torch.randn(2, 8)
    raw = []
    g.to_rgb.register_forward_hook(lambda module, args, out: raw.append(out))
    with torch.no_grad():
        blend = g(x, s)
        plain = torch.tanh(raw[-1][:, :3])
        mask = torch.sigmoid(raw[-1][:, 3:])
        torch.testing.assert_close(blend, mask * plain + (1 - mask) * x)
        g.attention_weight.fill_(0.0)  # the start of a warm-up: the plain generator
        torch.testing.assert_close(g(x, s), plain)
        g.attention_weight.fill_(0.25)
        torch.testing.assert_close(g(x, s), 0.25 * blend + 0.75 * plain)
    assert not torch.allclose(blend, plain, atol=1e-3)  # the two ends differ, so the checks above mean something
    # saved (a mid-warm-up checkpoint translates as it did then); older checkpoints load blending fully
    restored = Generator(img_size=32, style_dim=8, max_conv_dim=16, base_dim=8, attention=True)
    restored.load_state_dict(g.state_dict())
    assert restored.attention_weight.item() == 0.25
    restored.load_state_dict({k: v for k, v in g.state_dict().items() if k != "attention_weight"})
    assert restored.attention_weight.item() == 1.0
    assert "attention_weight" not in Generator(img_size=32, style_dim=8, max_conv_dim=16, base_dim=8).state_dict()


def test_domain_classifier_takes_any_size_and_grows_its_head():
    from gancraft.networks.stargan_v2 import DomainClassifier

    torch.manual_seed(0)
    net = DomainClassifier(num_domains=2, in_size=(52, 88), base_dim=8, max_conv_dim=16)
    assert len([m for m in net.trunk if m.__class__.__name__ == "ResBlk"]) == 3  # 52 px -> 6 px
    x = torch.randn(3, 3, 52, 88)
    before = net(x)
    assert before.shape == (3, 2)
    net.remap_domains([1, 0, None])
    after = net(x)
    torch.testing.assert_close(after[:, :2], before.flip(1))
    torch.testing.assert_close(net.head.weight[2], net.head.weight[:2].mean(0))


def test_generator_raw_is_the_output_before_the_attention_blend():
    from gancraft.networks.layers import attention_blend

    torch.manual_seed(0)
    net = NETWORKS.build("stargan_v2_generator", img_size=32, style_dim=8, max_conv_dim=16, base_dim=8, attention=True)
    x, s = torch.randn(2, 3, 32, 32), torch.randn(2, 8)
    raw = net.raw(x, s)
    assert raw.shape == (2, 4, 32, 32)
    torch.testing.assert_close(net(x, s), attention_blend(raw, x, net.attention_weight))
