"""The face layer: a seed's random face parameters and the face drawn without glasses.

A face lives in its own *face frame* ``(u, v)``: head centred at the origin, eyes
near ``v = 0``, units of about half the image. A small rotation, scale and shift
(the pose) maps it onto the canvas, so every feature, and the glasses later, are
drawn in face coordinates and follow the pose for free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gancraft.world import sdf
from gancraft.world.sdf import F32, fill, lerp, rgb, soft
from gancraft.world.styles import (
    BACKGROUNDS,
    CLOTHES,
    EXPRESSIONS,
    FACE_SHAPES,
    HAIR_COLOURS,
    HAIR_STYLES,
    IRIS_COLOURS,
    MONK_BINS,
    MONK_SCALE,
    tone_group,
)

# half-width, half-height, superellipse power, jaw taper of each face shape
_SHAPES = {
    "oval": (0.47, 0.66, 2.0, 0.16),
    "round": (0.52, 0.62, 2.0, 0.06),
    "square": (0.50, 0.64, 2.9, 0.08),
    "heart": (0.50, 0.65, 2.2, 0.30),
    "long": (0.44, 0.71, 2.3, 0.12),
}
_EXPRESSION = {  # smile curvature, mouth opening
    "neutral": (0.004, 0.0),
    "smile": (0.024, 0.0),
    "grin": (0.030, 0.016),
    "frown": (-0.014, 0.0),
}


@dataclass
class FaceParams:
    """Every random choice of one face, drawn from its seed."""

    seed: int
    monk: str
    skin: np.ndarray
    face_shape: str
    head: tuple[float, float, float, float]
    hair_style: str
    hair_colour: str
    expression: str
    iris_colour: str
    angle: float
    scale: float
    shift: tuple[float, float]
    yaw: float
    eye_dx: float
    eye_y: float
    eye_w: float
    eye_h: float
    extra: dict = field(default_factory=dict)

    @property
    def tone_group(self) -> str:
        return tone_group(self.monk)

    def to_canvas(self, u: float, v: float) -> tuple[float, float]:
        """Face-frame point -> canvas coordinates in [-1, 1]."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        return (
            self.shift[0] + self.scale * (c * u - s * v),
            self.shift[1] + self.scale * (s * u + c * v),
        )

    def eye_centres(self) -> list[tuple[float, float]]:
        """The two eye centres in the face frame, image-left first."""
        return [(side * self.eye_dx + self.yaw, self.eye_y) for side in (-1.0, 1.0)]


def sample_face(seed: int) -> FaceParams:
    """Draw the face parameters of ``seed`` (deterministic)."""
    rng = np.random.default_rng([int(seed), 0])
    monk = MONK_BINS[int(rng.integers(len(MONK_BINS)))]
    skin = np.asarray(MONK_SCALE[monk], F32) / 255.0
    skin = np.clip(skin * rng.uniform(0.96, 1.03, 3).astype(F32), 0, 1)
    shape = FACE_SHAPES[int(rng.integers(len(FACE_SHAPES)))]
    a, b, p, taper = _SHAPES[shape]
    j = rng.uniform(0.96, 1.04, 2)
    hair_style = HAIR_STYLES[int(rng.integers(len(HAIR_STYLES)))]
    # darker skins more often have darker hair; any combination stays possible
    names = list(HAIR_COLOURS)
    weights = np.ones(len(names))
    if MONK_BINS.index(monk) >= 5:
        weights[names.index("black")] += 3.0
        weights[names.index("dark_brown")] += 1.5
    hair_colour = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    iris = list(IRIS_COLOURS)[int(rng.integers(len(IRIS_COLOURS)))]
    light = rng.normal(size=3)
    light[2] = abs(light[2]) + 1.6
    light /= np.linalg.norm(light)
    params = FaceParams(
        seed=int(seed),
        monk=monk,
        skin=skin,
        face_shape=shape,
        head=(a * j[0], b * j[1], p, taper),
        hair_style=hair_style,
        hair_colour=hair_colour,
        expression=EXPRESSIONS[int(rng.integers(len(EXPRESSIONS)))],
        iris_colour=iris,
        angle=float(rng.uniform(-0.12, 0.12)),
        scale=float(rng.uniform(1.02, 1.2)),
        shift=(float(rng.uniform(-0.05, 0.05)), float(rng.uniform(-0.02, 0.08))),
        yaw=float(rng.uniform(-0.03, 0.03)),
        eye_dx=float(rng.uniform(0.185, 0.215)),
        eye_y=float(rng.uniform(-0.03, 0.01)),
        eye_w=float(rng.uniform(0.058, 0.07)),
        eye_h=float(rng.uniform(0.024, 0.032)),
    )
    params.extra = {
        "light": light.astype(F32),
        "ambient": float(rng.uniform(0.5, 0.65)),
        "bg": (rgb(BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]) * rng.uniform(0.85, 1.1, 3)).clip(0, 1),
        "bg2": (rgb(BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]) * rng.uniform(0.85, 1.1, 3)).clip(0, 1),
        "bg_dir": float(rng.uniform(0, 2 * math.pi)),
        "clothes": (rgb(CLOTHES[int(rng.integers(len(CLOTHES)))]) * rng.uniform(0.85, 1.1, 3)).clip(0, 1),
        "hair_volume": float(rng.uniform(0.03, 0.07)),
        "hairline": float(rng.uniform(-0.42, -0.33)),
        "brow_gap": float(rng.uniform(0.085, 0.105)),
        "brow_arch": float(rng.uniform(0.008, 0.022)),
        "brow_thick": float(rng.uniform(0.014, 0.024)),
        "tilt": float(rng.uniform(-0.12, 0.12)),
        "gaze": (float(rng.uniform(-0.012, 0.012)), float(rng.uniform(-0.004, 0.004))),
        "nose_len": float(rng.uniform(0.19, 0.24)),
        "nose_w": float(rng.uniform(0.028, 0.04)),
        "mouth_v": float(rng.uniform(0.35, 0.40)),
        "mouth_w": float(rng.uniform(0.085, 0.12)),
        "lip_top": float(rng.uniform(0.012, 0.02)),
        "lip_bottom": float(rng.uniform(0.016, 0.026)),
        "blush": float(rng.uniform(0.0, 0.06)),
        "ear": float(rng.uniform(0.9, 1.1)),
        "noise_seed": int(rng.integers(2**31)),
    }
    return params


@dataclass
class FaceLayer:
    """A face drawn without glasses, plus what the glasses and metrics need."""

    params: FaceParams
    size: int
    rgb: np.ndarray  # float32 HxWx3 in [0, 1], before camera noise
    u: np.ndarray  # face-frame coordinates of each pixel
    v: np.ndarray
    aa: float  # one pixel in face units
    skin: np.ndarray  # bool HxW: visible facial skin (no hair, eyes, brows, mouth)
    finish_gain: np.ndarray  # HxW vignette applied after compositing
    finish_noise: np.ndarray  # HxWx3 camera noise added after compositing


def face_frame(params: FaceParams, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Face-frame coordinates ``(u, v)`` of every pixel."""
    x, y = sdf.grid(size)
    dx, dy = x - params.shift[0], y - params.shift[1]
    c, s = math.cos(params.angle), math.sin(params.angle)
    return ((c * dx + s * dy) / params.scale).astype(F32), ((-s * dx + c * dy) / params.scale).astype(F32)


def draw_face(params: FaceParams, size: int) -> FaceLayer:
    """Draw the face of ``params`` at ``size`` pixels (no glasses)."""
    p, ex = params, params.extra
    rng = np.random.default_rng([p.seed, 99, size])  # camera noise depends on the pixel grid
    tex = np.random.default_rng(ex["noise_seed"])  # texture lattices do not depend on the size
    x, y = sdf.grid(size)
    u, v = face_frame(p, size)
    aa = 2.0 / size / p.scale
    a, b, power, taper = p.head
    light = ex["light"]

    # background: a two-colour gradient with soft low-frequency blotches
    d = math.cos(ex["bg_dir"]) * x + math.sin(ex["bg_dir"]) * y
    t = np.clip(0.5 + 0.5 * d, 0, 1).astype(F32)
    img = lerp(np.broadcast_to(ex["bg"], (size, size, 3)).astype(F32), np.broadcast_to(ex["bg2"], (size, size, 3)), t)
    img = img * (1.0 + 0.07 * sdf.grid_noise(tex, size, 4, octaves=2))[..., None]

    # head geometry (jaw tapers below the eyes)
    ut = u / (1.0 - taper * np.clip(v / b, 0, 1) ** 2)
    d_head = sdf.superellipse(ut, v, a, b, power)

    # long hair falls behind the head and onto the shoulders
    vol = ex["hair_volume"]
    hair_col = rgb(HAIR_COLOURS[p.hair_colour])
    strands = sdf.grid_noise(tex, size, 14, 2, octaves=2)
    hair_tex = hair_col * (1.0 + 0.25 * strands)[..., None] + 0.04 * strands[..., None]
    if p.hair_style == "long":
        d_back = sdf.ellipse(u, v - 0.2, a + vol + 0.06, b + 0.3)
        d_back = np.maximum(d_back, v - 0.95)
        img = lerp(img, hair_tex * 0.8, fill(d_back + 0.015 * sdf.grid_noise(tex, size, 10), aa))

    # neck and shoulders
    neck_w = 0.16 * a / 0.48
    d_neck = sdf.rounded_box(u, v - (b + 0.05), neck_w, 0.45, 0.05)
    neck_shade = 0.62 + 0.2 * np.clip((v - b * 0.85) / 0.25, 0, 1)
    img = lerp(img, p.skin * neck_shade[..., None], fill(d_neck, aa))
    d_torso = sdf.ellipse(u, v - (b + 0.8), 0.98, 0.55)
    torso_shade = 0.8 + 0.2 * np.clip(1.0 - np.abs(u) / 0.98, 0, 1)
    neckline = soft(sdf.ellipse(u, v - (b + 0.23), neck_w * 1.1, 0.12), 2 * aa)
    cloth = ex["clothes"] * torso_shade[..., None] * (1.0 + 0.05 * sdf.grid_noise(tex, size, 24))[..., None]
    img = lerp(img, cloth, fill(d_torso, aa) * (1.0 - neckline))

    # ears at the sides of the head, a little below eye level
    ear_y = p.eye_y + 0.06
    for side in (-1.0, 1.0):
        cx = side * (a + 0.015)
        d_ear = sdf.ellipse(u - cx, v - ear_y, 0.055 * ex["ear"], 0.1 * ex["ear"])
        inner = soft(sdf.ellipse(u - cx * 1.01, v - ear_y, 0.025, 0.06), 3 * aa)
        ear_col = p.skin * (0.78 - 0.18 * inner)[..., None]
        img = lerp(img, ear_col, fill(d_ear, aa))

    # the head: Lambert shading on the normal of an ellipsoid
    nx, ny = np.clip(ut / a, -1, 1), np.clip(v / b, -1, 1)
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    lambert = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)
    shade = ex["ambient"] + (1.0 - ex["ambient"]) * lambert
    pores = 0.035 * sdf.grid_noise(tex, size, 6, octaves=2) + 0.02 * sdf.grid_noise(tex, size, min(80, size // 2))
    skin = p.skin * (shade * (1.0 + pores))[..., None]
    head_cov = fill(d_head, aa)
    skin_weight = head_cov.copy()

    lx, ly = float(light[0]), float(light[1])
    # the features only cover the middle of the face: draw them in that window
    box = _feature_box(u, v)
    sub_skin, sub_weight = _draw_features(
        p, u[box], v[box], skin[box], skin_weight[box], shade[box], aa, tex, hair_col, light
    )
    skin[box], skin_weight[box] = sub_skin, sub_weight

    img = lerp(img, skin, head_cov)

    # hair on top of the head (and down the sides for long hair)
    style = p.hair_style
    if style != "bald":
        edge_noise = sdf.grid_noise(tex, size, 12)
        grow = vol + (0.1 if style == "curly" else 0.0)
        d_out = d_head - grow + (0.035 if style == "curly" else 0.012) * edge_noise
        hl0 = ex["hairline"] + (0.13 if style == "bangs" else 0.0)
        k = -hl0 / (a * a)  # the hairline reaches eye level at the temples
        hairline = hl0 + k * u * u
        if style == "bangs":
            hairline = hairline + 0.012 * np.sin(u * 45.0 + ex["noise_seed"] % 7)
        if style == "long":
            hairline = hairline + 0.9 * soft(0.78 * a - np.abs(u), 0.12)
        if style == "curly":
            hairline = hairline + 0.03 * edge_noise
        d_hair = np.maximum(d_out, v - hairline)
        if style == "bun":
            d_hair = np.minimum(d_hair, sdf.ellipse(u, v + b + 0.06, 0.15, 0.12))
        hair_cov = fill(d_hair, aa * 1.5)
        hn = np.clip(u / (a + grow), -1, 1), np.clip((v + 0.05) / (b + grow), -1, 1)
        hz = np.sqrt(np.clip(1.0 - hn[0] ** 2 - hn[1] ** 2, 0, 1))
        hair_shade = 0.55 + 0.45 * np.clip(hn[0] * lx + hn[1] * ly + hz * light[2], 0, 1)
        sheen = 0.12 * soft(np.abs(v + b * 0.55 + 0.05 * u) - 0.03, 0.06) * (0.5 + 0.5 * strands)
        hair_img = hair_tex * hair_shade[..., None] + sheen[..., None] * (hair_col * 0.5 + 0.25)
        img = lerp(img, hair_img, hair_cov)
        skin_weight = skin_weight * (1.0 - fill(d_hair - 2 * aa, aa))

    # finishing, applied after the glasses: vignette and camera noise
    gain = (1.0 - 0.12 * (x * x + y * y)).astype(F32)
    noise = rng.normal(0.0, 0.012, (size, size, 3)).astype(F32)
    skin_mask = (skin_weight > 0.98) & (d_head < -3 * aa)
    return FaceLayer(p, size, np.clip(img, 0, 1).astype(F32), u, v, aa, skin_mask, gain, noise)


def _feature_box(u: np.ndarray, v: np.ndarray) -> tuple[slice, slice]:
    """The pixel window holding every facial feature (eyes, brows, nose, mouth, cheeks)."""
    inside = (np.abs(u) < 0.45) & (v > -0.25) & (v < 0.52)
    rows, cols = np.flatnonzero(inside.any(1)), np.flatnonzero(inside.any(0))
    if rows.size == 0:
        return slice(0, 0), slice(0, 0)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _draw_features(
    p: FaceParams,
    u: np.ndarray,
    v: np.ndarray,
    skin: np.ndarray,
    skin_weight: np.ndarray,
    shade: np.ndarray,
    aa: float,
    tex: np.random.Generator,
    hair_col: np.ndarray,
    light: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Eyes, brows, nose, mouth and cheeks drawn onto ``skin``; returns it and the updated skin weight."""
    ex = p.extra

    fx = p.yaw  # features follow the yaw
    # cheeks
    for side in (-1.0, 1.0):
        blush = soft(sdf.ellipse(u - (side * 0.24 + fx), v - (p.eye_y + 0.2), 0.09, 0.06), 0.08)
        skin = lerp(skin, skin * rgb((1.05, 0.88, 0.86)), ex["blush"] * 8 * blush)

    # eyes: sockets, almond sclera, iris, pupil, highlight, lashes
    lx, ly = float(light[0]), float(light[1])
    for side in (-1.0, 1.0):
        cx, cy = side * p.eye_dx + fx, p.eye_y
        ux, uy = u - cx, v - cy
        uy = uy - side * ex["tilt"] * ux
        socket = soft(sdf.ellipse(ux, uy + 0.01, p.eye_w * 1.6, p.eye_h * 2.8), 0.05)
        skin = skin * (1.0 - 0.12 * socket)[..., None]
        lid = np.clip(1.0 - (ux / p.eye_w) ** 2, 0, 1)
        upper, lower = p.eye_h * lid, 0.8 * p.eye_h * lid
        d_eye = np.maximum(np.where(uy < 0, -uy - upper, uy - lower), np.abs(ux) - p.eye_w)
        eye_cov = fill(d_eye, aa)
        gx, gy = ex["gaze"]
        ir = p.eye_w * 0.45
        r = np.sqrt((ux - gx) ** 2 + (uy - gy) ** 2)
        iris_col = rgb(IRIS_COLOURS[p.iris_colour]) * (1.0 - 0.35 * np.clip(r / ir, 0, 1) ** 2)[..., None]
        eye = lerp(np.broadcast_to(rgb((0.93, 0.91, 0.88)) * 0.95, skin.shape), iris_col, fill(r - ir, aa))
        eye = lerp(eye, np.broadcast_to(rgb((0.03, 0.02, 0.02)), skin.shape), fill(r - ir * 0.45, aa))
        hl = np.sqrt((ux - gx + lx * ir * 0.4) ** 2 + (uy - gy + abs(ly) * ir * 0.4 + ir * 0.2) ** 2)
        eye = lerp(eye, np.broadcast_to(rgb((1.0, 1.0, 1.0)), skin.shape), 0.85 * fill(hl - ir * 0.25, aa))
        eye = eye * (1.0 - 0.25 * soft(uy + upper * 0.5, p.eye_h))[..., None]  # the upper lid's shadow
        skin = lerp(skin, eye, eye_cov)
        lash_t = max(0.006, 0.8 * aa)
        d_lash = np.maximum(np.abs(uy + upper) - lash_t, np.abs(ux) - p.eye_w * 1.08)
        lash = fill(d_lash, aa) * (uy < 0.004)
        skin = lerp(skin, np.broadcast_to(rgb((0.06, 0.04, 0.04)), skin.shape), 0.9 * lash)
        skin_weight = skin_weight * (1.0 - np.maximum(fill(d_eye - 2 * aa, aa), lash))

        # brows, thicker at the inner end
        bx, by = u - (cx + side * 0.008), v - (cy - ex["brow_gap"])
        bw = p.eye_w * 1.35
        xn = np.clip(bx / bw, -1, 1)
        centre = -ex["brow_arch"] * (1.0 - xn * xn) + 0.006 * (side * xn)
        thick = ex["brow_thick"] * (1.0 - 0.45 * (side * xn + 1.0) / 2.0)
        d_brow = np.maximum(np.abs(by - centre) - thick / 2, np.abs(bx) - bw)
        brow_col = hair_col * 0.55 + 0.04 if p.hair_colour not in ("grey", "white") else hair_col * 0.8
        brow_cov = 0.9 * fill(d_brow, aa * 1.5) * (0.85 + 0.15 * sdf.value_noise(tex, u * 0.2, v, 30.0))
        skin = lerp(skin, np.broadcast_to(brow_col, skin.shape), brow_cov)
        skin_weight = skin_weight * (1.0 - fill(d_brow - 2 * aa, aa))

    # nose: shadowed side of the bridge, tip highlight, nostrils
    nxc = 1.4 * fx
    tip = p.eye_y + ex["nose_len"]
    shadow_side = -1.0 if lx > 0 else 1.0
    d_bridge = sdf.segment(u, v, (nxc + shadow_side * 0.03, p.eye_y + 0.04), (nxc + shadow_side * 0.04, tip - 0.01))
    skin = skin * (1.0 - 0.13 * soft(d_bridge - 0.008, 0.03))[..., None]
    skin = skin * (1.0 - 0.18 * soft(sdf.ellipse(u - nxc, v - (tip + 0.028), ex["nose_w"] * 1.5, 0.018), 0.02))[..., None]
    skin = skin * (1.0 + 0.08 * soft(sdf.ellipse(u - nxc - lx * 0.01, v - (tip - 0.012), 0.022, 0.02), 0.03))[..., None]
    for side in (-1.0, 1.0):
        d_ala = sdf.ellipse(u - (nxc + side * ex["nose_w"] * 1.1), v - (tip + 0.004), 0.022, 0.02)
        skin = skin * (1.0 - 0.12 * soft(np.abs(d_ala) - 0.003, 0.012))[..., None]
        d_nostril = sdf.ellipse(u - (nxc + side * ex["nose_w"] * 0.75), v - (tip + 0.016), 0.015, 0.008)
        skin = skin * (1.0 - 0.5 * fill(d_nostril, aa * 1.5))[..., None]

    # mouth: lips around a curved centre line; a grin opens onto teeth
    smile, opening = _EXPRESSION[p.expression]
    mw = ex["mouth_w"]
    mx, my = u - 1.1 * fx, v - ex["mouth_v"]
    xn = np.clip(mx / mw, -1, 1)
    env = np.sqrt(np.clip(1.0 - (mx / mw) ** 2, 0, 1))
    line = -smile * xn * xn + smile * 0.3
    top = line - (opening + ex["lip_top"] * (1.0 + 0.25 * (1.0 - np.abs(xn)))) * env
    bottom = line + (opening + ex["lip_bottom"]) * env
    d_lips = np.maximum(np.maximum(top - my, my - bottom), np.abs(mx) - mw)
    lip_col = p.skin * rgb((0.80, 0.55, 0.57)) * shade[..., None] + rgb((0.06, 0.0, 0.015))
    lip_col = lip_col * np.where(my < line, 0.85, 1.0 + 0.1 * soft(np.abs(my - (line + bottom) / 2) - 0.003, 0.01))[..., None]
    lips = fill(d_lips, aa)
    skin = lerp(skin, lip_col, lips)
    if opening > 0:
        d_open = np.maximum(np.abs(my - line) - opening * env, np.abs(mx) - mw * 0.92)
        inner = np.where((my < line - opening * env * 0.1)[..., None], rgb((0.92, 0.9, 0.85)), rgb((0.25, 0.06, 0.07)))
        skin = lerp(skin, inner, fill(d_open, aa))
    else:
        d_line = np.maximum(np.abs(my - line) - max(0.004, 0.5 * aa), np.abs(mx) - mw * 1.02)
        skin = lerp(skin, skin * 0.45, fill(d_line, aa))
    skin_weight = skin_weight * (1.0 - fill(d_lips - 2 * aa, aa))

    return skin, skin_weight
