"""Translator: a trained model, loaded from a checkpoint, turning images into images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Literal

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn
from tqdm import tqdm

from gancraft.data.image_io import IMAGE_SUFFIXES, list_images
from gancraft.data.image_sets import load_images
from gancraft.data.transforms import to_pil
from gancraft.core.device import resolve_device
from gancraft.core import checkpoint as ckpt
from gancraft.core.errors import ConfigError, DataError
from gancraft.core.registry import MODELS
from gancraft.core.values import PositiveInt, bind


class _SingleNetwork(nn.Module):
    """A bare generator (from a reference checkpoint) behind the model ``translate`` call."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def translate(self, images: torch.Tensor, **_: Any) -> torch.Tensor:
        return self.generator(images)


class Translator:
    """``Translator.load(checkpoint).translate(images, **condition)``.

    ``images`` are float NCHW in [-1, 1]; ``condition`` is what the model's
    ``translate`` takes (``direction="a2b"`` for CycleGAN; ``domain=``, ``z=``,
    ``reference=``, ``num=`` for StarGAN v2).
    """

    def __init__(self, model: nn.Module, config: DictConfig | None = None, device: str | torch.device = "auto", size: int | None = None) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.config = config if config is not None else OmegaConf.create({})
        self.size = size or _training_size(self.config)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "auto", **arch: Any) -> Translator:
        """From a gancraft checkpoint or run directory, or a reference CycleGAN ``.pth`` file."""
        path = Path(path).expanduser()
        if path.is_file() and path.suffix in (".pth", ".pt"):
            from gancraft.inference.interop import load_reference_cyclegan

            return cls(_SingleNetwork(load_reference_cyclegan(path, **arch)), device=device, size=arch.get("size", 256))
        import gancraft.models  # noqa: F401  (fills MODELS, with the networks and losses models build)

        directory = ckpt.find_checkpoint(path)
        config = ckpt.load_config(directory)
        model = MODELS.build_from_config(config.model)
        ckpt.load_network_state(model.networks(), ckpt.load_weights(directory))
        return cls(model, config, device)

    @torch.inference_mode()
    def translate(self, images: torch.Tensor, **condition: Any) -> torch.Tensor:
        """Translate a batch; extra tensors in ``condition`` move to the model's device."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise DataError(f"translate expects N x 3 x H x W images in [-1, 1], got shape {tuple(images.shape)}")
        condition = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in condition.items()}
        return self.model.translate(images.to(self.device), **condition).float().clamp(-1, 1)

    def load_images(self, paths: Sequence[Path]) -> torch.Tensor:
        """Files -> a batch at the translator's size (bicubic resize, no crop)."""
        return load_images(paths, self.size)

    def translate_files(self, inputs: str | Path, output: str | Path, batch_size: int = 8, **condition: Any) -> list[Path]:
        """Translate a file or every image in a folder into ``output``; returns the written files.

        A model that returns several outputs per input (N x K x 3 x H x W, e.g.
        ``num=5``) writes ``<name>_<k>.png`` for each.
        """
        inputs, output = Path(inputs).expanduser(), Path(output).expanduser()
        files = [inputs] if inputs.is_file() else list_images(inputs)
        if inputs.is_file() and inputs.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(f"input {str(inputs)!r} is not an image file ({', '.join(IMAGE_SUFFIXES)})")
        if isinstance(condition.get("reference"), (str, Path)):
            condition["reference"] = self.load_images([Path(condition["reference"])])
        output.mkdir(parents=True, exist_ok=True)
        written = []
        for start in tqdm(range(0, len(files), batch_size), desc="translate", unit="batch", disable=len(files) <= batch_size):
            chunk = files[start : start + batch_size]
            result = self.translate(self.load_images(chunk), **condition).cpu()
            for path, out in zip(chunk, result):
                if out.dim() == 3:
                    written.append(output / f"{path.stem}.png")
                    to_pil(out).save(written[-1])
                else:
                    for k, variant in enumerate(out):
                        written.append(output / f"{path.stem}_{k}.png")
                        to_pil(variant).save(written[-1])
        return written


def _condition(
    direction: Literal["a2b", "b2a"] | None = None,
    domain: str | None = None,
    num: PositiveInt | None = None,
    seed: int | None = None,
    reference: Path | None = None,
    psi: float | None = None,
) -> None:
    """The typed schema of :func:`condition_from_words` (the body is never run)."""


def condition_from_words(words: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The ``translate`` keywords a command line gives (``direction=a2b``, or ``domain=round num=5
    seed=0``, or ``reference=IMG``), typed; one line for an unknown key or a wrong value."""
    given = bind(_condition, words, f"{what} (as the model's condition)", from_text=True)
    return {k: v for k, v in given.items() if v is not None}


def _training_size(config: DictConfig) -> int:
    data = config.get("data", {}) or {}
    for key in ("crop_size", "size", "img_size", "load_size"):
        if data.get(key):
            return int(data[key])
    if config.get("model", {}).get("img_size"):
        return int(config.model.img_size)
    raise ConfigError("cannot tell the image size this model was trained at; pass size=...")
