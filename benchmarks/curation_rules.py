"""Precision and recall of each curation rule on glasses-world pictures with known answers.

    python benchmarks/curation_rules.py [per_kind=8] [out=benchmarks/results/curation_rules.json]

Kinds of picture (1024 x 768): one face without glasses, one with clear glasses (both
to keep), one with sunglasses, two faces, one tiny face, no face.
"""

from __future__ import annotations

import csv
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from gancraft.cli import parse_key_values
from gancraft.faces.curate import RULES, curate
from gancraft.faces.scenes import make_scene

#: kind -> (faces, render sides as fractions of the height or None, style, the rules it breaks)
KINDS = {
    "plain": (1, None, None, set()),
    "clear_glasses": (1, None, "round", set()),
    "sunglasses": (1, None, "sunglasses", {"sunglasses", "eyes_not_visible"}),
    "two_faces": (2, None, None, {"several_faces"}),
    "tiny_face": (1, (0.15, 0.25), None, {"face_too_small"}),
    "no_face": (0, None, None, {"no_face"}),
}


def main(argv: list[str]) -> dict:
    args = parse_key_values(argv)
    per_kind = int(args.get("per_kind", 8))
    start = time.perf_counter()
    truth: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        photos, out = Path(tmp) / "photos", Path(tmp) / "out"
        photos.mkdir()
        for k, (kind, (faces, sides, style, broken)) in enumerate(KINDS.items()):
            for i in range(per_kind):
                sides_px = (sides[0] * 768, sides[1] * 768) if sides else None
                scene = make_scene(20_000 + 100 * k + i, faces, sides=sides_px, style=style)
                name = f"{kind}_{i:02d}.png"
                Image.fromarray(scene.image).save(photos / name)
                truth[name] = broken
        result = curate(photos, out, size=64)
        with open(out / "curation.csv") as handle:
            predicted = {row["file"]: set(filter(None, row["reasons"].split(";"))) for row in csv.DictReader(handle)}
    rules = {}
    for rule in RULES:
        tp = sum(rule in predicted[f] and rule in truth[f] for f in truth)
        fp = sum(rule in predicted[f] and rule not in truth[f] for f in truth)
        fn = sum(rule not in predicted[f] and rule in truth[f] for f in truth)
        rules[rule] = {"precision": tp / (tp + fp) if tp + fp else None, "recall": tp / (tp + fn) if tp + fn else None, "tp": tp, "fp": fp, "fn": fn}
    keep_tp = sum(not predicted[f] and not truth[f] for f in truth)
    keep_fp = sum(not predicted[f] and bool(truth[f]) for f in truth)
    keep_fn = sum(bool(predicted[f]) and not truth[f] for f in truth)
    report = {
        "command": "python benchmarks/curation_rules.py " + " ".join(argv),
        "machine": f"{platform.machine()} 2-core shared VM, no GPU, torch {torch.__version__}",
        "pictures": len(truth),
        "per_kind": per_kind,
        "rules": rules,
        "keep": {"precision": keep_tp / max(1, keep_tp + keep_fp), "recall": keep_tp / max(1, keep_tp + keep_fn), "kept": result.kept},
        "wall_s": round(time.perf_counter() - start, 1),
    }
    path = Path(args.get("out", "benchmarks/results/curation_rules.json"))
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
