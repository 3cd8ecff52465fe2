"""What every metric is given: :class:`EvalContext`, and what it writes back: :class:`Report`.

A metric is built from :data:`gancraft.core.registry.METRICS` with its options and
called as ``metric(context) -> {name: value}``. The context holds the model's
translation function and tasks, the held-out image sets (from the data set, or
folders the protocol names), the device, the image size and the seed; the metric
adds its counts, notes and tables to ``context.report``. Nothing here knows a model
or a data set by name.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gancraft.core.errors import ConfigError
from gancraft.data.image_io import list_images
from gancraft.data.image_sets import ImageSet
from gancraft.models.tasks import GUIDANCE, TranslationTask


@dataclass
class Report:
    """What metrics say besides their numbers: image counts, notes, extractor/LPIPS files, detail tables."""

    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extractor: dict[str, Any] | None = None
    lpips: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)  # kept in metrics.json under their keys
    tables: list[tuple[str, str]] = field(default_factory=list)  # (heading, Markdown) for metrics.md

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass
class EvalContext:
    """A model under evaluation: ``translate(images, **task.condition(...))`` and its ``tasks``."""

    translate: Callable[..., torch.Tensor]
    tasks: list[TranslationTask]
    size: int
    device: torch.device
    dataset: Callable[[str], Any] | None = None  # builds the data set of a split, which offers ``evaluation_sets``
    folders: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)  # split -> domain -> folder
    roots: Mapping[str, str | None] = field(default_factory=dict)  # split -> folder of <domain>/ folders
    seed: int = 0
    out_dir: Path | None = None
    report: Report = field(default_factory=Report)
    cache: dict[Any, Any] = field(default_factory=dict)  # shared by metrics (e.g. FID and KID features)

    # --- tasks --------------------------------------------------------------------
    @property
    def domains(self) -> list[str]:
        """Every domain the tasks name, in the order they first appear."""
        seen: list[str] = []
        for task in self.tasks:
            for d in (task.source, task.target):
                if d is not None and d not in seen:
                    seen.append(d)
        return seen

    def select_tasks(self, patterns: Sequence[str] = ("*",), guidance: Sequence[str] = GUIDANCE, what: str = "metric") -> list[TranslationTask]:
        """Tasks whose name matches one of ``patterns`` (shell style), grouped by ``guidance`` in that order."""
        bad = [g for g in guidance if g not in GUIDANCE]
        if bad:
            raise ConfigError(f"{what}: guidance {', '.join(map(repr, bad))} is not one of {', '.join(GUIDANCE)}")
        chosen = [t for g in guidance for pattern in patterns for t in self.tasks
                  if t.guidance == g and fnmatch.fnmatchcase(t.name, pattern)]
        chosen = list(dict.fromkeys(chosen))  # a task matched by two patterns runs once
        if not chosen:
            names = ", ".join(t.name for t in self.tasks) or "none"
            raise ConfigError(f"{what}: no task of this model matches {', '.join(patterns)} ({', '.join(guidance)}); "
                              f"the model's tasks: {names}")
        return chosen

    def run(self, task: TranslationTask, images: torch.Tensor, **guide: Any) -> torch.Tensor:
        """``task`` on a batch, as float images on the CPU."""
        with torch.no_grad():
            return self.translate(images, **task.condition(**guide)).float().cpu()

    # --- images -------------------------------------------------------------------
    def evaluation_sets(self, split: str, n: int | None = None) -> dict[str, ImageSet]:
        """``{domain: ImageSet}`` of ``split``: folders the protocol names (``folders.<split>.<domain>``,
        or ``roots.<split>`` holding one folder per domain), else the data set's own (``n``: how many
        images a data set that renders them makes per domain)."""
        key = ("sets", split, n)
        if key not in self.cache:
            given = {d: f for d, f in (self.folders.get(split) or {}).items() if f}
            if self.roots.get(split):
                given = {d: str(Path(self.roots[split]) / d) for d in self.domains} | given
            sets: dict[str, ImageSet] = {}
            if len(given) < len(self.domains):
                if self.dataset is None:
                    raise ConfigError(f"no data set to take {split} images from; give the folders of each domain")
                data = self.dataset(split)
                if not hasattr(data, "evaluation_sets"):
                    raise ConfigError(f"data set {type(data).__name__} offers no evaluation images; give the folders of each domain")
                sets.update(data.evaluation_sets(split, n, self.size))
            sets.update({d: ImageSet(f"{split}/{d}", files=list_images(folder), size=self.size) for d, folder in given.items()})
            for image_set in sets.values():
                if image_set.note:
                    self.report.note(image_set.note)
            self.cache[key] = sets
        return self.cache[key]

    def evaluation_pairs(self, split: str, n: int | None = None) -> dict[tuple[str, str], tuple[ImageSet, ImageSet]]:
        """``{(source, target): (inputs, exact targets)}`` where the data set has ground truth, else empty."""
        key = ("pairs", split, n)
        if key not in self.cache:
            data = self.dataset(split) if self.dataset is not None else None
            offer = getattr(data, "evaluation_pairs", None)
            self.cache[key] = offer(split, n, self.size) if offer is not None else {}
        return self.cache[key]

    def image_set(self, split: str, domain: str, n: int | None = None) -> ImageSet:
        sets = self.evaluation_sets(split, n)
        if domain not in sets:
            raise ConfigError(f"the {split} images have no domain {domain!r} (they have {', '.join(sets)}); "
                              "do the model's and the data set's domains agree?")
        return sets[domain]


def guided_outputs(context: EvalContext, task: TranslationTask, sources: ImageSet, *, num_outs: int, batch_size: int,
                   generator: torch.Generator, references: Callable[[], Iterator[torch.Tensor]] | None = None,
                   ) -> Iterator[list[torch.Tensor]]:
    """For each batch of ``sources``: the task's outputs, ``num_outs`` batches of them (one for a
    fixed task). Latent codes come from ``generator``; reference images from ``references()``, a
    stream of target images shared by the tasks into that target."""
    for x in sources.batches(batch_size):
        n = x.shape[0]
        if task.guidance == "fixed":
            yield [context.run(task, x)]
            continue
        group = []
        for _ in range(num_outs):
            if task.guidance == "latent":
                group.append(context.run(task, x, z=torch.randn(n, task.latent_dim, generator=generator)))
            else:
                stream = references()
                x_ref = next(stream)
                while x_ref.shape[0] < n:  # fewer references than sources: reuse them
                    x_ref = torch.cat([x_ref, next(stream)])
                group.append(context.run(task, x, reference=x_ref[:n]))
        yield group


def reference_stream(images: ImageSet, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Reference batches of one domain, reshuffled each pass, full batches only (as a training loader
    with drop_last would give them)."""
    if len(images) == 0:
        raise ConfigError(f"no reference images in {images.name}")
    rng = random.Random(seed)
    while True:
        order = list(range(len(images)))
        rng.shuffle(order)
        usable = len(order) - len(order) % batch_size if len(order) >= batch_size else len(order)
        yield from images.batches(batch_size, order[:usable])


def task_label(task: TranslationTask, source: str) -> str:
    """How a (task, source domain) pair is named in metric keys: the task's name when it has one
    source, else ``<source>2<target>``."""
    return task.name if task.source is not None else f"{source}2{task.target}"
