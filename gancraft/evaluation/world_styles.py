"""Style metrics of a multi-domain model (StarGAN v2) on the glasses world, judged by the oracle.

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
``diversity_lpips/<t>`` the mean pairwise LPIPS (StarGAN v2's protocol) when an LPIPS
model is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from gancraft.core.errors import ConfigError

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
    domains: Sequence[str],
    latent_dim: int,
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
    """Oracle style accuracy (latent and reference) and diversity of ``translate`` (a StarGAN v2
    ``Translator.translate``: ``translate(x, domain=, z=)``, ``(x, domain=, reference=)``,
    ``(x, domain=, num=, seed=)``). See the module docstring for the keys."""
    from gancraft.evaluation.lpips import lpips_diversity
    from gancraft.evaluation.world_metrics import build_eval_set
    from gancraft.world.oracle import load_oracle
    from gancraft.world.styles import NO_GLASSES

    domains = list(domains)
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
        z = torch.randn(k, latent_dim, generator=g)
        x, references = sources[idx], rendered(target)[(idx + 1) % n]  # another face wearing the target
        latent = torch.cat([translate(xs, domain=target, z=zs) for xs, zs in zip(x.split(batch_size), z.split(batch_size))])
        reference = torch.cat([translate(xs, domain=target, reference=rs)
                               for xs, rs in zip(x.split(batch_size), references.split(batch_size))])
        labels = oracle(latent).label
        result["latent_accuracy"][target] = sum(lbl == target for lbl in labels) / k
        result["reference_accuracy"][target] = sum(lbl == target for lbl in oracle(reference).label) / k
        result["confusion"][target] = {c: labels.count(c) / k for c in sorted(set(labels))}
    for key in ("latent_accuracy", "reference_accuracy"):
        result[f"{key}_mean"] = sum(result[key].values()) / len(domains)
    m = result["n_diversity"]
    chunk = max(1, batch_size // num_outs)
    plain, band = es.no_glasses[:m].split(chunk), es.band[:m].split(chunk)
    for style in styles:
        l1, lp = [], []
        for faces, bands in zip(plain, band):
            outs = translate(faces, domain=style, num=num_outs, seed=seed)  # B x K x 3 x H x W
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
    head = "| domain | latent-guided | reference-guided | diversity L1 (band) |" + (" diversity LPIPS |" if lpips else "")
    lines = [head, "|---" * (5 if lpips else 4) + "|"]

    def cell(table: str, d: str, percent: bool = False) -> str:
        v = result.get(table, {}).get(d, math.nan)
        return "–" if math.isnan(v) else (f"{100 * v:.1f} %" if percent else f"{v:.3f}")

    for d in result["domains"]:
        row = [d, cell("latent_accuracy", d, True), cell("reference_accuracy", d, True), cell("diversity_l1_band", d)]
        lines.append("| " + " | ".join(row + ([cell("diversity_lpips", d)] if lpips else [])) + " |")
    lines.append(f"| mean | {100 * result['latent_accuracy_mean']:.1f} % | {100 * result['reference_accuracy_mean']:.1f} % | | " + ("|" if lpips else ""))
    return "\n".join(lines)
