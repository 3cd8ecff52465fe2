"""DataLoader worker processes: how they start, and how their errors reach the user.

Workers decode and augment; they must not be the ones to react to a stop signal.
Slurm, systemd and ``kill -- -PGID`` send SIGTERM to the whole process group: a
worker that died of it would take the run down before the main process could write
its checkpoint. So workers ignore SIGTERM and SIGINT and the main process, which
handles both (see ``GracefulStop`` in the trainer), shuts them down itself.

An exception raised in a worker comes back to the main process re-built from the
worker's formatted traceback: a :class:`DataError` naming a bad file would reach the
user as forty lines. :func:`next_batch` turns it back into the one line it was.
"""

from __future__ import annotations

import atexit
import multiprocessing
import signal
from collections.abc import Iterator
from typing import Any

import torch

from gancraft.core.errors import GancraftError


def _kill_leftover_workers() -> None:
    """At exit, multiprocessing ends daemonic children with SIGTERM, which these workers ignore, and
    then waits for them: a DataLoader iterator still alive at exit would hang the interpreter. They
    hold nothing to save, so they are killed outright first (atexit runs this before multiprocessing's
    own handler, which was registered earlier)."""
    children = [c for c in multiprocessing.active_children() if c.daemon]
    if not children:
        return
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # torch's handler would report the kill as a worker failure
    for child in children:
        child.kill()


atexit.register(_kill_leftover_workers)


def worker_init(_: int) -> None:
    """``worker_init_fn``: one thread per worker, stop signals left to the main process."""
    torch.set_num_threads(1)  # workers decode and augment; the main process owns the cores for compute
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def unwrap_worker_error(err: GancraftError) -> GancraftError:
    """The user error a DataLoader worker raised, with its own one-line message again."""
    text = str(err)
    if "DataLoader worker process" not in text or "\n" not in text:
        return err
    prefix = f"{type(err).__module__}.{type(err).__qualname__}: "
    for line in reversed(text.splitlines()):
        if line.startswith(prefix):
            return type(err)(line[len(prefix):])
    return err


def next_batch(batches: Iterator[Any]) -> Any:
    """``next(batches)``, with a worker's user error re-raised as its own one line."""
    try:
        return next(batches)
    except GancraftError as err:
        raise unwrap_worker_error(err) from None
