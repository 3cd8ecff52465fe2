"""A non-editable install, run from another directory, finds its recipes, data sources
and evaluation protocols inside the package."""

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_ships_recipes_and_works_from_another_directory(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(REPO)],
        check=True, capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("gancraft-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"gancraft/recipes/_base.yaml", "gancraft/recipes/cyclegan_glasses.yaml", "gancraft/recipes/data/glasses_world.yaml"} <= names
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import gancraft, pathlib; from gancraft.recipes import compose_recipe, list_recipes;"
        "assert pathlib.Path(gancraft.__file__).is_relative_to(pathlib.Path(r'%s'));"
        "assert 'cyclegan_glasses' in list_recipes();"
        "print(compose_recipe('cyclegan_glasses', ['trainer.batch_size=2']).trainer.batch_size)" % site
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
