"""Style metrics on the glasses world: accuracies, confusion, fidelity and diversity from scripted models."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from gancraft.core.errors import ConfigError
from gancraft.evaluation import protocols
from gancraft.evaluation.world_styles import GRID_FILE, WorldStyles, mean_pairwise_band_l1, style_grid, style_metrics, style_table
from gancraft.models.tasks import TranslationTask
from gancraft.world.oracle import CLASSES
from stand_ins import FakeOracle, ScriptedModel, scripted_context
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
    assert "| aviator | 100.0 % | 0.0 % |" in style_table(result) and "| 0.133 |" in style_table(result)


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
    # the picture beside the metrics: 6 faces, input + 3 domains x (3 latent + reference + output) columns
    assert result["world_styles"]["grid"] == GRID_FILE and f"]({GRID_FILE})" in (tmp_path / "eval" / "metrics.md").read_text()
    assert Image.open(tmp_path / "eval" / GRID_FILE).size == (16 * 34 + 2, 6 * 34 + 2)
    assert metrics["reference_band_psnr/mean"] > 0 and 0.0 <= metrics["reference_frame_colour/round"] <= 1.0
    assert "reference_frame_colour/no_glasses" not in metrics and metrics["diversity_l1_band_gt/aviator"] > 0
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


class WorldTruth:
    """A translator that knows every test face by its pixels and answers from the world's own renders:
    ``truth`` (the exact ground truth), ``unchanged`` (the input) or ``wrong_colour`` (the truth with
    another frame colour). Latent-guided it returns the input, or with ``num`` the world's own random
    glasses (``truth``)."""

    def __init__(self, mode: str, n: int, size: int, styles: list[str]) -> None:
        from gancraft.evaluation.world_metrics import build_eval_set

        self.mode, self.size, self.seed_of = mode, size, {}
        es = build_eval_set(n, size, styles)
        for i, seed in enumerate(es.seeds):
            for images in (es.no_glasses, *es.styled.values()):
                self.seed_of[images[i].numpy().tobytes()] = seed

    def seeds(self, images: torch.Tensor) -> list[int]:
        return [self.seed_of[img.numpy().tobytes()] for img in images]

    def __call__(self, x: torch.Tensor, domain: str, z=None, reference=None, num: int = 1, seed=None) -> torch.Tensor:
        from dataclasses import replace

        from gancraft.data.transforms import to_tensor
        from gancraft.evaluation.style_truth import random_glasses_renders
        from gancraft.world import render_face
        from gancraft.world.glasses import sample_glasses

        if reference is None:
            if num > 1:
                return random_glasses_renders(self.seeds(x), self.size, domain, num, seed) if self.mode == "truth" else torch.stack([x] * num, 1)
            return x.clone()
        if self.mode == "unchanged":
            return x.clone()
        out = []
        for s, r in zip(self.seeds(x), self.seeds(reference)):
            glasses = None if domain == "no_glasses" else sample_glasses(r, domain)
            if glasses is not None and self.mode == "wrong_colour":
                glasses = replace(glasses, frame_colour="red" if glasses.frame_colour != "red" else "silver")
            out.append(to_tensor(render_face(s, self.size, glasses=glasses).image))
        return torch.stack(out)


STYLE_DOMAINS = ["no_glasses", "round", "aviator"]


@pytest.fixture(scope="module")
def known_answers() -> dict[str, dict]:
    return {mode: style_metrics(WorldTruth(mode, 6, 32, STYLE_DOMAINS[1:]), tasks(STYLE_DOMAINS), n=6, size=32, num_outs=3,
                                n_diversity=2, oracle=FakeOracle(), batch_size=4)
            for mode in ("truth", "unchanged", "wrong_colour")}


def test_the_exact_ground_truth_scores_perfectly(known_answers: dict[str, dict]) -> None:
    truth = known_answers["truth"]
    assert truth["reference_band_psnr"] == {d: float("inf") for d in STYLE_DOMAINS} and truth["reference_band_psnr_mean"] == float("inf")
    assert truth["reference_frame_colour"] == {"round": 1.0, "aviator": 1.0} and truth["reference_frame_colour_mean"] == 1.0
    assert truth["identity_psnr_mean"] == float("inf")  # glasses change nothing outside the band
    # the world's own random glasses are exactly as diverse as the world's
    assert truth["diversity_ratio"] == pytest.approx({"round": 1.0, "aviator": 1.0})
    assert truth["diversity_l1_band"] == truth["diversity_l1_band_gt"] and min(truth["diversity_l1_band_gt"].values()) > 0.01


def test_an_unchanged_input_and_a_wrong_frame_colour_score_low(known_answers: dict[str, dict]) -> None:
    unchanged, wrong = known_answers["unchanged"], known_answers["wrong_colour"]
    for style in ("round", "aviator"):
        assert unchanged["reference_band_psnr"][style] < 25
        assert wrong["reference_frame_colour"][style] == 0.0  # every frame recoloured: never the reference's colour
        assert unchanged["reference_band_psnr"][style] < wrong["reference_band_psnr"][style] < float("inf")
    assert unchanged["reference_frame_colour_mean"] <= 0.5
    assert wrong["reference_band_psnr"]["no_glasses"] == float("inf")  # nothing to recolour without glasses
    assert unchanged["diversity_ratio"] == {"round": 0.0, "aviator": 0.0}  # K copies of the input
    table = style_table(unchanged)
    assert "reference frame colour" in table and "ground truth L1" in table
    assert f"| {unchanged['reference_band_psnr']['aviator']:.2f} dB | ∞ |" in table  # band PSNR, then identity kept exactly


def test_the_grid_shows_input_latent_outputs_reference_and_output_per_domain(tmp_path: Path) -> None:
    model = ScriptedModel(("no_glasses", "round", "aviator"), multi=True)
    rows = style_grid(model.translate, model.tasks(), faces=3, size=32, num_outs=2)
    assert len(rows) == 3 and rows[0].shape == (1 + 3 * (2 + 2), 3, 32, 32)
    # the scripted reference-guided output is the reference itself; latent outputs differ by their codes
    assert torch.equal(rows[1][3], rows[1][4]) and not torch.equal(rows[1][1], rows[1][2])
    context = scripted_context(model)
    context.out_dir = tmp_path
    monkey = WorldStyles(n=4, num_outs=2, n_diversity=1, lpips=False, grid_faces=3, grid_outs=2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("gancraft.world.oracle.load_oracle", lambda path=None: FakeOracle())
        monkey(context)
    assert Image.open(tmp_path / GRID_FILE).size == (13 * 34 + 2, 3 * 34 + 2)
    assert context.report.details["world_styles"]["grid"] == GRID_FILE
    context = scripted_context(model)  # no output folder: no picture, and no error
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("gancraft.world.oracle.load_oracle", lambda path=None: FakeOracle())
        WorldStyles(n=4, num_outs=2, n_diversity=1, lpips=False)(context)
    assert "grid" not in context.report.details["world_styles"]
