"""From a composed recipe to a trained checkpoint: the data flow of DESIGN.md in one function.

The config is resolved once, here, before data and model are built (:func:`resolve_config`);
the registries build the data set, the model and the callbacks by name; the trainer runs.
The caller fills the callback registry (``gancraft.components`` registers the built-in
ones, such as ``evaluate``): the engine imports nothing above it.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from omegaconf import DictConfig, OmegaConf

import gancraft.data  # noqa: F401  (the registries this layer builds from: data sets,
import gancraft.models  # noqa: F401  models with their networks and losses,
import gancraft.world  # noqa: F401  and the glasses world)
from gancraft.core.callbacks import TrainingCallback
from gancraft.core.checkpoint import find_checkpoint, load_config
from gancraft.core.distributed import DistributedContext, init_distributed
from gancraft.core.errors import ConfigError
from gancraft.core.registry import CALLBACKS, DATASETS, MODELS
from gancraft.engine.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_run_dir(cfg: DictConfig, ctx: DistributedContext) -> Path:
    """``runs/<recipe>-<time>``; every rank gets rank 0's name."""
    name = [f"runs/{cfg.get('recipe', 'run')}-{time.strftime('%Y%m%d-%H%M%S')}"]
    if ctx.enabled:
        dist.broadcast_object_list(name, src=0)
    return Path(name[0])


def resolve_config(cfg: DictConfig) -> DictConfig | None:
    """Resolve ``cfg`` in place, once, before anything is built: ``init_from`` becomes a checkpoint
    directory, whose config is read here (the only place) and handed to the model class's
    ``resolve_config`` (StarGAN v2 takes its domain list from it). Returns that config, or None."""
    init_config = None
    if cfg.get("init_from"):
        path = find_checkpoint(cfg.init_from)
        cfg.init_from = str(path)
        init_config = load_config(path)
    resolve = getattr(MODELS.factory_for(cfg.model), "resolve_config", None)
    if resolve is not None:
        resolve(cfg, init_config)
    return init_config


def build_callbacks(specs: list | None) -> list[TrainingCallback]:
    """``callbacks: [{name: evaluate, protocol: world, every: 1000}, ...]`` -> callback objects."""
    callbacks = []
    for spec in specs or []:
        if not isinstance(spec, (dict, DictConfig)) or "name" not in spec:
            raise ConfigError(f"each entry of callbacks: needs a name (one of {', '.join(CALLBACKS.names()) or 'none registered'}), got {spec!r}")
        if spec["name"] not in CALLBACKS:
            raise ConfigError(
                f"unknown callback {spec['name']!r}; registered: {', '.join(CALLBACKS.names()) or 'none'} "
                "(a callback registers when its module is imported; `import gancraft.components` registers the built-in ones)"
            )
        callbacks.append(CALLBACKS.build_from_config(spec))
    return callbacks


def build_trainer(cfg: DictConfig, ctx: DistributedContext | None = None) -> Trainer:
    """Data set, model and trainer for a composed recipe (nothing is trained yet)."""
    ctx = ctx or init_distributed(str(cfg.trainer.get("device", "auto")))
    trainer_cfg = TrainerConfig.from_config(cfg.trainer)
    init_config = resolve_config(cfg)
    callbacks = build_callbacks(OmegaConf.to_container(cfg.callbacks) if cfg.get("callbacks") else [])
    seed_everything(int(cfg.seed))
    dataset = DATASETS.build_from_config(cfg.data)
    model = MODELS.build_from_config(cfg.model)
    if init_config is not None:
        model.init_from(Path(cfg.init_from), init_config)
    run_dir = Path(cfg.run_dir) if cfg.get("run_dir") else default_run_dir(cfg, ctx)
    return Trainer(model, dataset, trainer_cfg, run_dir, full_config=cfg, seed=int(cfg.seed), ctx=ctx, callbacks=callbacks)


def train(cfg: DictConfig) -> Path | None:
    """Train a composed recipe; returns the final checkpoint directory (on rank 0)."""
    trainer = build_trainer(cfg)
    if trainer.ctx.is_main:
        log.info("run directory: %s", trainer.run_dir)
    try:
        return trainer.fit(resume=cfg.get("resume"))
    finally:
        if trainer.ctx.enabled and dist.is_initialized():
            dist.destroy_process_group()
