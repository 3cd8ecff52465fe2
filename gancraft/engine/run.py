"""From a composed recipe to a trained checkpoint: the data flow of DESIGN.md in one function."""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from omegaconf import DictConfig, OmegaConf

from gancraft.core.checkpoint import find_checkpoint
from gancraft.core.distributed import DistributedContext, init_distributed
from gancraft.engine.trainer import Trainer, TrainerConfig
from gancraft.core.registry import DATASETS, MODELS

log = logging.getLogger(__name__)
_ABSENT = object()


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


def build_trainer(cfg: DictConfig, ctx: DistributedContext | None = None) -> Trainer:
    """Data set, model and trainer for a composed recipe (nothing is trained yet)."""
    import gancraft.components  # noqa: F401  (fills the registries)

    ctx = ctx or init_distributed(str(cfg.trainer.get("device", "auto")))
    trainer_cfg = TrainerConfig.from_config(cfg.trainer)
    seed_everything(int(cfg.seed))
    dataset = DATASETS.build_from_config(cfg.data)
    if "domains" in cfg.model and cfg.model.domains is None and not cfg.model.get("domains_from") and getattr(dataset, "domains", None):
        cfg.model.domains = list(dataset.domains)  # data.domains=null: the sub-folders found are the model's domains
    model = MODELS.build_from_config(cfg.model)
    if cfg.get("init_from"):
        model.init_from(find_checkpoint(cfg.init_from))
    for key, value in model.resolved_config().items():
        if OmegaConf.select(cfg, key, default=_ABSENT) is not _ABSENT:
            OmegaConf.update(cfg, key, value, merge=False)
    run_dir = Path(cfg.run_dir) if cfg.get("run_dir") else default_run_dir(cfg, ctx)
    return Trainer(model, dataset, trainer_cfg, run_dir, full_config=cfg, seed=int(cfg.seed), ctx=ctx)


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
