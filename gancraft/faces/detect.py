"""Find faces and their two eyes in a photo with OpenCV's Haar cascades.

The cascades ship inside the ``opencv-python-headless`` 4.x wheel (``cv2.data.haarcascades``;
the 5.0 wheels dropped them), so nothing is downloaded at run time. A Haar face
cascade only finds upright faces, so the photo is also searched rotated by
``angles`` degrees and the hits are merged. The eye cascade then looks in the upper
half of each face box; where it does not find a plausible pair, the eyes are placed
by the face box's geometry (``Face.eyes_found`` says which).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from gancraft.core.errors import ConfigError

#: Eye centres as fractions of the face box of ``haarcascade_frontalface_alt2`` (x, y), image-left
#: first: measured on 16 glasses-world faces pasted into pictures, whose eyes are known (gancraft.faces.scenes).
BOX_EYES = ((0.313, 0.393), (0.684, 0.393))


def import_cv2() -> Any:
    """``cv2`` with its Haar cascades, or a one-line error naming the extra to install."""
    try:
        import cv2
    except ImportError:
        raise ConfigError("face detection needs OpenCV: pip install 'gancraft[tryon]' (opencv-python-headless>=4.8,<5)") from None
    folder = getattr(getattr(cv2, "data", None), "haarcascades", "")
    if not folder or not (Path(folder) / "haarcascade_frontalface_alt2.xml").is_file():
        raise ConfigError(f"OpenCV {cv2.__version__} carries no Haar cascades (5.x dropped them): pip install 'opencv-python-headless>=4.8,<5'")
    cv2.setNumThreads(1)  # the photos are small work; threads fight the torch ones
    return cv2


@lru_cache(maxsize=None)
def _cascade(name: str) -> Any:
    cv2 = import_cv2()
    return cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / f"haarcascade_{name}.xml"))


@dataclass
class Face:
    """One face: its box (centre, side, rotation in degrees) and its two eye centres in photo pixels."""

    centre: tuple[float, float]
    size: float
    angle: float
    eyes: np.ndarray  # 2 x 2, (x, y), image-left eye first
    eyes_found: bool
    score: int  # neighbouring detections of the face cascade

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.eyes[1] - self.eyes[0]))


def _rotation(angle: float, w: int, h: int) -> tuple[np.ndarray, int, int]:
    """A 2x3 matrix rotating a ``w x h`` picture by ``angle`` degrees onto a canvas that holds all of it."""
    cv2 = import_cv2()
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(math.ceil(h * s + w * c)), int(math.ceil(h * c + w * s))
    m[0, 2] += nw / 2.0 - w / 2.0
    m[1, 2] += nh / 2.0 - h / 2.0
    return m, nw, nh


def _apply(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ m[:, :2].T + m[:, 2]


def _eye_pair(gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """Two eye centres inside the upper part of ``box`` (in ``gray``'s pixels), or None."""
    x, y, w, h = box
    top = gray[y + int(0.15 * h) : y + int(0.6 * h), x : x + w]
    if top.size == 0:
        return None
    found = _cascade("eye").detectMultiScale(top, 1.1, 3, minSize=(max(6, w // 10),) * 2, maxSize=(w // 2,) * 2)
    best, best_cost = None, math.inf
    for i in range(len(found)):
        for j in range(len(found)):
            (x1, y1, w1, h1), (x2, y2, w2, h2) = found[i], found[j]
            c1 = np.array([x1 + w1 / 2, y1 + h1 / 2]) / w
            c2 = np.array([x2 + w2 / 2, y2 + h2 / 2]) / w
            if not (c1[0] < 0.5 < c2[0]):  # one eye on each side of the face's middle
                continue
            gap = c2[0] - c1[0]
            if not 0.25 < gap < 0.6 or abs(c1[1] - c2[1]) > 0.12:
                continue
            # closest to the usual eye spot of the box; similar sizes
            cost = abs(gap - 0.37) + abs(c1[1] - c2[1]) + abs(w1 - w2) / w + abs((c1[0] + c2[0]) / 2 - 0.5)
            if cost < best_cost:
                best, best_cost = np.array([c1, c2]) * w, cost
    if best is None:
        return None
    return best + np.array([x, y + int(0.15 * h)], dtype=np.float64)


def _box_eyes(box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    return np.array([[x + fx * w, y + fy * h] for fx, fy in BOX_EYES], dtype=np.float64)


class FaceDetector:
    """``FaceDetector()(rgb)`` -> the faces of a uint8 H x W x 3 RGB photo, largest first.

    ``max_side``: the photo is searched at most this large (faster on big photos);
    ``min_face``: the smallest face side looked for, as a fraction of the photo's shorter side;
    ``angles``: the rotations searched (degrees), for tilted heads;
    ``min_score_without_eyes``: a hit whose eyes the eye cascade cannot find is kept only with at
    least this many neighbouring detections (on world pictures every false hit had at most 5).
    """

    def __init__(self, max_side: int = 800, min_face: float = 0.08, angles: tuple[float, ...] = (0.0, -15.0, 15.0), min_neighbors: int = 3,
                 min_score_without_eyes: int = 8) -> None:
        self.max_side, self.min_face, self.angles, self.min_neighbors = max_side, min_face, angles, min_neighbors
        self.min_score_without_eyes = min_score_without_eyes

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        cv2 = import_cv2()
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        # local contrast (CLAHE) rather than a global equalisation: it finds more faces of dark skin tones
        gray = cv2.createCLAHE(4.0, (8, 8)).apply(cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2GRAY))
        sh, sw = gray.shape
        min_side = max(24, int(self.min_face * min(sh, sw)))
        faces: list[Face] = []
        for angle in self.angles:
            m, nw, nh = _rotation(angle, sw, sh)
            rotated = gray if angle == 0 else cv2.warpAffine(gray, m, (nw, nh), flags=cv2.INTER_LINEAR)
            boxes, counts = _cascade("frontalface_alt2").detectMultiScale2(rotated, 1.05, self.min_neighbors, minSize=(min_side, min_side))
            back = cv2.invertAffineTransform(m)
            for box, count in zip(boxes, counts):
                box = tuple(int(v) for v in box)
                eyes = _eye_pair(rotated, box)
                found = eyes is not None
                if not found and count < self.min_score_without_eyes:
                    continue
                eyes = _apply(back, eyes if found else _box_eyes(box)) / scale
                x, y, bw, bh = box
                centre = _apply(back, np.array([[x + bw / 2, y + bh / 2]]))[0] / scale
                faces.append(Face((float(centre[0]), float(centre[1])), bw / scale, -angle, eyes, found, int(count)))
        return _merge(faces)


def _merge(faces: list[Face]) -> list[Face]:
    """One face per head: among overlapping hits keep the one with eyes found, then the most neighbours."""
    faces = sorted(faces, key=lambda f: (f.eyes_found, f.score, f.size), reverse=True)
    kept: list[Face] = []
    for f in faces:
        if all(math.dist(f.centre, k.centre) > 0.5 * max(f.size, k.size) for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.size, reverse=True)
