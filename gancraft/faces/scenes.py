"""Photos with known answers: glasses-world faces pasted into larger textured pictures.

Each face is rendered at 512 px, scaled, rotated and pasted (inside a soft head-shaped
alpha) onto a procedural background, so its eye centres, its eye band and whether it
wears glasses are known in the picture's own pixels. The try-on ground-truth test and
the curation rules are measured on these (``benchmarks/tryon_groundtruth.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from gancraft.world import render_variants

RENDER = 512


@dataclass
class PastedFace:
    """One face in a scene: its seed, style, eyes (2 x 2 picture pixels) and the 2x3 map render -> picture."""

    seed: int
    style: str
    eyes: np.ndarray
    matrix: np.ndarray
    side: float  # the render's side in picture pixels


@dataclass
class Scene:
    """A picture (uint8 H x W x 3), its faces, and the union of their eye bands (bool H x W)."""

    image: np.ndarray
    faces: list[PastedFace] = field(default_factory=list)
    band: np.ndarray | None = None


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A textured background: smooth colour blotches, stripes and fine noise (float H x W x 3 in [0, 1])."""
    low = Image.fromarray((rng.random((6, 8, 3)) * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC)
    img = np.asarray(low, np.float32) / 255.0
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    theta, period = rng.uniform(0, math.pi), rng.uniform(12, 60)
    stripes = 0.5 + 0.5 * np.sin((x * math.cos(theta) + y * math.sin(theta)) * 2 * math.pi / period)
    img = img * (0.75 + 0.25 * stripes[..., None]) + rng.normal(0, 0.03, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def _head_alpha() -> np.ndarray:
    """A soft ellipse over the render's head and neck (float 512 x 512)."""
    y, x = np.mgrid[0:RENDER, 0:RENDER].astype(np.float32)
    d = np.sqrt(((x - RENDER / 2) / (0.44 * RENDER)) ** 2 + ((y - 0.52 * RENDER) / (0.47 * RENDER)) ** 2)
    return np.clip((1.0 - d) / 0.04, 0, 1)


def _warp(array: np.ndarray, matrix: np.ndarray, width: int, height: int, resample: int) -> np.ndarray:
    """``array`` (render pixels) drawn into a ``width x height`` picture through the 2x3 ``matrix``."""
    inv = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    # PIL maps output -> input with pixel *corners* at integers; our matrices use pixel centres
    a = inv[:, :2]
    b = inv[:, :2] @ np.array([-0.5, -0.5]) + inv[:, 2] + 0.5
    coeffs = (a[0, 0], a[0, 1], b[0], a[1, 0], a[1, 1], b[1])
    mode = "F" if array.dtype != np.uint8 else None
    img = Image.fromarray(array.astype(np.float32) if mode else array, mode)
    return np.asarray(img.transform((width, height), Image.AFFINE, coeffs, resample=resample, fillcolor=0))


def paste_matrix(centre: tuple[float, float], side: float, angle_deg: float) -> np.ndarray:
    """The 2x3 map from render pixels to picture pixels: scale to ``side``, rotate, centre at ``centre``."""
    s = side / RENDER
    c, sn = math.cos(math.radians(angle_deg)) * s, math.sin(math.radians(angle_deg)) * s
    half = (RENDER - 1) / 2.0
    return np.array([[c, -sn, centre[0] - c * half + sn * half], [sn, c, centre[1] - sn * half - c * half]])


def make_scene(seed: int, n_faces: int, width: int = 1024, height: int = 768, sides: tuple[float, float] | None = None,
               max_angle: float = 15.0, style: str | None = None) -> Scene:
    """A picture with ``n_faces`` faces (render side drawn from ``sides`` pixels), each rotated by up to ``max_angle`` degrees.

    ``style``: the glasses every face wears (None: none). Faces do not overlap.
    """
    rng = np.random.default_rng([seed, 13])
    canvas = background(rng, width, height)
    band = np.zeros((height, width), bool)
    alpha_src = _head_alpha()
    lo, hi = sides or ((0.55 * height, 1.0 * height) if n_faces == 1 else (0.4 * height, 0.6 * height))
    faces: list[PastedFace] = []
    for k in range(n_faces):
        side = float(rng.uniform(lo, hi))
        for _ in range(100):  # a centre that keeps the head inside and away from the others
            centre = (float(rng.uniform(0.42 * side, width - 0.42 * side)), float(rng.uniform(0.45 * side, height - 0.45 * side)))
            if all(math.dist(centre, _centre(f)) > 0.8 * (side + f.side) / 2 for f in faces):
                break
        angle = float(rng.uniform(-max_angle, max_angle))
        m = paste_matrix(centre, side, angle)
        face_seed = int(rng.integers(10_000_000, 20_000_000))
        renders = render_variants(face_seed, RENDER, [None] if style is None else [style])
        render = next(iter(renders.values()))
        rgb = _warp(render.image, m, width, height, Image.BICUBIC).astype(np.float32) / 255.0
        alpha = _warp(alpha_src, m, width, height, Image.BILINEAR)[..., None]
        canvas = canvas * (1 - alpha) + rgb * alpha
        band |= _warp(render.band.astype(np.float32), m, width, height, Image.BILINEAR) > 0
        eyes = np.asarray(render.meta["eyes"], np.float64) @ m[:, :2].T + m[:, 2]
        faces.append(PastedFace(face_seed, render.meta["style"], eyes, m, side))
    image = (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)
    return Scene(image, faces, band)


def _centre(face: PastedFace) -> tuple[float, float]:
    c = np.array([(RENDER - 1) / 2.0] * 2) @ face.matrix[:, :2].T + face.matrix[:, 2]
    return float(c[0]), float(c[1])
