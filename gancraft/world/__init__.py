"""The glasses world: procedural faces with and without glasses, with exact ground truth.

Importing this package registers the ``glasses_world`` data set. The renderer is
:func:`render_face` / :func:`render_variants`; the oracle classifier is in
:mod:`gancraft.world.oracle` (imported on use, it loads weights).
"""

from gancraft.world.dataset import SEED_BASES, GlassesWorld, face_seed, paired_faces
from gancraft.world.render import Render, render_face, render_variants, style_for_seed
from gancraft.world.styles import (
    GLASSES_STYLES,
    GROUP_NAMES,
    MONK_BINS,
    NO_GLASSES,
    STYLES,
    TONE_GROUPS,
    tone_group,
)

__all__ = [
    "GLASSES_STYLES",
    "GROUP_NAMES",
    "MONK_BINS",
    "NO_GLASSES",
    "SEED_BASES",
    "STYLES",
    "TONE_GROUPS",
    "GlassesWorld",
    "Render",
    "face_seed",
    "paired_faces",
    "render_face",
    "render_variants",
    "style_for_seed",
    "tone_group",
]
