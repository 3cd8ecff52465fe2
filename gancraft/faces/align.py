"""Align faces to the crop geometry a model was trained on, and warp results back.

A model sees faces in one fixed geometry: the glasses world's renders (eyes where the
renderer puts them, on average) or CelebA's aligned crops, each then resized and
cropped by the data set's transform. :func:`crop_geometry` reads that geometry from a
checkpoint's data config as the two eye centres in the model's input pixels plus the
anisotropic resize the transform applies; :func:`alignment` gives the 2x3 affine map
from a photo to the model's input that puts a face's detected eyes there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from gancraft.core.errors import ConfigError, DataError

#: CelebA's aligned frame (``img_align_celeba``: 178 x 218) and its mean eye centres, from
#: ``list_landmarks_align_celeba.txt`` (the alignment put every face's eyes there, within a pixel or two).
CELEBA_FRAME = (178, 218)
CELEBA_EYES = ((69.0, 111.0), (108.0, 111.0))


@dataclass(frozen=True)
class CropGeometry:
    """Where a model expects a face: ``eyes`` (2 x (x, y), image-left first) in a ``frame``
    (width, height) that the data transform resizes to ``load`` x ``load`` and centre-crops to ``size``."""

    size: int
    frame: tuple[int, int]
    eyes: tuple[tuple[float, float], tuple[float, float]]
    load: int

    def frame_to_input(self) -> np.ndarray:
        """2x3 affine from the source frame to the model's input pixels (the resize, then the crop)."""
        margin = (self.load - self.size) / 2.0
        sx, sy = self.load / self.frame[0], self.load / self.frame[1]
        # pixel centres: (x + 0.5) * s - 0.5, then the crop offset
        return np.array([[sx, 0.0, 0.5 * sx - 0.5 - margin], [0.0, sy, 0.5 * sy - 0.5 - margin]])

    def input_eyes(self) -> np.ndarray:
        """The eye centres in the model's input pixels (2 x 2)."""
        m = self.frame_to_input()
        return np.asarray(self.eyes) @ m[:, :2].T + m[:, 2]


@lru_cache(maxsize=None)
def world_eyes(size: int, faces: int = 500) -> tuple[tuple[float, float], tuple[float, float]]:
    """The mean eye centres (pixels) of glasses-world faces rendered at ``size``, from the renderer's own pose draws."""
    from gancraft.world.face import sample_face

    points = []
    for seed in range(faces):
        p = sample_face(seed)
        points.append([p.to_canvas(*e) for e in p.eye_centres()])
    mean = (np.asarray(points).mean(0) + 1.0) / 2.0 * size - 0.5  # canvas [-1, 1] -> pixel centres
    return (tuple(mean[0]), tuple(mean[1]))  # type: ignore[return-value]


def _int(data: Any, *keys: str) -> int | None:
    for key in keys:
        if data.get(key):
            return int(data[key])
    return None


def crop_geometry(config: Any, eyes: str | None = None) -> CropGeometry:
    """The crop geometry of a checkpoint's resolved config (``data`` section).

    ``eyes="LX,LY,RX,RY"`` (fractions of the model's input) sets it by hand, for models
    trained on folders whose alignment gancraft cannot know.
    """
    data = config.get("data", {}) or {}
    name = str(data.get("name", ""))
    size = _int(data, "crop_size", "size", "load_size") or _int(config.get("model", {}) or {}, "img_size")
    if size is None:
        raise ConfigError("cannot tell the image size this model was trained at; pass size=...")
    if eyes:
        try:
            lx, ly, rx, ry = (float(v) * size for v in str(eyes).split(","))
        except ValueError:
            raise ConfigError(f"eyes={eyes!r} is not four numbers LX,LY,RX,RY (fractions of the model's input, e.g. 0.35,0.45,0.65,0.45)") from None
        return CropGeometry(size, (size, size), ((lx, ly), (rx, ry)), size)
    if name == "glasses_world" or (name == "stargan_v2_domains" and not data.get("root")):
        rendered = _int(data, "size") or size
        load = _int(data, "load_size") or rendered
        return CropGeometry(_int(data, "crop_size") or load, (rendered, rendered), world_eyes(rendered), load)
    if name == "celeba":
        load = _int(data, "load_size") or size
        return CropGeometry(_int(data, "crop_size") or load, CELEBA_FRAME, CELEBA_EYES, load)
    raise ConfigError(f"the face geometry of data set {name or '?'!r} is unknown; pass eyes=LX,LY,RX,RY (eye centres as fractions of the model's input)")


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, shift) taking the two points ``src`` onto ``dst``."""
    s, d = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    vs, vd = s[1] - s[0], d[1] - d[0]
    # as complex numbers: d = z * s + t
    z = complex(vd[0], vd[1]) / complex(vs[0], vs[1])
    a, b = z.real, z.imag
    rot = np.array([[a, -b], [b, a]])
    t = d[0] - rot @ s[0]
    return np.hstack([rot, t[:, None]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer`` after ``inner``, both 2x3 affines."""
    return np.hstack([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])


def alignment(eyes: np.ndarray, geometry: CropGeometry) -> np.ndarray:
    """The 2x3 affine from photo pixels to the model's input pixels that puts ``eyes`` where the model wants them."""
    return compose(geometry.frame_to_input(), similarity(eyes, np.asarray(geometry.eyes)))


def invert(m: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine."""
    inv = np.linalg.inv(m[:, :2])
    return np.hstack([inv, (-inv @ m[:, 2])[:, None]])


def roi(m_inv: np.ndarray, size: int, shape: tuple[int, int], pad: int) -> tuple[int, int, int, int]:
    """The photo box (x0, y0, x1, y1) covering the model crop mapped back by ``m_inv``, clipped."""
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]])
    pts = corners @ m_inv[:, :2].T + m_inv[:, 2]
    h, w = shape
    x0, y0 = (np.floor(pts.min(0)) - pad).astype(int)
    x1, y1 = (np.ceil(pts.max(0)) + pad + 1).astype(int)
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def shift_origin(m: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``m`` applied to points given relative to (dx, dy): m(p + d)."""
    out = m.copy()
    out[:, 2] += m[:, :2] @ np.array([dx, dy])
    return out


def aligned_crop(rgb: np.ndarray, eyes: np.ndarray, geometry: CropGeometry) -> tuple[np.ndarray, np.ndarray]:
    """The face with ``eyes`` cut out of ``rgb`` (uint8) in ``geometry``, and the photo -> crop affine.

    Big faces are first shrunk with area filtering, so that the warp does not alias.
    """
    from gancraft.faces.detect import import_cv2

    cv2 = import_cv2()
    size = geometry.size
    m = alignment(eyes, geometry)
    x0, y0, x1, y1 = roi(invert(m), size, rgb.shape[:2], pad=2)
    if x1 <= x0 or y1 <= y0:
        raise DataError("face lies outside the photo")
    part = rgb[y0:y1, x0:x1]
    m_part = shift_origin(m, x0, y0)
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if scale < 0.5:
        f = 2.0 * scale
        small = cv2.resize(part, (max(1, round(part.shape[1] * f)), max(1, round(part.shape[0] * f))), interpolation=cv2.INTER_AREA)
        fx, fy = small.shape[1] / part.shape[1], small.shape[0] / part.shape[0]
        m_part = compose(m_part, invert(np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5]])))
        part = small
    crop = cv2.warpAffine(np.ascontiguousarray(part), m_part, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return crop, m
