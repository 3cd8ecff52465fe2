"""The wheel: what it holds, what it depends on, and that an install run from another
directory finds its recipes and evaluation protocols inside the package."""

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from gancraft.core.errors import MissingDependencyError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # built from a copy of the files git knows (tracked or not ignored): setuptools' build/
    # directory keeps deleted modules, which would reach a wheel built in place
    source, dist = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"], check=True, capture_output=True, text=True)
    for name in filter(None, listed.stdout.split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)],
        check=True, capture_output=True,
    )
    [built] = dist.glob("gancraft-*.whl")
    return built


def test_no_symlink_under_the_package() -> None:
    assert [p for p in (REPO / "gancraft").rglob("*") if p.is_symlink()] == []


def test_wheel_holds_every_module_recipe_and_protocol(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "gancraft").rglob("*.py")}
    assert modules - names == set()
    shipped = {f"gancraft/_shipped/{p.relative_to(REPO).as_posix()}" for top in ("recipes", "evaluation") for p in (REPO / top).rglob("*.yaml")}
    assert "gancraft/_shipped/recipes/data/glasses_world.yaml" in shipped and "gancraft/_shipped/evaluation/world.yaml" in shipped
    assert shipped - names == set()
    assert "gancraft/world/weights/oracle.safetensors" in names


def test_fastapi_only_with_the_hype_extra(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        [meta_name] = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(zf.read(meta_name).decode())
    requires = meta.get_all("Requires-Dist")
    plain = [r.split(";")[0].strip() for r in requires if "extra ==" not in r]
    hype = [r.split(";")[0].strip() for r in requires if 'extra == "hype"' in r]
    assert "hype" in meta.get_all("Provides-Extra")
    assert not any(r.startswith(("fastapi", "uvicorn", "timm")) for r in plain), plain
    assert sorted(r.split(">")[0] for r in hype) == ["fastapi", "uvicorn"]
    assert any(r.startswith("torch") for r in plain)


def test_installed_wheel_works_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import gancraft, pathlib; from gancraft.recipes import compose_recipe, list_recipes;"
        "from gancraft.core.shipped import shipped_dir;"
        "assert pathlib.Path(gancraft.__file__).is_relative_to(pathlib.Path(r'%s'));"
        "assert shipped_dir('evaluation').is_relative_to(pathlib.Path(r'%s'));"
        "assert (shipped_dir('evaluation') / 'world.yaml').is_file();"
        "assert 'cyclegan_glasses' in list_recipes();"
        "print(compose_recipe('cyclegan_glasses', ['trainer.batch_size=2']).trainer.batch_size)" % (site, site)
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


def test_hype_serve_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gancraft.evaluation.hype.cli import serve_command

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if it were not installed
    with pytest.raises(MissingDependencyError, match=r"uvicorn is not installed .*pip install 'gancraft\[hype\]'"):
        serve_command(study=tmp_path)
