"""Tiny checkpoints and world photos shared by the face, try-on and export tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import gancraft.components  # noqa: F401  (fills the registries)
from gancraft.core.checkpoint import save_checkpoint
from gancraft.core.registry import MODELS
from gancraft.faces.scenes import paste_matrix
from gancraft.world import render_face

TINY_CYCLEGAN = {
    "name": "cyclegan",
    "generator": {"name": "resnet_generator", "ngf": 4, "n_blocks": 1, "attention": True},
    "discriminator": {"name": "patchgan_discriminator", "ndf": 4, "n_layers": 1},
}
TINY_STARGAN = {"name": "stargan_v2", "domains": ["no_glasses", "round", "aviator"], "img_size": 32, "style_dim": 8,
                "latent_dim": 4, "hidden_dim": 16, "max_conv_dim": 16, "base_dim": 8, "attention": True}
WORLD_32 = {"name": "glasses_world", "size": 32, "load_size": 32, "crop_size": 32}


def tiny_checkpoint(directory: Path, model: dict | None = None, data: dict | None = None, seed: int = 0) -> Path:
    """An untrained tiny model saved as a checkpoint (CycleGAN on the 32 px world by default)."""
    torch.manual_seed(seed)
    model = model or TINY_CYCLEGAN
    data = data or (WORLD_32 if model["name"] == "cyclegan" else {"name": "stargan_v2_domains", "root": None, "size": 32})
    net = MODELS.build_from_config(model)
    return save_checkpoint(directory, networks=net.networks(), config={"seed": 0, "model": model, "data": data}, meta={"step": 1})


def world_photo(centres: list[tuple[float, float]], side: int = 300, width: int = 800, height: int = 600, seed: int = 3) -> tuple[np.ndarray, list[np.ndarray]]:
    """A flat grey photo with a 512 px world face pasted (scaled to ``side``) at each centre; returns it and each face's true eyes."""
    from PIL import Image

    photo = Image.new("RGB", (width, height), (128, 128, 128))
    eyes = []
    for k, centre in enumerate(centres):
        render = render_face(seed + k, 512)
        x0, y0 = round(centre[0] - side / 2), round(centre[1] - side / 2)
        m = paste_matrix((x0 + (side - 1) / 2, y0 + (side - 1) / 2), side, 0.0)
        photo.paste(Image.fromarray(render.image).resize((side, side), Image.BICUBIC), (x0, y0))
        eyes.append(np.asarray(render.meta["eyes"]) @ m[:, :2].T + m[:, 2])
    return np.asarray(photo), eyes
