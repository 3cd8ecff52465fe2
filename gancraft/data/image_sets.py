"""Named sets of evaluation images, and loading image files at a size (done here once).

A data set offers its held-out images through ``evaluation_sets(split, n, size)``:
``{domain: ImageSet}``. An :class:`ImageSet` is files on disk or items rendered by a
data set; either way it yields float batches ``B x 3 x size x size`` in [-1, 1].
Evaluation reads images only through these, never through a data set's internals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from gancraft.data.image_io import load_image
from gancraft.data.transforms import ImageTransform, to_tensor


def load_images(paths: Sequence[str | Path], size: int | None = None) -> torch.Tensor:
    """Image files -> one batch in [-1, 1], each resized (bicubic, no crop) to ``size`` x ``size``
    (``None``: as they are, so they must share a size)."""
    if size is None:
        return torch.stack([to_tensor(load_image(p)) for p in paths])
    transform = ImageTransform(int(size), int(size), flip=False, train=False)
    return torch.stack([transform(load_image(p)) for p in paths])


@dataclass
class ImageSet:
    """The images of one domain and split: ``files``, or items ``render(i)`` for ``i`` in ``indices``."""

    name: str
    files: list[Path] | None = None
    render: Callable[[int], torch.Tensor] | None = None
    indices: list[int] = field(default_factory=list)
    size: int | None = None  # files are resized to it when loaded
    note: str | None = None  # said in the report (e.g. "test images taken from the training folders")

    def __post_init__(self) -> None:
        if (self.files is None) == (self.render is None):
            raise ValueError("an ImageSet holds either files or a render function")

    def __len__(self) -> int:
        return len(self.files) if self.files is not None else len(self.indices)

    def limit(self, n: int | None) -> ImageSet:
        """The first ``n`` images (all with ``None``)."""
        if n is None:
            return self
        if self.files is not None:
            return replace(self, files=self.files[: int(n)])
        return replace(self, indices=self.indices[: int(n)])

    def load(self, positions: Sequence[int]) -> torch.Tensor:
        """The images at ``positions`` (0 .. len - 1) as one batch."""
        if self.files is not None:
            return load_images([self.files[i] for i in positions], self.size)
        return torch.stack([self.render(self.indices[i]) for i in positions])

    def batches(self, batch_size: int, order: Sequence[int] | None = None) -> Iterator[torch.Tensor]:
        """Batches of at most ``batch_size`` images, in ``order`` (default: as listed)."""
        order = list(range(len(self))) if order is None else list(order)
        for start in range(0, len(order), batch_size):
            yield self.load(order[start:start + batch_size])
