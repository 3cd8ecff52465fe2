"""The StarGAN v2 model: losses, R1, EMA, optimizers, translation, domain growth, a tiny run."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from gancraft.core.checkpoint import save_checkpoint
from gancraft.core.precision import Precision
from gancraft.core.errors import CheckpointError, ConfigError
from gancraft.losses.r1 import r1_penalty
from gancraft.models.stargan_v2 import StarGANv2, diversity_weight
from gancraft.core.registry import LOSSES, MODELS

ARCH = {"img_size": 32, "style_dim": 8, "latent_dim": 4, "hidden_dim": 16, "max_conv_dim": 16, "base_dim": 8}


def tiny(domains=("a", "b", "c"), **kw) -> StarGANv2:
    torch.manual_seed(0)
    return MODELS.build("stargan_v2", domains=list(domains), **{**ARCH, **kw})


def batch(n: int = 4, domains: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    img = lambda: torch.rand(n, 3, 32, 32, generator=g) * 2 - 1  # noqa: E731
    return {
        "image": img(),
        "label": torch.randint(0, domains, (n,), generator=g),
        "ref": img(),
        "ref2": img(),
        "ref_label": torch.randint(0, domains, (n,), generator=g),
    }


# --- losses on known inputs ---------------------------------------------------------------


def test_adversarial_loss_is_nonsaturating_bce():
    adv = LOSSES.build("nonsaturating")
    zeros = torch.zeros(4)
    torch.testing.assert_close(adv(zeros, real=True), torch.tensor(0.6931472))
    logits = torch.tensor([2.0, -1.0])
    # generator: -log(sigmoid(D(G(z)))), discriminator on fakes: -log(1 - sigmoid)
    torch.testing.assert_close(adv(logits, real=True, for_discriminator=False), -F.logsigmoid(logits).mean())
    torch.testing.assert_close(adv(logits, real=False), -F.logsigmoid(-logits).mean())


def test_l1_losses_on_known_inputs():
    a, b = torch.zeros(2, 3), torch.full((2, 3), 0.5)
    for name in ("style", "diversity", "cycle"):
        torch.testing.assert_close(LOSSES.build(name)(a, b), torch.tensor(0.5))


def test_diversity_weight_decays_linearly_to_zero():
    assert diversity_weight(2.0, 0, 100) == 2.0
    assert diversity_weight(2.0, 50, 100) == pytest.approx(1.0)
    assert diversity_weight(2.0, 100, 100) == 0.0
    assert diversity_weight(2.0, 250, 100) == 0.0


def test_r1_matches_autograd_by_hand():
    torch.manual_seed(0)
    w = torch.randn(3, 8, 8)
    x = torch.randn(5, 3, 8, 8, requires_grad=True)
    logits = (torch.tanh(x) * w).sum((1, 2, 3))  # d logit_i / d x_i = w * (1 - tanh(x_i)^2)
    expected = 0.5 * ((w * (1 - torch.tanh(x.detach()) ** 2)) ** 2).flatten(1).sum(1).mean()
    torch.testing.assert_close(r1_penalty(logits, x), expected)


def test_r1_on_the_discriminator_matches_per_sample_gradients():
    model = tiny()
    x = torch.randn(3, 3, 32, 32, requires_grad=True)
    y = torch.tensor([0, 2, 1])
    penalty = r1_penalty(model.discriminator(x, y), x)
    by_hand = []
    for i in range(3):
        xi = x[i : i + 1].detach().requires_grad_(True)
        (g,) = torch.autograd.grad(model.discriminator(xi, y[i : i + 1]).sum(), xi)
        by_hand.append(0.5 * g.pow(2).sum())
    torch.testing.assert_close(penalty, torch.stack(by_hand).mean())


# --- optimizers ----------------------------------------------------------------------


def test_optimizers_follow_the_reference():
    model = tiny()
    model.setup(10, 10, Precision("fp32"))
    assert set(model.optimizers) == {"generator", "mapping_network", "style_encoder", "discriminator"}
    for name, opt in model.optimizers.items():
        group = opt.param_groups[0]
        assert group["lr"] == (1e-6 if name == "mapping_network" else 1e-4)
        assert tuple(group["betas"]) == (0.0, 0.99) and group["weight_decay"] == 1e-4
    assert set(model.networks()) == {"generator", "mapping_network", "style_encoder", "discriminator",
                                     "generator_ema", "mapping_network_ema", "style_encoder_ema"}


def test_train_step_updates_in_the_reference_order_and_moves_the_ema():
    model = tiny(ema_beta=0.5)
    model.setup(10, 10, Precision("fp32"))
    mapping_before = [p.detach().clone() for p in model.mapping_network.parameters()]
    ema_before = [p.detach().clone() for p in model.generator_ema.parameters()]
    logs = model.train_step(batch(), 0)
    expected = {f"D/{p}_{k}" for p in ("latent", "ref") for k in ("real", "fake", "reg")}
    expected |= {f"G/{p}_{k}" for p in ("latent", "ref") for k in ("adv", "sty", "ds", "cyc")} | {"G/lambda_ds"}
    assert set(logs) == expected
    assert all(v.dim() == 0 and not v.requires_grad for v in logs.values())
    assert any(not torch.equal(a, b) for a, b in zip(mapping_before, model.mapping_network.parameters()))
    # EMA(beta 0.5) after one step: halfway between the old EMA and the new online weights
    for e, b, o in zip(model.generator_ema.parameters(), ema_before, model.generator.parameters()):
        torch.testing.assert_close(e, 0.5 * b + 0.5 * o.detach())


def test_attention_warmup_ramps_the_blend_in_for_the_generator_and_its_ema():
    model = tiny(attention=True, attention_warmup=4)
    assert model.generator.to_rgb[-1].bias[-1].item() != -3.0  # under a warm-up the mask does not start closed
    model.setup(10, 10, Precision("fp32"))
    for step, expected in ((0, 0.0), (1, 0.25), (3, 0.75), (4, 1.0), (9, 1.0)):
        model.train_step(batch(), step)
        assert model.generator.attention_weight.item() == expected
        assert model.generator_ema.attention_weight.item() == expected
    untouched = tiny(attention=True)
    assert untouched.generator.to_rgb[-1].bias[-1].item() == -3.0  # without one it starts closed, as before
    untouched.setup(10, 10, Precision("fp32"))
    untouched.train_step(batch(), 0)
    assert untouched.generator.attention_weight.item() == untouched.generator_ema.attention_weight.item() == 1.0


def test_attention_warmup_needs_the_attention_generator():
    with pytest.raises(ConfigError, match="attention generator"):
        tiny(attention_warmup=10)
    with pytest.raises(ConfigError, match=">= 0"):
        tiny(attention=True, attention_warmup=-1)


# --- translation ----------------------------------------------------------------------------


def test_translate_latent_reference_truncation_and_styles():
    model = tiny()
    x = batch()["image"][:2]
    out = model.translate(x, domain="b", num=3, seed=1)
    assert out.shape == (2, 3, 3, 32, 32)
    assert not torch.allclose(out[0, 0], out[0, 1])  # three different styles per face
    torch.testing.assert_close(out[:1], model.translate(x[:1], domain="b", num=3, seed=1))
    assert model.translate(x, domain="b", z=torch.randn(2, 4)).shape == (2, 3, 32, 32)  # one code per image
    # psi = 0: every code is the domain's mean style, so all outputs of a face agree
    same = model.translate(x, domain="b", num=3, seed=1, psi=0.0)
    torch.testing.assert_close(same[0, 0], same[0, 2])
    ref = model.translate(x, domain="c", reference=batch()["ref"][:1])
    assert ref.shape == (2, 3, 32, 32)
    s0 = model.latent_styles("a", torch.zeros(1, 4))
    s1 = model.latent_styles("a", torch.ones(1, 4))
    path = model.interpolate_styles(s0[0], s1[0], 5)
    assert path.shape == (5, 8)
    torch.testing.assert_close(path[0], s0[0])
    torch.testing.assert_close(path[-1], s1[0])
    torch.testing.assert_close(path[2], (s0[0] + s1[0]) / 2)
    torch.testing.assert_close(model.translate(x, style=s0[0]), model.generate(x, s0.expand(2, -1)))
    with pytest.raises(ConfigError, match="unknown domain"):
        model.translate(x, domain="zebra")
    with pytest.raises(ConfigError, match="domain"):
        model.translate(x, reference=x)


# --- new domains ------------------------------------------------------------------------------


def _outputs(model: StarGANv2, x: torch.Tensor, z: torch.Tensor, domains: list[str]) -> dict:
    out = {}
    for d in domains:
        out[d, "latent"] = model.translate(x, domain=d, z=z)
        out[d, "ref"] = model.translate(x, domain=d, reference=x.flip(0))
        out[d, "disc"] = model.discriminator(x, model._labels(d, x.shape[0]))
    return out


def test_add_domains_keeps_old_domains_unchanged():
    model = tiny()
    x, z = batch()["image"][:2], torch.randn(2, 4)
    before = _outputs(model, x, z, ["a", "b", "c"])
    model.add_domains(["new"])
    assert model.domains == ["a", "b", "c", "new"]
    after = _outputs(model, x, z, ["a", "b", "c"])
    for key in before:
        torch.testing.assert_close(after[key], before[key])
    # the new style-encoder head is the mean of the old ones
    h = model.style_encoder_ema.head
    torch.testing.assert_close(h.weight[3], h.weight[:3].mean(0))
    assert model.translate(x, domain="new", z=z).shape == (2, 3, 32, 32)
    with pytest.raises(ConfigError, match="already exist"):
        model.add_domains(["a"])


def test_init_from_grows_a_checkpoint_by_name(tmp_path):
    old = tiny(domains=["a", "b"])
    config = {"model": {"name": "stargan_v2", "domains": ["a", "b"], **ARCH}}
    save_checkpoint(tmp_path / "ckpt", networks=old.networks(), config=config)
    x, z = batch()["image"][:2], torch.randn(2, 4)
    before = _outputs(old, x, z, ["a", "b"])
    grown = tiny(domains=["b", "new", "a"])  # another order, and one new domain
    assert grown.init_from(tmp_path / "ckpt", OmegaConf.create(config)) == ["new"]
    after = _outputs(grown, x, z, ["a", "b"])
    for key in before:
        torch.testing.assert_close(after[key], before[key])
    grown.setup(10, 10, Precision("fp32"))  # optimizers over the grown parameters
    grown.train_step(batch(domains=3), 0)
    wrong = tiny(domains=["a", "b", "c"], style_dim=16)
    with pytest.raises(ConfigError, match="style_dim"):
        wrong.init_from(tmp_path / "ckpt")  # the config read from the checkpoint when not given


def test_resolve_config_takes_the_domains_from_the_init_checkpoint():
    """Before anything is built: the checkpoint's domains, then new_domains, into model and data."""
    def cfg(**model):
        return OmegaConf.create({"init_from": "CKPT", "model": {"name": "stargan_v2", "domains": None, **model}, "data": {"domains": None}})

    trained = OmegaConf.create({"model": {"domains": ["a", "b"]}})
    grown = cfg(new_domains=["c"])
    StarGANv2.resolve_config(grown, trained)
    assert list(grown.model.domains) == ["a", "b", "c"] and list(grown.data.domains) == ["a", "b", "c"]
    assert grown.model.new_domains is None  # consumed: the saved config lists every domain
    assert MODELS.build("stargan_v2", domains=["a", "b"], new_domains=["c"], **ARCH).domains == ["a", "b", "c"]
    listed = cfg(domains=["x", "y"])
    StarGANv2.resolve_config(listed, None)
    assert list(listed.model.domains) == ["x", "y"] and list(listed.data.domains) == ["x", "y"]
    with pytest.raises(ConfigError, match="already"):
        StarGANv2.resolve_config(cfg(new_domains=["a"]), trained)
    with pytest.raises(ConfigError, match="init_from"):
        StarGANv2.resolve_config(cfg(new_domains=["c"]), None)
    with pytest.raises(ConfigError, match="new_domain=NAME"):
        StarGANv2.resolve_config(cfg(new_domains=[None]), trained)
    with pytest.raises(CheckpointError, match="no model.domains"):
        StarGANv2.resolve_config(cfg(new_domains=["c"]), OmegaConf.create({"model": {}}))


# --- a tiny end-to-end run -----------------------------------------------------------------------


def test_tiny_run_learns_style_reconstruction_and_z_matters():
    """32 px, thin networks, 20 steps on a fixed pool of images: the style-reconstruction
    loss falls and two latent codes give two different outputs."""
    model = tiny(lr=1e-3, f_lr=1e-4, ds_iter=20)
    model.setup(20, 10, Precision("fp32"))
    torch.manual_seed(1)
    sty = []
    for step in range(20):
        logs = model.train_step(batch(seed=step % 4), step)
        sty.append(float(logs["G/latent_sty"]))
    first, last = sum(sty[:4]) / 4, sum(sty[-4:]) / 4
    assert last < 0.75 * first, (first, last)
    x = batch()["image"][:2]
    a = model.translate(x, domain="b", z=torch.zeros(1, 4))
    b = model.translate(x, domain="b", z=torch.ones(1, 4) * 2)
    assert (a - b).abs().mean() > 1e-3


# --- activation checkpointing --------------------------------------------------------------


def test_checkpointed_train_step_gives_the_same_weights_and_keeps_less():
    from gancraft.engine.memory import saved_tensor_bytes

    weights, saved = {}, {}
    for ckpt in (False, True):
        model = tiny(checkpoint_activations=ckpt)
        assert model.generator.checkpoint_activations is ckpt and model.discriminator.checkpoint_activations is ckpt
        assert "checkpoint_activations" not in model.arch  # the weights do not depend on it
        model.setup(10, 10, Precision("fp32"))
        model.train()
        data = batch(seed=1)
        torch.manual_seed(1)
        # the generator step's graph, measured before its backward frees it
        g = model.generator
        saved[ckpt] = saved_tensor_bytes(lambda: g(data["image"], torch.randn(4, 8)), exclude=list(g.parameters())).peak_bytes
        torch.manual_seed(2)
        for step in range(2):  # the second step runs Adam with moments from the first
            model.train_step(data, step)
        weights[ckpt] = {k: v.clone() for k, v in model.state_dict()["networks"].items()}
    assert saved[True] < 0.6 * saved[False]  # checkpointing really was on
    assert weights[True].keys() == weights[False].keys()
    for key, value in weights[False].items():
        torch.testing.assert_close(weights[True][key], value, rtol=1e-5, atol=1e-5, msg=key)
