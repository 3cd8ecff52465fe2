"""What a model can be asked to do, in words any evaluation understands.

A model lists its tasks (:meth:`gancraft.models.base.GANModel.tasks`); evaluation
works only through them and ``model.translate(images, **task.condition(...))``, so a
new model needs no evaluation code. A task names its target domain, its source
domain (``None``: any other domain of the model) and how its output is steered:

* ``fixed``: one output per input (``condition()`` is the task's fixed keywords);
* ``latent``: a style drawn from a latent code: ``condition(z=codes)`` with
  ``codes`` of shape ``(n, latent_dim)``, or ``condition(num=k, seed=s)`` for ``k``
  outputs per input drawn from ``seed`` (``N x k x 3 x H x W``);
* ``reference``: a style read from images of the target domain: ``condition(reference=images)``.

Domain names are the model's own (``A``/``B`` of a two-domain model, or the data
set's domain names); a protocol maps them to meanings where a metric needs one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

GUIDANCE = ("fixed", "latent", "reference")


@dataclass(frozen=True)
class TranslationTask:
    """One translation a model can do: ``name``, ``source`` -> ``target`` domain, steered by ``guidance``."""

    name: str
    target: str
    source: str | None = None
    guidance: str = "fixed"
    fixed: Mapping[str, Any] = field(default_factory=dict, hash=False)  # keywords every call carries (direction=, domain=)
    latent_dim: int = 0  # latent guidance: the size of one code

    def __post_init__(self) -> None:
        if self.guidance not in GUIDANCE:
            raise ValueError(f"task guidance {self.guidance!r} is not one of {', '.join(GUIDANCE)}")
        if self.guidance == "latent" and self.latent_dim < 1:
            raise ValueError(f"latent task {self.name!r} needs latent_dim >= 1")
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))

    def condition(self, **guide: Any) -> dict[str, Any]:
        """The keywords of ``model.translate`` for this task, with the guidance ``guide`` adds
        (``z=``, ``num=``/``seed=`` for latent, ``reference=`` for reference guidance)."""
        allowed = {"fixed": (), "latent": ("z", "num", "seed"), "reference": ("reference",)}[self.guidance]
        wrong = sorted(set(guide) - set(allowed))
        if wrong:
            raise ValueError(f"task {self.name!r} ({self.guidance} guidance) takes no {', '.join(wrong)}")
        return {**self.fixed, **guide}

    def sources(self, domains: list[str]) -> list[str]:
        """The source domains of this task among ``domains``: its own, or every other one."""
        return [self.source] if self.source is not None else [d for d in domains if d != self.target]
