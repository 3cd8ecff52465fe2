"""Multi-domain data for StarGAN v2: per-domain folders, class-balanced sources, reference pairs.

- :class:`DomainFolders` (``domain_folders``): ``root/<domain>/*.png``, items ``{"image", "label"}``
  with attributes ``domains`` (names, label order) and ``labels`` (one per item).
- :class:`ReferencePairs` wraps any such data set (the folders, or the glasses world in
  ``mode=domains``) into StarGAN v2's training items: a source image of a domain drawn
  uniformly (class-balanced, as the reference's weighted sampler), plus two reference
  images ``ref``, ``ref2`` of a target domain ``ref_label`` drawn uniformly too. Every
  choice comes from the item's seed, so runs are reproducible and resumable.
- ``stargan_v2_domains`` builds the pair data set from folders (``root=...``) or, by
  default, from the glasses world (built by name from :data:`DATASETS`: this module
  does not import :mod:`gancraft.world`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from gancraft.data.folders import ImageList
from gancraft.data.image_io import list_images
from gancraft.data.image_sets import ImageSet
from gancraft.data.sampling import SampleKey, item_generator, unpack_key
from gancraft.data.transforms import ImageTransform
from gancraft.core.errors import ConfigError, DataError
from gancraft.core.registry import DATASETS


def random_resized_crop(image: Image.Image, generator: torch.Generator, scale=(0.8, 1.0), ratio=(0.9, 1.1)) -> Image.Image:
    """The reference's augmentation: a crop of 80-100% of the area, aspect 0.9-1.1 (resized later)."""
    w, h = image.size
    u = torch.rand(4, generator=generator).tolist()
    area = w * h * (scale[0] + (scale[1] - scale[0]) * u[0])
    aspect = math.exp(math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * u[1])
    cw, ch = min(w, round(math.sqrt(area * aspect))), min(h, round(math.sqrt(area / aspect)))
    x, y = int(u[2] * (w - cw + 1)), int(u[3] * (h - ch + 1))
    return image.crop((x, y, x + cw, y + ch))


@DATASETS.register("domain_folders")
class DomainFolders(Dataset):
    """Images in ``root/<domain>/``, one folder per domain; items ``{"image", "label"}``.

    ``domains`` fixes the names and their label order (default: the sub-folders, sorted).
    Training augmentation as the reference: with probability ``rand_crop_prob`` a random
    resized crop, then a resize to ``size``, then a random horizontal flip.
    """

    def __init__(
        self,
        root: str,
        domains: Sequence[str] | None = None,
        size: int = 256,
        flip: bool = True,
        rand_crop_prob: float = 0.5,
        train: bool = True,
        skip_bad: bool = False,
    ) -> None:
        root_path = Path(root).expanduser()
        if not root_path.is_dir():
            raise DataError(f"domain folder root {str(root_path)!r} does not exist (expected root/<domain>/*.png)")
        if domains is None:
            domains = sorted(p.name for p in root_path.iterdir() if p.is_dir() and not p.name.startswith("."))
        self.domains = list(domains)
        if len(self.domains) < 1:
            raise DataError(f"{str(root_path)!r} has no domain sub-folders (expected root/<domain>/*.png)")
        self.files: list[Path] = []
        self.labels: list[int] = []
        for label, domain in enumerate(self.domains):
            files = list_images(root_path / domain)  # raises a DataError naming a missing/empty folder
            self.files += files
            self.labels += [label] * len(files)
        self.images = ImageList(self.files, skip_bad)
        self.root = root_path
        self.transform = ImageTransform(load_size=size, crop_size=size, flip=flip, train=train)
        self.rand_crop_prob = rand_crop_prob if train else 0.0

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: SampleKey) -> dict[str, Any]:
        index, seed = unpack_key(key)
        g = item_generator(seed)
        image = self.images.load(index)
        if self.rand_crop_prob > 0 and float(torch.rand((), generator=g)) < self.rand_crop_prob:
            image = random_resized_crop(image, g)
        return {"image": self.transform(image, g), "label": torch.tensor(self.labels[index])}

    def evaluation_sets(self, split: str = "test", n: int | None = None, size: int | None = None) -> dict[str, ImageSet]:
        """``root/<domain>/`` for every domain; the folders have no held-out split, so other splits
        say they are the training images."""
        note = None if split == "train" else f"no {split} folders: {split} images come from the training folders"
        return {d: ImageSet(f"{split}/{d}", files=list_images(self.root / d), size=size, note=note) for d in self.domains}


class ReferencePairs(Dataset):
    """StarGAN v2 training items from a labelled data set (``domains``, ``labels``, items ``{"image", ...}``).

    Item: ``image``/``label`` (source), ``ref``/``ref2``/``ref_label`` (two images of the target
    domain). With ``balanced`` the source's domain and the target domain are each drawn
    uniformly from the item seed, whatever the domains' sizes; without it the source is item
    ``index`` and the target domain follows the data's own proportions.
    """

    def __init__(self, base: Dataset, balanced: bool = True) -> None:
        self.base, self.balanced = base, balanced
        self.domains = list(base.domains)
        labels = torch.as_tensor(list(base.labels), dtype=torch.long)
        self.labels = labels.tolist()
        self.by_domain = [torch.nonzero(labels == d).flatten() for d in range(len(self.domains))]
        empty = [self.domains[d] for d, idx in enumerate(self.by_domain) if idx.numel() == 0]
        if empty:
            raise DataError(f"domain(s) {', '.join(empty)} have no images; every domain needs at least one")

    def __len__(self) -> int:
        return len(self.base)

    def evaluation_sets(self, split: str = "test", n: int | None = None, size: int | None = None) -> dict[str, ImageSet]:
        """The base data set's evaluation sets (one per domain)."""
        return self.base.evaluation_sets(split, n, size)

    def _pick(self, domain: int, g: torch.Generator) -> int:
        members = self.by_domain[domain]
        return int(members[int(torch.randint(0, members.numel(), (), generator=g))])

    def _load(self, index: int, g: torch.Generator) -> torch.Tensor:
        sub_seed = int(torch.randint(0, 2**62, (), generator=g))  # the base's own augmentation
        return self.base[(index, sub_seed)]["image"]

    def __getitem__(self, key: SampleKey) -> dict[str, torch.Tensor]:
        index, seed = unpack_key(key)
        g = item_generator(seed ^ 0x5A17_C0DE)  # decorrelated from the base's use of the same seed
        num = len(self.domains)
        if self.balanced:
            src = self._pick(int(torch.randint(0, num, (), generator=g)), g)
            ref_label = int(torch.randint(0, num, (), generator=g))
        else:
            src = index
            ref_label = self.labels[int(torch.randint(0, len(self.labels), (), generator=g))]
        return {
            "image": self._load(src, g),
            "label": torch.tensor(self.labels[src]),
            "ref": self._load(self._pick(ref_label, g), g),
            "ref2": self._load(self._pick(ref_label, g), g),
            "ref_label": torch.tensor(ref_label),
        }


@DATASETS.register("stargan_v2_domains")
def stargan_v2_domains(
    root: str | None = None,
    domains: Sequence[str] | None = None,
    size: int = 256,
    flip: bool = True,
    rand_crop_prob: float = 0.5,
    balanced: bool = True,
    skip_bad: bool = False,
    world: dict[str, Any] | None = None,
) -> ReferencePairs:
    """StarGAN v2 pairs from per-domain folders (``root``) or, when ``root`` is null, from the
    glasses world (``glasses_world`` in ``mode=domains``; ``world`` holds its other settings).
    ``domains`` fixes the label order (the run sets it to the model's, see ``StarGANv2.resolve_config``)."""
    domains = list(domains) if domains is not None else None
    if root is not None:
        base = DomainFolders(root, domains, size, flip, rand_crop_prob, True, skip_bad)
    else:
        if "glasses_world" not in DATASETS:  # registered by gancraft.world, a layer this one does not import
            raise ConfigError("the glasses world is not registered (import gancraft.world); or give per-domain folders with data.root=DIR")
        kwargs = dict(world or {})
        kwargs.setdefault("mode", "domains")
        kwargs.setdefault("size", size)
        if domains is not None:
            kwargs.setdefault("domains", list(domains))
        base = DATASETS.build("glasses_world", **kwargs)
    if domains is not None and list(base.domains) != list(domains):
        raise ConfigError(f"data.domains {list(domains)} does not match the data's domains {list(base.domains)}")
    return ReferencePairs(base, balanced)
