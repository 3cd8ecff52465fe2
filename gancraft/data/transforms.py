"""Image transforms: resize (bicubic), random crop, horizontal flip, to [-1, 1].

Every random choice comes from the item's own ``torch.Generator`` (see
:mod:`gancraft.data.sampling`), so augmentations are reproducible and resumable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


def to_tensor(image: Image.Image | np.ndarray) -> torch.Tensor:
    """uint8 RGB (PIL or HWC array) -> float CHW tensor in [-1, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float NCHW or CHW in [-1, 1] -> uint8 NHWC or HWC on the CPU."""
    out = images.detach().float().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)
    return out.movedim(-3, -1).cpu()


def to_pil(image: torch.Tensor) -> Image.Image:
    """One float CHW image in [-1, 1] -> PIL RGB."""
    return Image.fromarray(to_uint8(image).numpy())


@dataclass(frozen=True)
class ImageTransform:
    """Resize to a ``load_size`` square, random-crop ``crop_size``, maybe flip.

    As in the reference ``resize_and_crop`` preprocessing: the image is resized to a
    ``load_size`` square with bicubic filtering, then a ``crop_size`` crop is taken
    (random when training, centred otherwise). ``load_size == crop_size`` means no crop.
    """

    load_size: int
    crop_size: int
    flip: bool = False
    train: bool = True

    def __post_init__(self) -> None:
        if self.crop_size > self.load_size:
            raise ValueError(f"crop_size {self.crop_size} is larger than load_size {self.load_size}")

    def __call__(self, image: Image.Image | np.ndarray, generator: torch.Generator | None = None) -> torch.Tensor:
        if not isinstance(image, Image.Image):
            image = Image.fromarray(np.asarray(image, dtype=np.uint8))
        if image.size != (self.load_size, self.load_size):
            image = image.resize((self.load_size, self.load_size), Image.BICUBIC)
        margin = self.load_size - self.crop_size
        if margin:
            if self.train:
                x, y = (int(v) for v in torch.randint(0, margin + 1, (2,), generator=generator))
            else:
                x = y = margin // 2
            image = image.crop((x, y, x + self.crop_size, y + self.crop_size))
        tensor = to_tensor(image)
        if self.flip and self.train and bool(torch.rand((), generator=generator) < 0.5):
            tensor = tensor.flip(-1)
        return tensor
