"""World metrics on hand-made translators, CIEDE2000 against published values, reports."""

from __future__ import annotations

import math

import pytest
import torch

from gancraft.core.errors import ConfigError
from gancraft.evaluation.world_metrics import (
    WorldEvalSet,
    build_eval_set,
    delta_e_2000,
    rgb_to_lab,
    ssim_map,
    to_markdown,
    world_metrics,
)
from gancraft.core.registry import METRICS
from gancraft.core.reports import jsonable
from gancraft.world.oracle import load_oracle

# pairs from Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula", table 1
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (50.0, 3.1736, 0.5854), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
]


def test_ciede2000_matches_the_published_test_data() -> None:
    a = torch.tensor([p[0] for p in SHARMA])
    b = torch.tensor([p[1] for p in SHARMA])
    expected = torch.tensor([p[2] for p in SHARMA], dtype=torch.float64)
    assert torch.allclose(delta_e_2000(a, b), expected, atol=1e-4)
    assert torch.allclose(delta_e_2000(b, a), expected, atol=1e-4)  # symmetric
    assert float(delta_e_2000(a, a).abs().max()) == 0.0


def test_rgb_to_lab_anchors() -> None:
    lab = rgb_to_lab(torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    assert torch.allclose(lab[0], torch.tensor([100.0, 0.0, 0.0], dtype=torch.float64), atol=1e-3)
    assert torch.allclose(lab[1], torch.zeros(3, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(lab[2], torch.tensor([53.24, 80.09, 67.20], dtype=torch.float64), atol=0.02)


def test_ssim_is_one_for_equal_images_and_lower_otherwise() -> None:
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.allclose(ssim_map(x, x), torch.ones(2, 32, 32, dtype=torch.float64))
    assert float(ssim_map(x, (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)).mean()) < 0.9


@pytest.fixture(scope="module")
def eval_set() -> WorldEvalSet:
    return build_eval_set(n=12, size=64)


@pytest.fixture(scope="module")
def oracle():
    return load_oracle()


def _lookup(source: torch.Tensor, target: torch.Tensor):
    """A translator that recognises each input image in ``source`` and returns its row of ``target``."""

    def fn(images: torch.Tensor, **_: object) -> torch.Tensor:
        rows = [int((source == img).flatten(1).all(1).nonzero()[0]) for img in images]
        return target[rows].clone()

    return fn


def test_identity_translator_adds_and_removes_nothing(eval_set: WorldEvalSet, oracle) -> None:
    r = world_metrics(add=lambda x: x, remove=lambda x: x, eval_set=eval_set, oracle=oracle, batch_size=5)
    o = r["overall"]
    assert r["n"] == 12 and sum(r["counts"].values()) == 12
    assert o["add_success"] == 0.0
    assert math.isinf(o["add_identity_psnr"]) and o["add_identity_ssim"] == pytest.approx(1.0)
    assert o["add_tone_delta_e"] == 0.0
    assert o["remove_success"] == 0.0
    assert math.isfinite(o["remove_psnr"]) and o["remove_l1"] > 0
    # glasses are in the band only: outside it the input is untouched
    assert math.isinf(o["remove_identity_psnr"])
    for group in r["by_group"].values():
        assert group["add_success"] == 0.0


def test_ground_truth_translator_scores_perfectly(eval_set: WorldEvalSet, oracle) -> None:
    add = _lookup(eval_set.no_glasses, eval_set.with_glasses)
    remove = _lookup(eval_set.with_glasses, eval_set.no_glasses)
    r = world_metrics(add=add, remove=remove, eval_set=eval_set, oracle=oracle)
    o = r["overall"]
    assert o["add_success"] == 1.0 and o["remove_success"] == 1.0
    assert o["remove_l1"] == 0.0 and math.isinf(o["remove_psnr"]) and o["remove_ssim"] == pytest.approx(1.0)
    assert math.isinf(o["add_identity_psnr"]) and math.isinf(o["remove_identity_psnr"])
    assert o["add_tone_delta_e"] == pytest.approx(0.0, abs=1e-9)
    assert o["add_success_group_gap"] == 0.0
    for group in r["by_group"].values():
        assert group["add_success"] == 1.0 and group["remove_success"] == 1.0


def test_target_styles_are_checked_by_the_oracle(eval_set: WorldEvalSet, oracle) -> None:
    def add(images: torch.Tensor, style: str | None = None) -> torch.Tensor:
        target = eval_set.styled[style] if style else eval_set.with_glasses
        return _lookup(eval_set.no_glasses, target)(images)

    styles = list(eval_set.styled)
    r = world_metrics(add=add, target_styles=styles, eval_set=eval_set, oracle=oracle)
    for style in styles:
        assert r["overall"][f"add_style_success/{style}"] >= 11 / 12, style
    # asking for one style and getting another scores 0 on that style
    wrong = world_metrics(add=lambda x, style=None: _lookup(eval_set.no_glasses, eval_set.styled["round"])(x),
                          target_styles=["aviator"], eval_set=eval_set, oracle=oracle)
    assert wrong["overall"]["add_style_success/aviator"] <= 1 / 12


def test_a_colour_shift_shows_in_tone_and_identity(eval_set: WorldEvalSet, oracle) -> None:
    shift = torch.tensor([0.15, 0.0, -0.1]).view(1, 3, 1, 1)
    r = world_metrics(add=lambda x: (x + shift).clamp(-1, 1), eval_set=eval_set, oracle=oracle)
    assert r["overall"]["add_tone_delta_e"] > 3.0
    assert r["overall"]["add_identity_psnr"] < 30.0


def test_reports_and_errors(eval_set: WorldEvalSet, oracle) -> None:
    r = world_metrics(add=lambda x: x, eval_set=eval_set, oracle=oracle)
    data = jsonable(r)
    assert data["overall"]["add_identity_psnr"] == "inf"
    table = to_markdown(r)
    assert "| add_success | 0.0 % |" in table and "light (n=" in table and "∞" in table
    with pytest.raises(ConfigError, match="translator"):
        world_metrics(eval_set=eval_set, oracle=oracle)
    with pytest.raises(ConfigError, match="keep the shape"):
        world_metrics(add=lambda x: x[:, :, :32, :32], eval_set=eval_set, oracle=oracle)
    assert "world" in METRICS
