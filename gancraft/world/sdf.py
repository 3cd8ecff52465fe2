"""Vectorised drawing primitives: signed distances, soft fills and value noise.

Everything works on float32 numpy arrays of coordinates (one value per pixel), so
that a whole face is a few hundred array operations and no per-pixel Python loop.
Distances are in the face's normalised units (the canvas spans [-1, 1]); ``aa`` is
the anti-aliasing width, about one pixel in those units.

Fills use a clamped linear ramp instead of a sigmoid on purpose: the ramp reaches
exactly 0 a pixel outside a shape, so a layer composited on top changes no pixel
outside its mask (the pairing guarantee of the glasses world).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

F32 = np.float32


def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(x, y)`` in [-1, 1] (y grows downwards), each ``size x size``."""
    axis = ((np.arange(size, dtype=F32) + 0.5) / size * 2.0 - 1.0).astype(F32)
    return np.broadcast_to(axis[None, :], (size, size)), np.broadcast_to(axis[:, None], (size, size))


def fill(d: np.ndarray, aa: float) -> np.ndarray:
    """Coverage of a shape from its signed distance ``d`` (< 0 inside): 1 inside, 0 outside, a ramp ``aa`` wide."""
    return np.clip(0.5 - d / aa, 0.0, 1.0).astype(F32, copy=False)


def soft(d: np.ndarray, width: float) -> np.ndarray:
    """A smooth (smoothstep) coverage for shading, ``width`` wide around ``d == 0``."""
    t = np.clip(0.5 - d / width, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(F32, copy=False)


def ellipse(x: np.ndarray, y: np.ndarray, a: float, b: float) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse with half-axes ``a, b``."""
    return ((np.sqrt((x / a) ** 2 + (y / b) ** 2) - 1.0) * min(a, b)).astype(F32, copy=False)


def superellipse(x: np.ndarray, y: np.ndarray, a: float, b: float, p: float) -> np.ndarray:
    """Approximate signed distance to ``|x/a|^p + |y/b|^p = 1`` (p = 2 ellipse, large p a rounded box)."""
    r = (np.abs(x / a) ** p + np.abs(y / b) ** p) ** (1.0 / p)
    return ((r - 1.0) * min(a, b)).astype(F32, copy=False)


def rounded_box(x: np.ndarray, y: np.ndarray, hx: float, hy: float, radius: float) -> np.ndarray:
    """Exact signed distance to a box of half-sizes ``hx, hy`` with corners rounded by ``radius``."""
    qx = np.abs(x) - (hx - radius)
    qy = np.abs(y) - (hy - radius)
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2)
    inside = np.minimum(np.maximum(qx, qy), 0.0)
    return (outside + inside - radius).astype(F32, copy=False)


def segment(x: np.ndarray, y: np.ndarray, p0: tuple[float, float], p1: tuple[float, float]) -> np.ndarray:
    """Distance to the line segment ``p0 -> p1`` (unsigned)."""
    ax, ay = x - p0[0], y - p0[1]
    bx, by = p1[0] - p0[0], p1[1] - p0[1]
    t = np.clip((ax * bx + ay * by) / (bx * bx + by * by), 0.0, 1.0)
    return np.sqrt((ax - t * bx) ** 2 + (ay - t * by) ** 2).astype(F32, copy=False)


def value_noise(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, freq: float, octaves: int = 1) -> np.ndarray:
    """Smooth value noise in about [-1, 1] sampled at ``(x, y)`` in [-1.5, 1.5].

    The lattice is drawn from ``rng`` in face units, not pixels, so a seed gives
    the same texture at every image size.
    """
    out = np.zeros(x.shape, F32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        n = int(np.ceil(freq * 3.0)) + 2
        lattice = rng.uniform(-1.0, 1.0, (n + 1, n + 1)).astype(F32)
        gx = np.clip((x + 1.5) * freq, 0, n - 1e-3)
        gy = np.clip((y + 1.5) * freq, 0, n - 1e-3)
        ix, iy = gx.astype(np.int32), gy.astype(np.int32)
        fx, fy = gx - ix, gy - iy
        fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
        flat, i = lattice.ravel(), iy * (n + 1) + ix
        top = flat.take(i) * (1 - fx) + flat.take(i + 1) * fx
        bottom = flat.take(i + n + 1) * (1 - fx) + flat.take(i + n + 2) * fx
        out += amp * (top * (1 - fy) + bottom * fy)
        total += amp
        amp *= 0.5
        freq *= 2.0
    return out / total


@lru_cache(maxsize=64)
def _interp(size: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Lattice index and smoothstep weight of each of ``size`` pixels along an axis of ``cells`` cells."""
    t = (np.arange(size) + 0.5) / size * cells
    i = np.minimum(t.astype(np.int64), cells - 1)
    f = t - i
    return i, (f * f * (3 - 2 * f)).astype(F32)


def grid_noise(rng: np.random.Generator, size: int, cells_x: int, cells_y: int | None = None, octaves: int = 1) -> np.ndarray:
    """Smooth value noise in about [-1, 1] over the whole canvas.

    ``cells_x`` / ``cells_y`` lattice cells span the canvas (different counts make
    streaks, e.g. hair strands). The interpolation is separable (rows, then
    columns), a few array operations and no BLAS call (a threaded BLAS is slow on
    a busy machine). The lattice does not depend on ``size``: a seed has the same
    texture at every size.
    """
    cells_y = cells_x if cells_y is None else cells_y
    out = np.zeros((size, size), F32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        lattice = rng.uniform(-1.0, 1.0, (cells_y + 1, cells_x + 1)).astype(F32)
        iy, fy = _interp(size, cells_y)
        ix, fx = _interp(size, cells_x)
        rows = lattice[iy] * (1 - fy)[:, None] + lattice[iy + 1] * fy[:, None]
        out += amp * (rows[:, ix] * (1 - fx) + rows[:, ix + 1] * fx)
        total += amp
        amp *= 0.5
        cells_x, cells_y = cells_x * 2, cells_y * 2
    return out / total


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Blend images ``a -> b`` (HxWx3; ``b`` may be a colour) by a coverage ``t`` (HxW).

    Only the bounding box where ``t > 0`` is computed: most layers (an eye, a
    nostril) cover a small part of the image. Outside it the result is ``a`` exactly.
    """
    rows = np.flatnonzero(t.any(axis=1))
    if rows.size == 0:
        return a.copy()
    cols = np.flatnonzero(t.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    out = np.array(a, dtype=F32, copy=True)
    bb = b if np.ndim(b) <= 1 else np.broadcast_to(b, a.shape)[box]
    sub = out[box]
    sub += (bb - sub) * t[box][..., None]
    return out


def rgb(values: tuple[float, float, float] | np.ndarray) -> np.ndarray:
    """A colour as a broadcastable float32 ``(3,)`` array."""
    return np.asarray(values, dtype=F32)
