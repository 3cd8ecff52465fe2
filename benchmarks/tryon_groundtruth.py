"""The try-on ground-truth test on glasses-world pictures, and the naive resize-the-photo path beside it.

    python benchmarks/tryon_groundtruth.py checkpoint=RUN_DIR [scenes=40] [out=benchmarks/results/tryon_groundtruth.json]

Pictures of 1024 x 768 px (textured backgrounds) hold 0, 1 or 2 faces rendered at 512 px,
scaled and rotated by up to 15 degrees (:mod:`gancraft.faces.scenes`). Reported:
detection rate, PSNR outside the eye band at full resolution against the unchanged
picture, and the oracle's add success on faces re-cropped (from their true eyes) out of
the result, beside the same checkpoint's own success on 64 px world faces.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gancraft.cli import parse_key_values
from gancraft.data.transforms import to_tensor
from gancraft.evaluation.world_metrics import psnr_from_mse, world_metrics
from gancraft.faces.scenes import make_scene
from gancraft.inference.translator import Translator
from gancraft.inference.tryon import TryOn
from gancraft.world.face import sample_face
from gancraft.world.oracle import load_oracle
from gancraft.world.styles import tone_group

LAYOUT = (1, 1, 2, 0)  # faces per picture, in turn


def _outside_mse(out: np.ndarray, ref: np.ndarray, band: np.ndarray) -> float:
    d = ((out.astype(np.float64) - ref.astype(np.float64)) / 255.0) ** 2
    return float(d.mean(-1)[~band].mean())


def _naive(translator: Translator, image: np.ndarray) -> np.ndarray:
    """The whole picture squashed to the model's size, translated, and stretched back."""
    h, w = image.shape[:2]
    small = Image.fromarray(image).resize((translator.size, translator.size), Image.BICUBIC)
    out = translator.translate(to_tensor(small)[None], direction="a2b")[0]
    back = Image.fromarray(((out.permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8))
    return np.asarray(back.resize((w, h), Image.BICUBIC))


def main(argv: list[str]) -> dict:
    args = parse_key_values(argv)
    torch.manual_seed(0)
    translator = Translator.load(args["checkpoint"], device="cpu")
    tryon = TryOn(translator)
    oracle = load_oracle()
    n_scenes = int(args.get("scenes", 40))
    start = time.perf_counter()
    rows = {"tryon": {"mse": [], "crops": []}, "naive": {"mse": [], "crops": []}}
    truth_faces = detected = eyes_found = false_pos = 0
    detected_mask: list[bool] = []
    by_group: dict[str, list[int]] = {}  # skin-tone group -> [detected, faces]
    tryon_seconds = 0.0
    for s in range(n_scenes):
        scene = make_scene(10_000 + s, LAYOUT[s % len(LAYOUT)])
        t0 = time.perf_counter()
        result = tryon.apply(scene.image, direction="a2b")
        tryon_seconds += time.perf_counter() - t0
        outputs = {"tryon": result.images[0], "naive": _naive(translator, scene.image)}
        matched = set()
        for face in scene.faces:
            middle = face.eyes.mean(0)
            hits = [i for i, f in enumerate(result.faces) if math.dist(f.centre, middle) < 0.5 * f.size]
            truth_faces += 1
            detected += bool(hits)
            detected_mask.append(bool(hits))
            group = tone_group(sample_face(face.seed).monk)
            by_group.setdefault(group, [0, 0])
            by_group[group][0] += bool(hits)
            by_group[group][1] += 1
            if hits:
                matched.add(hits[0])
                eyes_found += result.faces[hits[0]].eyes_found
        false_pos += len(result.faces) - len(matched)
        for name, out in outputs.items():
            rows[name]["mse"].append(_outside_mse(out, scene.image, scene.band))
            rows[name]["crops"] += [to_tensor(tryon.crop(out, face.eyes)[0]) for face in scene.faces]
    report: dict = {
        "command": "python benchmarks/tryon_groundtruth.py " + " ".join(argv),
        "machine": f"{platform.machine()} {platform.processor() or ''} 2-core shared VM, no GPU, torch {torch.__version__}".strip(),
        "checkpoint": str(args["checkpoint"]),
        "checkpoint_recipe": {"model": str(translator.config.model.get("name")), "data_size": translator.size,
                              "max_steps": (translator.config.get("trainer") or {}).get("max_steps")},
        "pictures": n_scenes,
        "picture_size": [1024, 768],
        "faces": truth_faces,
        "detection": {
            "rate": detected / max(1, truth_faces),
            "eyes_found_rate": eyes_found / max(1, detected),
            "false_positives": false_pos,
            "rate_by_tone_group": {g: {"detected": d, "faces": n, "rate": d / n} for g, (d, n) in sorted(by_group.items())},
        },
    }
    own = world_metrics(add=lambda x: translator.translate(x, direction="a2b"), n=200, size=translator.size, oracle=oracle)
    report["model_own_add_success_64px"] = own["overall"]["add_success"]
    report["model_own_add_identity_psnr_64px"] = own["overall"]["add_identity_psnr"]
    mask = torch.tensor(detected_mask)
    for name, row in rows.items():
        success = oracle(torch.stack(row["crops"])).glasses.double()
        report[name] = {
            "psnr_outside_eye_band_db": psnr_from_mse(float(np.mean(row["mse"]))),
            "psnr_outside_eye_band_worst_picture_db": psnr_from_mse(float(np.max(row["mse"]))),
            "oracle_add_success_all_faces": float(success.mean()),
            "oracle_add_success_detected_faces": float(success[mask].mean()) if mask.any() else math.nan,
        }
    report["tryon"]["seconds_per_picture"] = tryon_seconds / n_scenes
    report["wall_s"] = round(time.perf_counter() - start, 1)
    out = Path(args.get("out", "benchmarks/results/tryon_groundtruth.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
