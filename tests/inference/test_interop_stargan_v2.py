"""Reference (clovaai/stargan-v2) checkpoints: key layout in, identical outputs out.

The test writes tiny checkpoints in the reference's layout (``*_nets_ema.ckpt``: a dict of
``generator`` / ``mapping_network`` / ``style_encoder`` state dicts; ``*_nets.ckpt`` adds
``discriminator``) and checks gancraft's networks against a functional forward pass that
reads the weights by their reference names.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gancraft.core.errors import CheckpointError
from gancraft.inference.interop_stargan_v2 import load_reference_stargan_v2

IMG, D0, MAXD, S, L, H, K = 32, 8, 16, 8, 4, 16, 3  # image, base width, max width, style, latent, hidden, domains


def rnd(*shape):
    return torch.randn(*shape) * 0.2


def resblk_keys(p, din, dout, normalize):
    sd = {f"{p}.conv1.weight": rnd(din, din, 3, 3), f"{p}.conv1.bias": rnd(din),
          f"{p}.conv2.weight": rnd(dout, din, 3, 3), f"{p}.conv2.bias": rnd(dout)}
    if normalize:
        for n in ("norm1", "norm2"):
            sd[f"{p}.{n}.weight"], sd[f"{p}.{n}.bias"] = 1 + rnd(din), rnd(din)
    if din != dout:
        sd[f"{p}.conv1x1.weight"] = rnd(dout, din, 1, 1)
    return sd


def adain_keys(p, din, dout):
    sd = {f"{p}.conv1.weight": rnd(dout, din, 3, 3), f"{p}.conv1.bias": rnd(dout),
          f"{p}.conv2.weight": rnd(dout, dout, 3, 3), f"{p}.conv2.bias": rnd(dout),
          f"{p}.norm1.fc.weight": rnd(2 * din, S), f"{p}.norm1.fc.bias": rnd(2 * din),
          f"{p}.norm2.fc.weight": rnd(2 * dout, S), f"{p}.norm2.fc.bias": rnd(2 * dout)}
    if din != dout:
        sd[f"{p}.conv1x1.weight"] = rnd(dout, din, 1, 1)
    return sd


def reference_generator():
    d1 = min(2 * D0, MAXD)
    sd = {"from_rgb.weight": rnd(D0, 3, 3, 3), "from_rgb.bias": rnd(D0),
          **resblk_keys("encode.0", D0, d1, True), **resblk_keys("encode.1", d1, d1, True), **resblk_keys("encode.2", d1, d1, True),
          **adain_keys("decode.0", d1, d1), **adain_keys("decode.1", d1, d1), **adain_keys("decode.2", d1, D0),
          "to_rgb.0.weight": 1 + rnd(D0), "to_rgb.0.bias": rnd(D0), "to_rgb.2.weight": rnd(3, D0, 1, 1), "to_rgb.2.bias": rnd(3)}
    return sd


def reference_trunk(prefix):
    sd, din = {f"{prefix}.0.weight": rnd(D0, 3, 3, 3), f"{prefix}.0.bias": rnd(D0)}, D0
    for i in range(int(math.log2(IMG)) - 2):
        dout = min(2 * din, MAXD)
        sd.update(resblk_keys(f"{prefix}.{i + 1}", din, dout, False))
        din = dout
    last = int(math.log2(IMG)) - 2 + 2  # conv, blocks, lrelu, then the 4x4 conv
    sd[f"{prefix}.{last}.weight"], sd[f"{prefix}.{last}.bias"] = rnd(din, din, 4, 4), rnd(din)
    return sd, last, din


def reference_checkpoints(tmp_path):
    torch.manual_seed(0)
    mapping = {}
    for i, (a, b) in enumerate([(L, H), (H, H), (H, H), (H, H)]):
        mapping[f"shared.{2 * i}.weight"], mapping[f"shared.{2 * i}.bias"] = rnd(b, a), rnd(b)
    for d in range(K):
        for i, (a, b) in enumerate([(H, H), (H, H), (H, H), (H, S)]):
            mapping[f"unshared.{d}.{2 * i}.weight"], mapping[f"unshared.{d}.{2 * i}.bias"] = rnd(b, a), rnd(b)
    encoder, _, width = reference_trunk("shared")
    for d in range(K):
        encoder[f"unshared.{d}.weight"], encoder[f"unshared.{d}.bias"] = rnd(S, width), rnd(S)
    disc, last, width = reference_trunk("main")
    disc[f"main.{last + 2}.weight"], disc[f"main.{last + 2}.bias"] = rnd(K, width, 1, 1), rnd(K)
    ema = {"generator": reference_generator(), "mapping_network": mapping, "style_encoder": encoder}
    nets = {**{k: {n: v + 0.01 for n, v in sd.items()} for k, sd in ema.items()}, "discriminator": disc}
    torch.save(ema, tmp_path / "100000_nets_ema.ckpt")
    torch.save(nets, tmp_path / "100000_nets.ckpt")
    return ema, nets


# --- the reference's forward, written against its key names ----------------------------------


def f_resblk(sd, p, x, normalize, down):
    sc = F.conv2d(x, sd[f"{p}.conv1x1.weight"]) if f"{p}.conv1x1.weight" in sd else x
    sc = F.avg_pool2d(sc, 2) if down else sc
    h = F.instance_norm(x, weight=sd[f"{p}.norm1.weight"], bias=sd[f"{p}.norm1.bias"]) if normalize else x
    h = F.conv2d(F.leaky_relu(h, 0.2), sd[f"{p}.conv1.weight"], sd[f"{p}.conv1.bias"], padding=1)
    h = F.avg_pool2d(h, 2) if down else h
    h = F.instance_norm(h, weight=sd[f"{p}.norm2.weight"], bias=sd[f"{p}.norm2.bias"]) if normalize else h
    h = F.conv2d(F.leaky_relu(h, 0.2), sd[f"{p}.conv2.weight"], sd[f"{p}.conv2.bias"], padding=1)
    return (sc + h) / math.sqrt(2)


def f_adain(sd, p, x, s):
    gamma, beta = F.linear(s, sd[f"{p}.fc.weight"], sd[f"{p}.fc.bias"]).chunk(2, dim=1)
    return (1 + gamma[..., None, None]) * F.instance_norm(x) + beta[..., None, None]


def f_adain_blk(sd, p, x, s, up):
    h = F.leaky_relu(f_adain(sd, f"{p}.norm1", x, s), 0.2)
    h = F.interpolate(h, scale_factor=2, mode="nearest") if up else h
    h = F.conv2d(h, sd[f"{p}.conv1.weight"], sd[f"{p}.conv1.bias"], padding=1)
    h = F.conv2d(F.leaky_relu(f_adain(sd, f"{p}.norm2", h, s), 0.2), sd[f"{p}.conv2.weight"], sd[f"{p}.conv2.bias"], padding=1)
    sc = F.interpolate(x, scale_factor=2, mode="nearest") if up else x
    sc = F.conv2d(sc, sd[f"{p}.conv1x1.weight"]) if f"{p}.conv1x1.weight" in sd else sc
    return (h + sc) / math.sqrt(2)


def f_generator(sd, x, s):
    h = F.conv2d(x, sd["from_rgb.weight"], sd["from_rgb.bias"], padding=1)
    h = f_resblk(sd, "encode.0", h, True, True)
    h = f_resblk(sd, "encode.2", f_resblk(sd, "encode.1", h, True, False), True, False)
    h = f_adain_blk(sd, "decode.1", f_adain_blk(sd, "decode.0", h, s, False), s, False)
    h = f_adain_blk(sd, "decode.2", h, s, True)
    h = F.leaky_relu(F.instance_norm(h, weight=sd["to_rgb.0.weight"], bias=sd["to_rgb.0.bias"]), 0.2)
    return F.conv2d(h, sd["to_rgb.2.weight"], sd["to_rgb.2.bias"])


def f_mapping(sd, z, y):
    h = z
    for i in range(4):
        h = F.relu(F.linear(h, sd[f"shared.{2 * i}.weight"], sd[f"shared.{2 * i}.bias"]))
    outs = []
    for d in range(K):
        o = h
        for i in range(4):
            o = F.linear(o, sd[f"unshared.{d}.{2 * i}.weight"], sd[f"unshared.{d}.{2 * i}.bias"])
            o = F.relu(o) if i < 3 else o
        outs.append(o)
    return torch.stack(outs, 1)[torch.arange(len(y)), y]


def f_trunk(sd, prefix, x):
    h = F.conv2d(x, sd[f"{prefix}.0.weight"], sd[f"{prefix}.0.bias"], padding=1)
    blocks = int(math.log2(IMG)) - 2
    for i in range(blocks):
        h = f_resblk(sd, f"{prefix}.{i + 1}", h, False, True)
    h = F.leaky_relu(h, 0.2)
    h = F.conv2d(h, sd[f"{prefix}.{blocks + 2}.weight"], sd[f"{prefix}.{blocks + 2}.bias"])
    return F.leaky_relu(h, 0.2), blocks + 4


def f_style_encoder(sd, x, y):
    h = f_trunk(sd, "shared", x)[0].flatten(1)
    outs = torch.stack([F.linear(h, sd[f"unshared.{d}.weight"], sd[f"unshared.{d}.bias"]) for d in range(K)], 1)
    return outs[torch.arange(len(y)), y]


def f_discriminator(sd, x, y):
    h, last = f_trunk(sd, "main", x)
    return F.conv2d(h, sd[f"main.{last}.weight"], sd[f"main.{last}.bias"]).flatten(1)[torch.arange(len(y)), y]


def test_reference_checkpoints_give_identical_outputs(tmp_path):
    ema, nets = reference_checkpoints(tmp_path)
    model = load_reference_stargan_v2(tmp_path / "100000_nets_ema.ckpt", domains=["cat", "dog", "wild"])
    assert model.domains == ["cat", "dog", "wild"]
    assert (model.img_size, model.style_dim, model.latent_dim) == (IMG, S, L)
    torch.manual_seed(1)
    x, z, y = torch.randn(4, 3, IMG, IMG), torch.randn(4, L), torch.tensor([0, 2, 1, 2])
    with torch.no_grad():
        s = f_mapping(ema["mapping_network"], z, y)
        torch.testing.assert_close(model.mapping_network_ema(z, y), s)
        torch.testing.assert_close(model.style_encoder_ema(x, y), f_style_encoder(ema["style_encoder"], x, y))
        torch.testing.assert_close(model.generator_ema(x, s), f_generator(ema["generator"], x, s))
        # the online networks and the discriminator come from the sibling _nets.ckpt
        torch.testing.assert_close(model.mapping_network(z, y), f_mapping(nets["mapping_network"], z, y))
        torch.testing.assert_close(model.discriminator(x, y), f_discriminator(nets["discriminator"], x, y))
        # and translate() uses the EMA networks end to end
        torch.testing.assert_close(model.translate(x, domain=y, z=z), f_generator(ema["generator"], x, s))


def test_bad_reference_files_are_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_reference_stargan_v2(tmp_path / "missing_nets_ema.ckpt")
    (tmp_path / "junk_nets_ema.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_reference_stargan_v2(tmp_path / "junk_nets_ema.ckpt")
    torch.save({"something": {}}, tmp_path / "other_nets_ema.ckpt")
    with pytest.raises(CheckpointError, match="not a StarGAN v2"):
        load_reference_stargan_v2(tmp_path / "other_nets_ema.ckpt")
