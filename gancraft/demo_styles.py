"""``make demo-styles``: StarGAN v2 glasses styles on the built-in glasses world, on a CPU.

Train the CPU styles recipe, judge it with the ``world_styles`` protocol (style accuracy,
fidelity against the exact ground truth, identity, diversity against the world's own)
and write ``runs/demo-styles/report.html``: the protocol's table, its picture of latent-
and reference-guided outputs, and the loss curves. Running it again continues or reuses
the training run (``resume=auto``).

    python -m gancraft.demo_styles [out=runs/demo-styles] [key=value recipe overrides ...]
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


RECIPE = "stargan_v2_glasses_styles_cpu"


def run_demo_styles(out: Path, overrides: Sequence[str] = (), evaluation: Mapping[str, Any] | None = None) -> Path:
    """Train :data:`RECIPE` into ``out/stargan_v2`` with ``overrides``, evaluate it with the
    ``world_styles`` protocol (``evaluation``: its settings, e.g. ``{"n": 100}``) into ``out`` and
    return the report's path."""
    import gancraft.components  # noqa: F401  (models, data sets and metrics by name)
    from gancraft.core.logger import read_log
    from gancraft.engine.run import train
    from gancraft.evaluation.protocols import evaluate, load_protocol
    from gancraft.evaluation.world_styles import GRID_FILE, style_rows
    from gancraft.inference.translator import Translator
    from gancraft.recipes import compose_recipe
    from gancraft.report import figure, html_table, plot_losses, write_html

    cfg = compose_recipe(RECIPE, [f"run_dir={out / 'stargan_v2'}", "resume=auto", *overrides])  # a bad override stops here
    out.mkdir(parents=True, exist_ok=True)
    print(f"[1/3] training recipe {RECIPE} into {out / 'stargan_v2'}")
    start = time.perf_counter()
    checkpoint = train(cfg)
    train_minutes = (time.perf_counter() - start) / 60
    translator = Translator.load(checkpoint)

    settings = load_protocol("world_styles", **{"size": int(cfg.data.size), **(evaluation or {})})
    print(f"[2/3] style metrics on {settings['n']} held-out faces (the world_styles protocol)")
    result = evaluate(translator, settings, out, checkpoint=str(checkpoint))
    styles = result["world_styles"]

    print("[3/3] writing the report")
    losses = plot_losses(read_log(Path(cfg.run_dir) / "logs" / "metrics.jsonl"), out / "losses.png")
    header, rows = style_rows(styles)
    sections = [
        ("Run", html_table(None, [["recipe", RECIPE], ["checkpoint", str(checkpoint)], ["training time this call (min)", f"{train_minutes:.1f}"],
                                     ["held-out faces", str(styles["n"])], ["image size", f"{styles['size']} px"],
                                     ["outputs per face for diversity", f"{styles['num_outs']} on {styles['n_diversity']} faces"]])),
        ("Styles: accuracy, fidelity, identity, diversity", html_table(header, rows)
         + "<p>Accuracy: the oracle's style label. Frame colour and band PSNR: reference-guided outputs against the exact "
           "ground truth (the input face wearing the reference's own glasses). Identity: PSNR outside the glasses band, "
           "output against input. Diversity: band L1 among latent-guided outputs, the world's own (random glasses of the "
           "style on the same faces) and their ratio. Details in metrics.json and metrics.md.</p>"),
    ]
    if styles.get("grid"):
        sections.append(("Samples", figure(GRID_FILE, f"each row: the input; per domain ({', '.join(styles['domains'])}): "
                                                      "latent-guided outputs, the reference, the reference-guided output")))
    if losses is not None:
        sections.append(("Training losses", figure(losses.name, "losses from logs/metrics.jsonl")))
    report = write_html(out / "report.html", "gancraft demo: StarGAN v2 glasses styles on the glasses world", sections)
    for row in rows:
        print("  " + "  ".join(f"{c:>10s}" for c in row[:4]))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gancraft.demo_styles [out=DIR] [key=value ...]``: 0 on success, 2 on a user error."""
    from gancraft.demo import demo_main

    return demo_main(run_demo_styles, "runs/demo-styles", "demo-styles", argv)


if __name__ == "__main__":
    raise SystemExit(main())
