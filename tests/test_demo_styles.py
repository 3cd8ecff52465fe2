"""The styles demo end to end, tiny: train StarGAN v2, judge its styles, write the report."""

import json
from pathlib import Path

from PIL import Image

from gancraft.demo_styles import main, run_demo_styles
from gancraft.evaluation.world_styles import GRID_FILE
from tests.test_recipes import TINY_STARGAN_V2

TINY_EVAL = {"n": 4, "num_outs": 2, "n_diversity": 1, "lpips": False, "grid_faces": 2, "grid_outs": 2}


def test_tiny_styles_demo_writes_every_part_of_the_report(tmp_path: Path) -> None:
    words = [*TINY_STARGAN_V2, "data.domains=[no_glasses,round]", "trainer.max_steps=2", "trainer.sample_every=0", "trainer.log_every=1"]
    report = run_demo_styles(tmp_path, words, TINY_EVAL)
    page = report.read_text()
    for part in (GRID_FILE, "losses.png", "reference frame colour", "reference band PSNR", "identity PSNR", "ground truth L1", "<td>round</td>"):
        assert part in page, part
    for name in (GRID_FILE, "losses.png", "metrics.json", "metrics.md"):
        assert (tmp_path / name).is_file(), name
    # 2 faces; the input, then per domain 2 latent outputs, the reference and the reference-guided output
    assert Image.open(tmp_path / GRID_FILE).size == ((1 + 2 * 4) * 34 + 2, 2 * 34 + 2)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["protocol"] == "world_styles" and saved["world_styles"]["n"] == 4 and saved["world_styles"]["grid"] == GRID_FILE
    assert saved["metrics"]["latent_accuracy/round"] == saved["world_styles"]["latent_accuracy"]["round"]
    assert {"reference_band_psnr/round", "reference_frame_colour/round", "diversity_ratio/round", "identity_psnr/mean"} <= set(saved["metrics"])


def test_a_bad_override_is_one_line_and_writes_nothing(tmp_path: Path, capsys) -> None:
    assert main([f"out={tmp_path / 'demo'}", "trainer.max_stepz=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gancraft demo-styles: error:") and "\n" not in err
    assert not (tmp_path / "demo").exists()
