"""Glasses: per-style lens shapes, frames, bridge, arms, tinted lenses and reflections.

A pair of glasses is drawn as three alpha layers over a :class:`FaceLayer` (lens
tint, lens reflection, frame). Each alpha is exactly 0 outside the glasses, so the
face keeps every pixel outside the mask. The parameters of a style on a face come
from ``(seed, style)`` alone: the round glasses of seed 7 are the same whichever
other styles were rendered with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gancraft.world import sdf
from gancraft.world.face import FaceLayer, FaceParams
from gancraft.world.sdf import F32, fill, lerp, rgb, soft
from gancraft.world.styles import FRAME_COLOURS, LENS_TINTS, METAL_COLOURS, STYLES, SUN_TINTS

# lens radius as a fraction of the half eye distance; inner/outer half-width and top extent in radii
_BASE_RADIUS = {"round": 0.52, "rectangular": 0.50, "cat_eye": 0.50, "aviator": 0.53, "sunglasses": 0.55}
_HALF_WIDTH = {"round": 0.95, "rectangular": 1.2, "cat_eye": 1.12, "aviator": 1.05, "sunglasses": 1.22}
_MAX_SIZE = 1.08  # largest lens-size jitter
_MAX_DY = 0.01  # largest vertical offset of the glasses


@dataclass(frozen=True)
class GlassesParams:
    """Every random choice of one pair of glasses."""

    style: str
    weight: str  # "thin" or "thick" frame
    thickness: float
    frame_colour: str
    tint: str
    tint_alpha: float
    size: float
    dy: float
    reflection: tuple[float, float, float, float]  # angle, offset, width, strength


def sample_glasses(seed: int, style: str) -> GlassesParams:
    """The glasses of ``style`` for face ``seed`` (deterministic)."""
    rng = np.random.default_rng([int(seed), 1 + STYLES.index(style)])
    if style == "aviator":
        weight = "thin"
    elif style == "sunglasses":
        weight = "thick"
    else:
        weight = "thick" if rng.random() < 0.5 else "thin"
    thickness = float(rng.uniform(0.021, 0.03) if weight == "thick" else rng.uniform(0.009, 0.013))
    if style == "aviator":
        frame = METAL_COLOURS[int(rng.integers(len(METAL_COLOURS)))]
    elif style == "sunglasses":
        frame = ["black", "tortoise", "gold", "navy"][int(rng.integers(4))]
    else:
        frame = list(FRAME_COLOURS)[int(rng.integers(len(FRAME_COLOURS)))]
    if style == "sunglasses":
        tint = list(SUN_TINTS)[int(rng.integers(len(SUN_TINTS)))]
        alpha = float(rng.uniform(0.86, 0.93))
    else:
        tint = "clear" if rng.random() < 0.6 else list(LENS_TINTS)[1 + int(rng.integers(len(LENS_TINTS) - 1))]
        alpha = float(rng.uniform(0.06, 0.1) if tint == "clear" else rng.uniform(0.14, 0.24))
    reflection = (
        float(rng.uniform(0.5, 1.2)),
        float(rng.uniform(-0.4, 0.2)),
        float(rng.uniform(0.12, 0.25)),
        float(rng.uniform(0.10, 0.22)),
    )
    return GlassesParams(
        style=style,
        weight=weight,
        thickness=thickness,
        frame_colour=frame,
        tint=tint,
        tint_alpha=alpha,
        size=float(rng.uniform(0.95, _MAX_SIZE)),
        dy=float(rng.uniform(-_MAX_DY, _MAX_DY)),
        reflection=reflection,
    )


def lens_radius(face: FaceParams, g: GlassesParams) -> float:
    """The lens radius of ``g`` on ``face`` in face units."""
    return _BASE_RADIUS[g.style] * g.size * face.eye_dx


def lens_sdf(style: str, x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    """Signed distance to one lens outline; ``x`` grows towards the temple, ``y`` downwards."""
    if style == "round":
        return sdf.ellipse(x, y, r, 0.95 * r)
    if style == "rectangular":
        return sdf.rounded_box(x, y, 1.2 * r, 0.76 * r, 0.18 * r)
    if style == "cat_eye":
        # the outer upper corner sweeps up and the lens narrows below it
        yw = y + 0.35 * np.maximum(x, 0.0) * np.where(y < 0, 1.0, 0.45)
        return sdf.rounded_box(x, yw, 1.18 * r, 0.72 * r, 0.32 * r) * 0.9
    if style == "aviator":
        # a teardrop: flatter top, the lower half dropping towards the nose
        xw = x + 0.3 * np.maximum(y, 0.0)
        yb = y / np.where(y < 0, 0.82, 1.0)
        return ((np.sqrt((xw / 1.12) ** 2 + yb**2) / r - 1.0) * r * 0.85).astype(F32)
    if style == "sunglasses":
        xw = x * (1.0 + 0.12 * y / r)
        return sdf.rounded_box(xw, y, 1.22 * r, 0.85 * r, 0.25 * r)
    raise KeyError(style)


def band_limits(face: FaceParams, aa: float) -> tuple[float, float]:
    """Face-frame ``v`` range of the glasses band: every style's glasses lie inside it."""
    r = max(_BASE_RADIUS.values()) * _MAX_SIZE * face.eye_dx
    margin = _MAX_DY + 0.02 + 2 * aa
    return face.eye_y - 1.25 * r - margin, face.eye_y + 1.1 * r + margin


def draw_glasses(layer: FaceLayer, g: GlassesParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Composite ``g`` over ``layer``: returns the float image, the bool glasses mask and the bool
    frame mask (pixels at least half covered by the frame, whatever its colour)."""
    p, u, v, aa = layer.params, layer.u, layer.v, layer.aa
    r = lens_radius(p, g)
    t = max(g.thickness, 0.9 * aa)
    tex = np.random.default_rng([p.seed, 50 + STYLES.index(g.style)])
    lens_cov = np.zeros_like(u)
    ring = np.zeros_like(u)
    refl = np.zeros_like(u)
    lens_y = np.zeros_like(u)
    rim = np.zeros_like(u)
    ang, off, width, strength = g.reflection
    (lcx, cy), (rcx, _) = p.eye_centres()
    cy = cy + g.dy
    for side, cx in ((-1.0, lcx), (1.0, rcx)):
        x, y = (u - cx) * side, v - cy  # x grows outwards, towards the ear
        d = lens_sdf(g.style, x, y, r)
        cov = fill(d, aa)
        lens_cov = np.maximum(lens_cov, cov)
        ring = np.maximum(ring, fill(np.abs(d) - t / 2, aa))
        s = ((u - cx) * math.cos(ang) + y * math.sin(ang)) / r
        stripe = soft(np.abs(s - off) - width, 0.15) + 0.5 * soft(np.abs(s - off - width - 0.25) - 0.05, 0.08)
        refl = np.maximum(refl, strength * np.clip(stripe, 0, 1) * cov)
        lens_y = np.where(cov > 0, y / r, lens_y)
        rim = np.maximum(rim, (1.0 - soft(d + 0.2 * r, 0.2 * r)) * cov)

    # bridge (two for aviators) and the arms running back to the ears
    hw = _HALF_WIDTH[g.style] * r
    by = cy - 0.3 * r
    d_bar = sdf.segment(u, v, (lcx + hw * 0.97, by), (rcx - hw * 0.97, by))
    if g.style == "aviator":
        top = cy - 0.72 * r
        d_bar = np.minimum(d_bar, sdf.segment(u, v, (lcx + 0.55 * r, top), (rcx - 0.55 * r, top)))
    a = p.head[0]
    ear_y = p.eye_y + 0.03
    arm_t = t * (1.1 if g.weight == "thick" else 0.9)
    for side, cx in ((-1.0, lcx), (1.0, rcx)):
        d_arm = sdf.segment(u, v, (cx + side * hw * 0.97, cy - 0.35 * r), (side * a * 0.99, ear_y))
        d_bar = np.minimum(d_bar, d_arm + (t - arm_t) / 2)
    ring = np.maximum(ring, fill(d_bar - t / 2, aa))

    # lens tint: denser at the rim; sunglasses darker at the top
    if g.style == "sunglasses":
        tint_col = rgb(SUN_TINTS[g.tint])
        tint_alpha = (g.tint_alpha + 0.06 * np.clip(-lens_y, 0, 1) - 0.06 * np.clip(lens_y, 0, 1)) * lens_cov
    else:
        tint_col = rgb(LENS_TINTS[g.tint])
        tint_alpha = (g.tint_alpha + 0.08 * rim) * lens_cov
    img = lerp(layer.rgb, np.broadcast_to(tint_col, layer.rgb.shape), tint_alpha.astype(F32))
    img = lerp(img, np.broadcast_to(rgb((1.0, 1.0, 1.0)), img.shape), refl.astype(F32))

    # frame: lit from above, tortoiseshell mottled, crystal half transparent
    frame = rgb(FRAME_COLOURS[g.frame_colour])
    lit = (0.8 + 0.4 * np.clip(-(v - cy) / r, 0, 1))[..., None]
    frame_img = frame * lit
    if g.frame_colour == "tortoise":
        blobs = sdf.grid_noise(tex, u.shape[0], 28, octaves=2)
        frame_img = frame_img * (0.65 + 0.8 * np.clip(blobs + 0.5, 0, 1))[..., None]
    if g.frame_colour in ("gold", "silver"):
        frame_img = frame_img + 0.25 * soft(np.abs(v - cy + r) - 0.15 * r, 0.5 * r)[..., None]
    frame_alpha = ring * (0.6 if g.frame_colour == "crystal" else 1.0)
    img = lerp(img, np.clip(frame_img, 0, 1).astype(F32), frame_alpha.astype(F32))
    mask = (tint_alpha > 0) | (refl > 0) | (frame_alpha > 0)
    frame_mask = ring >= 0.5 if (ring >= 0.5).any() else ring > 0  # a sub-pixel frame has no half-covered pixel
    return img, mask, frame_mask
