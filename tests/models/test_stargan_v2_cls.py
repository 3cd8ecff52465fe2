"""StarGAN v2's options beyond the reference: the auxiliary domain classifier (``lambda_cls``,
``cls_lr``, ``cls_view``) and ``mask_gradient: adversarial``. Tiny models, known inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from gancraft.core.checkpoint import load_network_state, load_weights, save_checkpoint
from gancraft.core.errors import ConfigError
from gancraft.core.precision import Precision
from gancraft.core.registry import MODELS
from gancraft.models.stargan_v2 import EMA, ONLINE

ARCH = {"img_size": 32, "style_dim": 8, "latent_dim": 4, "hidden_dim": 16, "max_conv_dim": 16, "base_dim": 8}
#: the reference's log keys (what a lambda_cls = 0 model logs, as before the option existed)
REFERENCE_KEYS = {f"D/{p}_{k}" for p in ("latent", "ref") for k in ("real", "fake", "reg")} | {
    f"G/{p}_{k}" for p in ("latent", "ref") for k in ("adv", "sty", "ds", "cyc")} | {"G/lambda_ds"}


def tiny(domains=("a", "b", "c"), **kw):
    torch.manual_seed(0)
    model = MODELS.build("stargan_v2", domains=list(domains), **{**ARCH, **kw})
    model.setup(10, 10, Precision("fp32"))
    return model


def batch(n: int = 4, domains: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    img = lambda: torch.rand(n, 3, 32, 32, generator=g) * 2 - 1  # noqa: E731
    return {"image": img(), "label": torch.randint(0, domains, (n,), generator=g), "ref": img(), "ref2": img(),
            "ref_label": torch.randint(0, domains, (n,), generator=g), "z": torch.randn(n, 4, generator=g),
            "z2": torch.randn(n, 4, generator=g)}


def two_colours(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Domain 0: flat dark red faces, domain 1: flat light blue, with a little noise."""
    g = torch.Generator().manual_seed(1)
    y = torch.arange(n) % 2
    colours = torch.tensor([[0.6, -0.6, -0.6], [-0.4, 0.2, 0.7]])[y]
    return colours[:, :, None, None] + 0.05 * torch.randn(n, 3, 32, 32, generator=g), y


@pytest.mark.parametrize("view", ["full", "band"])
def test_the_classifier_separates_two_constant_colour_domains(view):
    model = tiny(domains=("red", "blue"), lambda_cls=1.0, cls_view=view, cls_lr=1e-3)
    x, y = two_colours()
    first = model._c_step(x, y)
    for _ in range(15):
        logs = model._c_step(x, y)
    assert logs["loss"] < 0.5 * first["loss"]
    test, y_test = two_colours(6)
    assert (model.classify(test).argmax(1) == y_test).all()
    assert model.optimizers["classifier"].param_groups[0]["lr"] == 1e-3


def test_the_band_view_is_the_eye_band_upsampled_twice():
    model = tiny(lambda_cls=1.0, cls_view="band")
    # 32 px: rows 10..22 and columns 5..27 (oracle crop fractions), at twice the size
    assert model._cls_size() == (24, 44)
    x = torch.zeros(1, 3, 32, 32, requires_grad=True)
    seen = {}
    hook = model.classifier.register_forward_pre_hook(lambda _, args: seen.update(shape=args[0].shape))
    model.classify(x).sum().backward()
    hook.remove()
    assert seen["shape"] == (1, 3, 24, 44)
    touched = x.grad.abs().sum((0, 1)) > 0  # only the band's pixels reach the classifier
    assert touched[10:22, 5:27].all() and not touched[:10].any() and not touched[22:].any() and not touched[:, :5].any()


def test_the_generator_loss_holds_the_classification_term_and_its_gradient_reaches_g():
    b = batch()
    with_cls, without = tiny(lambda_cls=2.0), tiny()
    for name in ONLINE:  # the classifier is built after the reference's networks: the same init
        for p, q in zip(getattr(with_cls, name).parameters(), getattr(without, name).parameters()):
            torch.testing.assert_close(p, q)
    x, y_org, y_trg, zs = b["image"], b["label"], b["ref_label"], (b["z"], b["z2"])
    g_params = list(with_cls.generator.parameters())
    cls_term = F.cross_entropy(with_cls.classify(with_cls.generator(x, with_cls.mapping_network(zs[0], y_trg))), y_trg)
    expected = torch.autograd.grad(2.0 * cls_term, g_params)
    losses = []
    with_cls.precision.backward = lambda loss: (losses.append(loss.detach()), loss.backward())  # type: ignore[method-assign]
    logs = with_cls._g_step(x, y_org, y_trg, 1.0, zs=zs)
    without._g_step(x, y_org, y_trg, 1.0, zs=zs)
    torch.testing.assert_close(logs["cls"], cls_term.detach())
    torch.testing.assert_close(losses[0], logs["adv"] + logs["sty"] - logs["ds"] + logs["cyc"] + 2.0 * logs["cls"])
    assert 0.0 <= float(logs["cls_acc"]) <= 1.0
    # the difference the term makes to G's gradient is the term's own gradient
    for p, q, e in zip(g_params, without.generator.parameters(), expected):
        torch.testing.assert_close(p.grad - q.grad, e, atol=1e-5, rtol=1e-4)
    assert sum(float(e.abs().sum()) for e in expected) > 0


def test_lambda_cls_zero_is_the_reference_model():
    plain, with_cls = tiny(), tiny(lambda_cls=1.0)
    assert not hasattr(plain, "classifier")
    assert list(plain.networks()) == list(ONLINE + EMA) and list(plain.optimizers) == list(ONLINE)
    assert "classifier" in with_cls.networks() and "classifier" in with_cls.optimizers
    logs, cls_logs = plain.train_step(batch(), 0), with_cls.train_step(batch(), 0)
    assert set(logs) == REFERENCE_KEYS
    assert set(cls_logs) == REFERENCE_KEYS | {"C/real_loss", "C/real_acc"} | {
        f"G/{p}_{k}" for p in ("latent", "ref") for k in ("cls", "cls_acc")}
    for key in ("D/latent_real", "D/latent_fake", "D/latent_reg"):  # the classifier leaves D's first update alone
        torch.testing.assert_close(cls_logs[key], logs[key])


def test_checkpoints_save_and_load_the_classifier(tmp_path):
    model = tiny(lambda_cls=1.0, cls_view="band")
    model.train_step(batch(), 0)
    save_checkpoint(tmp_path / "ckpt", networks=model.networks(), config={})
    loaded = tiny(lambda_cls=1.0, cls_view="band")
    x = batch()["image"]
    assert not torch.allclose(loaded.classify(x), model.classify(x))
    load_network_state(loaded.networks(), load_weights(tmp_path / "ckpt"))
    torch.testing.assert_close(loaded.classify(x), model.classify(x))
    # a full training state (optimizers included) round-trips too
    state = model.state_dict()
    resumed = tiny(lambda_cls=1.0, cls_view="band")
    resumed.load_state_dict(state)
    torch.testing.assert_close(resumed.optimizers["classifier"].state_dict()["state"][0]["exp_avg"],
                               model.optimizers["classifier"].state_dict()["state"][0]["exp_avg"])


def test_checkpoints_without_the_classifier_still_load(tmp_path):
    old = tiny(domains=("a", "b"))
    config = {"model": {"name": "stargan_v2", "domains": ["a", "b"], **ARCH}}
    save_checkpoint(tmp_path / "old", networks=old.networks(), config=config)
    plain = tiny(domains=("a", "b"))
    load_network_state(plain.networks(), load_weights(tmp_path / "old"))  # lambda_cls = 0: as before
    # fine-tuning an old model with the classifier: everything else loads, the classifier starts fresh
    grown = tiny(domains=("a", "b", "c"), lambda_cls=1.0)
    assert grown.init_from(tmp_path / "old", OmegaConf.create(config)) == ["c"]
    torch.testing.assert_close(grown.generator.stem.weight, old.generator.stem.weight)
    assert grown.classifier.head.out_features == 3
    grown.setup(10, 10, Precision("fp32"))
    grown.train_step(batch(), 0)


def test_init_from_a_checkpoint_with_the_classifier_keeps_it_and_its_view(tmp_path):
    old = tiny(domains=("a", "b"), lambda_cls=1.0, cls_view="band")
    config = {"model": {"name": "stargan_v2", "domains": ["a", "b"], "lambda_cls": 1.0, "cls_view": "band", **ARCH}}
    save_checkpoint(tmp_path / "ckpt", networks=old.networks(), config=config)
    grown = tiny(domains=("a", "b", "c"), lambda_cls=1.0, cls_view="band")
    grown.init_from(tmp_path / "ckpt", OmegaConf.create(config))
    x = batch()["image"]
    torch.testing.assert_close(grown.classify(x)[:, :2], old.classify(x))
    with pytest.raises(ConfigError, match="cls_view=band"):
        tiny(domains=("a", "b", "c"), lambda_cls=1.0).init_from(tmp_path / "ckpt", OmegaConf.create(config))


def test_add_domains_grows_the_classifier():
    model = tiny(domains=("a", "b"), lambda_cls=1.0)
    x = batch()["image"]
    before = model.classify(x)
    model.add_domains(["c", "d"])
    head = model.classifier.head
    assert head.weight.shape[0] == head.bias.shape[0] == head.out_features == 4
    after = model.classify(x)
    torch.testing.assert_close(after[:, :2], before)  # old domains' logits are unchanged
    torch.testing.assert_close(head.weight[2], head.weight[:2].mean(0))  # new ones start as the mean
    model.setup(10, 10, Precision("fp32"))
    logs = model.train_step(batch(domains=4), 0)
    assert torch.isfinite(logs["C/real_loss"])


def test_mask_gradient_adversarial_moves_the_mask_by_the_judged_output_only():
    b = batch()
    x, s = b["image"], torch.randn(4, 8)
    model = tiny(attention=True, mask_gradient="adversarial")
    judged, reconstructed = model._fakes(x, s, step=0)
    torch.testing.assert_close(judged, reconstructed)  # the same values
    torch.testing.assert_close(judged, model.generator(x, s))
    mask_weight = model.generator.to_rgb[-1].weight
    (grad_judged,) = torch.autograd.grad(judged.sum(), mask_weight, retain_graph=True)
    (grad_rec,) = torch.autograd.grad((reconstructed.sum() + model._reconstruct(reconstructed, s).sum()), mask_weight)
    assert grad_judged[-1].abs().sum() > 0 and grad_rec[-1].abs().sum() == 0
    assert grad_rec[:-1].abs().sum() > 0  # the colours still learn from every loss
    # the loss values are those of mask_gradient=all; only which loss moves the mask differs
    plain = tiny(attention=True)
    logs, adv_logs = plain.train_step(batch(), 0), model.train_step(batch(), 0)
    for key in REFERENCE_KEYS:
        if key.startswith("D/") or key.startswith("G/latent"):
            torch.testing.assert_close(adv_logs[key], logs[key])


def test_mask_gradient_waits_for_the_attention_warmup():
    model = tiny(attention=True, mask_gradient="adversarial", attention_warmup=5)
    x, s = batch()["image"], torch.randn(4, 8)
    mask_weight = model.generator.to_rgb[-1].weight
    for step, moves in ((0, False), (5, True)):
        judged, _ = model._fakes(x, s, step=step)
        (grad,) = torch.autograd.grad(judged.sum(), mask_weight)
        assert bool(grad[-1].abs().sum() > 0) is moves


@pytest.mark.parametrize("kw, match", [
    ({"lambda_cls": -1.0}, "lambda_cls"),
    ({"lambda_cls": 1.0, "cls_view": "eyes"}, "cls_view"),
    ({"cls_view": "band"}, "lambda_cls > 0"),
    ({"cls_lr": 1e-3}, "lambda_cls > 0"),
    ({"lambda_cls": 1.0, "cls_lr": 0.0}, "cls_lr"),
    ({"mask_gradient": "cycle"}, "mask_gradient"),
    ({"mask_gradient": "adversarial"}, "attention=true"),
])
def test_bad_settings_are_one_line_config_errors(kw, match):
    with pytest.raises(ConfigError, match=match) as err:
        MODELS.build("stargan_v2", domains=["a", "b"], **{**ARCH, **kw})
    assert "\n" not in str(err.value)
