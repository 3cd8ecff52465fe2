"""The ``glasses_world`` data set: faces rendered on the fly, nothing read from disk.

Two modes:

* ``unpaired`` (CycleGAN): item ``{"A": face without glasses, "B": another person
  with glasses}``. A and B faces come from disjoint seed ranges, so no identity is
  in both domains; the B partner of an item is drawn from the item's generator
  when training (a fixed partner at test time).
* ``domains`` (StarGAN v2): item ``{"image", "label"}``; ``domains`` names the
  classes (``no_glasses`` and glasses styles) and ``labels[i]`` is item ``i``'s
  class, for class-balanced sampling.

Train and test splits use disjoint seed ranges as well, and :func:`paired_faces`
gives the test faces with their exact ground truth (each face with and without
every style, masks and metadata) for the world metrics.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from gancraft.data.balance import GroupBalancer
from gancraft.data.image_sets import ImageSet
from gancraft.data.sampling import SampleKey, item_generator, unpack_key
from gancraft.data.transforms import ImageTransform
from gancraft.core.errors import ConfigError
from gancraft.core.registry import DATASETS
from gancraft.world.face import sample_face
from gancraft.world.render import Render, check_size, check_style, render_face, render_variants, style_for_seed
from gancraft.world.styles import GLASSES_STYLES, NO_GLASSES, STYLES

#: first seed of each (split, part); parts are 1e6 seeds apart, so n may be up to 1e6 faces.
SEED_BASES: dict[tuple[str, str], int] = {
    ("train", "A"): 0,
    ("train", "B"): 1_000_000,
    ("train", "domains"): 2_000_000,
    ("test", "A"): 5_000_000,
    ("test", "B"): 6_000_000,
    ("test", "domains"): 7_000_000,
    ("oracle", "train"): 10_000_000,
    ("oracle", "heldout"): 20_000_000,
}
MAX_FACES = 1_000_000
#: face attributes that ``balance_by`` can balance training draws over
FACE_ATTRIBUTES = ("tone_group", "monk", "face_shape", "hair_style", "hair_colour", "expression")
SPLITS = ("train", "test")
MODES = ("unpaired", "domains")


def face_seed(split: str, part: str, index: int, seed_offset: int = 0) -> int:
    """The seed of face ``index`` of ``part`` (``A``, ``B`` or ``domains``) of ``split``."""
    return SEED_BASES[(split, part)] + int(seed_offset) + int(index)


def _check_styles(styles: Sequence[str] | str | None) -> list[str]:
    if styles is None:
        return list(GLASSES_STYLES)
    if isinstance(styles, str):
        styles = [s.strip() for s in styles.split(",") if s.strip()]
    styles = list(styles)
    if not styles:
        raise ConfigError("glasses_world styles is empty; give at least one of " + ", ".join(STYLES))
    for s in styles:
        if s not in STYLES:
            raise ConfigError(f"unknown glasses style {s!r} in glasses_world styles; known: {', '.join(STYLES)}")
    return styles


@DATASETS.register("glasses_world")
class GlassesWorld(Dataset):
    """Procedural faces with and without glasses (see the module docstring)."""

    def __init__(
        self,
        mode: str = "unpaired",
        size: int = 64,
        n: int = 2000,
        split: str = "train",
        styles: Sequence[str] | str | None = None,
        domains: Sequence[str] | str | None = None,
        seed_offset: int = 0,
        load_size: int | None = None,
        crop_size: int | None = None,
        flip: bool | None = None,
        train: bool | None = None,
        balance_by: str | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"glasses_world mode {mode!r} is unknown; use one of {', '.join(MODES)}")
        if split not in SPLITS:
            raise ConfigError(f"glasses_world split {split!r} is unknown; use train or test")
        if not 1 <= int(n) <= MAX_FACES:
            raise ConfigError(f"glasses_world n={n} is out of range; use 1..{MAX_FACES} faces")
        self.mode, self.split, self.n = mode, split, int(n)
        self.size = check_size(size)
        self.styles = _check_styles(styles)
        self.seed_offset = int(seed_offset)
        if domains is None:
            domains = [NO_GLASSES, *self.styles]
        elif isinstance(domains, str):
            domains = [d.strip() for d in domains.split(",") if d.strip()]
        self.domains: list[str] = list(domains)
        for d in self.domains:
            check_style(d)
        if mode == "domains" and len(self.domains) < 2:
            raise ConfigError("glasses_world domains needs at least two domains, e.g. no_glasses,round")
        self.labels: list[int] = [i % len(self.domains) for i in range(self.n)]
        self.train = split == "train" if train is None else bool(train)
        load = int(load_size or self.size)
        self.transform = ImageTransform(load, int(crop_size or load), self.train if flip is None else bool(flip), self.train)
        self.balance_by = balance_by
        self.balance: tuple[GroupBalancer, GroupBalancer] | None = None
        if balance_by is not None:
            if balance_by not in FACE_ATTRIBUTES:
                raise ConfigError(f"glasses_world balance_by={balance_by} is not a face attribute; use one of {', '.join(FACE_ATTRIBUTES)}")
            if mode != "unpaired":
                raise ConfigError("glasses_world balance_by works in unpaired mode (domains mode already balances its domains)")
            self.balance = tuple(GroupBalancer([str(getattr(sample_face(self.seed_of(i, part)), balance_by)) for i in range(self.n)], balance_by)
                                 for part in ("A", "B"))  # type: ignore[assignment]

    def __len__(self) -> int:
        return self.n

    def seed_of(self, index: int, part: str) -> int:
        """The face seed behind item ``index`` of ``part`` (``A``, ``B`` or ``domains``)."""
        return face_seed(self.split, part, index, self.seed_offset)

    def __getitem__(self, key: SampleKey) -> dict[str, torch.Tensor]:
        index, seed = unpack_key(key)
        if not 0 <= index < self.n:
            raise IndexError(f"glasses_world index {index} out of range 0..{self.n - 1}")
        g = item_generator(seed)
        if self.mode == "domains":
            domain = self.domains[self.labels[index]]
            image = render_face(self.seed_of(index, "domains"), self.size, domain).image
            return {"image": self.transform(image, g), "label": torch.tensor(self.labels[index], dtype=torch.long)}
        if self.balance is not None and self.train:
            index, partner = self.balance[0].draw(g), self.balance[1].draw(g)
        else:
            partner = int(torch.randint(0, self.n, (), generator=g)) if self.train else index
        a = render_face(self.seed_of(index, "A"), self.size, None).image
        b_seed = self.seed_of(partner, "B")
        b = render_face(b_seed, self.size, style_for_seed(b_seed, self.styles)).image
        return {"A": self.transform(a, g), "B": self.transform(b, g)}

    def evaluation_sets(self, split: str = "test", n: int | None = None, size: int | None = None) -> dict[str, ImageSet]:
        """Held-out faces of ``split``, rendered when read, ``n`` per domain (default this data set's ``n``)
        at ``size`` (default its crop size): ``A``/``B`` in unpaired mode (item ``i``'s face and its fixed
        partner), else one set per domain."""
        size = int(size or self.transform.crop_size)
        per_domain = int(n or self.n)
        count = per_domain if self.mode == "unpaired" else per_domain * len(self.domains)
        world = GlassesWorld(self.mode, self.size, count, split, self.styles, self.domains, self.seed_offset,
                             load_size=size, crop_size=size, flip=False, train=False)
        if self.mode == "unpaired":
            return {p: ImageSet(f"{split}{p}", render=lambda i, p=p: world[(i, 0)][p], indices=list(range(count)))
                    for p in ("A", "B")}
        return {d: ImageSet(f"{split}/{d}", render=lambda i: world[(i, 0)]["image"],
                            indices=[i for i, label in enumerate(world.labels) if label == k])
                for k, d in enumerate(self.domains)}

    def evaluation_pairs(self, split: str = "test", n: int | None = None, size: int | None = None
                         ) -> dict[tuple[str, str], tuple[ImageSet, ImageSet]]:
        """Exact ground truth: ``(source, target) -> (inputs, targets)``, image ``i`` of both the same
        face. Unpaired mode: ``B -> A`` (the face wearing the style it draws, and without glasses; adding
        has no single right style). Domains mode: each style to and from ``no_glasses``."""
        transform = ImageTransform(int(size or self.transform.crop_size), int(size or self.transform.crop_size), False, False)
        count = int(n or self.n)

        def faces(style: str | None) -> ImageSet:
            def render(i: int) -> torch.Tensor:
                seed = face_seed(split, "A", i, self.seed_offset)
                worn = style_for_seed(seed, self.styles) if style == "worn" else style
                return transform(render_face(seed, self.size, worn).image)

            return ImageSet(f"{split}/{style or NO_GLASSES}", render=render, indices=list(range(count)))

        if self.mode == "unpaired":
            return {("B", "A"): (faces("worn"), faces(None))}
        styles = [d for d in self.domains if d != NO_GLASSES]
        pairs = {(s, NO_GLASSES): (faces(s), faces(None)) for s in styles} if NO_GLASSES in self.domains else {}
        pairs.update({(NO_GLASSES, s): (faces(None), faces(s)) for s in styles} if NO_GLASSES in self.domains else {})
        return pairs


def paired_faces(
    n: int,
    size: int = 64,
    styles: Sequence[str] | None = None,
    split: str = "test",
    seed_offset: int = 0,
) -> Iterator[dict[str, Render]]:
    """The ``split`` A faces with their ground truth: ``{"no_glasses": Render, style: Render, ...}``.

    Every Render of one face is the same person; ``meta["worn_style"]`` of the
    no-glasses render names the style this face wears in "remove" evaluations.
    """
    styles = _check_styles(styles)
    for i in range(int(n)):
        seed = face_seed(split, "A", i, seed_offset)
        renders = render_variants(seed, size, [None, *styles])
        renders[NO_GLASSES].meta["worn_style"] = style_for_seed(seed, styles)
        yield renders
