"""The demo pipeline end to end, tiny: render, train, translate, measure, report."""

import json
import math
from pathlib import Path

from gancraft.demo import check_targets, run_demo
from gancraft.report import html_table


def test_tiny_demo_writes_every_part_of_the_report(tmp_path: Path) -> None:
    words = ["model.generator.ngf=4", "model.generator.n_blocks=1", "model.discriminator.ndf=4", "model.n_epochs=2", "model.n_epochs_decay=2",
             "data.load_size=32", "data.crop_size=32", "data.n=16", "trainer.num_workers=0", "trainer.progress=false", "trainer.log_every=2"]
    report = run_demo(tmp_path, words, n_eval=12, n_show=4)
    page = report.read_text()
    for part in ("grid_add.png", "grid_remove.png", "losses.png", "Metrics by skin-tone group", "add_success"):
        assert part in page
    for name in ("grid_add.png", "grid_remove.png", "losses.png", "metrics.json", "metrics.md"):
        assert (tmp_path / name).is_file(), name
    assert len(list((tmp_path / "translated" / "a2b").glob("*.png"))) == 4
    saved = json.loads((tmp_path / "metrics.json").read_text())  # the world protocol's report
    assert saved["protocol"] == "world" and saved["world"]["n"] == 12 and saved["counts"]["faces"] == 12
    assert saved["metrics"]["world/add_success"] == saved["world"]["overall"]["add_success"]
    assert 0.0 <= saved["world"]["overall"]["add_success"] <= 1.0


def test_targets_are_judged_in_the_right_direction() -> None:
    rows = {key: ok for key, _, _, ok in check_targets({"add_success": 0.95, "add_tone_delta_e": 2.0, "remove_success": 0.5, "add_identity_psnr": math.inf})}
    assert rows["add_success"] and rows["add_tone_delta_e"] and rows["add_identity_psnr"]
    assert not rows["remove_success"] and not rows["remove_tone_delta_e"]  # missing counts as not met


def test_html_table_escapes_cells() -> None:
    assert "&lt;b&gt;" in html_table(["a"], [["<b>"]]) and "<thead>" not in html_table(None, [["x", "y"]])
