"""Named vocabularies of the glasses world: glasses styles, skin tones, palettes.

Skin tones follow the ten swatches of the Monk Skin Tone scale (``monk_01`` lightest
... ``monk_10`` darkest), grouped coarsely into ``light`` / ``medium`` / ``dark`` for
reporting results by group.
"""

from __future__ import annotations

#: every glasses style the renderer draws; ``sunglasses`` is the distractor.
STYLES: list[str] = ["round", "rectangular", "cat_eye", "aviator", "sunglasses"]
#: the clear-lens styles, the default "with glasses" domain (as the paper, which filtered sunglasses out).
GLASSES_STYLES: list[str] = ["round", "rectangular", "cat_eye", "aviator"]
NO_GLASSES = "no_glasses"

#: the ten Monk Skin Tone swatches (sRGB, 0-255).
MONK_SCALE: dict[str, tuple[int, int, int]] = {
    "monk_01": (0xF6, 0xED, 0xE4),
    "monk_02": (0xF3, 0xE7, 0xDB),
    "monk_03": (0xF7, 0xEA, 0xD0),
    "monk_04": (0xEA, 0xDA, 0xBA),
    "monk_05": (0xD7, 0xBD, 0x96),
    "monk_06": (0xA0, 0x7E, 0x56),
    "monk_07": (0x82, 0x5C, 0x43),
    "monk_08": (0x60, 0x41, 0x34),
    "monk_09": (0x3A, 0x31, 0x2A),
    "monk_10": (0x29, 0x24, 0x20),
}
MONK_BINS: list[str] = list(MONK_SCALE)

TONE_GROUPS: dict[str, list[str]] = {
    "light": ["monk_01", "monk_02", "monk_03"],
    "medium": ["monk_04", "monk_05", "monk_06", "monk_07"],
    "dark": ["monk_08", "monk_09", "monk_10"],
}
GROUP_NAMES: list[str] = list(TONE_GROUPS)


def tone_group(monk: str) -> str:
    """``'monk_07'`` -> ``'medium'``."""
    for group, bins in TONE_GROUPS.items():
        if monk in bins:
            return group
    raise KeyError(monk)


FACE_SHAPES: list[str] = ["oval", "round", "square", "heart", "long"]
HAIR_STYLES: list[str] = ["bald", "short", "bangs", "long", "curly", "bun"]
EXPRESSIONS: list[str] = ["neutral", "smile", "grin", "frown"]

HAIR_COLOURS: dict[str, tuple[float, float, float]] = {
    "black": (0.06, 0.05, 0.05),
    "dark_brown": (0.18, 0.11, 0.07),
    "brown": (0.36, 0.22, 0.12),
    "auburn": (0.50, 0.20, 0.10),
    "blond": (0.80, 0.66, 0.40),
    "grey": (0.62, 0.62, 0.62),
    "white": (0.88, 0.87, 0.85),
}
IRIS_COLOURS: dict[str, tuple[float, float, float]] = {
    "dark_brown": (0.20, 0.11, 0.06),
    "brown": (0.38, 0.22, 0.10),
    "hazel": (0.45, 0.38, 0.18),
    "green": (0.25, 0.42, 0.25),
    "blue": (0.25, 0.42, 0.62),
    "grey": (0.45, 0.50, 0.55),
}
FRAME_COLOURS: dict[str, tuple[float, float, float]] = {
    "black": (0.04, 0.04, 0.05),
    "tortoise": (0.30, 0.15, 0.06),
    "gold": (0.82, 0.66, 0.30),
    "silver": (0.76, 0.77, 0.80),
    "red": (0.62, 0.07, 0.10),
    "navy": (0.10, 0.16, 0.42),
    "crystal": (0.70, 0.72, 0.75),
}
METAL_COLOURS: list[str] = ["gold", "silver", "black"]
LENS_TINTS: dict[str, tuple[float, float, float]] = {
    "clear": (0.95, 0.97, 1.00),
    "blue": (0.55, 0.70, 0.95),
    "brown": (0.75, 0.55, 0.35),
    "grey": (0.55, 0.57, 0.60),
}
SUN_TINTS: dict[str, tuple[float, float, float]] = {
    "black": (0.03, 0.03, 0.04),
    "brown": (0.16, 0.09, 0.04),
    "green": (0.05, 0.10, 0.06),
}
CLOTHES: list[tuple[float, float, float]] = [
    (0.15, 0.20, 0.35), (0.55, 0.10, 0.12), (0.20, 0.40, 0.25), (0.85, 0.85, 0.82),
    (0.10, 0.10, 0.12), (0.55, 0.45, 0.30), (0.35, 0.30, 0.55), (0.85, 0.55, 0.20),
]
BACKGROUNDS: list[tuple[float, float, float]] = [
    (0.80, 0.82, 0.85), (0.35, 0.45, 0.60), (0.60, 0.70, 0.55), (0.85, 0.78, 0.65),
    (0.25, 0.25, 0.28), (0.70, 0.55, 0.55), (0.45, 0.60, 0.70), (0.92, 0.92, 0.90),
]
