"""Translator: a trained model, loaded from a checkpoint, turning images into images."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import Counter
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
from gancraft.core.errors import CheckpointError, ConfigError, DataError
from gancraft.core.registry import MODELS
from gancraft.core.values import PositiveInt, bind

log = logging.getLogger(__name__)


class _SingleNetwork(nn.Module):
    """A bare generator (from a reference checkpoint) behind the model ``translate`` call.

    A reference file holds one direction: ``*_G_A.pth`` translates a2b, ``*_G_B.pth``
    b2a; asking it for the other direction is an error, not a silent run of the wrong net.
    """

    def __init__(self, generator: nn.Module, source: Path | None = None) -> None:
        super().__init__()
        self.generator, self.source = generator, source
        name = source.stem if source is not None else ""
        self.serves = "a2b" if name.endswith("G_A") else "b2a" if name.endswith("G_B") else None

    def translate(self, images: torch.Tensor, direction: str | None = None, **_: Any) -> torch.Tensor:
        if direction is not None and direction not in ("a2b", "b2a"):
            raise ConfigError(f"direction {direction!r} is not one of a2b, b2a")
        if direction is not None and self.serves is not None and direction != self.serves:
            other = str(self.source.name).replace("G_A" if self.serves == "a2b" else "G_B", "G_B" if self.serves == "a2b" else "G_A")
            raise ConfigError(
                f"{str(self.source)!r} holds one generator, which translates {self.serves} only; "
                f"for direction={direction} give {other} (or drop direction=)"
            )
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
            from gancraft.networks.resnet_generator import ResnetGenerator

            size = arch.pop("size", 256)
            net = load_reference_cyclegan(path, **arch)
            if not isinstance(net, ResnetGenerator):
                raise CheckpointError(
                    f"{str(path)!r} is a discriminator ({type(net).__name__}); translate needs a generator file "
                    "such as latest_net_G_A.pth (a2b) or latest_net_G_B.pth (b2a)"
                )
            return cls(_SingleNetwork(net, path), device=device, size=size)
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

    def translate_files(
        self, inputs: str | Path, output: str | Path, batch_size: int = 8, skip_bad: bool = False, **condition: Any
    ) -> list[Path]:
        """Translate a file or every image in a folder into ``output``; returns the written files.

        Each output is ``<input stem>.png``; inputs that share a stem (``a.jpg``, ``a.png``)
        become ``a_jpg.png`` and ``a_png.png``, so no output overwrites another. A model
        that returns several outputs per input (N x K x 3 x H x W, e.g. ``num=5``) writes
        ``<name>_<k>.png`` for each. ``output`` may not be or lie inside the input folder.

        Outputs are written into a hidden folder inside ``output`` and moved into place
        one by one (each by an atomic rename) only once every input was translated: an
        unreadable input stops the run with nothing written, or, with ``skip_bad``, is
        left out and named in the log (see :attr:`skipped`).
        """
        inputs, output = Path(inputs).expanduser(), Path(output).expanduser()
        if inputs.is_file() and inputs.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(f"input {str(inputs)!r} is not an image file ({', '.join(IMAGE_SUFFIXES)})")
        files = [inputs] if inputs.is_file() else list_images(inputs)
        check_output(inputs, output)
        if isinstance(condition.get("reference"), (str, Path)):
            condition["reference"] = self.load_images([Path(condition["reference"])])
        names = output_names(files)
        created = not output.exists()
        output.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=output, prefix=".translate-"))
        staged: list[tuple[Path, Path]] = []
        self.skipped: list[tuple[Path, str]] = []
        try:
            for start in tqdm(range(0, len(files), batch_size), desc="translate", unit="batch", disable=len(files) <= batch_size):
                chunk, chunk_names, images = [], [], []
                for path, name in zip(files[start : start + batch_size], names[start : start + batch_size]):
                    try:
                        images.append(self.load_images([path])[0])
                    except DataError as err:
                        if not skip_bad:
                            raise DataError(f"{err}; nothing was written to {str(output)!r}") from None
                        self.skipped.append((path, str(err)))
                        log.warning("skipped: %s", err)
                        continue
                    chunk.append(path)
                    chunk_names.append(name)
                if not chunk:
                    continue
                result = self.translate(torch.stack(images), **condition).cpu()
                for name, out in zip(chunk_names, result):
                    variants = [(f"{name}.png", out)] if out.dim() == 3 else [(f"{name}_{k}.png", v) for k, v in enumerate(out)]
                    for file_name, image in variants:
                        to_pil(image).save(staging / file_name)
                        staged.append((staging / file_name, output / file_name))
            for tmp, final in staged:
                os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if created and not any(output.iterdir()):
                output.rmdir()
            raise
        shutil.rmtree(staging, ignore_errors=True)
        if self.skipped:
            log.warning("skipped %d unreadable input(s): %s", len(self.skipped), ", ".join(str(p) for p, _ in self.skipped))
        return [final for _, final in staged]


def output_names(files: Sequence[Path]) -> list[str]:
    """Output stems: the input's stem, or ``<stem>_<ext>`` where two inputs share a stem."""
    stems = Counter(p.stem for p in files)
    names = [p.stem if stems[p.stem] == 1 else f"{p.stem}_{p.suffix.lstrip('.').lower()}" for p in files]
    repeated = [n for n, c in Counter(names).items() if c > 1]  # a.JPG and a.jpg: fall back to the position
    return [f"{n}_{i}" if n in repeated else n for i, n in enumerate(names)]


def check_output(inputs: Path, output: Path) -> None:
    """``output`` must be a folder that is neither the input folder nor inside it."""
    if output.exists() and not output.is_dir():
        raise ConfigError(f"output={str(output)!r} is a file; give a folder to write the images into")
    source = (inputs.parent if inputs.is_file() else inputs).resolve()
    target = output.resolve()
    if inputs.is_dir() and (target == source or source in target.parents):
        raise ConfigError(f"output={str(output)!r} is inside input={str(inputs)!r}; give an output folder outside it, so no input is overwritten or read back")


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
