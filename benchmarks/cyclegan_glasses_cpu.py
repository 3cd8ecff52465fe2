"""The shipped CPU CycleGAN recipe, measured as the docs state it: several seeds, held-out faces.

    python benchmarks/cyclegan_glasses_cpu.py [seeds=0,1,2] [threads=2] [jobs=1] [n=200] [generator=recipe|reference]
        [out=benchmarks/results/cyclegan_glasses_cpu.json] [runs=runs/bench_cyclegan] [key=value recipe overrides ...]

For each seed: train ``recipe=cyclegan_glasses_cpu seed=S`` from scratch (timed, nothing else
in the timed part), then run the ``world`` protocol (``n`` held-out faces, seeds never used in
training) on the last three checkpoints. ``jobs=2`` trains two seeds at a time, each in its own
process with ``threads`` threads (on a 2-core machine: ``jobs=2 threads=1``; each run's wall time
is then that of one core, not of the quiet 2-core machine). ``merge=A.json,B.json,...
out=FILE`` joins the seeds of runs made separately into one file; ``train=false run_dir=DIR``
evaluates a run trained before (its training time is then not measured here). ``generator=reference`` trains the reference-style
generator instead (transposed convolutions, no attention), on the same seeds and data.
The JSON holds per seed the final checkpoint's whole ``world`` result, the success rates of
the last three checkpoints, the training wall time and steps; with the machine and command.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import gancraft.components  # noqa: F401
from gancraft.cli import parse_key_values
from gancraft.core.reports import write_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine  # noqa: E402

REFERENCE_GENERATOR = ["model.generator.upsample=transpose", "model.generator.attention=false", "model.attention_warmup=0",
                       "model.mask_gradient=all", "model.lambda_mask=0"]
TARGET_KEYS = ("add_success", "remove_success", "add_identity_psnr", "remove_identity_psnr",
               "add_tone_delta_e", "remove_tone_delta_e", "add_success_group_gap", "remove_success_group_gap")


def measure_seed(seed: int, run_dir: Path, overrides: list[str], n: int, train_it: bool = True) -> dict:
    import torch

    from gancraft.engine.run import train
    from gancraft.evaluation.protocols import evaluate, load_protocol
    from gancraft.inference.translator import Translator
    from gancraft.recipes import compose_recipe

    cfg = compose_recipe("cyclegan_glasses_cpu", [f"seed={seed}", f"run_dir={run_dir}", "trainer.progress=false", *overrides])
    start = time.perf_counter()
    if train_it:
        train(cfg)
    wall = time.perf_counter() - start if train_it else None
    checkpoints = sorted((run_dir / "checkpoints").glob("step_*"))[-3:]
    per_checkpoint = []
    for ckpt in checkpoints:
        result = evaluate(Translator.load(ckpt, device="cpu"), load_protocol("world", n=n), run_dir / "eval" / ckpt.name,
                          checkpoint=str(ckpt))["world"]
        per_checkpoint.append({"checkpoint": ckpt.name, "overall": {k: result["overall"].get(k) for k in TARGET_KEYS},
                               "by_group": {g: {k: v.get(k) for k in TARGET_KEYS if k in v} for g, v in result["by_group"].items()}})
    swings = {k: max(abs(a["overall"][k] - b["overall"][k]) for a, b in zip(per_checkpoint, per_checkpoint[1:]))
              for k in ("add_success", "remove_success")} if len(per_checkpoint) > 1 else {}
    return {"seed": seed, "run_dir": str(run_dir), "train_wall_s": None if wall is None else round(wall, 1), "steps": int(cfg.trainer.max_steps), "threads": torch.get_num_threads(),
            "final": result, "last_checkpoints": per_checkpoint, "max_swing_last_checkpoints": swings}


def run_in_processes(seeds: list[int], jobs: int, argv: list[str], out: Path) -> list[dict]:
    """Each seed in its own process (this script with ``seeds=S``), ``jobs`` at a time; their results in order."""
    import json
    import subprocess

    parts = {s: out.with_name(f"{out.stem}.seed{s}.json") for s in seeds}
    pending, running = list(seeds), []
    while pending or running:
        while pending and len(running) < jobs:
            s = pending.pop(0)
            running.append(subprocess.Popen([sys.executable, __file__, f"seeds={s}", f"out={parts[s]}", *argv]))
        running[0].wait()
        if running[0].returncode:
            raise SystemExit(f"seed run failed with exit code {running[0].returncode}")
        running.pop(0)
    results = [json.loads(parts[s].read_text())["seeds"][0] for s in seeds]
    for path in parts.values():
        path.unlink()
    return results


def merge(parts: list[Path], out: Path) -> None:
    """One results file from several runs' files: their seeds in order, each run's command kept."""
    import json

    runs = [json.loads(p.read_text()) for p in parts]
    merged = {**runs[0], "seeds": [s for r in runs for s in r["seeds"]], "command": [r["command"] for r in runs],
              "machine": [r["machine"] for r in runs]}
    write_json(out, merged)
    print(f"wrote {out}")


def main(argv: list[str]) -> int:
    own = {"seeds", "threads", "jobs", "n", "generator", "out", "runs", "merge", "train", "run_dir"}
    args = parse_key_values([w for w in argv if w.split("=", 1)[0] in own])
    if "merge" in args:
        merge([Path(p) for p in str(args["merge"]).split(",")], Path(args["out"]))
        return 0
    overrides = [w for w in argv if w.split("=", 1)[0] not in own]
    generator = args.get("generator", "recipe")
    if generator == "reference":
        overrides = REFERENCE_GENERATOR + overrides
    threads = int(args.get("threads", 2))
    import torch

    torch.set_num_threads(threads)
    runs = Path(args.get("runs", "runs/bench_cyclegan")) / generator
    out = Path(args.get("out", f"benchmarks/results/cyclegan_glasses_cpu{'' if generator == 'recipe' else '_reference'}.json"))
    seeds = [int(s) for s in str(args.get("seeds", "0,1,2")).split(",")]
    jobs = int(args.get("jobs", 1))
    if jobs > 1 and len(seeds) > 1:
        results = run_in_processes(seeds, jobs, [w for w in argv if not w.startswith(("seeds=", "jobs=", "out="))], out)
    else:
        train_it = str(args.get("train", "true")).lower() != "false"
        results = [measure_seed(s, Path(args["run_dir"]) if "run_dir" in args else runs / f"seed{s}", overrides,
                                int(args.get("n", 200)), train_it) for s in seeds]
    write_json(out, {
        "recipe": "cyclegan_glasses_cpu", "generator": generator, "overrides": overrides, "protocol": "world",
        "n_faces": int(args.get("n", 200)), "jobs": jobs, "seeds": results,
        "machine": {**machine(), "cores": os.cpu_count()},
        "command": "python benchmarks/cyclegan_glasses_cpu.py " + " ".join(argv),
        "date": time.strftime("%Y-%m-%d"),
    })
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
