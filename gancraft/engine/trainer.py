"""The training loop: one readable loop that knows nothing about any particular GAN.

It feeds batches to :meth:`GANModel.train_step`, steps the LR schedulers, logs the
returned scalars (averaged, with one host sync per log interval), writes sample
grids and checkpoints, calls its callbacks after each checkpoint (in-training
evaluation, which lives above the engine), and resumes exactly where a checkpoint left off.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm import tqdm

from gancraft import __version__
from gancraft.data.folders import report_dropped
from gancraft.data.sampling import EpochSampler
from gancraft.data.workers import next_batch, worker_init
from gancraft.core import checkpoint as ckpt
from gancraft.core.callbacks import TrainingCallback
from gancraft.core.distributed import DistributedContext, barrier, reduce_mean
from gancraft.core.logger import MetricLogger
from gancraft.core.precision import Precision
from gancraft.core.device import resolve_device
from gancraft.core.errors import ConfigError
from gancraft.core.reports import save_grid
from gancraft.models.base import GANModel

log = logging.getLogger(__name__)


@dataclass
class TrainerConfig:
    """``trainer:`` in a recipe. Give either ``max_steps`` or ``epochs``."""

    max_steps: int | None = None
    epochs: int | None = None
    batch_size: int = 1
    num_workers: int = 2
    prefetch_factor: int = 4
    device: str = "auto"
    precision: str = "auto"
    channels_last: bool = False
    compile: bool = False
    log_every: int = 50
    sample_every: int = 500
    num_samples: int = 4
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    tensorboard: bool = False
    progress: bool = True

    @classmethod
    def from_config(cls, cfg: Any) -> TrainerConfig:
        values = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown trainer key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        config = cls(**values)
        if (config.max_steps is None) == (config.epochs is None):
            raise ConfigError("set exactly one of trainer.max_steps and trainer.epochs")
        return config


class GracefulStop:
    """First SIGINT/SIGTERM: finish the step, checkpoint, stop. Second SIGINT: stop at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("stop requested: finishing this step and writing a checkpoint (Ctrl-C again to abort)")

    def __exit__(self, *_: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Trainer:
    """Trains ``model`` on ``dataset`` into ``run_dir`` (``checkpoints/``, ``logs/``, ``samples/``)."""

    def __init__(
        self,
        model: GANModel,
        dataset: Dataset,
        config: TrainerConfig,
        run_dir: str | Path,
        *,
        full_config: DictConfig | dict | None = None,
        seed: int = 0,
        ctx: DistributedContext | None = None,
        callbacks: Sequence[TrainingCallback] = (),
    ) -> None:
        self.config, self.seed = config, seed
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, TrainingCallback):
                raise ConfigError(f"callback {cb!r} has no on_checkpoint(model, step, run_dir) method")
        self.ctx = ctx or DistributedContext()
        self.run_dir = Path(run_dir)
        self.full_config = full_config if full_config is not None else {"trainer": dataclasses.asdict(config)}
        self.device = resolve_device(config.device, index=self.ctx.local_rank)
        self.dataset = dataset
        self.model = model.to(self.device)
        self.precision = Precision(config.precision, self.device)
        self.sampler = EpochSampler(len(dataset), config.batch_size, seed=seed, rank=self.ctx.rank, world_size=self.ctx.world_size)
        self.total_steps = config.max_steps if config.max_steps is not None else config.epochs * self.sampler.steps_per_epoch
        self.checkpoints = ckpt.CheckpointManager(self.run_dir / "checkpoints", keep=config.keep_checkpoints)
        self.step = 0
        self.model.setup(self.total_steps, self.sampler.steps_per_epoch, self.precision)
        from gancraft.engine.acceleration import prepare_networks  # DDP, channels_last, compile

        prepare_networks(self.model, config, self.ctx, self.device, self.precision)

    # --- state ----------------------------------------------------------------------
    def save(self) -> Path | None:
        """Write a checkpoint of the current step (rank 0 only): the model's state, plus the
        loop's own (step, RNG)."""
        path = None
        if self.ctx.is_main:
            state = self.model.state_dict()
            weights = state.pop("networks")
            meta = {"step": self.step, "gancraft": __version__, "world_size": self.ctx.world_size}
            path = self.checkpoints.save(
                self.step, networks=weights, config=self.full_config,
                training_state={**state, "step": self.step, "rng": ckpt.rng_state()}, meta=meta,
            )
        barrier(self.ctx)
        return path

    def load(self, path: Path) -> None:
        """Restore the model's state and the step; the RNG is restored later, at the loop start."""
        state = ckpt.load_training_state(path)
        self.step, self._pending_rng = int(state.pop("step")), state.pop("rng")
        self.model.load_state_dict({**state, "networks": ckpt.load_weights(path)})
        log.info("resumed from %s at step %d", path, self.step)

    def resume(self, resume: str | None) -> None:
        """``auto``: the run directory's latest checkpoint if there is one; a path: that checkpoint."""
        if not resume:
            return
        if resume == "auto":
            latest = self.checkpoints.latest()
            if latest is not None:
                self.load(latest)
            return
        self.load(ckpt.find_checkpoint(resume))

    # --- data -----------------------------------------------------------------------
    def _loader(self) -> DataLoader:
        self.sampler.start_step = self.step
        workers = self.config.num_workers
        return DataLoader(
            self.dataset,
            batch_size=self.config.batch_size,
            sampler=self.sampler,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=workers > 0,
            prefetch_factor=self.config.prefetch_factor if workers > 0 else None,
            worker_init_fn=worker_init if workers > 0 else None,  # workers ignore SIGTERM/SIGINT
            drop_last=True,
        )

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        fmt = torch.channels_last if self.config.channels_last else torch.contiguous_format
        out = {}
        for key, value in batch.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.device, non_blocking=True)
                if value.dim() == 4:
                    value = value.contiguous(memory_format=fmt)
            out[key] = value
        return out

    def sample_batch(self) -> dict[str, Any]:
        """The same few items every time (integer keys: no augmentation randomness)."""
        n = min(self.config.num_samples, len(self.dataset))
        return self._to_device(default_collate([self.dataset[i] for i in range(n)]))

    def write_samples(self, batch: dict[str, Any]) -> Path | None:
        with torch.no_grad(), self.precision.autocast():
            rows = self.model.sample_images(batch)
        if not rows:
            return None
        path = self.run_dir / "samples" / f"step_{self.step:08d}.png"
        with ckpt.atomic_file(path) as tmp:  # a kill mid-write leaves no half PNG
            save_grid(rows, tmp)
        return path

    # --- the loop -------------------------------------------------------------------
    def fit(self, resume: str | None = None) -> Path | None:
        """Train to ``total_steps``; returns the last checkpoint directory (rank 0)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.ctx.is_main:  # what a killed checkpoint or sample write left behind
            self.checkpoints.remove_leftovers()
            ckpt.remove_temporaries(self.run_dir / "samples")
        self._pending_rng = None
        self.resume(resume)
        cfg = self.config
        if self.ctx.is_main:
            cfg_path = self.run_dir / "config.yaml"
            full = self.full_config if isinstance(self.full_config, DictConfig) else OmegaConf.create(self.full_config)
            ckpt.write_text_atomic(cfg_path, OmegaConf.to_yaml(full, resolve=True))
        logger = MetricLogger(self.run_dir / "logs" / "metrics.jsonl", self.run_dir / "logs" / "tensorboard" if cfg.tensorboard else None)
        samples = self.sample_batch() if cfg.sample_every and self.ctx.is_main else None
        batches = iter(self._loader())
        # Creating the loader's iterator draws from the global RNG; restore after it, so a
        # resumed run continues exactly as the uninterrupted one.
        if self._pending_rng is not None:
            ckpt.set_rng_state(self._pending_rng)
        last_path = None
        bar = tqdm(total=self.total_steps, initial=self.step, unit="step", dynamic_ncols=True, disable=not (cfg.progress and self.ctx.is_main))
        tick, tick_step = time.perf_counter(), self.step
        self.model.train()
        try:
            with GracefulStop() as stop:
                while self.step < self.total_steps:
                    batch = self._to_device(next_batch(batches))  # a worker's DataError as one line
                    logs = self.model.train_step(batch, self.step)
                    lrs = self.model.step_schedulers()  # the LRs this step used
                    logger.accumulate(logs)
                    self.step += 1
                    bar.update(1)
                    final = self.step == self.total_steps or stop.requested
                    if self.step % cfg.log_every == 0 or final:
                        means = reduce_mean(logger.pending(), self.ctx)
                        now = time.perf_counter()
                        rate = (self.step - tick_step) / max(now - tick, 1e-9)
                        record = logger.flush(self.step, means, steps_per_s=rate, **lrs) if self.ctx.is_main else {}
                        logger.reset()  # ranks other than 0 do not flush
                        tick, tick_step = now, self.step
                        if record:
                            bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k in logs}, refresh=False)
                    if samples is not None and (self.step % cfg.sample_every == 0 or final):
                        self.write_samples(samples)
                    if (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0) or final:
                        last_path = self.save()
                        self._after_checkpoint()
                    if stop.requested:
                        break
        finally:
            bar.close()
            logger.close()
            report_dropped(self.dataset)
        if last_path is None and self.ctx.is_main:  # nothing left to train: the run was complete
            last_path = self.checkpoints.latest()
        return last_path

    def _after_checkpoint(self) -> None:
        """Each callback sees the in-memory model, in eval mode, on the main process; other ranks wait."""
        if self.callbacks and self.ctx.is_main:
            self.model.eval()
            try:
                for cb in self.callbacks:
                    cb.on_checkpoint(self.model, self.step, self.run_dir)
            finally:
                self.model.train()
        if self.callbacks:
            barrier(self.ctx)
