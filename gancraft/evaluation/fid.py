"""FID and KID, computed with clean-fid in its ``clean`` mode.

Images are resized to 299 px with PIL's bicubic filter on float values (clean-fid's
``clean`` resizer), then passed to a TF-FID Inception network found on disk (see
:mod:`gancraft.evaluation.features`). A source of images is one of:

- a folder (searched recursively for the image types clean-fid reads);
- a tensor ``N x 3 x H x W`` in ``[-1, 1]``, quantized to uint8 first so that it scores
  exactly as the same images written to PNG would;
- a translator (any callable ``fn(x, **condition) -> images``) with ``inputs=``, a
  tensor or folder of images to translate;
- a ``.npz`` statistics file made by :func:`make_reference_stats`, or the name of one
  in gancraft's cache; or an ``N x D`` array of features.

Features of reference folders are cached in ``$GANCRAFT_CACHE/fid`` (default
``~/.cache/gancraft/fid``), keyed by the extractor file and every image's name, size
and modification time; nothing is written inside site-packages.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gancraft.core.device import resolve_device
from gancraft.data.image_io import load_image
from gancraft.core.errors import ConfigError, DataError
from gancraft.evaluation.features import FeatureExtractor, cache_dir, file_digest, resolve_extractor
from gancraft.core.registry import METRICS

log = logging.getLogger(__name__)

MODE = "clean"
ImageSource = str | os.PathLike[str] | torch.Tensor | np.ndarray | Callable[..., torch.Tensor]


# --------------------------------------------------------------------------- formulas


def _as_features(x: Any, name: str) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 2:
        raise ValueError(f"{name} must be an N x D array of features with N >= 2, got shape {array.shape}")
    return array


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigen-decomposition."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` of two Gaussians.

    ``tr (S1 S2)^(1/2)`` is the sum of square roots of the eigenvalues of the symmetric
    ``S1^(1/2) S2 S1^(1/2)``, which has the same spectrum; unlike ``scipy.linalg.sqrtm``
    of the non-symmetric product, this stays accurate when the covariances are singular
    (fewer images than feature dimensions).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"feature dimensions differ: {mu1.shape} vs {mu2.shape}")
    root1 = _sqrt_psd(sigma1)
    inner = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_covmean = float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)
    return max(value, 0.0)  # rounding can leave -1e-13 for identical sets


def fid_from_features(a: Any, b: Any) -> float:
    """FID between two sets of features (arrays ``N x D`` and ``M x D``).

    With fewer images than dimensions (the usual case for small test sets) the trace
    is taken in the images' space instead of the ``D x D`` one: with centred features
    ``A`` and ``B``, ``S1 = A'A / (N - 1)`` and the non-zero eigenvalues of ``S1 S2`` are
    those of the small symmetric ``A S2 A' / (N - 1)``. Same number, and no
    ``2048 x 2048`` eigen-decomposition.
    """
    a, b = _as_features(a, "a"), _as_features(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    if len(a) > len(b):
        a, b = b, a  # the symmetric formula lets the smaller set define the small matrix
    d = a.shape[1]
    if len(a) > d:
        return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    ca, cb = a - a.mean(0), b - b.mean(0)
    na, nb = len(a) - 1, len(b) - 1
    if len(b) > d:  # A S2 A' through the D x D covariance of the large set
        small = ca @ (cb.T @ cb / nb) @ ca.T / na
    else:  # (A B')(A B')' without any D x D matrix
        cross = ca @ cb.T
        small = cross @ cross.T / (na * nb)
    eigenvalues = np.linalg.eigvalsh((small + small.T) / 2)
    tr_covmean = float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())
    diff = a.mean(0) - b.mean(0)
    value = float(diff @ diff + (ca * ca).sum() / na + (cb * cb).sum() / nb - 2.0 * tr_covmean)
    return max(value, 0.0)


def _polynomial_mmd(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with KID's kernel ``k(u, v) = (u.v / d + 1)^3`` (equal set sizes)."""
    m, d = x.shape
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def kid_from_features(
    a: Any, b: Any, seed: int = 0, num_subsets: int = 100, max_subset_size: int = 1000
) -> float:
    """KID: unbiased polynomial-kernel MMD^2, averaged over random subsets.

    As in clean-fid, each of ``num_subsets`` subsets draws ``m = min(N, M,
    max_subset_size)`` features from each set without replacement; the draws come from
    ``numpy.random.default_rng(seed)``, so the same inputs always give the same number.
    When both sets have ``m`` features every subset is the whole set.
    """
    a, b = _as_features(a, "a"), _as_features(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    m = min(len(a), len(b), max_subset_size)
    if m == len(a) == len(b):
        return _polynomial_mmd(a, b)
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(num_subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        total += _polynomial_mmd(x, y)
    return total / num_subsets


# --------------------------------------------------------------------------- features


def image_files(folder: str | os.PathLike[str]) -> list[str]:
    """The images in ``folder`` and its sub-folders, sorted."""
    from gancraft.data.image_io import list_images

    return [str(f) for f in list_images(folder, recursive=True)]


class _ResizedArrays(torch.utils.data.Dataset):
    """uint8 HWC images -> clean-mode resized float CHW tensors in [0, 255]."""

    def __init__(self, images: np.ndarray) -> None:
        from cleanfid.resize import build_resizer

        self.images = images
        self.resize = build_resizer(MODE)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(self.resize(self.images[i]).transpose(2, 0, 1)))


def _check_images(images: torch.Tensor, what: str) -> None:
    if images.ndim != 4 or images.shape[1] != 3:
        raise DataError(f"{what} must be images N x 3 x H x W in [-1, 1], got shape {tuple(images.shape)}")


def tensor_features(
    images: torch.Tensor, extractor: FeatureExtractor, *, batch_size: int = 32, num_workers: int = 0,
) -> np.ndarray:
    """Features of float images ``N x 3 x H x W`` in ``[-1, 1]`` (quantized to uint8 first)."""
    from gancraft.data.transforms import to_uint8

    _check_images(images, "tensor images")
    dataset = _ResizedArrays(to_uint8(images).numpy())
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    return np.concatenate([extractor(batch).cpu().numpy() for batch in loader]).astype(np.float64)


def folder_features(
    folder: str | os.PathLike[str], extractor: FeatureExtractor, *, batch_size: int = 32, num_workers: int = 0,
    cache: bool = True, progress: bool = False,
) -> np.ndarray:
    """Features of every image in ``folder``, through clean-fid's own loader and resizer.

    With ``cache`` and an extractor loaded from a file, the features are kept in
    gancraft's cache and reused while the folder's files are unchanged.
    """
    return files_features(image_files(folder), extractor, batch_size=batch_size, num_workers=num_workers,
                          cache=cache, progress=progress, label=Path(folder).resolve().name or "root")


def _stamp(path: str) -> str:
    """``path:size:mtime`` for the feature cache; an unreadable entry is one line naming it."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise DataError(f"image {path!r} cannot be read ({err.strerror})") from None
    return f"{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}"


def files_features(
    files: list[str] | list[Path], extractor: FeatureExtractor, *, batch_size: int = 32, num_workers: int = 0,
    cache: bool = True, progress: bool = False, label: str = "files",
) -> np.ndarray:
    """Features of image files read at their own size (clean-fid's loader); cached as :func:`folder_features`."""
    from cleanfid.fid import get_files_features

    files = [str(f) for f in files]
    if not files:
        raise DataError(f"no image files given for {label}")
    cache_file = None
    if cache and extractor.cache_key is not None:
        stamp = [_stamp(f) for f in files]
        cache_file = cache_dir() / "fid" / f"{label}-{file_digest([MODE, extractor.cache_key, *stamp])}.npz"
        if cache_file.is_file():
            return np.load(cache_file)["feats"].astype(np.float64)
    for f in files:  # clean-fid's loader fails with a traceback and no name: find a bad file first
        load_image(f)
    feats = get_files_features(
        files, model=extractor, num_workers=num_workers, batch_size=batch_size, device=extractor.device,
        mode=MODE, description=f"features {label}", verbose=progress,
    ).astype(np.float64)
    if cache_file is not None:
        _save_npz(cache_file, feats=feats.astype(np.float32), extractor=extractor.name, count=len(feats))
    return feats


def batches_features(batches: Iterable[torch.Tensor], extractor: FeatureExtractor, *, batch_size: int = 32) -> np.ndarray:
    """Features of a stream of image batches (each ``B x 3 x H x W`` in ``[-1, 1]``)."""
    chunks = [tensor_features(batch, extractor, batch_size=batch_size) for batch in batches]
    if not chunks:
        raise DataError("no images to compute features of")
    return np.concatenate(chunks)


def _load_inputs(inputs: Any, size: int | None) -> Iterable[torch.Tensor]:
    """Inputs to translate: a tensor, a folder (read as RGB, optionally resized) or an iterable."""
    if isinstance(inputs, torch.Tensor):
        _check_images(inputs, "inputs")
        return [inputs]
    if isinstance(inputs, (str, os.PathLike)):
        from gancraft.data.image_sets import load_images

        return (load_images([f], size) for f in image_files(inputs))
    return inputs


def translated_features(
    translator: Callable[..., torch.Tensor], inputs: Any, extractor: FeatureExtractor, *,
    condition: Mapping[str, Any] | None = None, batch_size: int = 32, size: int | None = None,
    translator_device: str | torch.device | None = None,
) -> np.ndarray:
    """Features of ``translator(x, **condition)`` over every image of ``inputs``."""
    condition = dict(condition or {})
    chunks: list[np.ndarray] = []
    pending: list[torch.Tensor] = []

    def flush() -> None:
        if pending:
            x = torch.cat(pending)
            pending.clear()
            for start in range(0, len(x), batch_size):
                batch = x[start:start + batch_size]
                if translator_device is not None:
                    batch = batch.to(translator_device)
                with torch.no_grad():
                    out = translator(batch, **condition)
                chunks.append(tensor_features(out.float().cpu(), extractor, batch_size=batch_size))

    for x in _load_inputs(inputs, size):
        pending.append(x)
        if sum(len(p) for p in pending) >= batch_size:
            flush()
    flush()
    if not chunks:
        raise DataError("no inputs to translate; give a folder or tensor of images")
    return np.concatenate(chunks)


# --------------------------------------------------------------------------- reference statistics


def _save_npz(path: Path, **arrays: Any) -> None:
    """Write atomically (temp file, then rename), so a crash never leaves half a cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def reference_stats_path(name: str) -> Path:
    """Where :func:`make_reference_stats` keeps the statistics called ``name``."""
    return cache_dir() / "fid" / "stats" / f"{name}.npz"


def make_reference_stats(
    name_or_path: str | os.PathLike[str], folder: str | os.PathLike[str], *, extractor: Any = None,
    device: str | torch.device | None = None, num_workers: int = 0, batch_size: int = 32,
) -> Path:
    """Compute and keep a folder's features as a statistics file; returns its path.

    ``name_or_path`` is a name (kept in gancraft's cache) or a path ending in ``.npz``.
    Pass the name or path later as the reference of :func:`compute_fid_kid`.
    """
    ext = resolve_extractor(extractor, device=resolve_device(device))
    feats = folder_features(folder, ext, batch_size=batch_size, num_workers=num_workers, cache=False)
    target = Path(name_or_path) if str(name_or_path).endswith(".npz") else reference_stats_path(str(name_or_path))
    _save_npz(target, feats=feats.astype(np.float32), mu=feats.mean(0), sigma=np.cov(feats, rowvar=False),
              extractor=ext.name, mode=MODE, count=len(feats))
    return target


def _stats_file(source: Any) -> Path | None:
    if not isinstance(source, (str, os.PathLike)):
        return None
    text = str(source)
    if text.endswith(".npz"):
        if not Path(text).is_file():
            raise DataError(f"statistics file {text} not found; make it with make_reference_stats")
        return Path(text)
    if not Path(text).exists() and reference_stats_path(text).is_file():
        return reference_stats_path(text)
    return None


def source_features(
    source: Any, extractor: FeatureExtractor, *, inputs: Any = None, condition: Mapping[str, Any] | None = None,
    batch_size: int = 32, num_workers: int = 0, cache: bool = True, size: int | None = None,
) -> np.ndarray:
    """Features of any image source (see the module docstring)."""
    stats = _stats_file(source)
    if stats is not None:
        with np.load(stats) as data:
            made_with = str(data["extractor"]) if "extractor" in data else None
            if made_with is not None and made_with != extractor.name:
                raise ConfigError(
                    f"statistics {stats} were made with {made_with!r}, not {extractor.name!r}; "
                    "remake them with this extractor"
                )
            return data["feats"].astype(np.float64)
    if isinstance(source, (str, os.PathLike)):
        return folder_features(source, extractor, batch_size=batch_size, num_workers=num_workers, cache=cache)
    if isinstance(source, torch.Tensor):
        return tensor_features(source, extractor, batch_size=batch_size, num_workers=num_workers)
    if isinstance(source, np.ndarray):
        return _as_features(source, "features")
    if callable(source):
        if inputs is None:
            raise ConfigError("a translator needs inputs= (a folder or tensor of images to translate)")
        return translated_features(source, inputs, extractor, condition=condition, batch_size=batch_size, size=size)
    raise ConfigError(f"cannot compute features of {type(source).__name__}; give a folder, tensor or translator")


# --------------------------------------------------------------------------- public entry points


def compute_fid_kid(
    fake: ImageSource, real: ImageSource, *, extractor: Any = None, device: str | torch.device | None = None,
    num_workers: int = 0, batch_size: int = 32, inputs: Any = None, condition: Mapping[str, Any] | None = None,
    size: int | None = None, kid: bool = True, kid_seed: int = 0, kid_subsets: int = 100,
    kid_subset_size: int = 1000, cache: bool = True,
) -> dict[str, Any]:
    """FID and KID of ``fake`` against ``real``, with the extractor and counts for the report.

    ``device`` defaults to CUDA when present, else the CPU; ``num_workers`` (resize
    workers) defaults to 0. Only the ``real`` side uses the feature cache.
    """
    ext = resolve_extractor(extractor, device=resolve_device(device))
    fake_feats = source_features(fake, ext, inputs=inputs, condition=condition, batch_size=batch_size,
                                 num_workers=num_workers, cache=False, size=size)
    real_feats = source_features(real, ext, batch_size=batch_size, num_workers=num_workers, cache=cache)
    result: dict[str, Any] = {
        "fid": fid_from_features(fake_feats, real_feats),
        "n_fake": int(len(fake_feats)),
        "n_real": int(len(real_feats)),
        "extractor": ext.describe(),
        "mode": MODE,
    }
    if kid:
        result["kid"] = kid_from_features(fake_feats, real_feats, seed=kid_seed, num_subsets=kid_subsets,
                                          max_subset_size=kid_subset_size)
        result["kid_seed"] = kid_seed
    log.info("FID %.4f over %d vs %d images with %s", result["fid"], len(fake_feats), len(real_feats), ext.name)
    return result


def compute_fid(fake: ImageSource, real: ImageSource, **kwargs: Any) -> float:
    """FID of ``fake`` against ``real`` (keywords as :func:`compute_fid_kid`)."""
    return float(compute_fid_kid(fake, real, kid=False, **kwargs)["fid"])


def compute_kid(fake: ImageSource, real: ImageSource, **kwargs: Any) -> float:
    """KID of ``fake`` against ``real`` (keywords as :func:`compute_fid_kid`)."""
    return float(compute_fid_kid(fake, real, **kwargs)["kid"])


@METRICS.register("fid")
class FIDMetric:
    """FID (and KID) of each selected task's outputs against real images of the task's target domain.

    For every task matching ``tasks`` (shell patterns) and ``guidance`` (in that order) and
    every source domain of it, each image of the ``source_split`` set is translated
    (``num_outs`` times for latent/reference guidance, codes from ``seed``, references
    drawn from the target's ``source_split`` set); the outputs are compared with the
    target's ``real_split`` set. Keys: ``FID/<task>`` for fixed tasks, ``FID_<guidance>/<src>2<trg>``
    for guided ones (``KID...`` likewise), and ``.../mean`` over a guidance's tasks with ``mean``.
    ``images``/``real_images``: how many a data set that renders makes per domain.
    """

    def __init__(self, tasks: Sequence[str] = ("*",), guidance: Sequence[str] = ("fixed", "latent", "reference"),
                 source_split: str = "test", real_split: str = "test", num_images: int | None = None,
                 num_real: int | None = None, images: int = 500, real_images: int = 500, num_outs: int = 1,
                 kid: bool = True, kid_seed: int = 0, kid_subsets: int = 100, kid_subset_size: int = 1000,
                 mean: bool = False, extractor: Any = None, batch_size: int = 32, num_workers: int = 0,
                 cache: bool = True, seed: int | None = None, progress: bool = False) -> None:
        self.tasks, self.guidance = list(tasks), list(guidance)
        self.source_split, self.real_split = source_split, real_split
        self.num_images, self.num_real, self.images, self.real_images = num_images, num_real, images, real_images
        self.num_outs, self.kid, self.mean, self.seed, self.progress = int(num_outs), bool(kid), bool(mean), seed, progress
        self.kid_options = {"seed": int(kid_seed), "num_subsets": int(kid_subsets), "max_subset_size": int(kid_subset_size)}
        self.extractor, self.batch_size, self.num_workers, self.cache = extractor, int(batch_size), int(num_workers), bool(cache)

    def _sources(self, context: Any, domain: str) -> Any:
        return context.image_set(self.source_split, domain, self.num_images or self.images).limit(self.num_images)

    def _real(self, context: Any, domain: str, ext: FeatureExtractor) -> np.ndarray:
        key = ("fid-real", id(ext), self.real_split, domain, self.num_real, self.real_images, self.batch_size)
        if key not in context.cache:
            images = context.image_set(self.real_split, domain, self.num_real or self.real_images).limit(self.num_real)
            if images.files is not None:
                feats = files_features(images.files, ext, batch_size=self.batch_size, num_workers=self.num_workers,
                                       cache=self.cache, label=images.name.replace("/", "_"))
            else:
                feats = batches_features(images.batches(self.batch_size), ext, batch_size=self.batch_size)
            context.cache[key] = feats
        return context.cache[key]

    def __call__(self, context: Any) -> dict[str, float]:
        from tqdm import tqdm

        from gancraft.evaluation.context import guided_outputs, reference_stream, task_label

        ext = resolve_extractor(self.extractor, device=context.device)
        context.report.extractor = ext.describe()
        counts = context.report.counts
        seed = context.seed if self.seed is None else int(self.seed)
        selected = context.select_tasks(self.tasks, self.guidance, "metric fid")
        metrics: dict[str, float] = {}
        for guidance in dict.fromkeys(t.guidance for t in selected):
            group = [t for t in selected if t.guidance == guidance]
            generator = torch.Generator().manual_seed(seed)
            streams: dict[str, Any] = {}
            tables: dict[str, dict[str, float]] = {"FID": {}, "KID": {}}
            pairs = [(task, src) for task in group for src in task.sources(context.domains)]
            for task, src in tqdm(pairs, desc=f"fid {guidance}", unit="task", disable=not self.progress):
                label, target = task_label(task, src), task.target
                real = self._real(context, target, ext)
                sources = self._sources(context, src)
                if target not in streams:
                    streams[target] = reference_stream(self._sources(context, target), self.batch_size, seed)
                outputs = guided_outputs(context, task, sources, num_outs=self.num_outs, batch_size=self.batch_size,
                                         generator=generator, references=lambda t=target: streams[t])
                fake = np.concatenate([tensor_features(out, ext, batch_size=self.batch_size) for group_ in outputs for out in group_])
                name = label if guidance == "fixed" else f"{guidance}/{label}"
                tables["FID"][label] = fid_from_features(fake, real)
                if self.kid:
                    tables["KID"][label] = kid_from_features(fake, real, **self.kid_options)
                counts[f"{name}/fake"] = len(fake)
                if guidance == "fixed":
                    counts[f"{name}/real"] = len(real)
                else:
                    counts[f"real/{target}"], counts[f"source/{src}"] = len(real), len(sources)
            for prefix, table in tables.items():
                if table and self.mean:
                    table["mean"] = float(np.mean(list(table.values())))
                head = prefix if guidance == "fixed" else f"{prefix}_{guidance}"
                metrics.update({f"{head}/{label}": value for label, value in table.items()})
        return metrics
