import json

import pytest
import torch
from omegaconf import OmegaConf

from gancraft.core import checkpoint as ckpt
from gancraft.core.logger import read_log
from gancraft.engine.run import build_trainer
from gancraft.engine.trainer import TrainerConfig
from gancraft.core.errors import ConfigError
from gancraft.recipes import compose_recipe
from tests.conftest import TINY_CYCLEGAN


def tiny(toy_root, run_dir, *extra: str):
    return compose_recipe(
        "cyclegan_glasses",
        [
            "data=unpaired_folders",
            f"data.root={toy_root}",
            *TINY_CYCLEGAN,
            "model.generator.n_blocks=1",
            "model.pool_size=4",
            "model.n_epochs=1",
            "model.n_epochs_decay=1",
            "trainer.sample_every=0",
            f"run_dir={run_dir}",
            *extra,
        ],
    )


def test_exact_resume_matches_the_uninterrupted_run(toy_root, tmp_path) -> None:
    """N steps straight and N/2 + resume + N/2 end with identical weights and optimizer state."""
    straight = build_trainer(tiny(toy_root, tmp_path / "a", "trainer.max_steps=16", "trainer.checkpoint_every=8")).fit()
    build_trainer(tiny(toy_root, tmp_path / "b", "trainer.max_steps=8")).fit()
    resumed = build_trainer(tiny(toy_root, tmp_path / "b", "trainer.max_steps=16", "resume=auto")).fit(resume="auto")
    a, b = ckpt.load_weights(straight), ckpt.load_weights(resumed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    sa, sb = ckpt.load_training_state(straight), ckpt.load_training_state(resumed)
    assert torch.equal(sa["extra"]["pool_A.images"], sb["extra"]["pool_A.images"])
    for key in sa["optimizers"]["G"]["state"]:
        assert torch.equal(sa["optimizers"]["G"]["state"][key]["exp_avg"], sb["optimizers"]["G"]["state"][key]["exp_avg"])


def test_run_directory_holds_config_logs_samples_and_checkpoints(toy_root, tmp_path) -> None:
    cfg = tiny(toy_root, tmp_path / "run", "trainer.max_steps=4", "trainer.log_every=2", "trainer.sample_every=2", "trainer.checkpoint_every=2", "trainer.keep_checkpoints=1")
    last = build_trainer(cfg).fit()
    run = tmp_path / "run"
    assert OmegaConf.load(run / "config.yaml") == cfg and ckpt.load_config(last) == cfg  # the resolved config, twice
    assert last == run / "checkpoints" / "step_00000004"
    assert sorted(p.name for p in (run / "checkpoints").glob("step_*")) == ["step_00000004"]
    records = read_log(run / "logs" / "metrics.jsonl")
    assert [r["step"] for r in records] == [2, 4] and {"cycle_A", "D_A", "lr_G", "steps_per_s"} <= set(records[0])
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["step_00000002.png", "step_00000004.png"]
    assert json.loads((last / "meta.json").read_text())["step"] == 4


def test_cycle_loss_falls_in_a_short_run_on_the_glasses_world(tmp_path) -> None:
    """200 steps at 32 px with thin networks: the cycle loss falls clearly (by a fifth or more)."""
    cfg = compose_recipe(
        "cyclegan_glasses",
        [*TINY_CYCLEGAN, "data.load_size=32", "data.n=200", "model.pool_size=4", "model.n_epochs=100", "model.n_epochs_decay=1",
         "trainer.max_steps=200", "trainer.log_every=20", "trainer.checkpoint_every=0", "trainer.sample_every=0", f"run_dir={tmp_path}"],
    )
    build_trainer(cfg).fit()
    cycle = [r["cycle_A"] + r["cycle_B"] for r in read_log(tmp_path / "logs" / "metrics.jsonl")]
    assert len(cycle) == 10
    assert sum(cycle[-3:]) / 3 < 0.8 * cycle[0]


def test_epochs_set_the_number_of_steps_and_the_lr_decays(toy_root, tmp_path) -> None:
    cfg = tiny(toy_root, tmp_path / "ep", "trainer.epochs=2", "trainer.batch_size=4", "trainer.log_every=1")
    trainer = build_trainer(cfg)
    assert trainer.total_steps == 2 * (12 // 4)
    trainer.fit()
    lrs = [r["lr_G"] for r in read_log(tmp_path / "ep" / "logs" / "metrics.jsonl")]
    assert lrs[0] == pytest.approx(2e-4) and lrs[-1] == pytest.approx(2e-4 * 1 / 2)


def test_trainer_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="unknown trainer key"):
        TrainerConfig.from_config({"max_steps": 1, "bogus": 2})
    with pytest.raises(ConfigError, match="exactly one"):
        TrainerConfig.from_config({"max_steps": 1, "epochs": 1})


def test_a_stop_signal_finishes_the_step_and_checkpoints(toy_root, tmp_path) -> None:
    import signal

    trainer = build_trainer(tiny(toy_root, tmp_path / "stop", "trainer.max_steps=50", "trainer.checkpoint_every=0"))
    original = trainer.model.train_step

    def step_then_signal(batch, step):
        logs = original(batch, step)
        if step == 2:
            signal.raise_signal(signal.SIGTERM)  # as a cluster scheduler would send
        return logs

    trainer.model.train_step = step_then_signal
    last = trainer.fit()
    assert last.name == "step_00000003"
    assert ckpt.load_training_state(last)["step"] == 3
    resumed = build_trainer(tiny(toy_root, tmp_path / "stop", "trainer.max_steps=5"))
    assert resumed.fit(resume="auto").name == "step_00000005"


def test_tensorboard_events_are_written_when_asked(toy_root, tmp_path) -> None:
    build_trainer(tiny(toy_root, tmp_path / "tb", "trainer.max_steps=2", "trainer.tensorboard=true", "trainer.log_every=1")).fit()
    assert list((tmp_path / "tb" / "logs" / "tensorboard").glob("events.out.tfevents.*"))
