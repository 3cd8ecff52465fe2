"""Imports go one way, from the top down (docs/architecture.md, "Layers").

Every ``import gancraft...`` in the package, at module level or inside a function, is read
with ``ast`` and checked against the layer of the importing module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gancraft"

#: layer of each top-level part of the package; a module may import its own layer and those below
LAYERS: dict[str, int] = {
    "core": 0, "__init__": 0,
    "networks": 1, "losses": 1, "data": 1, "world": 1, "recipes": 1,
    "models": 2,
    "evaluation": 3, "inference": 3, "report": 3, "faces": 3,
    "engine": 4,
    "cli": 5, "commands": 5, "demo": 5, "demo_styles": 5, "components": 5, "__main__": 5,
}
#: imports forbidden although the layers allow them
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "data": ("world",),  # the glasses world builds on data, not the other way round
    "engine": ("evaluation", "report"),  # in-training evaluation comes in as a callback
}


def part_of(module: str) -> str:
    """``gancraft.engine.trainer`` -> ``engine``; ``gancraft`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every gancraft import in ``path``; ``from gancraft import x`` names ``gancraft.x``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "gancraft"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == "gancraft":
            if node.module == "gancraft":
                found += [(node.lineno, f"gancraft.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def upward_imports(path: Path, package: Path = PACKAGE) -> list[str]:
    """``file:line imports module`` for each import that goes up a layer or is forbidden."""
    me = part_of(module_name(path, package))
    bad = []
    for line, target in imported_modules(path):
        other = part_of(target)
        if other not in LAYERS:  # an attribute of the root package, e.g. __version__
            continue
        if LAYERS[other] > LAYERS[me] or other in FORBIDDEN.get(me, ()):
            bad.append(f"{path.relative_to(package.parent)}:{line} ({me}, layer {LAYERS[me]}) imports {target} ({other}, layer {LAYERS[other]})")
    return bad


FILES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {part_of(module_name(p)) for p in FILES}
    assert parts - set(LAYERS) == set(), "give new packages a layer in LAYERS and docs/architecture.md"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_imports_go_down(path: Path) -> None:
    assert upward_imports(path) == []


def test_the_checker_sees_upward_and_forbidden_imports(tmp_path: Path) -> None:
    fake = tmp_path / "gancraft"
    (fake / "core").mkdir(parents=True)
    (fake / "data").mkdir()
    (fake / "core" / "x.py").write_text("def f():\n    from gancraft.engine.trainer import Trainer\n")
    (fake / "data" / "y.py").write_text("import gancraft.world\nfrom gancraft.core import registry\nfrom gancraft import __version__\n")
    assert upward_imports(fake / "core" / "x.py", fake) == ["gancraft/core/x.py:2 (core, layer 0) imports gancraft.engine.trainer (engine, layer 4)"]
    assert upward_imports(fake / "data" / "y.py", fake) == ["gancraft/data/y.py:1 (data, layer 1) imports gancraft.world (world, layer 1)"]
