"""``gancraft data synth``: render the glasses world to PNG folders.

Writes, under ``out``:

* the unpaired layout ``trainA/ trainB/ testA/ testB/`` (A without glasses, B with);
* the per-domain layout ``domains/train/<domain>/`` and ``domains/test/<domain>/``
  (``no_glasses``, ``round``, ...), one identity per image;
* ``paired/<domain>/`` the test faces of ``testA`` with every style, plus
  ``paired/masks/<style>/`` (glasses masks), ``paired/masks/band/`` and
  ``paired/masks/skin/`` — the ground truth of the world metrics;
* ``metadata.jsonl``: one JSON line per image (path, split, domain, seed, skin tone,
  face shape, style, eye positions, glasses bounding box, ...).

The images are exactly what the ``glasses_world`` data set renders for the same
seeds (without augmentation).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from gancraft.core.errors import ConfigError
from gancraft.core.values import NonNegativeInt, PositiveInt
from gancraft.world.dataset import MAX_FACES, _check_styles, face_seed
from gancraft.world.render import Render, check_size, render_face, render_variants, style_for_seed
from gancraft.world.styles import NO_GLASSES

LAYOUTS = ("both", "unpaired", "domains")


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, compress_level=1)


def _jobs(n: int, n_test: int, styles: list[str], layout: str, offset: int) -> Iterator[tuple[str, str, str, int, Any]]:
    """(relative path, split, domain, seed, style or None) of every image, in writing order."""
    if layout in ("both", "unpaired"):
        for split, count in (("train", n), ("test", n_test)):
            for i in range(count):
                seed = face_seed(split, "A", i, offset)
                yield f"{split}A/{i:06d}.png", split, NO_GLASSES, seed, None
            for i in range(count):
                seed = face_seed(split, "B", i, offset)
                style = style_for_seed(seed, styles)
                yield f"{split}B/{i:06d}.png", split, style, seed, style
    if layout in ("both", "domains"):
        domains = [NO_GLASSES, *styles]
        for split, count in (("train", n), ("test", n_test)):
            # item i of the domains data set has label i % len(domains)
            for i in range(count * len(domains)):
                domain = domains[i % len(domains)]
                seed = face_seed(split, "domains", i, offset)
                yield f"domains/{split}/{domain}/{i // len(domains):06d}.png", split, domain, seed, domain


def synthesize(
    out: str | Path,
    n: int,
    size: int = 64,
    n_test: int | None = None,
    styles: list[str] | str | None = None,
    layout: str = "both",
    seed_offset: int = 0,
    paired: bool = True,
    progress: bool = True,
) -> dict[str, int]:
    """Render the glasses world into ``out`` (see the module docstring); returns images written per folder."""
    size = check_size(size)
    styles = _check_styles(styles)
    if layout not in LAYOUTS:
        raise ConfigError(f"data synth layout={layout!r} is unknown; use one of {', '.join(LAYOUTS)}")
    if not 1 <= n <= MAX_FACES:
        raise ConfigError(f"data synth n={n} is out of range; use 1..{MAX_FACES}")
    n_test = max(1, n // 5) if n_test is None else int(n_test)
    if not 0 <= n_test <= MAX_FACES:
        raise ConfigError(f"data synth n_test={n_test} is out of range; use 0..{MAX_FACES}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"data synth out={out} is a file; give a directory")
    out.mkdir(parents=True, exist_ok=True)
    jobs = list(_jobs(n, n_test, styles, layout, seed_offset))
    total = len(jobs) + (n_test if paired and layout in ("both", "unpaired") else 0)
    counts: dict[str, int] = {}
    with open(out / "metadata.jsonl", "w") as meta_file, tqdm(total=total, desc="synth", unit="face", disable=not progress) as bar:

        def record(rel: str, split: str, domain: str, render: Render, **extra: Any) -> None:
            _save(out / rel, render.image)
            folder = rel.rsplit("/", 1)[0]
            counts[folder] = counts.get(folder, 0) + 1
            meta_file.write(json.dumps({"path": rel, "split": split, "domain": domain, **render.meta, **extra}) + "\n")

        for rel, split, domain, seed, style in jobs:
            record(rel, split, domain, render_face(seed, size, style))
            bar.update()
        if paired and layout in ("both", "unpaired"):
            # the test A faces again, with every style: ground truth for both directions
            for i in range(n_test):
                seed = face_seed("test", "A", i, seed_offset)
                renders = render_variants(seed, size, [None, *styles])
                worn = style_for_seed(seed, styles)
                name = f"{i:06d}.png"
                for domain, r in renders.items():
                    record(f"paired/{domain}/{name}", "test", domain, r, paired_with=f"testA/{name}", worn_style=worn)
                    if domain != NO_GLASSES:
                        _save(out / "paired" / "masks" / domain / name, r.mask.astype(np.uint8) * 255)
                base = renders[NO_GLASSES]
                _save(out / "paired" / "masks" / "band" / name, base.band.astype(np.uint8) * 255)
                _save(out / "paired" / "masks" / "skin" / name, base.skin.astype(np.uint8) * 255)
                bar.update()
    return counts


def synth_command(
    out: Path,
    n: PositiveInt,
    size: int = 64,
    n_test: NonNegativeInt | None = None,
    styles: list[str] | None = None,
    layout: str = "both",
    seed_offset: int = 0,
    paired: bool = True,
) -> int:
    """``gancraft data synth out=DIR n=N [size=64] [n_test=N/5] [styles=a,b] [layout=both] [seed_offset=0]``."""
    counts = synthesize(out, n=n, size=size, n_test=n_test, styles=styles, layout=layout, seed_offset=seed_offset, paired=paired)
    print(f"wrote {sum(counts.values())} images to {out} ({len(counts)} folders) and {out}/metadata.jsonl")
    return 0
