"""Shared fixtures: tiny image folders made by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# Tests run tiny networks: one thread is faster than two (no OpenMP hand-off), and CI
# results do not depend on what else the machine runs.
torch.set_num_threads(1)


def write_toy_domains(root: Path, n_train: int = 12, n_test: int = 4, size: int = 40, seed: int = 0) -> Path:
    """``trainA/ trainB/ testA/ testB/``: smooth random colour fields; B has a dark horizontal band."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for domain in "AB":
            folder = root / f"{split}{domain}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                small = Image.fromarray((rng.random((6, 6, 3)) * 255).astype(np.uint8))
                pixels = np.asarray(small.resize((size, size), Image.BICUBIC)).copy()
                if domain == "B":
                    pixels[size // 3 : size // 3 + size // 8] = 20
                Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return root


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toy_domains(tmp_path_factory.mktemp("toy"))


#: overrides that make the CycleGAN recipe tiny (32 px, thin networks, CPU, no workers)
TINY_CYCLEGAN = [
    "data.load_size=36",
    "data.crop_size=32",
    "model.generator.ngf=8",
    "model.generator.n_blocks=2",
    "model.discriminator.ndf=8",
    "trainer.epochs=null",
    "trainer.num_workers=0",
    "trainer.progress=false",
    "trainer.device=cpu",
    "trainer.precision=fp32",
]
