"""World metrics: how well a translator adds and removes glasses, measured against ground truth.

A translator is any callable ``fn(images, **condition) -> images`` on float NCHW
tensors in [-1, 1]. On the held-out glasses-world test faces:

* **add** (no-glasses faces in): ``add_success``, the share the oracle says wear
  clear glasses afterwards; with target styles, ``add_style_success/<style>``, the
  share wearing that very style;
* **remove** (the same faces wearing glasses in): ``remove_success``, the share with
  no eyewear afterwards, and ``remove_l1`` / ``remove_psnr`` / ``remove_ssim``
  against the exact no-glasses ground truth;
* **identity kept** (both directions): ``*_identity_psnr`` / ``*_identity_ssim``
  outside the glasses band (a stripe across the eyes holding every style) against
  the input;
* **tone kept** (both directions): ``*_tone_delta_e``, the CIEDE2000 difference of
  the mean facial-skin colour outside the band, input vs output, averaged over faces.

Every number comes overall and per skin-tone group (light / medium / dark).
PSNR is pooled (from the mean squared error over the faces), so one untouched face
does not make a set's PSNR infinite; it is infinite only when no pixel changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from gancraft.core.errors import ConfigError
from gancraft.core.registry import METRICS
from gancraft.core.reports import markdown_table

Translator = Callable[..., torch.Tensor]
GROUPS = ("light", "medium", "dark")


# --- colour ---------------------------------------------------------------------------


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], channels last (..., 3) -> CIE L*a*b* (D65), channels last."""
    rgb = rgb.double().clamp(0, 1)
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = torch.tensor(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]],
        dtype=lin.dtype,
    )
    xyz = lin @ m.T / torch.tensor([0.95047, 1.0, 1.08883], dtype=lin.dtype)
    eps = (6 / 29) ** 3
    f = torch.where(xyz > eps, xyz.clamp_min(eps) ** (1 / 3), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return torch.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def delta_e_2000(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """CIEDE2000 colour difference of L*a*b* colours (channels last), as in Sharma et al. (2005)."""
    lab1, lab2 = lab1.double(), lab2.double()
    l1, a1, b1 = lab1.unbind(-1)
    l2, a2, b2 = lab2.unbind(-1)
    c_bar = (torch.hypot(a1, b1) + torch.hypot(a2, b2)) / 2
    g = 0.5 * (1 - torch.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = torch.hypot(a1p, b1), torch.hypot(a2p, b2)
    h1p = torch.rad2deg(torch.atan2(b1, a1p)) % 360
    h2p = torch.rad2deg(torch.atan2(b2, a2p)) % 360
    zero = (c1p * c2p) == 0
    dh = h2p - h1p
    dh = torch.where(dh > 180, dh - 360, torch.where(dh < -180, dh + 360, dh))
    dh = torch.where(zero, torch.zeros_like(dh), dh)
    d_l, d_c = l2 - l1, c2p - c1p
    d_h = 2 * torch.sqrt(c1p * c2p) * torch.sin(torch.deg2rad(dh) / 2)
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = torch.where(
        (h1p - h2p).abs() <= 180, h_sum / 2, torch.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)
    )
    h_bar = torch.where(zero, h_sum, h_bar)
    rad = torch.deg2rad
    t = (
        1
        - 0.17 * torch.cos(rad(h_bar - 30))
        + 0.24 * torch.cos(rad(2 * h_bar))
        + 0.32 * torch.cos(rad(3 * h_bar + 6))
        - 0.20 * torch.cos(rad(4 * h_bar - 63))
    )
    d_theta = 30 * torch.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * torch.sqrt(cp_bar**7 / (cp_bar**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / torch.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * cp_bar
    s_h = 1 + 0.015 * cp_bar * t
    r_t = -torch.sin(rad(2 * d_theta)) * r_c
    tl, tc, th = d_l / s_l, d_c / s_c, d_h / s_h
    return torch.sqrt((tl**2 + tc**2 + th**2 + r_t * tc * th).clamp_min(0))


# --- image comparisons ----------------------------------------------------------------


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-pixel SSIM (11x11 Gaussian window, sigma 1.5) of images in [-1, 1]: N x H x W, averaged over channels."""
    x, y = (x.double() + 1) / 2, (y.double() + 1) / 2
    n, c, h, w = x.shape
    win = _gaussian_window().to(x.dtype).expand(c, 1, 11, 11)
    mode = "reflect" if min(h, w) > 5 else "replicate"  # reflect needs more pixels than the pad

    def blur(z: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(z, (5, 5, 5, 5), mode=mode), win, groups=c)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean(1)


def masked_sq_error(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error per image (images in [-1, 1], rescaled to [0, 1]) over ``mask`` (N x H x W)."""
    d = ((x.double() - y.double()) / 2) ** 2
    d = d.mean(1)
    if mask is None:
        return d.flatten(1).mean(1)
    m = mask.double()
    return (d * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(1)


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of a mean squared error on [0, 1] images (``inf`` for 0)."""
    return math.inf if mse <= 0 else 10 * math.log10(1.0 / mse)


def mean_skin_lab(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean L*a*b* of the ``mask`` pixels of each image -> N x 3 (mean taken in linear-light RGB)."""
    rgb = ((images.double() + 1) / 2).clamp(0, 1)
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = mask.double()[:, None]
    mean_lin = (lin * m).flatten(2).sum(2) / m.flatten(2).sum(2).clamp_min(1)
    srgb = torch.where(mean_lin <= 0.0031308, mean_lin * 12.92, 1.055 * mean_lin.clamp_min(0) ** (1 / 2.4) - 0.055)
    return rgb_to_lab(srgb)


# --- the evaluation set ----------------------------------------------------------------


@dataclass
class WorldEvalSet:
    """Held-out faces with their ground truth, as tensors (images float NCHW in [-1, 1])."""

    no_glasses: torch.Tensor
    with_glasses: torch.Tensor  # each face wearing ``worn_style``
    worn_style: list[str]
    styled: dict[str, torch.Tensor]  # style -> every face wearing that style
    glasses_mask: torch.Tensor  # N x H x W, mask of the worn glasses
    band: torch.Tensor  # N x H x W
    skin: torch.Tensor  # N x H x W
    groups: list[str]
    monk: list[str]
    seeds: list[int]

    def __len__(self) -> int:
        return len(self.seeds)


def build_eval_set(n: int = 200, size: int = 64, styles: Sequence[str] | None = None, seed_offset: int = 0) -> WorldEvalSet:
    """Render ``n`` held-out test faces with every style of ``styles`` (default: the clear-glasses styles)."""
    from gancraft.data.transforms import to_tensor
    from gancraft.world.dataset import paired_faces
    from gancraft.world.styles import GLASSES_STYLES, NO_GLASSES

    styles = list(styles or GLASSES_STYLES)
    cols: dict[str, list[Any]] = {k: [] for k in ("ng", "wg", "worn", "mask", "band", "skin", "group", "monk", "seed")}
    styled: dict[str, list[torch.Tensor]] = {s: [] for s in styles}
    for renders in paired_faces(n, size, styles, seed_offset=seed_offset):
        base = renders[NO_GLASSES]
        worn = base.meta["worn_style"]
        cols["ng"].append(to_tensor(base.image))
        cols["wg"].append(to_tensor(renders[worn].image))
        cols["worn"].append(worn)
        cols["mask"].append(torch.from_numpy(renders[worn].mask))
        cols["band"].append(torch.from_numpy(base.band))
        cols["skin"].append(torch.from_numpy(base.skin))
        cols["group"].append(base.meta["tone_group"])
        cols["monk"].append(base.meta["monk"])
        cols["seed"].append(base.meta["seed"])
        for s in styles:
            styled[s].append(to_tensor(renders[s].image))
    return WorldEvalSet(
        no_glasses=torch.stack(cols["ng"]),
        with_glasses=torch.stack(cols["wg"]),
        worn_style=cols["worn"],
        styled={s: torch.stack(v) for s, v in styled.items()},
        glasses_mask=torch.stack(cols["mask"]),
        band=torch.stack(cols["band"]),
        skin=torch.stack(cols["skin"]),
        groups=cols["group"],
        monk=cols["monk"],
        seeds=cols["seed"],
    )


# --- running a translator ------------------------------------------------------------


def _translate(fn: Translator, images: torch.Tensor, batch_size: int, **condition: Any) -> torch.Tensor:
    outs = []
    for chunk in images.split(batch_size):
        with torch.no_grad():
            out = fn(chunk.clone(), **condition)
        if not isinstance(out, torch.Tensor) or out.shape != chunk.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ConfigError(f"the translator returned {got} for a batch of {tuple(chunk.shape)}; it must keep the shape")
        outs.append(out.detach().float().cpu().clamp(-1, 1))
    return torch.cat(outs)


def _kept(prefix: str, inputs: torch.Tensor, outputs: torch.Tensor, es: WorldEvalSet) -> dict[str, torch.Tensor]:
    """Per-face identity (outside the band) and tone numbers of one direction."""
    outside = ~es.band
    skin = es.skin & outside
    de = delta_e_2000(mean_skin_lab(inputs, skin), mean_skin_lab(outputs, skin))
    ssim = ssim_map(inputs, outputs)
    ssim_out = (ssim * outside).flatten(1).sum(1) / outside.flatten(1).sum(1).clamp_min(1)
    return {
        f"{prefix}_identity_mse": masked_sq_error(inputs, outputs, outside),
        f"{prefix}_identity_ssim": ssim_out,
        f"{prefix}_tone_delta_e": de,
    }


def _aggregate(per_face: dict[str, torch.Tensor], index: torch.Tensor) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, values in per_face.items():
        v = values[index].double()
        if key.endswith("_mse"):
            out[key.replace("_mse", "_psnr")] = psnr_from_mse(float(v.mean())) if v.numel() else math.nan
        else:
            out[key] = float(v.mean()) if v.numel() else math.nan
    return out


def world_metrics(
    add: Translator | None = None,
    remove: Translator | None = None,
    *,
    target_styles: Sequence[str] | None = None,
    eval_set: WorldEvalSet | None = None,
    n: int = 200,
    size: int = 64,
    styles: Sequence[str] | None = None,
    oracle: Any = None,
    batch_size: int = 32,
    condition: dict[str, Any] | None = None,
    keep_faces: bool = False,
) -> dict[str, Any]:
    """Evaluate a translator on the glasses world; see the module docstring for every key.

    ``add`` turns no-glasses faces into glasses faces, ``remove`` the reverse; either
    may be None. ``target_styles`` (a multi-domain model): ``add`` is also called as
    ``add(images, style=s)`` for each style ``s``. ``condition`` is passed to every call.
    Returns ``{"n", "size", "overall": {...}, "by_group": {group: {...}}, "counts": {...}}``;
    with ``keep_faces``, also ``"faces"``: per face its ``seed``, ``group`` and, per direction,
    ``success``, the oracle's ``confidence`` in the right answer and the ``identity_psnr``,
    to find the worst faces.
    """
    if add is None and remove is None:
        raise ConfigError("world_metrics needs a translator: give add=... and/or remove=...")
    from gancraft.world.oracle import load_oracle
    from gancraft.world.styles import GLASSES_STYLES

    es = eval_set or build_eval_set(n, size, styles)
    oracle = oracle or load_oracle()
    condition = dict(condition or {})
    per_face: dict[str, torch.Tensor] = {}
    faces: dict[str, Any] = {"seed": list(es.seeds), "group": list(es.groups)}
    if add is not None:
        out = _translate(add, es.no_glasses, batch_size, **condition)
        seen = oracle(out)
        per_face["add_success"] = seen.glasses.double()
        if keep_faces:
            faces["add_confidence"] = seen.probs[:, [i for i, c in enumerate(seen.classes) if c in GLASSES_STYLES]].sum(1).tolist()
        per_face.update(_kept("add", es.no_glasses, out, es))
        for style in target_styles or ():
            out_s = _translate(add, es.no_glasses, batch_size, **{**condition, "style": style})
            per_face[f"add_style_success/{style}"] = torch.tensor([lbl == style for lbl in oracle(out_s).label]).double()
    if remove is not None:
        out = _translate(remove, es.with_glasses, batch_size, **condition)
        seen = oracle(out)
        per_face["remove_success"] = (seen.probs.argmax(1) == 0).double()
        if keep_faces:
            faces["remove_confidence"] = seen.probs[:, 0].tolist()
        per_face["remove_l1"] = ((out - es.no_glasses).abs() / 2).flatten(1).mean(1).double()
        per_face["remove_mse"] = masked_sq_error(out, es.no_glasses)
        ssim = ssim_map(out, es.no_glasses)
        per_face["remove_ssim"] = ssim.flatten(1).mean(1)
        per_face.update(_kept("remove", es.with_glasses, out, es))
    everyone = torch.arange(len(es))
    groups = {g: torch.tensor([i for i, x in enumerate(es.groups) if x == g], dtype=torch.long) for g in GROUPS}
    result: dict[str, Any] = {
        "n": len(es),
        "size": int(es.no_glasses.shape[-1]),
        "overall": _aggregate(per_face, everyone),
        "by_group": {g: _aggregate(per_face, idx) for g, idx in groups.items() if idx.numel()},
        "counts": {g: int(idx.numel()) for g, idx in groups.items()},
    }
    for direction in ("add", "remove"):
        if f"{direction}_success" in per_face and len(result["by_group"]) > 1:
            rates = [v[f"{direction}_success"] for v in result["by_group"].values()]
            result["overall"][f"{direction}_success_group_gap"] = max(rates) - min(rates)
    if keep_faces:
        for key, values in per_face.items():
            if key.endswith("_success") or key.endswith("_identity_mse"):
                name = key.replace("_mse", "_psnr")
                faces[name] = [psnr_from_mse(float(v)) for v in values] if key.endswith("_mse") else values.tolist()
        result["faces"] = faces
    return result


# --- reports ------------------------------------------------------------------------------

_PERCENT = ("add_success", "remove_success", "add_style_success")


def _fmt(key: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "∞"
    if key.startswith(_PERCENT):
        return f"{100 * value:.1f} %"
    if key.endswith("_psnr"):
        return f"{value:.2f} dB"
    return f"{value:.4f}" if key.endswith(("_ssim", "_l1")) else f"{value:.2f}"


def to_markdown(result: dict[str, Any]) -> str:
    """A Markdown table: one row per metric, columns overall and each skin-tone group."""
    groups = list(result["by_group"])
    counts = result.get("counts", {})
    header = ["metric", f"overall (n={result['n']})", *(f"{g} (n={counts.get(g, '?')})" for g in groups)]
    rows = [[key, _fmt(key, value), *(_fmt(key, result["by_group"][g].get(key, math.nan)) for g in groups)]
            for key, value in result["overall"].items()]
    return markdown_table(header, rows)


@METRICS.register("world")
class WorldMetric:
    """The glasses-world metrics of a model's tasks (see the module docstring), keys ``world/...``.

    A task *removes* glasses when its target is ``no_glasses`` and *adds* them when its
    source is ``no_glasses`` (or any domain) and its target is not; ``domains`` maps the
    model's domain names to these (``{A: no_glasses, B: glasses}``). When the add tasks
    target glasses styles, ``add_style_success/<style>`` is reported for each, and the
    plain add runs into ``add_style`` (default: the first). Latent-guided tasks use the
    codes drawn from ``seed``; reference-guided ones are not used. ``keep_faces`` writes each
    face's numbers into the details (``metrics.json``), to find the worst faces.
    """

    def __init__(self, n: int = 200, size: int | None = None, add_style: str | None = None, batch_size: int = 32,
                 seed: int | None = None, domains: dict[str, str] | None = None, oracle_path: str | None = None,
                 keep_faces: bool = False) -> None:
        self.n, self.size, self.add_style, self.batch_size = int(n), size, add_style, int(batch_size)
        self.keep_faces = bool(keep_faces)
        self.seed, self.domains, self.oracle_path = seed, dict(domains or {}), oracle_path

    def _translators(self, context: Any) -> tuple[Translator | None, Translator | None, list[str] | None]:
        from gancraft.world.styles import NO_GLASSES, STYLES

        def meaning(domain: str | None) -> str | None:
            return None if domain is None else self.domains.get(domain, domain)

        seed = context.seed if self.seed is None else int(self.seed)
        usable = [t for t in context.tasks if t.guidance in ("fixed", "latent")]
        removes = [t for t in usable if meaning(t.target) == NO_GLASSES]
        adds = [t for t in usable if meaning(t.target) != NO_GLASSES and meaning(t.source) in (None, NO_GLASSES)]
        if not adds and not removes:
            names = ", ".join(t.name for t in context.tasks) or "none"
            raise ConfigError(f"the world metric needs tasks that add or remove glasses (into or out of {NO_GLASSES}); "
                              f"the model's tasks: {names}; map its domains with domains={{NAME: {NO_GLASSES}, ...}}")

        def guide(task: Any) -> dict[str, Any]:
            return {"seed": seed} if task.guidance == "latent" else {}

        by_style = {meaning(t.target): t for t in adds if meaning(t.target) in STYLES}
        target_styles = list(by_style) or None
        default = self.add_style or (target_styles[0] if target_styles else None)
        if by_style and default not in by_style:
            raise ConfigError(f"add_style {default!r} is not among the model's glasses domains {', '.join(by_style)}")

        def add_in_style(x: torch.Tensor, style: str | None = None) -> torch.Tensor:
            task = by_style[style or default]
            return context.run(task, x, **guide(task))

        def add_plain(x: torch.Tensor) -> torch.Tensor:
            return context.run(adds[0], x, **guide(adds[0]))

        def remove(x: torch.Tensor) -> torch.Tensor:
            return context.run(removes[0], x, **guide(removes[0]))

        add = add_in_style if by_style else add_plain if adds else None
        return add, remove if removes else None, target_styles

    def __call__(self, context: Any) -> dict[str, float]:
        from gancraft.world.oracle import load_oracle

        add, remove, target_styles = self._translators(context)
        result = world_metrics(add, remove, target_styles=target_styles, n=self.n, size=int(self.size or context.size),
                               batch_size=self.batch_size, oracle=load_oracle(self.oracle_path), keep_faces=self.keep_faces)
        context.report.details["world"] = result
        context.report.tables.append(("Glasses world", to_markdown(result)))
        context.report.counts.update({"faces": int(result["n"]), **{f"faces/{g}": c for g, c in result["counts"].items()}})
        metrics = {f"world/{k}": v for k, v in result["overall"].items()}
        for group, values in result["by_group"].items():
            metrics.update({f"world/{group}/{k}": v for k, v in values.items()})
        return metrics
