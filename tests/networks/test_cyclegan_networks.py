import pytest
import torch
from torch import nn

from gancraft.core.errors import ConfigError
from gancraft.networks import PatchDiscriminator, ResnetGenerator, count_parameters, init_weights


def test_resnet9_generator_has_the_reference_parameter_count() -> None:
    assert count_parameters(ResnetGenerator(ngf=64, n_blocks=9, norm="instance")) == 11_378_179


def test_70x70_patchgan_parameter_count_and_output_grid() -> None:
    d = PatchDiscriminator(ndf=64, n_layers=3, norm="instance")
    assert count_parameters(d) == 2_764_737
    with torch.no_grad():
        assert d(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
@pytest.mark.parametrize("n_blocks", [6, 9])
def test_generator_keeps_the_image_shape_in_tanh_range(upsample: str, n_blocks: int) -> None:
    g = ResnetGenerator(ngf=4, n_blocks=n_blocks, upsample=upsample)
    y = g(torch.randn(2, 3, 32, 32) * 3)
    assert y.shape == (2, 3, 32, 32)
    assert y.abs().max() <= 1.0


def test_conv_bias_only_with_instance_norm() -> None:
    inst, batch = ResnetGenerator(ngf=4, n_blocks=1, norm="instance"), ResnetGenerator(ngf=4, n_blocks=1, norm="batch")
    assert inst.stem[1].bias is not None and batch.stem[1].bias is None
    assert not any(isinstance(m, nn.BatchNorm2d) for m in inst.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in batch.modules())
    # instance norm without affine parameters or running statistics, the reference default
    norm = inst.stem[2]
    assert isinstance(norm, nn.InstanceNorm2d) and not norm.affine and not norm.track_running_stats


def test_patchgan_has_no_norm_on_first_layer_and_leaky_relu() -> None:
    d = PatchDiscriminator(ndf=8, n_layers=3)
    assert [type(m) for m in d.stem] == [nn.Conv2d, nn.LeakyReLU]
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    assert all(m.kernel_size == (4, 4) for m in d.modules() if isinstance(m, nn.Conv2d))


def test_init_normal_and_kaiming() -> None:
    torch.manual_seed(0)
    g = init_weights(ResnetGenerator(ngf=16, n_blocks=1), "normal", 0.02)
    w = g.blocks[0].body[1].weight
    assert abs(float(w.std()) - 0.02) < 0.002 and float(g.blocks[0].body[1].bias.abs().max()) == 0
    k = init_weights(ResnetGenerator(ngf=16, n_blocks=1), "kaiming")
    fan_in = 64 * 9
    assert abs(float(k.blocks[0].body[1].weight.std()) - (2 / fan_in) ** 0.5) < 0.005
    with pytest.raises(ConfigError):
        init_weights(g, "uniformish")


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="upsample"):
        ResnetGenerator(upsample="pixelshuffle")
    with pytest.raises(ConfigError, match="norm"):
        PatchDiscriminator(norm="layer")


def test_attention_generator_blends_with_the_input() -> None:
    torch.manual_seed(0)
    g = ResnetGenerator(ngf=4, n_blocks=1, attention=True)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        g.head[1].bias[-1] = -30.0  # mask ~ 0: the input passes through untouched
        assert torch.allclose(g(x), x, atol=1e-6)
        g.head[1].bias[-1] = 30.0  # mask ~ 1: the plain tanh output
        y = g.head(g.up(g.blocks(g.down(g.stem(x)))))
        assert torch.allclose(g(x), torch.tanh(y[:, :3]), atol=1e-6)
    assert g(x).shape == x.shape


def test_attention_weight_mixes_the_plain_output_in() -> None:
    torch.manual_seed(0)
    g = ResnetGenerator(ngf=4, n_blocks=1, attention=True)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        y = g.head(g.up(g.blocks(g.down(g.stem(x)))))
        blend, plain = g(x), torch.tanh(y[:, :3])
        g.attention_weight.fill_(0.0)  # the start of a warm-up: the plain generator
        assert torch.allclose(g(x), plain, atol=1e-6)
        g.attention_weight.fill_(0.25)
        assert torch.allclose(g(x), 0.25 * blend + 0.75 * plain, atol=1e-6)
    # saved, so a checkpoint taken during a warm-up translates as it did then ...
    restored = ResnetGenerator(ngf=4, n_blocks=1, attention=True)
    restored.load_state_dict(g.state_dict())
    assert restored.attention_weight.item() == 0.25
    # ... and a checkpoint from before the warm-up existed loads, blending fully
    old = {k: v for k, v in g.state_dict().items() if k != "attention_weight"}
    restored.load_state_dict(old)
    assert restored.attention_weight.item() == 1.0


def test_mask_is_the_blend_weight_of_the_output() -> None:
    torch.manual_seed(0)
    g = ResnetGenerator(ngf=4, n_blocks=1, attention=True)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        a = g.mask(x)
        y = g.head(g.up(g.blocks(g.down(g.stem(x)))))
        assert a.shape == (2, 1, 32, 32)
        assert torch.allclose(g(x), a * torch.tanh(y[:, :3]) + (1 - a) * x, atol=1e-6)
    with pytest.raises(ConfigError, match="attention generator"):
        ResnetGenerator(ngf=4, n_blocks=1).mask(x)


def test_residual_generator_adds_its_change_to_the_input() -> None:
    torch.manual_seed(0)
    g = ResnetGenerator(ngf=4, n_blocks=1, residual=True)
    x = torch.rand(2, 3, 32, 32) * 1.6 - 0.8
    with torch.no_grad():
        g.head[1].weight.zero_()
        g.head[1].bias.zero_()  # no change drawn: the input passes through exactly
        assert torch.equal(g(x), x)
        g.head[1].bias.fill_(0.1)
        assert torch.allclose(g(x), (x + 0.1).clamp(-1, 1), atol=1e-6)
        g.head[1].bias.fill_(5.0)  # the result stays a valid image
        assert torch.equal(g(x), torch.ones_like(x))
    assert torch.allclose(g.raw(x), torch.full_like(x, 5.0))


def test_residual_change_gets_the_full_gradient() -> None:
    # the point of the option: no gate that can close, d out / d change = 1 wherever the result is a valid pixel
    torch.manual_seed(0)
    g = ResnetGenerator(ngf=4, n_blocks=1, residual=True)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    changes: list[torch.Tensor] = []

    def keep(_module: torch.nn.Module, _inputs: object, out: torch.Tensor) -> None:
        out.retain_grad()
        changes.append(out)

    g.head.register_forward_hook(keep)
    g(x).sum().backward()
    (change,) = changes
    inside = (x + change).abs() < 1
    assert inside.float().mean() > 0.5
    assert torch.equal(change.grad[inside], torch.ones_like(change.grad[inside]))
    assert torch.equal(change.grad[~inside], torch.zeros_like(change.grad[~inside]))


def test_residual_and_attention_are_exclusive_and_need_matching_channels() -> None:
    with pytest.raises(ConfigError, match="one of attention and residual"):
        ResnetGenerator(ngf=4, n_blocks=1, residual=True, attention=True)
    with pytest.raises(ConfigError, match="in_channels == out_channels"):
        ResnetGenerator(in_channels=1, ngf=4, n_blocks=1, residual=True)
