"""Interop with the reference CycleGAN: a network built in the reference's own module
layout (``nn.Sequential`` named ``model``, its indices), saved as the reference saves it,
must load into gancraft's networks and give identical outputs."""

from collections import OrderedDict

import pytest
import torch
from torch import nn

from gancraft.core.errors import CheckpointError
from gancraft.inference.interop import load_reference_cyclegan
from gancraft.inference.translator import Translator


class RefResnetBlock(nn.Module):
    def __init__(self, dim: int, norm, bias: bool, dropout: bool) -> None:
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm(dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class RefGenerator(nn.Module):
    """The reference ResnetGenerator's module list, index for index."""

    def __init__(self, ngf: int, n_blocks: int, norm: str = "instance", dropout: bool = False) -> None:
        super().__init__()
        norm_fn = (lambda c: nn.InstanceNorm2d(c)) if norm == "instance" else nn.BatchNorm2d
        bias = norm == "instance"
        m = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=bias), norm_fn(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2**i
            m += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=bias), norm_fn(ngf * mult * 2), nn.ReLU(True)]
        m += [RefResnetBlock(ngf * 4, norm_fn, bias, dropout) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            m += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=bias), norm_fn(ngf * mult // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return self.model(x)


class RefDiscriminator(nn.Module):
    def __init__(self, ndf: int, n_layers: int, norm: str = "instance") -> None:
        super().__init__()
        norm_fn = (lambda c: nn.InstanceNorm2d(c)) if norm == "instance" else nn.BatchNorm2d
        bias = norm == "instance"
        seq = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=bias), norm_fn(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2**n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=bias), norm_fn(ndf * mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


def randomise(net: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.2)
    return net.eval()


@pytest.mark.parametrize("norm, dropout", [("instance", False), ("batch", False), ("instance", True)])
def test_reference_generator_loads_with_identical_outputs(tmp_path, norm, dropout) -> None:
    ref = randomise(RefGenerator(ngf=4, n_blocks=3, norm=norm, dropout=dropout))
    if norm == "batch":  # non-trivial running statistics
        with torch.no_grad():
            for m in ref.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 1.5)
    torch.save(ref.state_dict(), tmp_path / "latest_net_G_A.pth")
    ours = load_reference_cyclegan(tmp_path / "latest_net_G_A.pth")
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(ours(x), ref(x))


def test_reference_discriminator_loads_with_identical_outputs(tmp_path) -> None:
    ref = randomise(RefDiscriminator(ndf=4, n_layers=3))
    torch.save(ref.state_dict(), tmp_path / "latest_net_D_A.pth")
    ours = load_reference_cyclegan(tmp_path / "latest_net_D_A.pth")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(ours(x), ref(x))


def test_old_instance_norm_statistics_and_dataparallel_prefix_are_handled(tmp_path) -> None:
    ref = randomise(RefGenerator(ngf=4, n_blocks=2))
    state = OrderedDict((f"module.{k}", v) for k, v in ref.state_dict().items())
    state["module.model.2.running_mean"] = torch.zeros(4)  # what PyTorch < 0.4 saved for InstanceNorm
    state["module.model.2.running_var"] = torch.ones(4)
    torch.save(state, tmp_path / "old.pth")
    ours = load_reference_cyclegan(tmp_path / "old.pth")
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(ours(x), ref(x))


def test_translator_accepts_a_reference_file(tmp_path) -> None:
    ref = randomise(RefGenerator(ngf=4, n_blocks=2))
    torch.save(ref.state_dict(), tmp_path / "latest_net_G_A.pth")
    translator = Translator.load(tmp_path / "latest_net_G_A.pth", device="cpu")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(translator.translate(x), ref(x).clamp(-1, 1))


def test_bad_files_are_checkpoint_errors(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_reference_cyclegan(tmp_path / "missing.pth")
    torch.save({"foo.weight": torch.zeros(1)}, tmp_path / "odd.pth")
    with pytest.raises(CheckpointError):
        load_reference_cyclegan(tmp_path / "odd.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    with pytest.raises(CheckpointError, match="weights-only"):
        load_reference_cyclegan(tmp_path / "junk.pth")


def test_a_single_network_file_serves_only_its_direction(tmp_path) -> None:
    from gancraft.cli import main
    from gancraft.core.errors import ConfigError

    ref = randomise(RefGenerator(ngf=4, n_blocks=2))
    torch.save(ref.state_dict(), tmp_path / "latest_net_G_A.pth")
    translator = Translator.load(tmp_path / "latest_net_G_A.pth", device="cpu")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.equal(translator.translate(x, direction="a2b"), translator.translate(x))
    with pytest.raises(ConfigError, match=r"latest_net_G_A.pth.* translates a2b only; for direction=b2a give latest_net_G_B.pth"):
        translator.translate(x, direction="b2a")
    torch.save(ref.state_dict(), tmp_path / "latest_net_G_B.pth")
    with pytest.raises(ConfigError, match="translates b2a only"):
        Translator.load(tmp_path / "latest_net_G_B.pth", device="cpu").translate(x, direction="a2b")
    images = tmp_path / "in"
    images.mkdir()
    from PIL import Image

    Image.new("RGB", (32, 32), (10, 200, 30)).save(images / "face.png")
    args = ["translate", f"checkpoint={tmp_path / 'latest_net_G_A.pth'}", f"input={images}", f"output={tmp_path / 'out'}", "size=32"]
    assert main([*args, "direction=b2a"]) == 2
    assert not (tmp_path / "out").exists()  # refused before anything was written
    assert main([*args, "direction=a2b"]) == 0 and (tmp_path / "out" / "face.png").is_file()


def test_a_discriminator_file_given_to_translate_is_one_line(tmp_path, capsys) -> None:
    from gancraft.cli import main

    torch.save(randomise(RefDiscriminator(ndf=4, n_layers=3)).state_dict(), tmp_path / "latest_net_D_A.pth")
    with pytest.raises(CheckpointError, match="is a discriminator .*needs a generator file"):
        Translator.load(tmp_path / "latest_net_D_A.pth", device="cpu")
    (tmp_path / "in").mkdir()
    assert main(["translate", f"checkpoint={tmp_path / 'latest_net_D_A.pth'}", f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "discriminator" in err and "Traceback" not in err
