"""The image history buffer of Shrivastava et al., as the reference CycleGAN uses it."""

from __future__ import annotations

import torch


class ImagePool:
    """Keeps up to ``size`` past fakes; the discriminator sees a mix of new and old ones.

    For each new image: while the pool is filling, store it and return it; once full,
    with probability 1/2 return a stored image at random and store the new one in its
    place, otherwise return the new image. ``size=0`` turns the pool off. The pool's
    own generator makes it reproducible and its state is saved in checkpoints.
    """

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        self.size = size
        self.images: torch.Tensor | None = None
        self.count = 0
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        images = images.detach()  # the discriminator's update must not reach the generators
        if self.size == 0:
            return images
        if self.images is None:
            self.images = images.new_empty((self.size, *images.shape[1:]))
        out = []
        for image in images:
            if self.count < self.size:
                self.images[self.count] = image
                self.count += 1
                out.append(image)
            elif bool(torch.rand((), generator=self.generator) > 0.5):
                slot = int(torch.randint(0, self.size, (), generator=self.generator))
                out.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self, prefix: str) -> dict[str, torch.Tensor]:
        state = {f"{prefix}count": torch.tensor(self.count), f"{prefix}rng": self.generator.get_state()}
        if self.images is not None:
            state[f"{prefix}images"] = self.images[: self.count].detach().cpu()
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor], prefix: str, device: torch.device) -> None:
        self.count = int(state[f"{prefix}count"])
        self.generator.set_state(state[f"{prefix}rng"])
        if f"{prefix}images" in state:
            stored = state[f"{prefix}images"].to(device)
            self.images = stored.new_empty((self.size, *stored.shape[1:]))
            self.images[: self.count] = stored
