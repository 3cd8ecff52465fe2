"""Every documented command works as printed.

Every fenced shell block (```bash, ```sh, ```shell, ```console) and every ```python block
of README.md and docs/**/*.md is extracted, so a new page is covered without touching
this file. Shell lines run through ``gancraft.cli.main`` in a sandbox folder (also
``$HOME``) that holds tiny trained runs and tiny image folders under the names the docs
use; ``train`` gets tiny overrides appended (32 px, thin networks, 2 steps), ``evaluate``
tiny protocol settings, and other commands the few overrides in :data:`TINY_ARGS`.
Python blocks of one page run in order in one namespace (a page may continue an
earlier block), with :data:`PRELUDE` names standing for the reader's own data.

A line that cannot run here must be listed in :data:`CANNOT_RUN` with the reason; an
unlisted line that is not a ``gancraft`` command fails the test.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from gancraft.recipes import compose_recipe as _compose  # the real one (a test below patches the module's)
from tests.conftest import TINY_CYCLEGAN, write_toy_domains
from tests.test_recipes import TINY_STARGAN_V2

ROOT = Path(__file__).resolve().parents[1]
SHELL = {"bash", "sh", "shell", "console", "zsh"}
PYTHON = {"python", "py"}

#: lines that cannot run in this test, matched at the start of the line (regex): the reason
CANNOT_RUN: dict[str, str] = {
    r"make demo-styles": "trains the StarGAN v2 CPU styles recipe (800 steps, 14 minutes or more); tests/test_demo_styles.py runs it tiny",
    r"make demo": "trains the full CPU recipe (3000 steps, about 23 minutes on one busy core); tests/test_demo.py runs the demo tiny",
    r"make (test|bench)": "runs the test or benchmark suites themselves",
    r"pip install": "changes the environment; tests/test_packaging.py checks the wheel and its extras",
    r"torchrun ": "several processes (and machines); tests/core/test_distributed.py runs DDP on the CPU",
    r"gancraft hype serve": "a web server that runs until stopped; tests/evaluation/hype tests the app",
    r"pytest benchmarks/": "a benchmark run; `make bench` runs them",
}

#: Python blocks that cannot run here, matched by a regex on their text: the reason
PYTHON_CANNOT_RUN: dict[str, str] = {
    r"lpips_distance\(": "needs torchvision's AlexNet weights, which gancraft never downloads (tests/evaluation/test_lpips.py uses a stand-in)",
}

#: placeholders the docs write for the reader's own paths -> sandbox paths
PLACEHOLDERS: dict[str, str] = {
    "RUN_OR_CKPT": "runs/demo/cyclegan",
    "IMG_OR_DIR": "faces/",
    "DIR_OR_CHECKPOINT": "runs/demo/cyclegan",
}
#: ``DIR`` by the key it is given to
DIR_BY_KEY: dict[str, str] = {"data.root": "data/glasses", "input": "faces", "out": "out/synth", "output": "out/dir", "real": "data/real"}

#: overrides appended to other commands, by command (later words win)
TINY_ARGS: dict[str, list[str]] = {
    "data synth": ["n=2", "size=32", "n_test=1"],
    "data prepare": ["size=40", "workers=1", "progress=false"],
    "oracle train": ["faces=12", "heldout=6", "epochs=1", "batch_size=6", "cache=oracle_cache", "threads=1"],
    "hype create": ["raters=2", "images_per_rater=4", "qualification=2", "size=32"],
    "hype report": ["n_boot=50"],
}
#: ``oracle train`` without ``out=`` would replace the shipped oracle: write it in the sandbox
ORACLE_OUT = "out=oracle/oracle.safetensors"

#: protocol settings made tiny, applied where the protocol has the key
TINY_PROTOCOL: dict[str, Any] = {
    "n": 4, "num_images": 2, "world_images": 3, "world_real": 3, "num_real": 3, "num_outs": 2, "num_outs_per_domain": 2,
    "modes": "[latent]", "n_diversity": 2, "batch_size": 4, "kid_subsets": 2, "kid_subset_size": 2, "lpips": False,
    "device": "cpu", "progress": False,
}

TINY_TRAIN = {"cyclegan": TINY_CYCLEGAN, "stargan_v2": TINY_STARGAN_V2}
TINY_DATA = {"glasses_world": ["data.n=8"]}
TRAIN_LENGTH = ["trainer.max_steps=2", "trainer.sample_every=0", "trainer.checkpoint_every=0", "trainer.compile=false"]


def tiny_train(recipe: str, words: list[str]) -> list[str]:
    """Overrides that make ``recipe`` (with the user's ``words``) tiny: by its model and data source."""
    cfg = _compose(recipe, words)
    return [*TINY_TRAIN[cfg.model.name], *TINY_DATA.get(cfg.data.name, []), *TRAIN_LENGTH]

#: the sandbox's runs: name -> (recipe, overrides); copies under the other names the docs use
RUNS: dict[str, tuple[str, list[str]]] = {
    "runs/demo/cyclegan": ("cyclegan_glasses_cpu", []),
    "runs/my_run": ("stargan_v2_glasses_styles_cpu", ["data.domains=[no_glasses,round,cat_eye]"]),
}
COPIES = {
    "runs/demo/cyclegan": ["runs/cyclegan", "runs/cyclegan_glasses"],
    "runs/my_run": ["runs/styles", "runs/stargan", "runs/stargan_cpu"],
}
#: the StarGAN v2 run's domains, and the folders the docs train on (every old domain, and a new one)
FACE_DOMAINS = ["no_glasses", "round", "cat_eye", "aviator"]


@dataclass
class Block:
    file: Path
    line: int
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(langs: set[str]) -> list[Block]:
    out = []
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^```(\w*)[^\n]*\n(.*?)^```", text, re.M | re.S):
            if m.group(1).lower() in langs:
                out.append(Block(path, text[: m.start()].count("\n") + 1, m.group(1).lower(), m.group(2)))
    return out


def shell_lines(block: Block) -> list[str]:
    """The block's commands: continuation lines joined, prompts and blank or comment lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    lines = []
    for line in joined.splitlines():
        line = re.sub(r"^\$\s+", "", line.strip())
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _reason(line: str) -> str | None:
    return next((why for pattern, why in CANNOT_RUN.items() if re.match(pattern, line)), None)


# --------------------------------------------------------------------------- the sandbox


def _faces(folder: Path, n: int, seed: int, size: int = 32) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray((rng.random((size, size, 3)) * 255).astype(np.uint8)).save(folder / f"{seed:02d}_{i:02d}.png")


def _celeba(root: Path) -> None:
    """A tiny CelebA: img_align_celeba/, list_attr_celeba.txt, list_eval_partition.txt."""
    _faces(root / "img_align_celeba", 6, seed=40)
    files = sorted(p.name for p in (root / "img_align_celeba").iterdir())
    rows = [f"{f} {'1' if i % 2 else '-1'} {'1' if i % 3 else '-1'}" for i, f in enumerate(files)]
    (root / "list_attr_celeba.txt").write_text(f"{len(files)}\nEyeglasses Pale_Skin\n" + "\n".join(rows) + "\n")
    (root / "list_eval_partition.txt").write_text("\n".join(f"{f} {0 if i < 4 else 2}" for i, f in enumerate(files)) + "\n")


def _train(recipe: str, words: list[str], run_dir: Path) -> None:
    from gancraft.engine.run import build_trainer
    from gancraft.recipes import compose_recipe

    build_trainer(compose_recipe(recipe, [*words, *tiny_train(recipe, words), f"run_dir={run_dir}"])).fit()


def _reference_files(sandbox: Path) -> None:
    """Reference-implementation checkpoints in their own formats (written as tests/inference does)."""
    from tests.inference.test_interop import RefDiscriminator, RefGenerator, randomise
    from tests.inference.test_interop_stargan_v2 import reference_checkpoints

    folder = sandbox / "checkpoints" / "glasses"
    folder.mkdir(parents=True)
    torch.save(randomise(RefGenerator(ngf=4, n_blocks=2)).state_dict(), folder / "latest_net_G_A.pth")
    torch.save(randomise(RefDiscriminator(ndf=4, n_layers=2)).state_dict(), folder / "latest_net_D_A.pth")
    stargan = sandbox / "expr" / "checkpoints" / "afhq"
    stargan.mkdir(parents=True)
    reference_checkpoints(stargan)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reader's machine: runs, image folders and files under the names the docs use."""
    root = tmp_path_factory.mktemp("docs_sandbox")
    old = Path.cwd()
    os.chdir(root)
    try:
        write_toy_domains(root / "data" / "glasses", n_train=4, n_test=2)
        _celeba(root / "data" / "celeba")
        for name in ("data/real", "data/testB", "out/fake_B", "faces_without_glasses", "faces"):
            _faces(root / name, 8 if "real" in name or "glasses" in name else 4, seed=len(name))
        for i, domain in enumerate(FACE_DOMAINS):
            _faces(root / "faces" / domain, 3, seed=10 + i)
        for i, name in enumerate(("me.jpg", "me.png", "you.png", "photo.png", "photo_with_glasses.png")):
            Image.fromarray((np.random.default_rng(i).random((40, 40, 3)) * 255).astype(np.uint8)).save(root / name)
        files = sorted(p.name for p in (root / "faces_without_glasses").iterdir())
        (root / "skin_tone.csv").write_text("file,group\n" + "".join(f"{f},{'light' if i % 2 else 'dark'}\n" for i, f in enumerate(files)))
        _reference_files(root)
        for run, (recipe, words) in RUNS.items():
            _train(recipe, words, root / run)
            for copy in COPIES.get(run, []):
                shutil.copytree(root / run, root / copy)
    finally:
        os.chdir(old)
    return root


@pytest.fixture()
def in_sandbox(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    threads = torch.get_num_threads()
    monkeypatch.chdir(sandbox)
    monkeypatch.setenv("HOME", str(sandbox))
    monkeypatch.delenv("GANCRAFT_CACHE", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(sandbox / "torch_home"))
    yield sandbox
    torch.set_num_threads(threads)  # a command may set its own (oracle train does)


# --------------------------------------------------------------------------- shell commands


def _substitute(word: str, sandbox: Path) -> str:
    key, sep, value = word.partition("=")
    if not sep:
        return word
    value = PLACEHOLDERS.get(value, value)
    if value == "DIR":
        value = DIR_BY_KEY.get(key.lstrip("+"), "out/dir")
    step = re.fullmatch(r"(.*checkpoints)/step_\d+", value)
    if step and not (sandbox / value).exists():  # the docs' step numbers: a tiny run's newest checkpoint
        steps = sorted((sandbox / step.group(1)).glob("step_*"))
        value = str(steps[-1]) if steps else value
    return f"{key}={value}"


def _protocol_settings(protocol: str) -> list[str]:
    from gancraft.recipes import read_yaml

    dirs = [Path.cwd() / "evaluation", ROOT / "evaluation"]
    path = Path(protocol) if protocol.endswith(".yaml") else next((d / f"{protocol}.yaml" for d in dirs if (d / f"{protocol}.yaml").is_file()), None)
    settings = read_yaml(path) if path is not None else {}
    return [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in TINY_PROTOCOL.items() if k in (settings or {})]


def tiny_words(words: list[str]) -> list[str]:
    """``words`` (after ``gancraft``) with the tiny overrides of their command appended."""
    command = " ".join(w for w in words[:2] if "=" not in w)
    args = dict(w.partition("=")[::2] for w in words if "=" in w)
    if words[0] == "train":
        return [*words, *tiny_train(args["recipe"], [w for w in words[1:] if not w.startswith("recipe=")])]
    if words[0] == "evaluate":
        return [*words, *_protocol_settings(args["protocol"])]
    extra = list(TINY_ARGS.get(command, []))
    if command == "oracle train" and "out" not in args:
        extra.append(ORACLE_OUT)
    return [*words, *extra]


def _shell_params() -> list[Any]:
    out = []
    for block in blocks(SHELL):
        lines = shell_lines(block)
        if not lines:
            continue
        reasons = {_reason(line) for line in lines}
        marks = pytest.mark.skip(reason=next(iter(reasons))) if reasons and None not in reasons else ()
        out.append(pytest.param(block, id=block.id, marks=marks))
    return out


@pytest.mark.parametrize("block", _shell_params())
def test_documented_commands_run(block: Block, in_sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gancraft.cli import main

    for line in shell_lines(block):
        if _reason(line):
            continue
        words = shlex.split(line, comments=True)
        if words[:3] == ["python", "-m", "gancraft"]:
            words = ["gancraft", *words[3:]]
        assert words[0] == "gancraft", f"{block.id}: {line!r} is neither a gancraft command nor listed in CANNOT_RUN with a reason"
        words = tiny_words([_substitute(w, in_sandbox) for w in words[1:]])
        code = main(words)
        err = capsys.readouterr().err
        assert code == 0, f"{block.id}: `{line}` exited {code}: {err.strip().splitlines()[-1:] or err}"


# --------------------------------------------------------------------------- Python blocks


def _prelude(sandbox: Path) -> dict[str, Any]:
    """Names the docs use for the reader's own data (images, features, a model)."""
    from gancraft.inference.translator import Translator

    g = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    return {
        "images": images,
        "translated": images,
        "ground_truth": images.flip(0),
        "outputs": torch.rand(2, 3, 3, 32, 32, generator=g) * 2 - 1,
        "a": np.random.default_rng(0).random((16, 4)),
        "b": np.random.default_rng(1).random((16, 4)),
        "model": Translator.load(sandbox / "runs" / "my_run", device="cpu").model,
    }


#: text replacements that make a Python block tiny (long evaluations, big sizes)
PYTHON_TINY = [(r"\bn=200\b", "n=4")]


def _python_params() -> list[Any]:
    pages: dict[Path, list[Block]] = {}
    for block in blocks(PYTHON):
        pages.setdefault(block.file, []).append(block)
    return [pytest.param(page, id=str(page[0].file.relative_to(ROOT))) for page in pages.values()]


@pytest.mark.parametrize("page", _python_params())
def test_documented_python_runs(page: list[Block], in_sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gancraft.components  # noqa: F401
    import gancraft.recipes
    from gancraft.core.registry import REGISTRIES

    def tiny_compose(recipe: str, overrides: Any = ()) -> Any:
        return _compose(recipe, [*overrides, *tiny_train(recipe, list(overrides)), "run_dir=runs/python"])

    monkeypatch.setattr(gancraft.recipes, "compose_recipe", tiny_compose)
    saved = {kind: dict(r._entries) for kind, r in REGISTRIES.items()}
    namespace = _prelude(in_sandbox)
    try:
        for block in page:
            why = next((w for p, w in PYTHON_CANNOT_RUN.items() if re.search(p, block.text)), None)
            if why:
                print(f"{block.id}: not run: {why}")
                continue
            code = block.text
            for pattern, replacement in PYTHON_TINY:
                code = re.sub(pattern, replacement, code)
            try:
                exec(compile(code, block.id, "exec"), namespace)  # noqa: S102  (the docs' own code)
            except Exception as err:  # noqa: BLE001
                raise AssertionError(f"{block.id}: {type(err).__name__}: {err}") from err
    finally:
        for kind, r in REGISTRIES.items():  # a block may register a component: forget it
            r._entries.clear()
            r._entries.update(saved[kind])


# --------------------------------------------------------------------------- recipes and error lines


def _recipe_blocks() -> list[Any]:
    """```yaml blocks that open with ``# recipes/NAME.yaml``: recipes the docs show."""
    out = []
    for block in blocks({"yaml", "yml"}):
        m = re.match(r"#\s*(recipes/[\w./-]+\.ya?ml)", block.text)
        if m:
            out.append(pytest.param(block, m.group(1), id=block.id))
    return out


@pytest.mark.parametrize("block, name", _recipe_blocks())
def test_documented_recipes_compose_and_pass_the_schema(block: Block, name: str, in_sandbox: Path) -> None:
    path = in_sandbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(block.text)
    from gancraft.engine.schema import validate_recipe

    try:
        cfg = _compose(path.stem, [])  # found by name in ./recipes/, as the docs say
    finally:
        path.unlink()
    validate_recipe(cfg)
    assert cfg.recipe == path.stem


def _error_examples() -> list[Any]:
    """``$ gancraft ...`` lines followed by the ``gancraft: error: ...`` line they print."""
    out = []
    for block in blocks({"text", "console"}):
        lines = block.text.splitlines()
        for i, line in enumerate(lines[:-1]):
            if line.startswith("$ gancraft ") and lines[i + 1].startswith("gancraft: error: "):
                out.append(pytest.param(line[2:], lines[i + 1], id=f"{block.id}+{i}"))
    return out


@pytest.mark.parametrize("line, expected", _error_examples())
def test_documented_error_lines_are_what_users_see(line: str, expected: str, in_sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gancraft.cli import main

    words = [_substitute(w, in_sandbox) for w in shlex.split(line)[1:]]
    # tiny settings go first, so that the documented words win (and a regression cannot start a long run)
    command = [w for w in words if "=" not in w][:2] if words[0] in ("data", "oracle", "hype") else words[:1]
    tiny = [w for w in tiny_words([*command, *[w for w in words if w.startswith("recipe=")]]) if w not in words]
    code = main([*command, *tiny, *words[len(command):]])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == expected, f"`{line}` printed {err!r}"


def test_every_block_is_seen() -> None:
    """The extraction finds the blocks (a changed fence style would silently skip them)."""
    found = {b.file.name for b in blocks(SHELL | PYTHON)}
    assert {"README.md", "getting_started.md", "training.md"} <= found
