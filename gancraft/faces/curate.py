"""Curate a folder of photos into aligned face crops, with the paper's hand rules made automatic.

A photo is kept when it shows exactly one face, both eyes visible, the face at least
``min_face`` of the photo's shorter side, and no sunglasses. Kept photos are written as
aligned crops (the glasses world's eye geometry at ``size`` px); every photo gets a row in
``curation.csv`` with the rules it broke.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from gancraft.core.errors import DataError
from gancraft.core.values import PositiveInt
from gancraft.data.image_io import list_images, load_image
from gancraft.faces.align import CropGeometry, aligned_crop, world_eyes
from gancraft.faces.detect import Face, FaceDetector, import_cv2

log = logging.getLogger(__name__)

RULES = ("no_face", "several_faces", "face_too_small", "eyes_not_visible", "sunglasses")
#: eye patches darker than this fraction of the cheeks' brightness read as sunglasses (on world faces:
#: bare or clear-glasses eyes 0.76-1.23, sunglasses 0.22-0.81, benchmarks/curation_rules.py)
SUNGLASSES_RATIO = 0.7


def geometry(size: int) -> CropGeometry:
    """The crop geometry of curated crops: the glasses world's eyes, scaled to ``size``."""
    return CropGeometry(size, (size, size), world_eyes(size), size)


def eye_darkness(gray: np.ndarray, face: Face) -> float:
    """Mean brightness of the two eye patches over that of the cheeks below them (about 1 for bare eyes)."""
    d = face.eye_distance
    h, w = gray.shape

    def patch(x: float, y: float, r: float) -> float:
        x0, x1 = int(max(0, x - r)), int(min(w, x + r + 1))
        y0, y1 = int(max(0, y - r)), int(min(h, y + r + 1))
        cell = gray[y0:y1, x0:x1]
        return float(cell.mean()) if cell.size else 0.0

    down = np.array([-(face.eyes[1] - face.eyes[0])[1], (face.eyes[1] - face.eyes[0])[0]]) / max(d, 1e-6)
    eyes = np.mean([patch(*e, 0.18 * d) for e in face.eyes])
    cheeks = np.mean([patch(*(e + 0.55 * d * down), 0.15 * d) for e in face.eyes])
    return eyes / max(cheeks, 1.0)


def judge(rgb: np.ndarray, faces: list[Face], min_face: float = 0.15) -> list[str]:
    """The rules a photo breaks (empty: keep it), in :data:`RULES` order."""
    if not faces:
        return ["no_face"]
    broken = ["several_faces"] if len(faces) > 1 else []
    face = faces[0]
    if face.size < min_face * min(rgb.shape[:2]):
        broken.append("face_too_small")
    if not face.eyes_found:
        broken.append("eyes_not_visible")
    cv2 = import_cv2()
    if eye_darkness(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY), face) < SUNGLASSES_RATIO:
        broken.append("sunglasses")
    return broken


@dataclass
class CurationResult:
    kept: int
    rejected: Counter  # rule -> photos that broke it
    photos: int
    unreadable: int


def curate(inputs: str | Path, output: str | Path, size: int = 256, min_face: float = 0.15, detector: FaceDetector | None = None) -> CurationResult:
    """Curate every photo of ``inputs`` into ``output`` (crops as ``<stem>.png`` plus ``curation.csv``)."""
    files = list_images(inputs)
    output = Path(output).expanduser()
    output.mkdir(parents=True, exist_ok=True)
    detector = detector or FaceDetector(min_face=min(0.08, min_face / 2))
    geo = geometry(size)
    rejected: Counter = Counter()
    kept = unreadable = 0
    with open(output / "curation.csv", "w", newline="") as handle:
        table = csv.writer(handle)
        table.writerow(["file", "kept", "reasons", "faces", "face_fraction"])
        for path in files:
            try:
                rgb = np.asarray(load_image(path))
            except DataError as err:
                unreadable += 1
                table.writerow([path.name, 0, f"unreadable: {err}", 0, ""])
                continue
            faces = detector(rgb)
            broken = judge(rgb, faces, min_face)
            fraction = f"{faces[0].size / min(rgb.shape[:2]):.3f}" if faces else ""
            table.writerow([path.name, int(not broken), ";".join(broken), len(faces), fraction])
            rejected.update(broken)
            if broken:
                continue
            Image.fromarray(aligned_crop(rgb, faces[0].eyes, geo)[0]).save(output / f"{path.stem}.png")
            kept += 1
    return CurationResult(kept, rejected, len(files), unreadable)


def curate_command(input: Path, output: Path, size: PositiveInt = 256, min_face: float = 0.15) -> int:
    """``gancraft data curate input=DIR output=DIR [size=256] [min_face=0.15]``."""
    result = curate(input, output, size, min_face)
    why = ", ".join(f"{result.rejected[r]} {r}" for r in RULES if result.rejected[r]) or "none"
    (lx, ly), (rx, ry) = (np.asarray(geometry(size).eyes) / size).round(4).tolist()
    print(f"{result.photos} photo(s): kept {result.kept}, rules broken: {why}, {result.unreadable} unreadable; "
          f"crops and curation.csv in {output}")
    print(f"crops put the eyes at eyes={lx},{ly},{rx},{ry} (pass it to gancraft tryon for a model trained on them)")
    return 0
