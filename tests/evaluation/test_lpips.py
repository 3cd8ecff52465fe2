"""LPIPS: identity, symmetry, diversity, and weights found on disk only."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from gancraft.core.errors import MissingWeightsError
from gancraft.evaluation import lpips as lp


@pytest.fixture(scope="module")
def alexnet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AlexNet with random but fixed weights, saved in torchvision's file format (features only)."""
    torch.manual_seed(0)
    state = torchvision.models.alexnet(weights=None).features.state_dict()
    path = tmp_path_factory.mktemp("hub") / lp.ALEXNET_FILE
    torch.save({f"features.{k}": v for k, v in state.items()}, path)
    return path


@pytest.fixture(scope="module")
def model(alexnet_file: Path):
    return lp.load_lpips(alexnet_file)


def images(n: int, seed: int, size: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def test_trunk_is_loaded_from_the_file(model, alexnet_file: Path) -> None:
    saved = torch.load(alexnet_file, weights_only=True)
    assert torch.equal(model.net.slice1[0].weight, saved["features.0.weight"])
    assert torch.equal(getattr(model.net.slice5, "10").bias, saved["features.10.bias"])


def test_lpips_of_an_image_with_itself_is_zero(model) -> None:
    x = images(3, seed=0)
    assert torch.allclose(lp.lpips_distance(x, x, model=model), torch.zeros(3), atol=1e-7)


def test_lpips_is_symmetric_and_positive(model) -> None:
    x, y = images(3, seed=1), images(3, seed=2)
    d_xy, d_yx = lp.lpips_distance(x, y, model=model), lp.lpips_distance(y, x, model=model)
    assert d_xy.shape == (3,)
    assert torch.allclose(d_xy, d_yx, rtol=1e-5, atol=1e-7)
    assert (d_xy > 1e-4).all()


def test_diversity_of_identical_outputs_is_zero(model) -> None:
    one = images(2, seed=3)
    outputs = one.unsqueeze(0).expand(10, -1, -1, -1, -1)
    assert lp.lpips_diversity(outputs, model=model) == pytest.approx(0.0, abs=1e-7)


def test_diversity_is_the_mean_over_all_pairs(model) -> None:
    outputs = [images(2, seed=10 + i) for i in range(4)]
    pairs = [model(outputs[i], outputs[j]).mean() for i in range(4) for j in range(i + 1, 4)]
    expected = float(torch.stack(pairs).mean())
    assert lp.lpips_diversity(outputs, model=model) == pytest.approx(expected, rel=1e-5)
    # N x 3 x H x W: the outputs of a single input.
    single = torch.stack([o[0] for o in outputs])
    pairs1 = [model(single[i:i + 1], single[j:j + 1]).mean() for i in range(4) for j in range(i + 1, 4)]
    assert lp.lpips_diversity(single, model=model) == pytest.approx(float(torch.stack(pairs1).mean()), rel=1e-5)


def test_weights_found_in_torch_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, alexnet_file: Path) -> None:
    monkeypatch.delenv(lp.WEIGHTS_ENV, raising=False)
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / lp.ALEXNET_FILE).write_bytes(alexnet_file.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert lp.resolve_alexnet_weights() == checkpoints / lp.ALEXNET_FILE
    x = images(2, seed=4)
    found = lp.load_lpips()  # from TORCH_HOME, with no path given
    assert float(lp.lpips_distance(x, x, model=found).abs().max()) < 1e-7
    assert lp.lpips_diversity([x, images(2, seed=5)], model=found) > 0


def test_missing_weights_is_one_line_naming_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(lp.WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(MissingWeightsError) as info:
        lp.lpips_distance(images(1, 0), images(1, 1))
    message = str(info.value)
    assert "\n" not in message
    assert lp.ALEXNET_FILE in message and str(tmp_path / "empty" / "hub" / "checkpoints") in message
