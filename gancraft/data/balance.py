"""Group-balanced sampling (``data.balance_by=<attribute>``).

A model sees each group of an attribute (skin tone, say) as often as the data holds it;
a group that is rare in the data is rare in training, and results on it are worse, as
the seed paper found for darker skin. With ``balance_by``, every training draw first
picks a group uniformly and then an item uniformly within it, so each group carries the
same weight whatever its share of the data.

The draw uses the item's own generator (see :mod:`gancraft.data.sampling`), so balanced
runs keep the same order on every worker layout and after a resume. Groups come from the
data set (the glasses world knows each face's attributes) or, for folder data, from a
table: a CSV with a ``file`` (or ``path``) column, or a JSONL file such as the one
``gancraft data synth`` writes (``metadata.jsonl``, one ``{"path": ..., attribute: ...}``
per line).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch

from gancraft.core.errors import ConfigError, DataError


class GroupBalancer:
    """Draws item indices so that every group is equally likely, items uniform within a group."""

    def __init__(self, groups: Sequence[str], attribute: str = "group") -> None:
        if not groups:
            raise DataError(f"balance_by={attribute}: the data set has no items to balance")
        self.attribute = attribute
        names = sorted(set(groups))
        self.names: list[str] = names
        self.members: list[torch.Tensor] = [torch.tensor([i for i, g in enumerate(groups) if g == n]) for n in names]

    def draw(self, generator: torch.Generator) -> int:
        """One index: a group uniformly, then one of its items uniformly."""
        members = self.members[int(torch.randint(0, len(self.members), (), generator=generator))]
        return int(members[int(torch.randint(0, len(members), (), generator=generator))])

    def counts(self) -> dict[str, int]:
        """Items per group, for logs and reports."""
        return {n: len(m) for n, m in zip(self.names, self.members)}


def read_group_table(path: str | Path, attribute: str) -> dict[str, str]:
    """``{relative path: group}`` from a CSV (``file`` or ``path`` column) or a JSONL table."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"data.groups={path} does not exist; give a CSV (file,{attribute}) or a metadata.jsonl")
    rows: list[dict[str, object]]
    try:
        if path.suffix == ".jsonl":
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        else:
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
    except (json.JSONDecodeError, csv.Error, UnicodeDecodeError) as err:
        raise DataError(f"data.groups={path} is not a readable {'JSONL' if path.suffix == '.jsonl' else 'CSV'} table: {err}") from None
    table: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        name = row.get("file", row.get("path"))
        if name is None or attribute not in row:
            raise DataError(f"data.groups={path} row {number} lacks a 'file' (or 'path') or a {attribute!r} column")
        table[str(name)] = str(row[attribute])
    return table


def groups_of_files(files: Sequence[Path], table: dict[str, str], table_dir: Path, attribute: str) -> list[str]:
    """Each file's group: looked up by its path relative to the table's folder, else by its name
    (when that name is in the table once)."""
    names = Counter(Path(k).name for k in table)
    by_name = {Path(k).name: v for k, v in table.items() if names[Path(k).name] == 1}
    groups, missing = [], []
    for f in files:
        try:
            key = str(Path(f).resolve().relative_to(table_dir.resolve()))
        except ValueError:
            key = ""
        group = table.get(key, by_name.get(Path(f).name))
        if group is None:
            missing.append(Path(f).name)
        groups.append(group)
    if missing:
        raise DataError(f"balance_by={attribute}: {len(missing)} images have no row in the groups table (first: {missing[0]})")
    return groups
