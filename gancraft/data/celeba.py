"""CelebA read from its real files, split into two domains by one attribute."""

from __future__ import annotations

from pathlib import Path

from gancraft.data.balance import GroupBalancer
from gancraft.data.folders import ImageList, UnpairedImages, make_transform
from gancraft.core.errors import ConfigError, DataError
from gancraft.core.registry import DATASETS

SPLITS = {"train": 0, "val": 1, "test": 2}


def read_attributes(path: Path) -> tuple[list[str], dict[str, list[int]]]:
    """``list_attr_celeba.txt`` -> (attribute names, {file name: [+1/-1, ...]})."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise DataError(f"CelebA attribute file {str(path)!r} does not exist") from None
    names = lines[1].split()
    table = {}
    for line in lines[2:]:
        parts = line.split()
        if parts:
            table[parts[0]] = [int(v) for v in parts[1:]]
    return names, table


def read_partition(path: Path) -> dict[str, int]:
    """``list_eval_partition.txt`` -> {file name: 0 train | 1 val | 2 test}."""
    try:
        return {name: int(p) for name, p in (line.split() for line in path.read_text().splitlines() if line.strip())}
    except FileNotFoundError:
        raise DataError(f"CelebA partition file {str(path)!r} does not exist") from None


@DATASETS.register("celeba")
class CelebAUnpaired(UnpairedImages):
    """Unpaired ``{"A", "B"}``: A lacks ``attribute`` (``Eyeglasses`` by default), B has it."""

    def __init__(
        self,
        root: str,
        attribute: str = "Eyeglasses",
        split: str = "train",
        load_size: int = 286,
        crop_size: int | None = 256,
        flip: bool = True,
        train: bool | None = None,
        skip_bad: bool = False,
        balance_by: str | None = None,
    ) -> None:
        root_path = Path(root).expanduser()
        if split not in SPLITS:
            raise ConfigError(f"CelebA split {split!r} is not one of {', '.join(SPLITS)}")
        names, table = read_attributes(root_path / "list_attr_celeba.txt")
        if attribute not in names:
            raise ConfigError(f"CelebA has no attribute {attribute!r}; known: {', '.join(names)}")
        column = names.index(attribute)
        partition = read_partition(root_path / "list_eval_partition.txt")
        images = root_path / "img_align_celeba"
        files = [f for f in sorted(table) if partition.get(f) == SPLITS[split]]
        without = [images / f for f in files if table[f][column] < 0]
        with_attr = [images / f for f in files if table[f][column] > 0]
        if not without or not with_attr:
            raise DataError(f"CelebA {split} split has no images {'without' if not without else 'with'} {attribute}")
        self.root, self.attribute, self.split = root, attribute, split
        self.a, self.b = ImageList(without, skip_bad), ImageList(with_attr, skip_bad)
        self.transform = make_transform(load_size, crop_size, flip, split == "train" if train is None else train)
        if balance_by is not None:  # any other CelebA attribute, e.g. Pale_Skin or Male: with and without it equally often
            if balance_by not in names:
                raise ConfigError(f"data.balance_by={balance_by} is not a CelebA attribute; known: {', '.join(names)}")
            by = names.index(balance_by)
            self.balance = tuple(GroupBalancer([str(table[f.name][by] > 0) for f in part.files], balance_by)  # type: ignore[assignment]
                                 for part in (self.a, self.b))

    def with_split(self, split: str) -> CelebAUnpaired:
        return self if split == self.split else CelebAUnpaired(self.root, self.attribute, split=split, train=False)
