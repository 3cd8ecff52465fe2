"""Exact ground truth for a multi-domain model's style outputs, rendered by the glasses world.

* **reference-guided**: the truth of source face ``s`` translated with reference face ``r``
  into style ``t`` is face ``s`` wearing ``r``'s own glasses of style ``t`` (shape, size,
  weight, frame colour, tint: every parameter), :func:`reference_truths`;
* **frame colour** of an output (:func:`frame_colours`): the per-channel median of its
  pixels on the truth's frame mask (pixels the frame covers at least half), matched to the
  nearest of the palette's colours *as rendered there*: the same face and glasses drawn in
  each of :data:`~gancraft.world.styles.FRAME_COLOURS`. Rendered colours, not the palette's
  RGB values, because lighting, tortoiseshell mottling, metal highlights and the
  half-transparent crystal frame all shift a frame's pixels away from its palette value;
  the truth itself is always read as its own colour;
* **diversity**: face ``s`` wearing ``k`` random glasses of style ``t``
  (:func:`random_glasses_renders`), the spread a model's ``k`` outputs are compared with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

@dataclass
class ReferenceTruths:
    """Ground truth of a batch of reference-guided outputs into one glasses style."""

    images: torch.Tensor  # N x 3 x H x W in [-1, 1]
    frame: torch.Tensor  # N x H x W bool, the truth's frame pixels
    colours: list[str]  # the reference's frame colour, per output
    palette: torch.Tensor  # N x C x 3: the median of each palette colour rendered on that frame
    names: list[str]  # the C palette colour names


def _frame_median(images: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` images and ``(N, H, W)`` masks -> ``(N, 3)`` per-channel medians on the mask."""
    return torch.stack([img[:, m].median(1).values for img, m in zip(images, frame)])


def reference_truths(source_seeds: Sequence[int], reference_seeds: Sequence[int], style: str, size: int) -> ReferenceTruths:
    """Each source face wearing its reference's glasses of ``style``, with the frame colours to tell apart."""
    from gancraft.data.transforms import to_tensor
    from gancraft.world.glasses import sample_glasses
    from gancraft.world.render import render_with_glasses
    from gancraft.world.styles import FRAME_COLOURS

    names = list(FRAME_COLOURS)
    images, frames, colours, palette = [], [], [], []
    for s, r in zip(source_seeds, reference_seeds):
        theirs = sample_glasses(int(r), style)
        truth, *recoloured = render_with_glasses(int(s), size, [theirs, *(replace(theirs, frame_colour=c) for c in names)])
        frame = torch.from_numpy(truth.frame)
        images.append(to_tensor(truth.image))
        frames.append(frame)
        colours.append(theirs.frame_colour)
        candidates = torch.stack([to_tensor(c.image) for c in recoloured])
        palette.append(_frame_median(candidates, frame.expand(len(names), *frame.shape)))
    return ReferenceTruths(torch.stack(images), torch.stack(frames), colours, torch.stack(palette), names)


def frame_colours(outputs: torch.Tensor, truths: ReferenceTruths) -> list[str]:
    """The frame colour each output shows on its truth's frame pixels: the nearest rendered palette colour."""
    medians = _frame_median(outputs.detach().float().cpu(), truths.frame)  # N x 3
    nearest = (truths.palette - medians[:, None]).norm(dim=2).argmin(1)
    return [truths.names[i] for i in nearest.tolist()]


def random_glasses_renders(face_seeds: Sequence[int], size: int, style: str, num: int, seed: int = 0) -> torch.Tensor:
    """``(B, num, 3, H, W)``: each face wearing ``num`` random glasses of ``style`` (drawn from ``seed``)."""
    from gancraft.data.transforms import to_tensor
    from gancraft.world.glasses import sample_glasses
    from gancraft.world.render import render_with_glasses
    from gancraft.world.styles import STYLES

    out = []
    for face in face_seeds:
        rng = np.random.default_rng([int(seed), int(face), 101 + STYLES.index(style)])
        glasses = [sample_glasses(int(g), style) for g in rng.integers(0, 2**31 - 1, size=num)]
        out.append(torch.stack([to_tensor(r.image) for r in render_with_glasses(int(face), size, glasses)]))
    return torch.stack(out)
