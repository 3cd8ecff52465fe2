import pytest
import torch

from gancraft.core.precision import Precision
from gancraft.core.errors import ConfigError
from gancraft.models.cyclegan import CycleGAN

TINY = {"generator": {"name": "resnet_generator", "ngf": 4, "n_blocks": 1}, "discriminator": {"name": "patchgan_discriminator", "ndf": 4, "n_layers": 2}}


def make_model(**kw) -> CycleGAN:
    torch.manual_seed(0)
    model = CycleGAN(**{**TINY, **kw})
    model.setup(total_steps=10, steps_per_epoch=5, precision=Precision("fp32"))
    return model


def batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {"A": torch.rand(1, 3, 32, 32, generator=g) * 2 - 1, "B": torch.rand(1, 3, 32, 32, generator=g) * 2 - 1}


def test_train_step_logs_every_loss_and_updates_all_networks() -> None:
    model = make_model()
    before = {n: [p.clone() for p in net.parameters()] for n, net in model.networks().items()}
    logs = model.train_step(batch(), 0)
    assert set(logs) == {"G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B", "D_A", "D_B"}
    assert all(v.dim() == 0 and not v.requires_grad for v in logs.values())
    for name, net in model.networks().items():
        assert any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters())), name


def test_loss_weights_follow_the_reference() -> None:
    model = make_model(lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5)
    data = batch()
    with torch.no_grad():
        rec_A = model.G_B(model.G_A(data["A"]))
        idt_A = model.G_A(data["B"])
    logs = model.train_step(data, 0)
    assert float(logs["cycle_A"]) == pytest.approx(10 * float((rec_A - data["A"]).abs().mean()), rel=1e-5)
    assert float(logs["idt_A"]) == pytest.approx(5 * float((idt_A - data["B"]).abs().mean()), rel=1e-5)


def test_no_identity_loss_when_its_weight_is_zero() -> None:
    assert "idt_A" not in make_model(lambda_identity=0.0).train_step(batch(), 0)


def test_generators_update_before_discriminators() -> None:
    model = make_model(pool_size=0)
    order: list[str] = []
    for name, net in model.networks().items():
        net.register_forward_hook(lambda *_, name=name: order.append(name))
    model.optimizers["G"].step = lambda *a, _s=model.optimizers["G"].step, **k: (order.append("step_G"), _s(*a, **k))[1]
    model.optimizers["D"].step = lambda *a, _s=model.optimizers["D"].step, **k: (order.append("step_D"), _s(*a, **k))[1]
    model.train_step(batch(), 0)
    assert order.index("step_G") < order.index("step_D")
    # after the G step, only the discriminators run (on reals and pooled fakes)
    assert set(order[order.index("step_G") + 1 : order.index("step_D")]) == {"D_A", "D_B"}


def test_discriminators_get_no_gradient_from_the_generator_loss() -> None:
    model = make_model()
    model.optimizers["D"].step = lambda *a, **k: None  # look at D's grads after the G update only
    seen = {}
    original = model.precision.step

    def spy(opt):
        if opt is model.optimizers["G"]:
            seen["D_grads"] = [p.grad for p in model.D_A.parameters()]
        original(opt)

    model.precision.step = spy
    model.train_step(batch(), 0)
    assert all(g is None for g in seen["D_grads"])


def test_translate_directions() -> None:
    model = make_model()
    x = batch()["A"]
    with torch.no_grad():
        assert torch.equal(model.translate(x, direction="a2b"), model.G_A(x))
        assert torch.equal(model.translate(x, direction="b2a"), model.G_B(x))
    with pytest.raises(ConfigError):
        model.translate(x, direction="sideways")


def test_extra_state_holds_the_pools() -> None:
    model = make_model()
    model.train_step(batch(), 0)
    state = model.extra_state()
    assert int(state["pool_A.count"]) == 1 and state["pool_B.images"].shape == (1, 3, 32, 32)


def test_attention_warmup_ramps_the_blend_in_over_its_steps() -> None:
    attention = {**TINY, "generator": {**TINY["generator"], "attention": True}}
    model = make_model(**attention, attention_warmup=4)
    for step, expected in ((0, 0.0), (1, 0.25), (3, 0.75), (4, 1.0), (9, 1.0)):
        model.train_step(batch(), step)
        assert model.G_A.attention_weight.item() == model.G_B.attention_weight.item() == expected
    untouched = make_model(**attention)
    untouched.train_step(batch(), 0)
    assert untouched.G_A.attention_weight.item() == 1.0  # no warm-up: the blend from the first step


def test_attention_warmup_needs_an_attention_generator() -> None:
    with pytest.raises(ConfigError, match="attention generator"):
        CycleGAN(**TINY, attention_warmup=10)
    with pytest.raises(ConfigError, match=">= 0"):
        CycleGAN(**TINY, attention_warmup=-1)


def _mask_grad(model: CycleGAN) -> float:
    """The gradient that reached G_A's mask channel (the last output channel of its head)."""
    conv = model.G_A.head[1]
    return float(conv.weight.grad[-1].abs().sum() + conv.bias.grad[-1].abs())


@pytest.mark.parametrize("identity", [True, False])
def test_adversarial_mask_gradient_keeps_reconstruction_losses_off_the_mask(identity: bool) -> None:
    attention = {**TINY, "generator": {**TINY["generator"], "attention": True}}
    isolated = make_model(**attention, mask_gradient="adversarial", lambda_identity=0.5 if identity else 0.0)
    plain = make_model(**attention, lambda_identity=0.5 if identity else 0.0)
    real_A, real_B = batch()["A"], batch()["B"]
    fake_B, fake_A, rec_A, rec_B, idt_A, idt_B, masks = isolated._generate_adversarial_masks(real_A, real_B, identity)
    same = plain._generate(real_A, real_B, identity)  # same weights (seed 0): the same values
    for a, b in zip((fake_B, fake_A, rec_A, rec_B, idt_A, idt_B), same):
        assert (a is None and b is None) or torch.allclose(a, b, atol=1e-6)
    assert torch.allclose(masks[0], isolated.G_A.mask(real_A))
    # the cycle (and identity) losses reach G_A's rgb but not its mask ...
    (rec_A - real_A).abs().mean().add((idt_A - real_B).abs().mean() if identity else 0).backward()
    assert _mask_grad(isolated) == 0.0 and float(isolated.G_A.head[1].weight.grad[:3].abs().sum()) > 0
    # ... while the adversarial output does move the mask, and without isolation the cycle does too
    isolated.G_A.zero_grad()
    fake_B, *_ = isolated._generate_adversarial_masks(real_A, real_B, identity)
    fake_B.mean().backward()
    assert _mask_grad(isolated) > 0
    rec = plain._generate(real_A, real_B, identity)[2]
    (rec - real_A).abs().mean().backward()
    assert _mask_grad(plain) > 0


def test_mask_loss_is_logged_and_needs_the_adversarial_mask_gradient() -> None:
    attention = {**TINY, "generator": {**TINY["generator"], "attention": True}}
    logs = make_model(**attention, mask_gradient="adversarial", lambda_mask=2.0).train_step(batch(), 0)
    assert 0 < float(logs["mask_A"]) <= 2.0 and 0 < float(logs["mask_B"]) <= 2.0  # 2 x a mean mask in (0, 1)
    warming = make_model(**attention, mask_gradient="adversarial", lambda_mask=2.0, attention_warmup=4)
    assert float(warming.train_step(batch(), 3)["mask_A"]) == 0.0  # the masks do not learn during the warm-up
    assert 0 < float(warming.train_step(batch(), 4)["mask_A"]) <= 2.0


def test_masks_get_no_gradient_during_the_warm_up() -> None:
    attention = {**TINY, "generator": {**TINY["generator"], "attention": True}}
    model = make_model(**attention, mask_gradient="adversarial")
    real_A, real_B = batch()["A"], batch()["B"]
    fake_B, *_ = model._generate_adversarial_masks(real_A, real_B, True, learning=False)
    fake_B.mean().backward()
    assert _mask_grad(model) == 0.0 and float(model.G_A.head[1].weight.grad[:3].abs().sum()) > 0
    with pytest.raises(ConfigError, match="mask_gradient=adversarial"):
        CycleGAN(**attention, lambda_mask=1.0)
    with pytest.raises(ConfigError, match="attention generator"):
        CycleGAN(**TINY, mask_gradient="adversarial")
    with pytest.raises(ConfigError, match="one of all, adversarial"):
        CycleGAN(**attention, mask_gradient="some")


def test_change_penalty_weights_the_mask_by_the_change_it_makes() -> None:
    attention = {**TINY, "generator": {**TINY["generator"], "attention": True}}
    model = make_model(**attention, mask_gradient="adversarial", lambda_mask=1.0, mask_penalty="change")
    real_A, real_B = batch()["A"], batch()["B"]
    masks = model._generate_adversarial_masks(real_A, real_B, True)[-1]
    raw = model.G_A.raw(real_A)
    change = (torch.tanh(raw[:, :3]) - real_A).abs().mean(1, keepdim=True)
    assert torch.allclose(masks[0], model.G_A.mask(real_A) * change, atol=1e-6)
    # the penalty moves the mask (in proportion to the change) but never pulls the rgb towards the input
    masks[0].mean().backward()
    assert _mask_grad(model) > 0 and float(model.G_A.head[1].weight.grad[:3].abs().sum()) == 0.0
    # a generator that would draw the input itself costs nothing, however open its mask
    x = real_A.clamp(-0.99, 0.99)
    open_mask = torch.full((1, 1, 32, 32), 10.0)
    assert float(model._penalised_mask(torch.cat([torch.atanh(x), open_mask], 1), x).max()) < 1e-5
    logs = model.train_step(batch(), 0)
    assert 0 < float(logs["mask_A"]) < float(make_model(**attention, mask_gradient="adversarial", lambda_mask=1.0).train_step(batch(), 0)["mask_A"])
    with pytest.raises(ConfigError, match="one of area, change"):
        CycleGAN(**attention, mask_gradient="adversarial", lambda_mask=1.0, mask_penalty="edges")


# --- moving average of the generators (ema_beta) ---------------------------------------------


def test_no_moving_average_by_default() -> None:
    model = make_model()
    assert set(model.networks()) == {"G_A", "G_B", "D_A", "D_B"}
    x = batch()["A"]
    with torch.no_grad():
        torch.testing.assert_close(model.translate(x, "a2b"), model.G_A(x))


def test_moving_average_follows_the_generators_after_each_step() -> None:
    model = make_model(ema_beta=0.9)
    assert set(model.networks()) == {"G_A", "G_B", "D_A", "D_B", "G_A_ema", "G_B_ema"}
    before = {g: [p.detach().clone() for p in getattr(model, g).parameters()] for g in ("G_A", "G_B")}
    model.train_step(batch(), 0)
    for g in ("G_A", "G_B"):
        online, ema = list(getattr(model, g).parameters()), list(getattr(model, f"{g}_ema").parameters())
        for e, b, o in zip(ema, before[g], online):
            torch.testing.assert_close(e, 0.9 * b + 0.1 * o.detach())
        assert not any(p.requires_grad for p in ema)


def test_translate_and_samples_use_the_moving_average() -> None:
    model = make_model(ema_beta=0.9)
    model.train_step(batch(), 0)
    x = batch()["B"]
    with torch.no_grad():
        out = model.translate(x, "b2a")
        torch.testing.assert_close(out, model.G_B_ema(x))
        assert not torch.allclose(out, model.G_B(x))
        torch.testing.assert_close(model.sample_images(batch())[4], out)


def test_moving_average_keeps_the_attention_blend_share() -> None:
    model = make_model(ema_beta=0.9, generator={**TINY["generator"], "attention": True}, attention_warmup=4)
    model.train_step(batch(), 2)
    assert float(model.G_A_ema.attention_weight) == float(model.G_A.attention_weight) == pytest.approx(0.5)


def test_init_from_a_checkpoint_without_moving_average_starts_it_from_the_generators(tmp_path) -> None:
    from safetensors.torch import save_file

    from gancraft.core.checkpoint import MODEL_FILE, network_state

    plain = make_model()
    plain.train_step(batch(), 0)
    save_file(network_state(plain.networks()), str(tmp_path / MODEL_FILE))
    model = make_model(ema_beta=0.9)
    model.init_from(tmp_path)
    for g in ("G_A", "G_B"):
        for e, o in zip(getattr(model, f"{g}_ema").parameters(), getattr(plain, g).parameters()):
            torch.testing.assert_close(e, o.detach())


@pytest.mark.parametrize("beta", [-0.1, 1.0])
def test_moving_average_rate_must_be_below_one(beta: float) -> None:
    with pytest.raises(ConfigError, match="ema_beta"):
        CycleGAN(**TINY, ema_beta=beta)
