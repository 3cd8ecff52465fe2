"""SIGTERM to the whole process group (what Slurm, systemd and ``kill -- -PGID`` send):
the DataLoader workers ignore it, the main process finishes its step, writes a
checkpoint and exits 0; ``resume=auto`` continues from there."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gancraft.core import checkpoint as ckpt
from gancraft.core.logger import read_log
from gancraft.engine.run import build_trainer
from gancraft.recipes import compose_recipe
from tests.conftest import TINY_CYCLEGAN


def test_sigterm_to_the_process_group_stops_cleanly_with_a_checkpoint(toy_root, tmp_path) -> None:
    run_dir = tmp_path / "run"
    words = ["data=unpaired_folders", f"data.root={toy_root}", *TINY_CYCLEGAN, "model.generator.ngf=4", "model.generator.n_blocks=1",
             "model.discriminator.ndf=4", "model.n_epochs=1000", "model.n_epochs_decay=1000", "trainer.num_workers=2",
             "trainer.checkpoint_every=0", "trainer.sample_every=0", "trainer.log_every=1", f"run_dir={run_dir}"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gancraft", "train", "recipe=cyclegan_glasses", *words, "trainer.max_steps=100000"],
        start_new_session=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.time() + 120
        while len(read_log(run_dir / "logs" / "metrics.jsonl")) < 3:  # training (and its workers) under way
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGTERM)  # the process group: main process and both workers
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert "killed by signal" not in err and "Traceback" not in err
    last = ckpt.CheckpointManager(run_dir / "checkpoints").latest()
    assert last is not None and f"checkpoint: {last}" in out
    step = ckpt.load_training_state(last)["step"]
    assert step >= 3 and ckpt.load_weights(last)
    resumed = build_trainer(compose_recipe("cyclegan_glasses", [*words, "trainer.num_workers=0", f"trainer.max_steps={step + 2}"]))
    assert resumed.fit(resume="auto").name == f"step_{step + 2:08d}"
