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
model is given. ``diversity_l1_band_gt/<t>`` is the same L1 among the world's own renders of
those faces, each wearing ``num_outs`` random glasses of style ``t``, and
``diversity_ratio/<t>`` the model's over the world's (1: as varied as real glasses of the style).

Fidelity against exact ground truth (:mod:`gancraft.evaluation.style_truth`): a
reference-guided output should be its source face wearing the reference's own glasses.
``reference_band_psnr/<t>`` is the PSNR inside the glasses band between the outputs and
those renders (pooled over faces; for ``no_glasses`` the truth is the bare source face);
``reference_frame_colour/<style>`` the share of outputs whose frame shows the reference's
frame colour (the nearest palette colour as rendered on the truth's frame pixels).
``identity_psnr/<t>`` compares every output (latent- and reference-guided) with its input
outside the band. ``.../mean`` averages the domains (PSNR: from the mean squared error).

:func:`style_grid` shows a few faces: the input, then per domain several latent-guided
outputs, the reference and the reference-guided output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from gancraft.core.errors import ConfigError
from gancraft.core.registry import METRICS
from gancraft.core.reports import markdown_table, save_grid
from gancraft.evaluation.world_metrics import masked_sq_error, psnr_from_mse
from gancraft.models.tasks import TranslationTask

Translate = Callable[..., torch.Tensor]
GRID_FILE = "world_styles_grid.png"


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


def style_tasks(tasks: Sequence[TranslationTask]) -> tuple[dict[str, TranslationTask], dict[str, TranslationTask], list[str]]:
    """``(latent, reference, domains)``: the latent- and reference-guided task into each domain, and the
    domains that have both (at least two, else a one-line error)."""
    latent = {t.target: t for t in tasks if t.guidance == "latent" and t.source is None}
    by_reference = {t.target: t for t in tasks if t.guidance == "reference" and t.source is None}
    domains = [d for d in latent if d in by_reference]
    if len(domains) < 2:
        raise ConfigError("world_styles needs a multi-domain model: latent- and reference-guided tasks into at least two domains")
    return latent, by_reference, domains


def _sources(es: Any, domains: Sequence[str], n: int) -> tuple[torch.Tensor, Callable[[str], torch.Tensor]]:
    """The inputs (face ``i`` in domain ``domains[i % D]``) and each domain's renders of every face."""
    from gancraft.world.styles import NO_GLASSES

    def rendered(domain: str) -> torch.Tensor:
        return es.no_glasses if domain == NO_GLASSES else es.styled[domain]

    return torch.stack([rendered(domains[i % len(domains)])[i] for i in range(n)]), rendered


def _cpu(images: torch.Tensor) -> torch.Tensor:
    return images.detach().float().cpu().clamp(-1, 1)


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
    from gancraft.evaluation.style_truth import frame_colours, random_glasses_renders, reference_truths
    from gancraft.evaluation.world_metrics import build_eval_set
    from gancraft.world.oracle import load_oracle
    from gancraft.world.styles import NO_GLASSES

    latent, by_reference, domains = style_tasks(tasks)
    if num_outs < 2:
        raise ConfigError(f"diversity needs at least two outputs per face, got num_outs={num_outs}")
    oracle = oracle or load_oracle()
    unknown = [d for d in domains if d != NO_GLASSES and d not in oracle.classes]
    if unknown:
        raise ConfigError(f"the glasses-world oracle knows {', '.join(oracle.classes)}; the model's domain(s) {', '.join(unknown)} are not among them")
    styles = [d for d in domains if d != NO_GLASSES]
    es = build_eval_set(n, size, styles)
    sources, rendered = _sources(es, domains, n)
    g = torch.Generator().manual_seed(seed)
    result: dict[str, Any] = {"n": n, "size": size, "domains": domains, "num_outs": num_outs, "n_diversity": min(n_diversity, n),
                              "latent_accuracy": {}, "reference_accuracy": {}, "confusion": {},
                              "reference_band_psnr": {}, "reference_frame_colour": {}, "identity_psnr": {},
                              "diversity_l1_band": {}, "diversity_l1_band_gt": {}, "diversity_ratio": {}, "diversity_lpips": {}}
    band_mse: dict[str, float] = {}
    identity_mse: dict[str, float] = {}
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
        # Fidelity: the truth is the source face wearing the reference's own glasses (face (i + 1) % n's).
        from_reference, from_latent = _cpu(from_reference), _cpu(from_latent)
        if target == NO_GLASSES:
            truth = es.no_glasses[idx]
        else:
            truths = reference_truths([es.seeds[i] for i in idx], [es.seeds[(i + 1) % n] for i in idx], target, size)
            truth = truths.images
            shown = frame_colours(from_reference, truths)
            result["reference_frame_colour"][target] = sum(a == b for a, b in zip(shown, truths.colours)) / k
        band_mse[target] = float(masked_sq_error(from_reference, truth, es.band[idx]).mean())
        result["reference_band_psnr"][target] = psnr_from_mse(band_mse[target])
        outside = ~es.band[idx]
        identity_mse[target] = float(torch.cat([masked_sq_error(out, x.float(), outside) for out in (from_latent, from_reference)]).mean())
        result["identity_psnr"][target] = psnr_from_mse(identity_mse[target])
    for key in ("latent_accuracy", "reference_accuracy"):
        result[f"{key}_mean"] = sum(result[key].values()) / len(domains)
    result["reference_frame_colour_mean"] = sum(result["reference_frame_colour"].values()) / max(1, len(styles))
    result["reference_band_psnr_mean"] = psnr_from_mse(sum(band_mse.values()) / len(domains))
    result["identity_psnr_mean"] = psnr_from_mse(sum(identity_mse.values()) / len(domains))
    m = result["n_diversity"]
    chunk = max(1, batch_size // num_outs)
    plain, band = es.no_glasses[:m].split(chunk), es.band[:m].split(chunk)
    seeds = torch.tensor(es.seeds[:m]).split(chunk)
    for style in styles:
        l1, l1_gt, lp = [], [], []
        for faces, bands, face_seeds in zip(plain, band, seeds):
            outs = translate(faces, **latent[style].condition(num=num_outs, seed=seed))  # B x K x 3 x H x W
            l1.append(mean_pairwise_band_l1(outs.cpu().float(), bands))
            l1_gt.append(mean_pairwise_band_l1(random_glasses_renders(face_seeds.tolist(), size, style, num_outs, seed), bands))
            if lpips_model is not None:
                lp.append(lpips_diversity(outs.transpose(0, 1), model=lpips_model) * outs.shape[0])
        result["diversity_l1_band"][style] = float(torch.cat(l1).mean())
        result["diversity_l1_band_gt"][style] = gt = float(torch.cat(l1_gt).mean())
        result["diversity_ratio"][style] = result["diversity_l1_band"][style] / gt if gt > 0 else math.nan
        if lp:
            result["diversity_lpips"][style] = sum(lp) / m
    if not result["diversity_lpips"]:
        del result["diversity_lpips"]
    return result


def style_grid(translate: Translate, tasks: Sequence[TranslationTask], *, faces: int = 6, size: int = 64,
               num_outs: int = 3, seed: int = 0) -> list[torch.Tensor]:
    """Rows of a picture, one per test face (the first ``faces``, entering as in :func:`style_metrics`):
    the input, then for each domain ``num_outs`` latent-guided outputs, the reference and the
    reference-guided output; each row ``(1 + D (num_outs + 2), 3, H, W)``."""
    from gancraft.evaluation.world_metrics import build_eval_set
    from gancraft.world.styles import NO_GLASSES

    latent, by_reference, domains = style_tasks(tasks)
    es = build_eval_set(faces + 1, size, [d for d in domains if d != NO_GLASSES])  # face i's reference is face i + 1
    sources, rendered = _sources(es, domains, faces)
    columns = [sources]
    for target in domains:
        outs = _cpu(translate(sources, **latent[target].condition(num=num_outs, seed=seed)))
        if outs.dim() == 4:  # a single output comes without its K axis
            outs = outs[:, None]
        references = rendered(target)[1:faces + 1]
        columns += [*outs.unbind(1), references, _cpu(translate(sources, **by_reference[target].condition(reference=references)))]
    return list(torch.stack(columns, 1).unbind(0))


def _cell(result: dict[str, Any], table: str, d: str, kind: str = "") -> str:
    v = result.get(table, {}).get(d, math.nan)
    if math.isnan(v):
        return "–"
    if math.isinf(v):
        return "∞"
    return f"{100 * v:.1f} %" if kind == "%" else f"{v:.2f} dB" if kind == "dB" else f"{v:.3f}"


def style_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of the style table, formatted: one row per domain, then the means."""
    lpips = "diversity_lpips" in result
    columns = [("latent-guided", "latent_accuracy", "%"), ("reference-guided", "reference_accuracy", "%"),
               ("reference frame colour", "reference_frame_colour", "%"), ("reference band PSNR", "reference_band_psnr", "dB"),
               ("identity PSNR", "identity_psnr", "dB"), ("diversity L1 (band)", "diversity_l1_band", ""),
               ("ground truth L1", "diversity_l1_band_gt", ""), ("ratio", "diversity_ratio", "")]
    columns += [("diversity LPIPS", "diversity_lpips", "")] if lpips else []
    rows = [[d, *(_cell(result, table, d, kind) for _, table, kind in columns)] for d in result["domains"]]
    means = {table: {"mean": result[f"{table}_mean"]} for _, table, _ in columns if f"{table}_mean" in result}
    rows.append(["mean", *(_cell(means, table, "mean", kind) if table in means else "" for _, table, kind in columns)])
    return ["domain", *(name for name, _, _ in columns)], rows


def style_table(result: dict[str, Any]) -> str:
    """A Markdown table: one row per domain, accuracy (latent, reference), reference-guided fidelity
    against the ground truth, identity and diversity (the model's, the world's, their ratio)."""
    return markdown_table(*style_rows(result))


@METRICS.register("world_styles")
class WorldStyles:
    """Style accuracy, fidelity and diversity of a multi-domain model on the glasses world (module
    docstring): keys ``latent_accuracy/<d>``, ``reference_accuracy/<d>``, ``reference_band_psnr/<d>``,
    ``reference_frame_colour/<style>``, ``identity_psnr/<d>``, each with ``/mean``;
    ``diversity_l1_band/<style>``, ``diversity_l1_band_gt/<style>``, ``diversity_ratio/<style>`` and,
    with LPIPS (``lpips``: true, false or auto), ``diversity_lpips/<style>``. With an output folder
    it also writes :data:`GRID_FILE` (``grid_faces`` rows, ``grid_outs`` latent outputs per domain;
    ``grid_faces=0``: none)."""

    def __init__(self, n: int = 100, size: int | None = None, num_outs: int = 10, n_diversity: int = 20,
                 batch_size: int = 32, lpips: bool | str = "auto", lpips_weights: str | None = None,
                 seed: int | None = None, oracle_path: str | None = None, grid_faces: int = 6, grid_outs: int = 3) -> None:
        if int(num_outs) < 2:
            raise ConfigError(f"diversity needs at least two outputs per face, got num_outs={num_outs}")
        if int(grid_faces) < 0 or int(grid_outs) < 1:
            raise ConfigError(f"world_styles grid needs grid_faces >= 0 and grid_outs >= 1, got {grid_faces} and {grid_outs}")
        self.n, self.size, self.num_outs, self.n_diversity = int(n), size, int(num_outs), int(n_diversity)
        self.batch_size, self.lpips, self.lpips_weights, self.seed = int(batch_size), lpips, lpips_weights, seed
        self.oracle_path, self.grid_faces, self.grid_outs = oracle_path, int(grid_faces), int(grid_outs)

    def __call__(self, context: Any) -> dict[str, float]:
        from gancraft.evaluation.lpips import optional_lpips
        from gancraft.world.oracle import load_oracle

        tasks = [t for t in context.tasks if t.guidance in ("latent", "reference")]
        if len({t.target for t in tasks}) < 2:
            raise ConfigError("world_styles needs a multi-domain model: latent- and reference-guided tasks into at least two domains")
        lp_model = optional_lpips(self.lpips, self.lpips_weights, context.device, context.report)
        size, seed = int(self.size or context.size), context.seed if self.seed is None else int(self.seed)
        result = style_metrics(context.translate, tasks, n=self.n, size=size,
                               num_outs=self.num_outs, n_diversity=self.n_diversity, lpips_model=lp_model,
                               oracle=load_oracle(self.oracle_path), batch_size=self.batch_size, seed=seed)
        metrics: dict[str, float] = {}
        for table in ("latent_accuracy", "reference_accuracy", "reference_band_psnr", "reference_frame_colour", "identity_psnr",
                      "diversity_l1_band", "diversity_l1_band_gt", "diversity_ratio", "diversity_lpips"):
            metrics.update({f"{table}/{d}": v for d, v in result.get(table, {}).items()})
            if f"{table}_mean" in result:
                metrics[f"{table}/mean"] = result[f"{table}_mean"]
        context.report.counts.update({"faces": result["n"], "diversity_faces": result["n_diversity"]})
        context.report.tables.append(("Glasses world", style_table(result)))
        if context.out_dir is not None and self.grid_faces:
            rows = style_grid(context.translate, tasks, faces=min(self.grid_faces, self.n), size=size, num_outs=self.grid_outs, seed=seed)
            save_grid(rows, Path(context.out_dir) / GRID_FILE)
            result["grid"] = GRID_FILE  # relative to metrics.json
            context.report.tables.append(("Glasses world samples", f"![each row: the input; per domain ({', '.join(result['domains'])}): "
                                          f"{self.grid_outs} latent-guided outputs, the reference, the reference-guided output]({GRID_FILE})"))
        context.report.details["world_styles"] = result
        return metrics
