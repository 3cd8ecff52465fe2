"""The oracle: a small CNN that says whether a glasses-world face wears glasses, and which style.

It looks at the eye band of a face (a fixed crop, rows 30-70 % and columns 16-84 % of
the image, where every glasses-world face wears its glasses), resized to 32 x 56 px,
so it classifies images of any size. Its weights ship in the package
(``gancraft/world/weights/oracle.safetensors``, about 350 KB) and
``gancraft oracle train`` retrains them reproducibly from a seed.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from gancraft.core.errors import ConfigError, MissingWeightsError
from gancraft.core.values import PositiveInt
from gancraft.world.dataset import face_seed
from gancraft.world.render import render_variants
from gancraft.world.styles import GLASSES_STYLES, NO_GLASSES, STYLES

log = logging.getLogger(__name__)

CLASSES: list[str] = [NO_GLASSES, *STYLES]
INPUT_HW = (32, 56)
CROP_ROWS = (0.30, 0.70)  # fractions of the image height and width kept
CROP_COLS = (0.16, 0.84)
WEIGHTS_PATH = Path(__file__).parent / "weights" / "oracle.safetensors"


def eye_band_shape(h: int, w: int) -> tuple[int, int]:
    """Height and width, in pixels, of the eye-band crop of an ``h x w`` image (see :func:`eye_band`)."""
    return round(CROP_ROWS[1] * h) - round(CROP_ROWS[0] * h), round(CROP_COLS[1] * w) - round(CROP_COLS[0] * w)


def eye_band(images: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
    """NCHW images -> their eye band: rows 30-70 % and columns 16-84 %, where every glasses-world
    face (and any eye-aligned face) wears its glasses, resized (bilinear, antialiased) to ``size``
    when given. Differentiable: models may look at the band too (StarGAN v2's ``cls_view: band``)."""
    h, w = images.shape[-2:]
    top, bottom = round(CROP_ROWS[0] * h), round(CROP_ROWS[1] * h)
    left, right = round(CROP_COLS[0] * w), round(CROP_COLS[1] * w)
    crop = images[..., top:bottom, left:right]
    if size is not None and tuple(crop.shape[-2:]) != tuple(size):
        crop = F.interpolate(crop, size=tuple(size), mode="bilinear", antialias=True, align_corners=False)
    return crop


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """Float NCHW in [-1, 1], any size -> the oracle's eye-band crop at 32 x 56 px."""
    return eye_band(images.float(), INPUT_HW)


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class OracleNet(nn.Module):
    """About 90 k parameters: five 3x3 conv blocks, then average- and max-pooled features.

    The first block keeps the full input resolution: thin frames are a pixel wide.
    """

    def __init__(self, num_classes: int = len(CLASSES), width: int = 16) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _block(3, w + w // 2),
            _block(w + w // 2, 2 * w, stride=2),
            _block(2 * w, 3 * w),
            nn.MaxPool2d(2),
            _block(3 * w, 4 * w),
            _block(4 * w, 4 * w),
        )
        self.head = nn.Linear(8 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        return self.head(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1))


@dataclass
class Prediction:
    """Oracle output for a batch: class probabilities and the decisions read from them."""

    probs: torch.Tensor  # N x len(CLASSES)
    classes: list[str]

    @property
    def label(self) -> list[str]:
        """The most likely class of each image (``no_glasses`` or a style)."""
        return [self.classes[i] for i in self.probs.argmax(1).tolist()]

    @property
    def eyewear(self) -> torch.Tensor:
        """bool N: wears any eyewear, sunglasses included."""
        return self.probs.argmax(1) != 0

    @property
    def glasses(self) -> torch.Tensor:
        """bool N: wears clear glasses (any style but sunglasses)."""
        return torch.tensor([c in GLASSES_STYLES for c in self.label], dtype=torch.bool)


class Oracle(nn.Module):
    """The trained classifier with its preprocessing; ``oracle(images)`` -> :class:`Prediction`."""

    def __init__(self, net: OracleNet, classes: list[str]) -> None:
        super().__init__()
        self.net, self.classes = net, classes

    @torch.no_grad()
    def forward(self, images: torch.Tensor, batch_size: int = 256, preprocessed: bool = False) -> Prediction:
        """Classify float NCHW images in [-1, 1] (``preprocessed``: already :func:`preprocess`-ed crops)."""
        self.net.eval()
        device = next(self.net.parameters()).device
        probs = []
        for chunk in images.split(batch_size):
            chunk = chunk.to(device).float()
            probs.append(self.net(chunk if preprocessed else preprocess(chunk)).softmax(1).cpu())
        return Prediction(torch.cat(probs), self.classes)


def load_oracle(path: str | Path | None = None, device: str | torch.device = "cpu") -> Oracle:
    """Load the oracle (the shipped weights unless ``path`` is given)."""
    path = Path(path) if path else WEIGHTS_PATH
    if not path.is_file():
        raise MissingWeightsError(f"oracle weights {path} not found; run `gancraft oracle train` to create them")
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    classes = json.loads(meta.get("classes", json.dumps(CLASSES)))
    net = OracleNet(len(classes), int(meta.get("width", 16)))
    net.load_state_dict(load_file(str(path)))
    return Oracle(net.to(device).eval(), classes)


# --- training ------------------------------------------------------------------------


def render_set(part: str, faces: int, sizes: tuple[int, ...], offset: int = 0, desc: str = "") -> tuple[torch.Tensor, torch.Tensor]:
    """Every class of ``faces`` faces of the oracle's ``part`` seeds, preprocessed, as uint8 and labels."""
    images, labels = [], []
    for i in tqdm(range(faces), desc=desc or f"render {part}", unit="face", leave=False):
        seed = face_seed("oracle", part, i, offset)
        size = sizes[seed % len(sizes)]
        for label, r in enumerate(render_variants(seed, size, [None, *STYLES]).values()):
            x = torch.from_numpy(r.image).permute(2, 0, 1)[None].float().div(127.5).sub(1)
            images.append(preprocess(x).add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8))
            labels.append(label)
    return torch.cat(images), torch.tensor(labels)


def _cached(cache: str | Path | None, part: str, faces: int, sizes: tuple[int, ...], offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`render_set`, kept in ``cache`` under a name that spells out every setting."""
    if cache is None:
        return render_set(part, faces, sizes, offset, desc=f"render {part}")
    key = f"{part}_{faces}_{'-'.join(map(str, sizes))}_{offset}_{CROP_ROWS}_{CROP_COLS}_{INPUT_HW}".replace(" ", "")
    path = Path(cache) / f"oracle_{key}.pt"
    if path.is_file():
        data = torch.load(path, weights_only=True)
        return data["images"], data["labels"]
    images, labels = render_set(part, faces, sizes, offset, desc=f"render {part}")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"images": images, "labels": labels}, path)
    return images, labels


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Translator-like nuisance: shifts, flips, colour and contrast changes, blur, resampling, noise."""
    n = x.shape[0]
    shift = torch.randint(-2, 3, (2,), generator=g).tolist()
    x = torch.roll(x, shifts=shift, dims=(2, 3))
    flip = torch.rand(n, generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    gain = 1 + 0.25 * (torch.rand(n, 1, 1, 1, generator=g) - 0.5)
    bias = 0.2 * (torch.rand(n, 3, 1, 1, generator=g) - 0.5)
    x = x * gain + bias
    blur = torch.rand(n, generator=g) < 0.3
    soft = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    x = torch.where(blur[:, None, None, None], 0.5 * x + 0.5 * soft, x)
    # a blurry generator output: down- and up-sampled by a random factor
    factor = 0.45 + 0.45 * float(torch.rand((), generator=g))
    small = F.interpolate(x, scale_factor=factor, mode="bilinear", antialias=True, align_corners=False)
    resampled = F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)
    x = torch.where((torch.rand(n, generator=g) < 0.3)[:, None, None, None], resampled, x)
    x = x + 0.04 * torch.rand(n, 1, 1, 1, generator=g) * torch.randn(x.shape, generator=g)
    return x.clamp(-1, 1)


def evaluate_oracle(oracle: Oracle, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Accuracy on glasses-or-not (any eyewear vs none) and on the exact class, on uint8 crops from :func:`render_set`."""
    pred = oracle(images.float().div(127.5).sub(1), preprocessed=True).probs.argmax(1)
    return {
        "glasses_or_not": float(((pred != 0) == (labels != 0)).float().mean()),
        "style": float((pred == labels).float().mean()),
        "n": int(labels.numel()),
    }


def train_oracle(
    out: str | Path = WEIGHTS_PATH,
    seed: int = 0,
    faces: int = 2000,
    heldout: int = 500,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 3e-3,
    width: int = 16,
    sizes: tuple[int, ...] = (64, 96),
    eval_sizes: tuple[int, ...] = (64, 128),
    cache: str | Path | None = None,
) -> dict[str, Any]:
    """Train the oracle from scratch on rendered faces and save it; returns held-out accuracies.

    ``cache``: a folder where the rendered training and held-out sets are kept, so
    that a second run with the same settings skips the rendering.
    """
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    start = time.time()
    images, labels = _cached(cache, "train", faces, sizes, seed * MAX_FACES_PER_SEED)
    net = OracleNet(len(CLASSES), width)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (len(labels) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    bar = tqdm(total=steps, desc="train oracle", unit="step")
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(labels), generator=g)
        for k in range(len(labels) // batch_size):
            idx = order[k * batch_size : (k + 1) * batch_size]
            x = _augment(images[idx].float().div(127.5).sub(1), g)
            loss = F.cross_entropy(net(x), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    net.eval()
    oracle = Oracle(net, CLASSES)
    results: dict[str, Any] = {"train_faces": faces, "train_images": int(len(labels)), "epochs": epochs, "seed": seed}
    for size in eval_sizes:
        h_images, h_labels = _cached(cache, "heldout", heldout, (size,), 0)
        results[f"heldout_{size}px"] = evaluate_oracle(oracle, h_images, h_labels)
    results["train_seconds"] = round(time.time() - start, 1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    meta = {"classes": json.dumps(CLASSES), "width": str(width), "input_hw": json.dumps(INPUT_HW), "results": json.dumps(results)}
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp), metadata=meta)
    tmp.replace(out)
    out.chmod(0o644)
    return results


# the training seeds of run ``seed`` start seed * this many faces into the oracle range
MAX_FACES_PER_SEED = 100_000


def train_command(
    out: Path = WEIGHTS_PATH,
    seed: int = 0,
    faces: PositiveInt = 2000,
    epochs: PositiveInt = 5,
    heldout: PositiveInt = 500,
    threads: PositiveInt = 2,
    batch_size: PositiveInt = 64,
    lr: float = 3e-3,
    cache: Path | None = None,
) -> int:
    """``gancraft oracle train [out=PATH] [seed=0] [faces=2000] [epochs=5] [heldout=500] [threads=2]``."""
    # a fixed thread count keeps the float reductions, and so the weights, reproducible
    torch.set_num_threads(threads)
    results = train_oracle(out=out, cache=cache, seed=seed, faces=faces, epochs=epochs, heldout=heldout, batch_size=batch_size, lr=lr)
    print(json.dumps(results, indent=2))
    print(f"oracle weights written to {out}")
    return 0


def describe(results: dict[str, Any]) -> str:
    """One line per held-out size: glasses-or-not and style accuracy in percent."""
    lines = []
    for key, r in results.items():
        if key.startswith("heldout_"):
            lines.append(f"{key}: glasses-or-not {100 * r['glasses_or_not']:.2f} %, style {100 * r['style']:.2f} % (n={r['n']})")
    return "\n".join(lines) if lines else "no held-out results"

