"""``make demo``: the whole loop on the built-in glasses world, on a CPU.

Render held-out faces, train the CPU CycleGAN recipe, translate the held-out faces
both ways, compute the world metrics, and write ``runs/demo/report.html`` (before/after
grids, every target judged overall and per skin-tone group, the worst faces of each group
as pictures, loss curves). Running it
again continues or reuses the training run (``resume=auto``).

    python -m gancraft.demo [out=runs/demo] [key=value recipe overrides ...]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from gancraft.core.errors import GancraftError

RECIPE = "cyclegan_glasses_cpu"

#: metric -> (direction of "good", threshold): the project's targets for the CPU recipe, met
#: overall and in every skin-tone group (the gaps are overall only)
TARGETS = {
    "add_success": (">=", 0.90),
    "remove_success": (">=", 0.90),
    "add_identity_psnr": (">=", 28.0),
    "remove_identity_psnr": (">=", 28.0),
    "add_tone_delta_e": ("<=", 3.0),
    "remove_tone_delta_e": ("<=", 3.0),
    "add_success_group_gap": ("<=", 0.05),
    "remove_success_group_gap": ("<=", 0.05),
}


def meets(key: str, value: float) -> bool:
    """Whether ``value`` meets the target of ``key`` (a missing value, NaN, does not)."""
    op, threshold = TARGETS[key]
    return bool(value >= threshold if op == ">=" else value <= threshold)


def check_targets(result: dict) -> list[tuple[str, str, float, dict[str, float], bool]]:
    """Per target: ``(metric, target, overall value, {group: value}, met)``, met when the overall
    value and every group's value meet it."""
    rows = []
    for key, (op, threshold) in TARGETS.items():
        overall = result["overall"].get(key, float("nan"))
        groups = {g: v[key] for g, v in result.get("by_group", {}).items() if key in v}
        ok = meets(key, overall) and all(meets(key, v) for v in groups.values())
        rows.append((key, f"{op} {threshold:g}", overall, groups, ok))
    return rows


def worst_faces(faces: dict, direction: str, group: str, k: int) -> list[int]:
    """Indices of the ``k`` faces of ``group`` the oracle is least sure were translated right."""
    confidence = faces[f"{direction}_confidence"]
    members = [i for i, g in enumerate(faces["group"]) if g == group]
    return sorted(members, key=lambda i: confidence[i])[:k]


def run_demo(out: Path, overrides: Sequence[str] = (), n_eval: int = 200, n_show: int = 8, n_worst: int = 4) -> Path:
    import gancraft.components  # noqa: F401
    from gancraft.core.reports import save_grid
    from gancraft.core.logger import read_log
    from gancraft.engine.run import train
    from gancraft.evaluation.protocols import evaluate, load_protocol
    from gancraft.evaluation.world_metrics import build_eval_set
    from gancraft.inference.translator import Translator
    from gancraft.recipes import compose_recipe
    from gancraft.report import figure, html_table, plot_losses, write_html
    from gancraft.world.synth import synthesize

    out.mkdir(parents=True, exist_ok=True)
    print(f"[1/4] rendering {n_show} held-out faces to {out / 'data'}")
    synthesize(out / "data", n=n_show, n_test=n_show, size=64, layout="unpaired", progress=False)

    print(f"[2/4] training recipe {RECIPE} into {out / 'cyclegan'}")
    cfg = compose_recipe(RECIPE, [f"run_dir={out / 'cyclegan'}", "resume=auto", *overrides])
    start = time.perf_counter()
    checkpoint = train(cfg)
    train_minutes = (time.perf_counter() - start) / 60
    translator = Translator.load(checkpoint)

    print("[3/4] translating held-out faces both ways")
    translated = {d: translator.translate_files(out / "data" / f"test{src}", out / "translated" / d, direction=d) for d, src in (("a2b", "A"), ("b2a", "B"))}

    print(f"[4/4] world metrics on {n_eval} held-out faces (the world protocol)")
    size = int(cfg.data.crop_size)
    result = evaluate(translator, load_protocol("world", n=n_eval, size=size, keep_faces=True), out, checkpoint=str(checkpoint))["world"]

    eval_set = build_eval_set(n_eval, size)  # the same held-out faces, with their ground truth
    show = slice(0, n_show)
    x_a, x_b = eval_set.no_glasses[show], eval_set.with_glasses[show]
    fake_b, fake_a = translator.translate(x_a, direction="a2b").cpu(), translator.translate(x_b, direction="b2a").cpu()
    save_grid([x_a, fake_b], out / "grid_add.png")
    save_grid([x_b, fake_a, eval_set.no_glasses[show]], out / "grid_remove.png")
    plot_losses(read_log(Path(cfg.run_dir) / "logs" / "metrics.jsonl"), out / "losses.png")

    groups = list(result["by_group"])
    worst = []
    for group in groups:
        for direction, inputs, name in (("add", eval_set.no_glasses, "a2b"), ("remove", eval_set.with_glasses, "b2a")):
            index = worst_faces(result["faces"], direction, group, n_worst)
            x = inputs[index]
            save_grid([x, translator.translate(x, direction=name).cpu()], out / f"worst_{direction}_{group}.png")
            sure = ", ".join(f"{result['faces'][f'{direction}_confidence'][i]:.2f}" for i in index)
            worst.append((f"Worst {direction} faces, {group}", figure(f"worst_{direction}_{group}.png", f"top: input; bottom: output; the oracle's confidence in success: {sure}")))

    targets = check_targets(result)
    target_rows = [[k, t, _fmt(v), *(_fmt(g.get(name, float("nan"))) for name in groups), "pass" if ok else "FAIL"] for k, t, v, g, ok in targets]
    metric_rows = [[k, _fmt(v)] + [_fmt(result["by_group"][g].get(k, float("nan"))) for g in groups] for k, v in result["overall"].items()]
    sections = [
        ("Run", html_table(None, [["recipe", RECIPE], ["checkpoint", str(checkpoint)], ["training time this call (min)", f"{train_minutes:.1f}"],
                                     ["held-out faces", str(result["n"])], ["image size", f"{result['size']} px"],
                                     ["files translated", f"{len(translated['a2b'])} + {len(translated['b2a'])} in translated/"]])),
        ("Targets, overall and by skin-tone group", html_table(["metric", "target", "overall", *groups, ""], target_rows)),
        ("Adding glasses (A -> B)", figure("grid_add.png", "top: held-out faces without glasses; bottom: translated")),
        ("Removing glasses (B -> A)", figure("grid_remove.png", "top: faces with glasses; middle: translated; bottom: the exact ground truth")),
        ("Metrics by skin-tone group", html_table(["metric", "overall", *groups], metric_rows)),
        *worst,
        ("Training losses", figure("losses.png", "losses from logs/metrics.jsonl")),
    ]
    report = write_html(out / "report.html", "gancraft demo: CycleGAN on the glasses world", sections)
    for key, target, value, by_group, ok in targets:
        cells = " ".join(f"{g} {_fmt(v):>7s}" for g, v in by_group.items())
        print(f"  {key:26s} {_fmt(value):>8s}  target {target:8s} {'pass' if ok else 'FAIL'}  {cells}")
    return report


def _fmt(value: float) -> str:
    if isinstance(value, float) and (value != value):
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def demo_main(run: Callable[[Path, list[str]], Path], default_out: str, name: str, argv: Sequence[str] | None = None) -> int:
    """A demo's command line: ``[out=DIR] [key=value recipe overrides ...]``; 0 on success, 2 on a user error."""
    from gancraft.cli import parse_key_values

    words = list(sys.argv[1:] if argv is None else argv)
    try:
        out = Path(parse_key_values([w for w in words if w.startswith("out=")]).get("out", default_out))
        report = run(out, [w for w in words if not w.startswith("out=")])
    except GancraftError as err:
        print(f"gancraft {name}: error: {err}", file=sys.stderr)
        return 2
    print(f"report: {report}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gancraft.demo [out=runs/demo] [key=value ...]``."""
    return demo_main(run_demo, "runs/demo", "demo", argv)


if __name__ == "__main__":
    raise SystemExit(main())
