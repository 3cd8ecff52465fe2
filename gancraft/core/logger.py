"""Training statistics: averaged over an interval without host syncs, written as JSONL
(and to TensorBoard when asked), and read back (the trainer writes, reports read)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch


class MetricLogger:
    """Accumulates detached scalar tensors on their device; ``flush`` syncs once per interval."""

    def __init__(self, path: Path, tensorboard_dir: Path | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _end_partial_line(self.path)  # a run killed mid-write: start the resumed run's records on a new line
        self._sums: dict[str, torch.Tensor] = {}
        self._count = 0
        self._writer = None
        if tensorboard_dir is not None:
            from torch.utils.tensorboard import SummaryWriter  # optional dependency

            self._writer = SummaryWriter(str(tensorboard_dir))

    def accumulate(self, values: dict[str, torch.Tensor]) -> None:
        for name, value in values.items():
            value = value.detach().float()
            self._sums[name] = self._sums[name] + value if name in self._sums else value.clone()
        self._count += 1

    def pending(self) -> dict[str, torch.Tensor]:
        """Mean of what was accumulated since the last flush (still tensors)."""
        return {name: total / max(self._count, 1) for name, total in self._sums.items()}

    def flush(self, step: int, means: dict[str, torch.Tensor] | None = None, **extra: float) -> dict[str, float]:
        """Write one JSONL record of the interval's means plus ``extra`` and reset."""
        means = self.pending() if means is None else means
        record = {name: float(value) for name, value in means.items()}
        record.update(extra)
        with self.path.open("a") as fh:
            fh.write(json.dumps({"step": step, "time": time.time(), **record}) + "\n")
        if self._writer is not None:
            for name, value in record.items():
                self._writer.add_scalar(name, value, step)
        self.reset()
        return record

    def reset(self) -> None:
        self._sums, self._count = {}, 0

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _end_partial_line(path: Path) -> None:
    if path.is_file() and path.stat().st_size:
        with path.open("rb+") as fh:
            fh.seek(-1, 2)
            if fh.read(1) != b"\n":
                fh.write(b"\n")


def read_log(path: Path) -> list[dict[str, float]]:
    """The records of a ``metrics.jsonl`` file (for plots and tests); a line cut short by a kill is left out."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
