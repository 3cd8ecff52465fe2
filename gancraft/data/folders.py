"""Unpaired two-domain data sets: folders in the reference layout, or any two folders."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch.utils.data import Dataset

from gancraft.data.balance import GroupBalancer, groups_of_files, read_group_table
from gancraft.data.image_io import list_images, load_image
from gancraft.data.image_sets import ImageSet
from gancraft.data.prepared import find_prepared
from gancraft.data.sampling import SampleKey, item_generator, unpack_key
from gancraft.data.transforms import ImageTransform
from gancraft.core.errors import ConfigError, DataError
from gancraft.core.registry import DATASETS

log = logging.getLogger(__name__)


class ImageList:
    """A list of image files read safely; with ``skip_bad`` a bad file is dropped and the next good one used.

    A dropped file is recorded in a flag array in shared memory, so it is found bad once
    for the whole run: every DataLoader worker (which holds a copy of the data set) and
    every later epoch skip it without reading it again, and it is counted and logged once.
    """

    def __init__(self, files: list[Path], skip_bad: bool = False) -> None:
        self.files, self.skip_bad = files, skip_bad
        self.bad = torch.zeros(len(files), dtype=torch.uint8).share_memory_()
        self.prepared = find_prepared(files)  # a `gancraft data prepare` cache holding these files, if any

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int):
        for attempt in range(len(self.files)):
            i = (index + attempt) % len(self.files)
            if self.bad[i]:
                continue
            path = self.files[i]
            cached = self.prepared.get(path) if self.prepared is not None else None
            if cached is not None:
                return cached
            try:
                return load_image(path)
            except DataError as err:
                if not self.skip_bad:
                    raise
                self._drop(i, err)
        raise DataError(f"no readable image among the {len(self.files)} files in {str(self.files[0].parent)!r}; every one was dropped as bad")

    def _drop(self, i: int, err: DataError) -> None:
        if self.bad[i]:  # another worker got there first
            return
        self.bad[i] = 1
        log.warning("dropped a bad image (%d of %d dropped so far): %s", int(self.bad.sum()), len(self.files), err)

    @property
    def dropped(self) -> list[Path]:
        """The files found bad so far (in any worker process)."""
        return [self.files[i] for i in torch.nonzero(self.bad).flatten().tolist()]


def dropped_files(dataset: object) -> list[Path]:
    """Every file the data set's image lists dropped as bad (``data.skip_bad=true``)."""
    lists = [v for v in getattr(dataset, "__dict__", {}).values() if isinstance(v, ImageList)]
    return [path for images in lists for path in images.dropped]


def report_dropped(dataset: object) -> list[Path]:
    """Log how many files were dropped and which; returns them."""
    dropped = dropped_files(dataset)
    if dropped:
        log.warning("data: dropped %d bad file(s) (data.skip_bad=true): %s", len(dropped), ", ".join(str(p) for p in dropped))
    return dropped


def make_transform(load_size: int, crop_size: int | None, flip: bool, train: bool) -> ImageTransform:
    return ImageTransform(load_size=load_size, crop_size=crop_size or load_size, flip=flip, train=train)


class UnpairedImages(Dataset):
    """Items ``{"A": image, "B": image}``: A taken in order, B at random from the item's
    seed (as the reference does), length that of the larger domain."""

    a: ImageList
    b: ImageList
    transform: ImageTransform
    #: with ``balance_by``: each domain's group-balanced draw (training only)
    balance: tuple[GroupBalancer, GroupBalancer] | None = None

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, key: SampleKey) -> dict[str, torch.Tensor]:
        index, seed = unpack_key(key)
        g = item_generator(seed)
        if self.balance is not None and self.transform.train:
            index, b_index = self.balance[0].draw(g), self.balance[1].draw(g)
        else:
            b_index = int(torch.randint(0, len(self.b), (), generator=g))
        return {
            "A": self.transform(self.a.load(index % len(self.a)), g),
            "B": self.transform(self.b.load(b_index), g),
        }

    def evaluation_sets(self, split: str = "test", n: int | None = None, size: int | None = None) -> dict[str, ImageSet]:
        """Domains ``A`` and ``B`` of ``split`` as files, loaded at ``size`` (``n`` is for rendered data)."""
        source = self.with_split(split)
        return {d: ImageSet(f"{split}{d}", files=list(part.files), size=size) for d, part in (("A", source.a), ("B", source.b))}

    def with_split(self, split: str) -> UnpairedImages:
        """The same data set on another split (subclasses that have splits override this)."""
        return self


@DATASETS.register("unpaired_folders")
class UnpairedFolders(UnpairedImages):
    """Items ``{"A": image, "B": image}`` from two unrelated folders.

    Either ``root`` in the reference layout (``root/trainA``, ``root/trainB``,
    ``root/testA``, ``root/testB``, chosen by ``split``) or ``dir_a`` and ``dir_b``.
    """

    def __init__(
        self,
        root: str | None = None,
        split: str = "train",
        dir_a: str | None = None,
        dir_b: str | None = None,
        load_size: int = 286,
        crop_size: int | None = 256,
        flip: bool = True,
        train: bool | None = None,
        skip_bad: bool = False,
        balance_by: str | None = None,
        groups: str | None = None,
    ) -> None:
        if (root is None) == (dir_a is None or dir_b is None):
            raise ConfigError("unpaired_folders needs either data.root (with trainA/trainB/testA/testB) or both data.dir_a and data.dir_b")
        if root is not None:
            dir_a, dir_b = str(Path(root) / f"{split}A"), str(Path(root) / f"{split}B")
        train = split == "train" if train is None else train
        self.root, self.split = root, split
        self.a = ImageList(list_images(dir_a), skip_bad)
        self.b = ImageList(list_images(dir_b), skip_bad)
        self.transform = make_transform(load_size, crop_size, flip, train)
        if balance_by is not None:
            self.balance = self._balancers(balance_by, groups)

    def _balancers(self, attribute: str, groups: str | None) -> tuple[GroupBalancer, GroupBalancer]:
        """Both domains' balancers from the groups table (default: ``root/metadata.jsonl``, as ``gancraft data synth`` writes)."""
        if groups is None:
            if self.root is None or not (Path(self.root) / "metadata.jsonl").is_file():
                raise ConfigError(f"data.balance_by={attribute} needs data.groups=FILE (a CSV file,{attribute} or a metadata.jsonl)")
            groups = str(Path(self.root) / "metadata.jsonl")
        table = read_group_table(groups, attribute)
        table_dir = Path(groups).expanduser().parent
        return tuple(GroupBalancer(groups_of_files(part.files, table, table_dir, attribute), attribute) for part in (self.a, self.b))  # type: ignore[return-value]

    def with_split(self, split: str) -> UnpairedImages:
        if split == self.split:
            return self
        if self.root is None:
            raise ConfigError(f"data.dir_a/dir_b have no {split!r} split; give the protocol the folders instead (test_a=DIR test_b=DIR)")
        return UnpairedFolders(root=self.root, split=split, train=False)
