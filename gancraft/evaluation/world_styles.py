"""Style metrics of a multi-domain model on the glasses world, judged by the oracle.

On ``n`` held-out test faces, face ``i`` enters in domain ``domains[i % D]`` (no glasses,
or wearing that style), and is translated into every other domain ``t`` (as in the
reference's evaluation, a face already in ``t`` is not a task, so an unchanged input
never scores):

* **latent-guided**: one style code per face from a seeded latent code;
  ``latent_accuracy/<t>`` is the share the oracle labels ``t``;
* **reference-guided**: the style code read from another test face rendered in ``t``;
  ``reference_accuracy/<t>`` likewise;
* ``*_accuracy/mean`` averages the domains; ``confusion`` holds what the oracle saw for
  each latent-guided target (a wrong style and a missing frame are different failures).

Diversity (the model's point: several recommendations per face): the first
``n_diversity`` no-glasses faces get ``num_outs`` latent-guided outputs each in every
glasses domain; ``diversity_l1_band/<t>`` is the mean pairwise L1 distance (images in
[-1, 1], mean over channels) inside the glasses band, averaged over pairs and faces;
``diversity_lpips/<t>`` the mean pairwise LPIPS (the diversity measure of Choi et al., 2020) when an LPIPS
model is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from gancraft.core.errors import ConfigError
from gancraft.core.registry import METRICS
from gancraft.core.reports import markdown_table
from gancraft.models.tasks import TranslationTask

Translate = Callable[..., torch.Tensor]


def mean_pairwise_band_l1(outputs: torch.Tensor, band: torch.Tensor) -> torch.Tensor:
    """``(B, K, 3, H, W)`` outputs and ``(B, H, W)`` band masks -> ``(B,)`` mean L1 over the ``K (K-1) / 2``
    pairs, inside the band."""
    k = outputs.shape[1]
    if k < 2:
        raise ConfigError("diversity needs at least two outputs per face (num_outs >= 2)")
    a, b = torch.triu_indices(k, k, offset=1)
    diff = (outputs[:, a] - outputs[:, b]).abs().mean(2)  # B x pairs x H x W
    m = band[:, None].to(diff.dtype)
    return (diff * m).flatten(2).sum(2).div(m.flatten(2).sum(2).clamp_min(1)).mean(1)


def style_metrics(
    translate: Translate,
    tasks: Sequence[TranslationTask],
    *,
    n: int = 100,
    size: int = 64,
    num_outs: int = 10,
    n_diversity: int = 20,
    oracle: Any = None,
    lpips_model: Any = None,
    batch_size: int = 32,
    seed: int = 0,
) -> dict[str, Any]:
    """Oracle style accuracy (latent and reference) and diversity of ``translate(x, **task.condition(...))``
    over a multi-domain model's latent- and reference-guided ``tasks`` (one of each per domain).
    See the module docstring for the keys."""
    from gancraft.evaluation.lpips import lpips_diversity
    from gancraft.evaluation.world_metrics import build_eval_set
    from gancraft.world.oracle import load_oracle
    from gancraft.world.styles import NO_GLASSES

    latent = {t.target: t for t in tasks if t.guidance == "latent" and t.source is None}
    by_reference = {t.target: t for t in tasks if t.guidance == "reference" and t.source is None}
    domains = [d for d in latent if d in by_reference]
    if len(domains) < 2:
        raise ConfigError("world_styles needs a multi-domain model: latent- and reference-guided tasks into at least two domains")
    if num_outs < 2:
        raise ConfigError(f"diversity needs at least two outputs per face, got num_outs={num_outs}")
    oracle = oracle or load_oracle()
    unknown = [d for d in domains if d != NO_GLASSES and d not in oracle.classes]
    if unknown:
        raise ConfigError(f"the glasses-world oracle knows {', '.join(oracle.classes)}; the model's domain(s) {', '.join(unknown)} are not among them")
    styles = [d for d in domains if d != NO_GLASSES]
    es = build_eval_set(n, size, styles)

    def rendered(domain: str) -> torch.Tensor:
        return es.no_glasses if domain == NO_GLASSES else es.styled[domain]

    sources = torch.stack([rendered(domains[i % len(domains)])[i] for i in range(n)])
    g = torch.Generator().manual_seed(seed)
    result: dict[str, Any] = {"n": n, "size": size, "domains": domains, "num_outs": num_outs, "n_diversity": min(n_diversity, n),
                              "latent_accuracy": {}, "reference_accuracy": {}, "confusion": {},
                              "diversity_l1_band": {}, "diversity_lpips": {}}
    for target in domains:
        # Sources from the other domains only (as the reference's evaluation): an unchanged input never scores.
        idx = torch.tensor([i for i in range(n) if domains[i % len(domains)] != target], dtype=torch.long)
        k = len(idx)
        lt, rt = latent[target], by_reference[target]
        z = torch.randn(k, lt.latent_dim, generator=g)
        x, references = sources[idx], rendered(target)[(idx + 1) % n]  # another face wearing the target
        from_latent = torch.cat([translate(xs, **lt.condition(z=zs)) for xs, zs in zip(x.split(batch_size), z.split(batch_size))])
        from_reference = torch.cat([translate(xs, **rt.condition(reference=rs))
                                    for xs, rs in zip(x.split(batch_size), references.split(batch_size))])
        labels = oracle(from_latent).label
        result["latent_accuracy"][target] = sum(lbl == target for lbl in labels) / k
        result["reference_accuracy"][target] = sum(lbl == target for lbl in oracle(from_reference).label) / k
        result["confusion"][target] = {c: labels.count(c) / k for c in sorted(set(labels))}
    for key in ("latent_accuracy", "reference_accuracy"):
        result[f"{key}_mean"] = sum(result[key].values()) / len(domains)
    m = result["n_diversity"]
    chunk = max(1, batch_size // num_outs)
    plain, band = es.no_glasses[:m].split(chunk), es.band[:m].split(chunk)
    for style in styles:
        l1, lp = [], []
        for faces, bands in zip(plain, band):
            outs = translate(faces, **latent[style].condition(num=num_outs, seed=seed))  # B x K x 3 x H x W
            l1.append(mean_pairwise_band_l1(outs.cpu().float(), bands))
            if lpips_model is not None:
                lp.append(lpips_diversity(outs.transpose(0, 1), model=lpips_model) * outs.shape[0])
        result["diversity_l1_band"][style] = float(torch.cat(l1).mean())
        if lp:
            result["diversity_lpips"][style] = sum(lp) / m
    if not result["diversity_lpips"]:
        del result["diversity_lpips"]
    return result


def style_table(result: dict[str, Any]) -> str:
    """A Markdown table: one row per domain, accuracy (latent, reference) and diversity."""
    lpips = "diversity_lpips" in result
    header = ["domain", "latent-guided", "reference-guided", "diversity L1 (band)"] + (["diversity LPIPS"] if lpips else [])

    def cell(table: str, d: str, percent: bool = False) -> str:
        v = result.get(table, {}).get(d, math.nan)
        return "–" if math.isnan(v) else (f"{100 * v:.1f} %" if percent else f"{v:.3f}")

    rows = [[d, cell("latent_accuracy", d, True), cell("reference_accuracy", d, True), cell("diversity_l1_band", d)]
            + ([cell("diversity_lpips", d)] if lpips else []) for d in result["domains"]]
    rows.append(["mean", f"{100 * result['latent_accuracy_mean']:.1f} %", f"{100 * result['reference_accuracy_mean']:.1f} %", ""]
                + ([""] if lpips else []))
    return markdown_table(header, rows)


@METRICS.register("world_styles")
class WorldStyles:
    """Style accuracy and diversity of a multi-domain model on the glasses world (module docstring):
    keys ``latent_accuracy/<d>``, ``reference_accuracy/<d>``, ``.../mean``, ``diversity_l1_band/<style>``
    and, with LPIPS (``lpips``: true, false or auto), ``diversity_lpips/<style>``."""

    def __init__(self, n: int = 100, size: int | None = None, num_outs: int = 10, n_diversity: int = 20,
                 batch_size: int = 32, lpips: bool | str = "auto", lpips_weights: str | None = None,
                 seed: int | None = None, oracle_path: str | None = None) -> None:
        if int(num_outs) < 2:
            raise ConfigError(f"diversity needs at least two outputs per face, got num_outs={num_outs}")
        self.n, self.size, self.num_outs, self.n_diversity = int(n), size, int(num_outs), int(n_diversity)
        self.batch_size, self.lpips, self.lpips_weights, self.seed = int(batch_size), lpips, lpips_weights, seed
        self.oracle_path = oracle_path

    def __call__(self, context: Any) -> dict[str, float]:
        from gancraft.evaluation.lpips import optional_lpips
        from gancraft.world.oracle import load_oracle

        tasks = [t for t in context.tasks if t.guidance in ("latent", "reference")]
        if len({t.target for t in tasks}) < 2:
            raise ConfigError("world_styles needs a multi-domain model: latent- and reference-guided tasks into at least two domains")
        lp_model = optional_lpips(self.lpips, self.lpips_weights, context.device, context.report)
        result = style_metrics(context.translate, tasks, n=self.n, size=int(self.size or context.size),
                               num_outs=self.num_outs, n_diversity=self.n_diversity, lpips_model=lp_model,
                               oracle=load_oracle(self.oracle_path), batch_size=self.batch_size,
                               seed=context.seed if self.seed is None else int(self.seed))
        metrics: dict[str, float] = {}
        for table in ("latent_accuracy", "reference_accuracy", "diversity_l1_band", "diversity_lpips"):
            metrics.update({f"{table}/{d}": v for d, v in result.get(table, {}).items()})
        metrics.update({f"{t}/mean": result[f"{t}_mean"] for t in ("latent_accuracy", "reference_accuracy")})
        context.report.counts.update({"faces": result["n"], "diversity_faces": result["n_diversity"]})
        context.report.details["world_styles"] = result
        context.report.tables.append(("Glasses world", style_table(result)))
        return metrics
