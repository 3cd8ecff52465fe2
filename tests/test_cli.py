import subprocess
import sys

import pytest

from gancraft.cli import main, parse_key_values
from gancraft.core.errors import GancraftError


def test_parse_key_values() -> None:
    assert parse_key_values(["a=1", "b.c=x=y", "+d=2"]) == {"a": "1", "b.c": "x=y", "d": "2"}
    with pytest.raises(GancraftError, match="not key=value"):
        parse_key_values(["oops"])


def test_list_networks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "networks"]) == 0
    names = capsys.readouterr().out.split()
    assert "resnet_generator" in names and "patchgan_discriminator" in names


def test_list_recipes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "recipes"]) == 0
    assert "cyclegan_glasses" in capsys.readouterr().out.split()


def test_user_error_is_one_line_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gancraft", "train", "recipe=no_such_recipe"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown recipe 'no_such_recipe'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fly"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_bad_override_names_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "recipe=cyclegan_glasses", "trainer.no_such_key=1"]) == 2
    assert "trainer.no_such_key" in capsys.readouterr().err
