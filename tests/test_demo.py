"""The demo pipeline end to end, tiny: render, train, translate, measure, report."""

import json
import math
from pathlib import Path

from gancraft.demo import check_targets, run_demo, worst_faces
from gancraft.report import html_table


def test_tiny_demo_writes_every_part_of_the_report(tmp_path: Path) -> None:
    words = ["model.generator.ngf=4", "model.generator.n_blocks=1", "model.discriminator.ndf=4", "model.n_epochs=2", "model.n_epochs_decay=2",
             "data.load_size=32", "data.crop_size=32", "data.n=16", "trainer.num_workers=0", "trainer.progress=false", "trainer.log_every=2"]
    report = run_demo(tmp_path, words, n_eval=12, n_show=4)
    page = report.read_text()
    for part in ("grid_add.png", "grid_remove.png", "losses.png", "Metrics by skin-tone group", "add_success",
                 "Targets, overall and by skin-tone group", "remove_success_group_gap"):
        assert part in page
    saved_groups = list(json.loads((tmp_path / "metrics.json").read_text())["world"]["by_group"])
    for group in saved_groups:  # the worst faces of every group, both directions, as pictures
        for direction in ("add", "remove"):
            assert f"worst_{direction}_{group}.png" in page and (tmp_path / f"worst_{direction}_{group}.png").is_file()
    for name in ("grid_add.png", "grid_remove.png", "losses.png", "metrics.json", "metrics.md"):
        assert (tmp_path / name).is_file(), name
    assert len(list((tmp_path / "translated" / "a2b").glob("*.png"))) == 4
    saved = json.loads((tmp_path / "metrics.json").read_text())  # the world protocol's report
    assert saved["protocol"] == "world" and saved["world"]["n"] == 12 and saved["counts"]["faces"] == 12
    assert saved["metrics"]["world/add_success"] == saved["world"]["overall"]["add_success"]
    assert 0.0 <= saved["world"]["overall"]["add_success"] <= 1.0


def test_targets_are_judged_in_the_right_direction_and_in_every_group() -> None:
    overall = {"add_success": 0.95, "add_tone_delta_e": 2.0, "remove_success": 0.5, "add_identity_psnr": math.inf, "add_success_group_gap": 0.02}
    result = {"overall": overall, "by_group": {"light": {"add_success": 0.99, "add_tone_delta_e": 1.0}, "dark": {"add_success": 0.89, "add_tone_delta_e": 2.5}}}
    rows = {key: (ok, groups) for key, _, _, groups, ok in check_targets(result)}
    assert rows["add_tone_delta_e"][0] and rows["add_identity_psnr"][0] and rows["add_success_group_gap"][0]
    assert not rows["add_success"][0] and rows["add_success"][1] == {"light": 0.99, "dark": 0.89}  # the dark group misses it
    assert not rows["remove_success"][0] and not rows["remove_tone_delta_e"][0]  # missing counts as not met


def test_worst_faces_are_the_least_confident_of_their_group() -> None:
    faces = {"group": ["dark", "light", "dark", "dark"], "add_confidence": [0.9, 0.0, 0.2, 0.5]}
    assert worst_faces(faces, "add", "dark", 2) == [2, 3]


def test_html_table_escapes_cells() -> None:
    assert "&lt;b&gt;" in html_table(["a"], [["<b>"]]) and "<thead>" not in html_table(None, [["x", "y"]])
