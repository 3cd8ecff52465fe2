"""Export a checkpoint's inference networks to ONNX, and translate with onnxruntime.

``export_onnx(checkpoint, "model.onnx")`` writes the first network to ``model.onnx`` and
each other one beside it as ``model.<network>.onnx`` (CycleGAN: ``G_A`` then ``G_B``;
StarGAN v2: the EMA generator, then the mapping network and the style encoder), every
one with a dynamic batch size and the checkpoint's resolved config in its metadata.
:class:`OnnxTranslator` loads them back: it builds the model from that config and
puts onnxruntime sessions in place of its networks, so the model's own ``translate``
(directions, domains, latent codes, references) runs on the exported graphs.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Literal

import torch
from omegaconf import OmegaConf
from torch import nn

from gancraft.core.errors import CheckpointError, ConfigError
from gancraft.core.values import PositiveInt

log = logging.getLogger(__name__)

#: model name -> its inference networks: (attribute, input names), the first one in the main file;
#: a network's moving average (``<attribute>_ema``) is exported instead where the model keeps one
NETWORKS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "cyclegan": [("G_A", ("images",)), ("G_B", ("images",))],
    "stargan_v2": [("generator", ("images", "styles")), ("mapping_network", ("z", "y")), ("style_encoder", ("images", "y"))],
}
CONFIG_KEY = "gancraft_config"


def import_onnxruntime() -> Any:
    """``onnxruntime``, or a one-line error naming the extra to install."""
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError("ONNX needs onnxruntime: pip install 'gancraft[onnx]' (onnx, onnxruntime)") from None
    return onnxruntime


def _networks(model: nn.Module, config: Any) -> list[tuple[str, tuple[str, ...]]]:
    """The networks that translate: each listed one, or its moving average (``<name>_ema``) where
    the model keeps one, as a model's ``translate`` does."""
    name = str(config.model.get("name", ""))
    if name not in NETWORKS:
        raise ConfigError(f"ONNX export knows models {', '.join(NETWORKS)}; this checkpoint holds {name or 'an unnamed model'!r}")
    return [(f"{attribute}_ema" if hasattr(model, f"{attribute}_ema") else attribute, inputs) for attribute, inputs in NETWORKS[name]]


def network_path(main: Path, index: int, attribute: str) -> Path:
    """Where network ``index`` (``attribute``) of an export whose main file is ``main`` lies."""
    return main if index == 0 else main.with_name(f"{main.stem}.{attribute}.onnx")


def _example(model: nn.Module, inputs: tuple[str, ...], size: int) -> tuple[torch.Tensor, ...]:
    made = {
        "images": torch.rand(2, 3, size, size) * 2 - 1,
        "styles": torch.randn(2, int(getattr(model, "style_dim", 1))),
        "z": torch.randn(2, int(getattr(model, "latent_dim", 1))),
        "y": torch.zeros(2, dtype=torch.long),
    }
    return tuple(made[k] for k in inputs)


def export_onnx(checkpoint: str | Path, output: str | Path, opset: int = 17) -> list[Path]:
    """Export the inference networks of ``checkpoint`` (a run or checkpoint directory); returns the files."""
    import_onnxruntime()
    import onnx

    from gancraft.inference.translator import Translator

    translator = Translator.load(checkpoint, device="cpu")
    model, config = translator.model, translator.config
    output = Path(output).expanduser()
    if output.suffix != ".onnx":
        raise ConfigError(f"output={str(output)!r} must end in .onnx")
    output.parent.mkdir(parents=True, exist_ok=True)
    config_yaml = OmegaConf.to_yaml(config)
    written = []
    for index, (attribute, inputs) in enumerate(_networks(model, config)):
        net = getattr(model, attribute).eval()
        path = network_path(output, index, attribute)
        axes = {name: {0: "batch"} for name in (*inputs, "output")}
        # the TorchScript exporter (the torch.export one needs onnxscript) warns about tracing
        # details that do not apply to these fixed-shape convolutional graphs; the tests check the outputs
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, _example(model, inputs, translator.size), str(path), input_names=list(inputs),
                              output_names=["output"], dynamic_axes=axes, opset_version=opset, dynamo=False)
        graph = onnx.load(str(path))
        for key, value in ((CONFIG_KEY, config_yaml), ("gancraft_network", attribute)):
            graph.metadata_props.add(key=key, value=value)
        onnx.save(graph, str(path))
        written.append(path)
    return written


class OnnxNetwork(nn.Module):
    """An onnxruntime session behind an ``nn.Module`` call (CPU tensors in, a CPU tensor out)."""

    def __init__(self, path: Path, threads: int = 0) -> None:
        super().__init__()
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.attention = False  # the mask is inside the graph; blending falls back to the change

    def forward(self, *args: torch.Tensor, **_: Any) -> torch.Tensor:
        feeds = {name: a.detach().cpu().numpy() for name, a in zip(self.inputs, args)}
        return torch.from_numpy(self.session.run(None, feeds)[0])


class OnnxTranslator:
    """``OnnxTranslator.load("model.onnx").translate(images, **condition)``: the Translator's call on onnxruntime."""

    def __init__(self, model: nn.Module, config: Any) -> None:
        from gancraft.inference.translator import _training_size

        self.model, self.config = model, config
        self.size = _training_size(config)
        self.device = torch.device("cpu")

    @classmethod
    def load(cls, path: str | Path, threads: int = 0) -> OnnxTranslator:
        """From the main file of an export; its sibling files are found by name."""
        import_onnxruntime()
        import onnx

        import gancraft.models  # noqa: F401  (fills MODELS; inference stays below the CLI's components)
        from gancraft.core.registry import MODELS

        path = Path(path).expanduser()
        if not path.is_file():
            raise CheckpointError(f"ONNX file {str(path)!r} does not exist; write it with gancraft export checkpoint=DIR format=onnx output={path}")
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        if CONFIG_KEY not in meta:
            raise CheckpointError(f"{str(path)!r} was not written by gancraft export (no {CONFIG_KEY} metadata)")
        config = OmegaConf.create(meta[CONFIG_KEY])
        model = MODELS.build_from_config(config.model).eval()
        for index, (attribute, _) in enumerate(_networks(model, config)):
            file = network_path(path, index, attribute)
            if file.is_file():
                setattr(model, attribute, OnnxNetwork(file, threads))
            else:
                log.info("%s: no %s (%s); that network keeps no weights", path.name, attribute, file.name)
                setattr(model, attribute, _Missing(attribute, file))
        return cls(model, config)

    @torch.inference_mode()
    def translate(self, images: torch.Tensor, **condition: Any) -> torch.Tensor:
        return self.model.translate(images, **condition).float().clamp(-1, 1)


class _Missing(nn.Module):
    def __init__(self, attribute: str, file: Path) -> None:
        super().__init__()
        self.attribute, self.file = attribute, file

    def forward(self, *_: Any, **__: Any) -> torch.Tensor:
        raise CheckpointError(f"this export has no {self.attribute} network: {str(self.file)!r} is missing")


def export_command(checkpoint: Path, output: Path, format: Literal["onnx"] = "onnx", opset: PositiveInt = 17) -> int:
    """``gancraft export checkpoint=DIR format=onnx output=FILE.onnx``."""
    written = export_onnx(checkpoint, output, opset=opset)
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0
