"""``gancraft data synth`` writes both layouts, the paired ground truth and the metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from gancraft.cli import main
from gancraft.world import GLASSES_STYLES, render_face


def test_synth_writes_both_layouts_paired_truth_and_metadata(tmp_path: Path) -> None:
    out = tmp_path / "world"
    assert main(["data", "synth", f"out={out}", "n=3", "size=32", "n_test=2"]) == 0
    for folder, count in (("trainA", 3), ("trainB", 3), ("testA", 2), ("testB", 2)):
        assert len(list((out / folder).glob("*.png"))) == count, folder
    for domain in ("no_glasses", *GLASSES_STYLES):
        assert len(list((out / "domains" / "train" / domain).glob("*.png"))) == 3
        assert len(list((out / "domains" / "test" / domain).glob("*.png"))) == 2
        assert len(list((out / "paired" / domain).glob("*.png"))) == 2
    for masks in (*GLASSES_STYLES, "band", "skin"):
        assert len(list((out / "paired" / "masks" / masks).glob("*.png"))) == 2
    lines = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(lines) == 3 * 2 + 2 * 2 + 5 * (3 + 2) + 5 * 2
    by_path = {m["path"]: m for m in lines}
    meta = by_path["trainB/000001.png"]
    assert meta["style"] in GLASSES_STYLES and meta["tone_group"] in ("light", "medium", "dark")
    # the file is exactly the render named by its metadata
    pixels = np.asarray(Image.open(out / "trainB/000001.png"))
    assert np.array_equal(pixels, render_face(meta["seed"], 32, meta["style"]).image)
    # paired ground truth: same face, differing only inside the saved mask
    plain = np.asarray(Image.open(out / "paired/no_glasses/000000.png"))
    worn = np.asarray(Image.open(out / "paired/round/000000.png"))
    mask = np.asarray(Image.open(out / "paired/masks/round/000000.png")) > 0
    assert mask.any() and np.array_equal(plain[~mask], worn[~mask])
    assert by_path["paired/round/000000.png"]["paired_with"] == "testA/000000.png"
    assert np.array_equal(plain, np.asarray(Image.open(out / "testA/000000.png")))


def test_synth_rejects_bad_arguments(tmp_path: Path, capsys) -> None:
    assert main(["data", "synth", "n=3"]) == 2
    assert "needs out=" in capsys.readouterr().err
    assert main(["data", "synth", f"out={tmp_path}", "n=3", "size=20"]) == 2
    assert "32..512" in capsys.readouterr().err
    assert main(["data", "synth", f"out={tmp_path}", "n=x"]) == 2
    assert "whole number" in capsys.readouterr().err
    assert main(["data", "synth", f"out={tmp_path}", "n=2", "colour=red"]) == 2
    assert "does not take colour=red" in capsys.readouterr().err
