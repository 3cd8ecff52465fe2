"""Fault injection: a training run killed with SIGKILL at a random moment (during a step,
a checkpoint write, a sample write, or at a random time) resumes with ``resume=auto`` and
ends with exactly the weights of an uninterrupted run; no checkpoint directory is ever
half-written or unloadable. A full disk while saving keeps the previous checkpoint.

Each run is a forked child of the test process (so a kill costs no interpreter start-up);
the kill is seeded: the seed picks the moment, so a failure is reproducible.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import random
import signal
import threading
from pathlib import Path

import pytest
import torch
from PIL import Image

from gancraft.cli import main
from gancraft.core import checkpoint as ckpt
from gancraft.engine import trainer as trainer_module
from gancraft.engine.run import build_trainer
from gancraft.recipes import compose_recipe
from tests.conftest import TINY_CYCLEGAN

STEPS = 12
SITES = ("step", "checkpoint", "sample", "timer")


def overrides(toy_root: Path, run_dir: Path) -> list[str]:
    return [
        "data=unpaired_folders", f"data.root={toy_root}", *TINY_CYCLEGAN,
        "model.generator.ngf=4", "model.generator.n_blocks=1", "model.discriminator.ndf=4", "model.pool_size=4",
        "model.n_epochs=6", "model.n_epochs_decay=6",
        f"trainer.max_steps={STEPS}", "trainer.checkpoint_every=3", "trainer.sample_every=2", "trainer.log_every=1",
        "trainer.keep_checkpoints=2", f"run_dir={run_dir}",
    ]


def kill_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(site: str, nth: int, delay: float) -> None:
    """In the child: make the ``nth`` event of ``site`` (or the timer) kill the process."""
    calls = {"n": 0}

    def due() -> bool:
        calls["n"] += 1
        return calls["n"] == nth

    if site == "timer":
        threading.Timer(delay, kill_now).start()
    elif site == "step":
        original_fit = trainer_module.Trainer.fit

        def fit_hook(self, *a, **k):
            step = self.model.train_step

            def killing_step(batch, s):
                out = step(batch, s)
                if due():  # after the update, before the step counter moves: mid-step
                    kill_now()
                return out

            self.model.train_step = killing_step
            return original_fit(self, *a, **k)

        trainer_module.Trainer.fit = fit_hook
    elif site == "checkpoint":
        # one of: after the state file is written into the temporary directory; between the
        # rename of the directory and the ``latest`` pointer; in the middle of pruning
        moment = ("state", "pointer", "prune")[nth % 3]
        torch_save, replace, rmtree = ckpt.torch.save, ckpt.os.replace, ckpt.shutil.rmtree

        def saving(*a, **k):
            torch_save(*a, **k)
            if moment == "state" and due():
                kill_now()

        def replacing(src, dst):
            if moment == "pointer" and str(dst).endswith(ckpt.LATEST) and due():
                kill_now()
            replace(src, dst)

        def removing(path, *a, **k):
            if moment == "prune" and due():
                files = sorted(Path(path).iterdir())
                files[0].unlink()  # half-deleted
                kill_now()
            rmtree(path, *a, **k)

        ckpt.torch.save, ckpt.os.replace, ckpt.shutil.rmtree = saving, replacing, removing
    elif site == "sample":
        import torchvision.utils as tv_utils  # core.reports.save_grid looks save_image up at each call

        save_image = tv_utils.save_image

        def half_written(tensor, path, **k):
            save_image(tensor, path, **k)
            if due():
                data = Path(path).read_bytes()
                Path(path).write_bytes(data[: len(data) // 2])
                kill_now()

        tv_utils.save_image = half_written


def child(toy_root: Path, run_dir: Path, site: str | None, nth: int, delay: float) -> None:
    torch.set_num_threads(1)
    if site is not None:
        arm(site, nth, delay)
    build_trainer(compose_recipe("cyclegan_glasses", [*overrides(toy_root, run_dir), "resume=auto"])).fit(resume="auto")


def run(toy_root: Path, run_dir: Path, site: str | None = None, nth: int = 1, delay: float = 0.0) -> int:
    process = multiprocessing.get_context("fork").Process(target=child, args=(toy_root, run_dir, site, nth, delay))
    process.start()
    process.join(120)
    return process.exitcode


def assert_every_checkpoint_loads(run_dir: Path) -> None:
    root = run_dir / "checkpoints"
    if not root.exists():
        return
    for step_dir in root.glob("step_*"):
        ckpt.load_weights(step_dir)
        ckpt.load_training_state(step_dir)
        ckpt.load_config(step_dir)
    latest = ckpt.CheckpointManager(root).latest()
    assert latest is None or ckpt.load_training_state(latest)["step"] == int(latest.name.split("_")[1])


def assert_same_final_state(a: Path, b: Path) -> None:
    wa, wb = ckpt.load_weights(a), ckpt.load_weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa), "weights differ from the uninterrupted run"
    sa, sb = ckpt.load_training_state(a), ckpt.load_training_state(b)
    assert sa["step"] == sb["step"] == STEPS
    for name in sa["optimizers"]:
        for key, value in sa["optimizers"][name]["state"].items():
            assert torch.equal(value["exp_avg"], sb["optimizers"][name]["state"][key]["exp_avg"])


@pytest.fixture(scope="module")
def reference(toy_root, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("straight")
    assert run(toy_root, run_dir) == 0
    return run_dir / "checkpoints" / f"step_{STEPS:08d}"


def trial(seed: int, toy_root: Path, run_dir: Path, reference: Path, site: str | None = None) -> None:
    rng = random.Random(seed)
    site = site or rng.choice(SITES)
    nth = rng.randint(1, {"step": STEPS - 1, "checkpoint": 3, "sample": 5, "timer": 1}[site])
    code = run(toy_root, run_dir, site, nth, delay=rng.uniform(0.05, 1.5))
    assert code in (-signal.SIGKILL, 0), f"seed {seed}: {site} #{nth} exited {code}"
    assert_every_checkpoint_loads(run_dir)  # right after the kill
    assert run(toy_root, run_dir) == 0, f"seed {seed}: resume=auto after {site} #{nth} failed"
    assert_every_checkpoint_loads(run_dir)
    assert_same_final_state(run_dir / "checkpoints" / f"step_{STEPS:08d}", reference)
    assert not [p.name for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")]
    for sample in (run_dir / "samples").glob("*.png"):
        Image.open(sample).load()  # every sample grid is whole


@pytest.mark.parametrize("seed, site", [(0, "step"), (1, "checkpoint"), (2, "sample")])
def test_a_killed_run_resumes_to_the_same_weights(seed, site, toy_root, reference, tmp_path) -> None:
    trial(seed, toy_root, tmp_path, reference, site)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20))
def test_kill_at_a_random_moment_and_resume(seed, toy_root, reference, tmp_path) -> None:
    trial(100 + seed, toy_root, tmp_path, reference)


def test_a_full_disk_stops_the_run_in_one_line_and_keeps_the_last_checkpoint(toy_root, reference, tmp_path, monkeypatch, capsys) -> None:
    save_file, calls = ckpt.save_file, {"n": 0}

    def fills_up(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:  # the second checkpoint (step 6)
            raise OSError(errno.ENOSPC, "No space left on device")
        return save_file(*a, **k)

    monkeypatch.setattr(ckpt, "save_file", fills_up)
    assert main(["train", "recipe=cyclegan_glasses", *overrides(toy_root, tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "disk is full; the previous checkpoint" in err[0] and "step_00000003" in err[0] and "is intact" in err[0]
    monkeypatch.undo()
    assert ckpt.CheckpointManager(tmp_path / "checkpoints").latest().name == "step_00000003"
    assert_every_checkpoint_loads(tmp_path)
    assert run(toy_root, tmp_path) == 0  # resume=auto once there is room again
    assert_same_final_state(tmp_path / "checkpoints" / f"step_{STEPS:08d}", reference)


def test_a_metrics_line_cut_short_by_a_kill_is_skipped_and_ended(tmp_path) -> None:
    from gancraft.core.logger import MetricLogger, read_log

    log = tmp_path / "metrics.jsonl"
    log.write_text('{"step": 1, "loss": 0.5}\n{"step": 2, "lo')  # killed mid-write
    logger = MetricLogger(log)
    logger.accumulate({"loss": torch.tensor(0.25)})
    logger.flush(2)
    assert [r["step"] for r in read_log(log)] == [1, 2]
