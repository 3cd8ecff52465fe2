"""Style metrics on the glasses world: accuracies, confusion and diversity from scripted models."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from gancraft.core.errors import ConfigError
from gancraft.evaluation import protocols
from gancraft.evaluation.world_styles import mean_pairwise_band_l1, style_metrics, style_table
from gancraft.models.tasks import TranslationTask
from gancraft.world.oracle import CLASSES
from test_protocols import alexnet_file, make_checkpoint  # noqa: F401  (fixture)


def test_band_l1_averages_pairs_inside_the_band_only() -> None:
    outs = torch.zeros(1, 3, 3, 4, 4)
    outs[0, 1] += 0.5
    outs[0, 2] += 1.0
    outs[0, :, :, 0, 0] = torch.tensor([9.0, -9.0, 3.0])[:, None]  # outside the band: ignored
    band = torch.zeros(1, 4, 4, dtype=torch.bool)
    band[0, 2:] = True
    assert mean_pairwise_band_l1(outs, band).item() == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    with pytest.raises(ConfigError, match="at least two outputs"):
        mean_pairwise_band_l1(outs[:, :1], band)


class PixelOracle:
    """Reads the class index a scripted translator wrote into pixel (0, 0, 0)."""

    classes = list(CLASSES)

    def __call__(self, images: torch.Tensor) -> SimpleNamespace:
        idx = (images[:, 0, 0, 0] * 10).round().long().clamp(0, len(self.classes) - 1)
        return SimpleNamespace(label=[self.classes[i] for i in idx.tolist()])


def scripted_translate(x: torch.Tensor, domain: str, z=None, reference=None, num: int = 1, seed=None) -> torch.Tensor:
    """Latent-guided: always the target; reference-guided: always no glasses; ``num`` outputs 0.1 apart."""
    out = x.clone()
    out[:, 0, 0, 0] = (0 if reference is not None else CLASSES.index(domain)) / 10
    if num > 1:
        return torch.stack([out + 0.1 * k for k in range(num)], 1)
    return out


def tasks(domains: list[str]) -> list[TranslationTask]:
    """Latent- and reference-guided tasks into each domain, as a multi-domain model declares them."""
    return [TranslationTask(f"{g}/{d}", target=d, guidance=g, fixed={"domain": d}, latent_dim=4 if g == "latent" else 0)
            for g in ("latent", "reference") for d in domains]


def test_style_metrics_count_what_the_oracle_sees() -> None:
    domains = ["no_glasses", "round", "aviator"]
    result = style_metrics(scripted_translate, tasks(domains), n=6, size=32, num_outs=3, n_diversity=4,
                           oracle=PixelOracle(), batch_size=4)
    assert result["latent_accuracy"] == {d: 1.0 for d in domains}
    assert result["reference_accuracy"] == {"no_glasses": 1.0, "round": 0.0, "aviator": 0.0}
    assert result["reference_accuracy_mean"] == pytest.approx(1 / 3)
    assert result["confusion"]["round"] == {"round": 1.0}
    assert result["diversity_l1_band"] == pytest.approx({"round": 0.4 / 3, "aviator": 0.4 / 3})
    assert "diversity_lpips" not in result
    assert "| aviator | 100.0 % | 0.0 % | 0.133 |" in style_table(result)


def test_style_metrics_reject_domains_the_oracle_does_not_know() -> None:
    with pytest.raises(ConfigError, match="blond"):
        style_metrics(scripted_translate, tasks(["no_glasses", "blond"]), n=2, size=32, oracle=PixelOracle())


TINY_STARGAN = {"name": "stargan_v2", "domains": ["no_glasses", "round", "aviator"], "img_size": 32, "style_dim": 8,
                "latent_dim": 4, "hidden_dim": 16, "max_conv_dim": 16, "base_dim": 8}


def test_world_styles_protocol_on_a_stargan_checkpoint(tmp_path: Path, alexnet_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    ckpt = make_checkpoint(tmp_path / "ckpt", TINY_STARGAN, {"name": "stargan_v2_domains", "root": None, "size": 32})
    result = protocols.run_protocol(ckpt, "world_styles", tmp_path / "eval", device="cpu", n=6, num_outs=3,
                                    n_diversity=2, lpips="true", lpips_weights=str(alexnet_file))
    metrics = result["metrics"]
    for d in TINY_STARGAN["domains"]:
        assert 0.0 <= metrics[f"latent_accuracy/{d}"] <= 1.0 and 0.0 <= metrics[f"reference_accuracy/{d}"] <= 1.0
    # An untrained generator still gives different outputs for different latent codes.
    assert metrics["diversity_l1_band/round"] > 0 and metrics["diversity_lpips/aviator"] > 0
    assert "diversity_l1_band/no_glasses" not in metrics
    assert "| round |" in (tmp_path / "eval" / "metrics.md").read_text()
    # Without the AlexNet weights, lpips=auto skips LPIPS and says so.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    result = protocols.run_protocol(ckpt, "world_styles", tmp_path / "eval2", device="cpu", n=3, num_outs=2, n_diversity=1)
    assert "diversity_lpips/round" not in result["metrics"]
    assert any("LPIPS skipped" in note for note in result["notes"])
    with pytest.raises(ConfigError, match="multi-domain"):
        protocols.run_protocol(make_checkpoint(tmp_path / "cg", {"name": "cyclegan", "generator": {"name": "resnet_generator", "ngf": 4, "n_blocks": 1},
                                                                 "discriminator": {"name": "patchgan_discriminator", "ndf": 4, "n_layers": 1}},
                                               {"name": "glasses_world", "size": 32, "n": 2}), "world_styles", tmp_path / "e3", device="cpu")


def test_style_metrics_need_two_outputs_for_diversity() -> None:
    with pytest.raises(ConfigError, match="num_outs=1"):
        style_metrics(scripted_translate, tasks(["no_glasses", "round"]), n=2, size=32, num_outs=1, oracle=PixelOracle())
