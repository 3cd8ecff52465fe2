"""Checkpoint directories: safe to load, written atomically.

A checkpoint is a directory::

    step_00001000/
      model.safetensors     every network (trained and EMA), keys "<network>.<param>"
      config.yaml           the resolved config of the run
      training_state.pt     optimizers, schedulers, loss scaler, model extra state, RNG
                            states and step: plain tensors and containers only, so it
                            loads with ``torch.load(weights_only=True)``
      meta.json             step, model name, gancraft version

It is written into a temporary sibling directory and renamed into place, so a crash
never leaves a half-written checkpoint; ``latest`` (a one-line file, replaced
atomically) names the newest one. Old checkpoints are renamed out of sight before they
are deleted, so a kill during pruning leaves no half-deleted ``step_*`` either, and the
leftovers of an interrupted write or prune are removed by the next save. A failed write
(a full disk) raises a :class:`CheckpointError` and leaves the previous checkpoint as
it was. Loading never unpickles arbitrary objects: a ``training_state.pt`` that holds
code is refused with one line.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import random
import shutil
import tempfile
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from gancraft.core.errors import CheckpointError

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.yaml"
STATE_FILE = "training_state.pt"
META_FILE = "meta.json"
LATEST = "latest"
_TRASH = ".trash-"  # prefix of a checkpoint being deleted (renamed first, so never half-deleted)


def unwrap(module: nn.Module) -> nn.Module:
    """The plain network inside DDP / ``torch.compile`` wrappers."""
    while True:
        if isinstance(module, DistributedDataParallel):
            module = module.module
        elif isinstance(getattr(module, "_orig_mod", None), nn.Module):  # torch.compile's wrapper
            module = module._orig_mod
        else:
            return module


def network_state(networks: dict[str, nn.Module | torch.Tensor]) -> dict[str, torch.Tensor]:
    """Flat ``{"<network>.<param>": tensor}`` of every network, unwrapped, contiguous, on the CPU.
    ``networks`` holds modules by name, or is such a flat state already (a model's ``state_dict()["networks"]``)."""
    flat = {}
    for name, net in networks.items():
        if isinstance(net, torch.Tensor):
            flat[name] = net.detach().to("cpu").contiguous()
            continue
        for key, value in unwrap(net).state_dict().items():
            flat[f"{name}.{key}"] = value.detach().to("cpu").contiguous()
    return flat


def load_network_state(networks: dict[str, nn.Module], flat: dict[str, torch.Tensor], strict: bool = True) -> None:
    """Load a flat state into ``networks``; with ``strict`` every key must match."""
    for name, net in networks.items():
        prefix = f"{name}."
        part = {k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix)}
        if not part and strict:
            raise CheckpointError(f"checkpoint holds no weights for network {name!r}")
        try:
            unwrap(net).load_state_dict(part, strict=strict)
        except RuntimeError as err:
            first = str(err).splitlines()[0:2]
            raise CheckpointError(f"weights for network {name!r} do not fit: {' '.join(first)}") from None


def rng_state() -> dict[str, Any]:
    """Every RNG the training loop touches, as tensors and plain values."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state(("MT19937", np_state["keys"].numpy().astype(np.uint32), np_state["pos"], np_state["has_gauss"], np_state["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``path``; on success it is renamed onto ``path``.

    Whatever writes to the yielded path (``PIL.Image.save``, ``save_image``) either
    completes or leaves ``path`` untouched: a crash or an error removes the temporary file.
    The temporary name keeps ``path``'s suffix, so writers that pick a format by the
    suffix still do.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_temporaries(folder: str | Path) -> None:
    """Delete the temporary files :func:`atomic_file` left in ``folder`` when a process was killed."""
    for left in Path(folder).glob(".*.tmp*") if Path(folder).is_dir() else ():
        if left.is_file():
            left.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with atomic_file(path) as tmp:
        tmp.write_text(text)


def _write_error(directory: Path, err: OSError) -> CheckpointError:
    reason = "the disk is full" if err.errno in (errno.ENOSPC, errno.EDQUOT) else (err.strerror or str(err))
    return CheckpointError(f"cannot write checkpoint {str(directory)!r}: {reason}; nothing was written there")


def save_checkpoint(
    directory: Path,
    *,
    networks: dict[str, nn.Module],
    config: DictConfig | dict,
    training_state: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint directory atomically and return its path."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.tmp"))
    try:
        save_file(network_state(networks), str(tmp / MODEL_FILE))
        cfg = config if isinstance(config, DictConfig) else OmegaConf.create(config)
        (tmp / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))
        if training_state is not None:
            torch.save(training_state, tmp / STATE_FILE)
        (tmp / META_FILE).write_text(json.dumps(meta or {}, indent=2, sort_keys=True))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if directory.exists():  # the same step saved again (after a resume): move the old one aside first
            _discard(directory)
        os.replace(tmp, directory)
        _fsync_dir(directory.parent)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _write_error(directory, err) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def _discard(directory: Path) -> None:
    """Delete a checkpoint directory without ever leaving it half-deleted under its name."""
    trash = directory.with_name(f"{_TRASH}{directory.name}.{os.getpid()}")
    os.replace(directory, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _complete(path: Path) -> bool:
    return all((path / name).is_file() for name in (MODEL_FILE, CONFIG_FILE, META_FILE))


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory from itself, a run directory, or a ``checkpoints/`` directory."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if (path / MODEL_FILE).is_file():
        return path
    for candidate in (path, path / "checkpoints"):
        latest = candidate / LATEST
        if latest.is_file():
            target = candidate / latest.read_text().strip()
            if _complete(target):
                return target
        steps = sorted(p for p in candidate.glob("step_*") if _complete(p)) if candidate.is_dir() else []
        if steps:
            return steps[-1]
    raise CheckpointError(f"no checkpoint in {str(path)!r}: expected {MODEL_FILE} there or in checkpoints/step_*/")


def load_config(checkpoint: Path) -> DictConfig:
    file = Path(checkpoint) / CONFIG_FILE
    if not file.is_file():
        raise CheckpointError(f"checkpoint {str(checkpoint)!r} has no {CONFIG_FILE}")
    return OmegaConf.load(file)


def load_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    file = Path(checkpoint) / MODEL_FILE
    if not file.is_file():
        raise CheckpointError(f"checkpoint {str(checkpoint)!r} has no {MODEL_FILE}")
    try:
        return load_file(str(file))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{str(file)!r} is damaged ({str(err).splitlines()[0]}); use another checkpoint") from None


def load_training_state(checkpoint: Path) -> dict[str, Any]:
    """The optimizer/RNG/step state, loaded with ``weights_only=True``.

    A file that would run code when unpickled is refused, never loaded another way.
    """
    file = Path(checkpoint) / STATE_FILE
    if not file.is_file():
        raise CheckpointError(f"checkpoint {str(checkpoint)!r} has no {STATE_FILE}; it cannot be resumed")
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"refused to load {str(file)!r}: it holds code (objects other than tensors and plain containers), "
            "which gancraft never runs; it was not written by gancraft"
        ) from None
    except (RuntimeError, EOFError, OSError) as err:  # truncated or not a torch file at all
        raise CheckpointError(f"{str(file)!r} is damaged ({str(err).splitlines()[0]}); use another checkpoint") from None


class CheckpointManager:
    """Numbered checkpoints in ``<run>/checkpoints``, the ``latest`` pointer, and pruning."""

    def __init__(self, root: Path, keep: int = 3) -> None:
        self.root = Path(root)
        self.keep = keep

    def path_for(self, step: int) -> Path:
        return self.root / f"step_{step:08d}"

    def save(self, step: int, **kwargs: Any) -> Path:
        """Write step ``step``, point ``latest`` at it, prune; a failed write keeps the previous one."""
        self.remove_leftovers()
        previous = self.latest()
        try:
            path = save_checkpoint(self.path_for(step), **kwargs)
            write_text_atomic(self.root / LATEST, path.name + "\n")
        except (CheckpointError, OSError) as err:
            failed = err if isinstance(err, CheckpointError) else _write_error(self.root / LATEST, err)
            kept = f"the previous checkpoint {str(previous)!r} is intact" if previous else "there is no earlier checkpoint"
            raise CheckpointError(f"{str(failed).split('; nothing was written')[0]}; {kept}") from None
        if self.keep > 0:
            for old in sorted(self.root.glob("step_*"))[: -self.keep]:
                _discard(old)
        return path

    def remove_leftovers(self) -> None:
        """Temporary and half-deleted directories of a write or prune that was killed."""
        if self.root.is_dir():
            for left in [*self.root.glob(".step_*.tmp*"), *self.root.glob(f"{_TRASH}*"), *self.root.glob(f".{LATEST}.*")]:
                shutil.rmtree(left, ignore_errors=True) if left.is_dir() else left.unlink(missing_ok=True)

    def latest(self) -> Path | None:
        try:
            return find_checkpoint(self.root)
        except CheckpointError:
            return None
