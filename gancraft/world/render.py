"""Render glasses-world faces: ``render_face(seed, size, style)``, all styles at once, or one
face with any glasses (``render_face(seed, glasses=params)``, :func:`render_with_glasses`).

The face layer is drawn once per ``(seed, size)``; each glasses style is composited
over it, then the same vignette and camera noise are applied to every variant. So
a face with and without glasses differs only inside the glasses mask.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gancraft.core.errors import ConfigError
from gancraft.world.face import FaceLayer, draw_face, sample_face
from gancraft.world.glasses import GlassesParams, band_limits, draw_glasses, lens_radius, sample_glasses
from gancraft.world.styles import NO_GLASSES, STYLES

MIN_SIZE, MAX_SIZE = 32, 512


@dataclass
class Render:
    """One rendered face.

    ``image`` is uint8 HxWx3 RGB; ``mask`` (bool HxW) marks the glasses pixels, all
    False without glasses; ``band`` marks the glasses band (a stripe across the
    eyes, the same for every style of this face, holding every style's glasses);
    ``skin`` marks visible facial skin; ``meta`` is JSON-friendly metadata; ``frame``
    (bool HxW) marks the pixels the frame covers at least half, all False without glasses.
    """

    image: np.ndarray
    mask: np.ndarray
    band: np.ndarray
    skin: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    frame: np.ndarray | None = None


def check_size(size: int) -> int:
    """Validate an image size (32..512 px)."""
    size = int(size)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ConfigError(f"glasses-world size {size} is out of range; use {MIN_SIZE}..{MAX_SIZE} pixels")
    return size


def check_style(style: str | None) -> str | None:
    """``None`` or ``'no_glasses'`` mean no glasses; anything else must be a known style."""
    if style in (None, NO_GLASSES):
        return None
    if style not in STYLES:
        raise ConfigError(f"unknown glasses style {style!r}; known: {', '.join(STYLES)} (or no_glasses)")
    return style


def _to_pixels(size: int, point: tuple[float, float]) -> list[float]:
    return [round((point[0] + 1.0) / 2.0 * size - 0.5, 3), round((point[1] + 1.0) / 2.0 * size - 0.5, 3)]


def _finish(layer: FaceLayer, image: np.ndarray) -> np.ndarray:
    out = image * layer.finish_gain[..., None] + layer.finish_noise
    return (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _band(layer: FaceLayer) -> np.ndarray:
    top, bottom = band_limits(layer.params, layer.aa)
    return (layer.v >= top) & (layer.v <= bottom)


def _meta(layer: FaceLayer, g: GlassesParams | None) -> dict[str, Any]:
    p = layer.params
    meta: dict[str, Any] = {
        "seed": p.seed,
        "size": layer.size,
        "style": g.style if g is not None else NO_GLASSES,
        "monk": p.monk,
        "tone_group": p.tone_group,
        "skin_rgb": [int(round(c * 255)) for c in p.skin],
        "face_shape": p.face_shape,
        "hair_style": p.hair_style,
        "hair_colour": p.hair_colour,
        "expression": p.expression,
        "eyes": [_to_pixels(layer.size, p.to_canvas(*e)) for e in p.eye_centres()],
        "pose": {"angle_deg": round(float(np.degrees(p.angle)), 3), "scale": round(p.scale, 4)},
    }
    if g is not None:
        meta["glasses"] = {
            "weight": g.weight,
            "frame_colour": g.frame_colour,
            "tint": g.tint,
            "lens_radius_px": round(lens_radius(p, g) * p.scale * layer.size / 2.0, 3),
        }
    return meta


def _composite(layer: FaceLayer, band: np.ndarray, g: GlassesParams | None) -> Render:
    """One render of ``layer`` wearing ``g`` (``None``: no glasses)."""
    size = layer.size
    if g is None:
        image, mask, frame = layer.rgb, np.zeros((size, size), bool), np.zeros((size, size), bool)
    else:
        image, mask, frame = draw_glasses(layer, g)
    meta = _meta(layer, g)
    if mask.any():
        rows, cols = np.nonzero(mask)
        meta["mask_bbox"] = [int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1]
    return Render(_finish(layer, image), mask, band, layer.skin, meta, frame)


def render_variants(seed: int, size: int = 64, styles: Iterable[str | None] = (None, *STYLES)) -> dict[str, Render]:
    """Render face ``seed`` once and composite each of ``styles`` (``None`` = no glasses).

    Returns a dict keyed by style name (``'no_glasses'`` for ``None``).
    """
    styles = [check_style(s) for s in styles]
    renders = render_with_glasses(seed, size, [None if s is None else sample_glasses(seed, s) for s in styles])
    return {s or NO_GLASSES: r for s, r in zip(styles, renders)}


def render_with_glasses(seed: int, size: int, glasses: Sequence[GlassesParams | None]) -> list[Render]:
    """Face ``seed`` drawn once, wearing each of ``glasses`` in turn (any face's glasses fit any
    face: their sizes are relative to the wearer's eyes); ``None`` is the face without glasses."""
    size = check_size(size)
    layer = draw_face(sample_face(seed), size)
    band = _band(layer)
    return [_composite(layer, band, g) for g in glasses]


def render_face(seed: int, size: int = 64, style: str | None = None, glasses: GlassesParams | None = None) -> Render:
    """Render face ``seed`` at ``size`` px with glasses ``style`` (``None``/``'no_glasses'``: without),
    or wearing the given ``glasses`` (e.g. ``sample_glasses(other_seed, style)``: another face's)."""
    if glasses is not None:
        if check_style(style) not in (None, glasses.style):
            raise ConfigError(f"render_face: style {style!r} and glasses of style {glasses.style!r} disagree; give one")
        return render_with_glasses(seed, size, [glasses])[0]
    return next(iter(render_variants(seed, size, [style]).values()))


def style_for_seed(seed: int, styles: Sequence[str]) -> str:
    """The glasses style a "with glasses" face of ``seed`` wears, drawn uniformly from ``styles``."""
    rng = np.random.default_rng([int(seed), 7])
    return styles[int(rng.integers(len(styles)))]
