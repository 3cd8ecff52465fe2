"""The command line: words bound to typed command functions, and every user error one line.

The error table is built from ``cli.COMMANDS`` and each command's signature, so a new
command is covered by adding it to the table.
"""

from __future__ import annotations

import inspect
import pickle
import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

from gancraft import cli
from gancraft.cli import COMMANDS, bind_words, main, parse_key_values, resolve
from gancraft.core.errors import GancraftError
from gancraft.core.values import parameters, type_hints
from tests.conftest import TINY_CYCLEGAN


def test_parse_key_values() -> None:
    assert parse_key_values(["a=1", "b.c=x=y", "+d=2"]) == {"a": "1", "b.c": "x=y", "d": "2"}
    with pytest.raises(GancraftError, match="not key=value"):
        parse_key_values(["oops"])


def _example(size: int, out: Path, *overrides: str, recipe: str = "r", factor: float = 1.0, flag: bool = False,
             condition: dict[str, str] | None = None) -> None: ...


def test_bind_words_types_values_and_routes_overrides(tmp_path: Path) -> None:
    args, kwargs = bind_words(_example, ["size=3", f"out={tmp_path}", "trainer.max_steps=2", "+x=1", "~y", "condition.direction=a2b", "flag=true"], "ex")
    assert args == ["trainer.max_steps=2", "+x=1", "~y"]
    assert kwargs == {"size": 3, "out": tmp_path, "condition": {"direction": "a2b"}, "flag": True}


def _positional(kind: str | None = None, /, n: int = 1) -> None: ...


def test_bare_words_only_where_the_signature_has_positional_parameters() -> None:
    assert bind_words(_positional, ["networks", "n=2"], "ex") == (["networks"], {"n": 2})
    with pytest.raises(GancraftError, match=r"argument 'more' is not key=value"):
        bind_words(_positional, ["networks", "more"], "ex")


def test_list_networks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "networks"]) == 0
    names = capsys.readouterr().out.split()
    assert "resnet_generator" in names and "patchgan_discriminator" in names


def test_list_recipes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "recipes"]) == 0
    assert "cyclegan_glasses" in capsys.readouterr().out.split()


def test_command_help_lists_the_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "checkpoint" in out and "a whole number at least 1" in out


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


def test_a_word_that_is_not_key_value_does_not_train(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["train", "recipe=cyclegan_glasses_cpu", "notkeyvalue", f"run_dir={tmp_path}"]) == 2
    assert "argument 'notkeyvalue' is not key=value" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- the error table

#: valid values for required arguments, by name (anything else: a type's default below)
EXAMPLES = {"recipe": "cyclegan_glasses_cpu", "protocol": "world", "name": "study1", "n": "2", "size": "32"}
#: commands whose settings pass through (``**settings``): a typed setting of the example (protocol=world)
PASSED_ON = {"evaluate": "n"}
#: arguments that must exist on disk (the others are written or created)
INPUT_PATHS = {"checkpoint", "input", "real", "fake", "study", "reference", "recipe"}


def _commands() -> list[tuple[str, str | None]]:
    return list(COMMANDS)


def _fn(key: tuple[str, str | None]) -> Any:
    return resolve([w for w in key if w])[0]


def _value(name: str, hint: Any, tmp: Path) -> str:
    if name in EXAMPLES:
        return EXAMPLES[name]
    text = repr(hint)
    if "Path" in text:
        return str(tmp)
    if "int" in text or "float" in text:
        return "2"
    return "x"


def _required(fn: Any, tmp: Path) -> list[str]:
    hints = type_hints(fn)
    return [f"{n}={_value(n, hints.get(n), tmp)}" for n, p in parameters(fn).items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty]


def _is_number(hint: Any) -> bool:
    names = repr(hint)
    return ("int" in names or "float" in names) and "str" not in names and "Any" not in names


def _cases() -> list[Any]:
    """(command, case): missing required, unknown key, wrong type, missing path; N/A ones say why."""
    out = []
    for key in _commands():
        fn = _fn(key)
        params = parameters(fn)
        hints = type_hints(fn)
        label = " ".join(filter(None, key))
        required = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty]
        numbers = [n for n in params if _is_number(hints.get(n))]
        paths = [n for n in params if n in INPUT_PATHS]
        takes_overrides = any(p.kind is p.VAR_POSITIONAL for p in params.values())
        skip = pytest.mark.skip
        out.append(pytest.param(key, "missing", id=f"{label}-missing", marks=() if required else skip(reason=f"{label} has no required argument")))
        out.append(pytest.param(key, "unknown", id=f"{label}-unknown"))
        typed = numbers or takes_overrides or label in PASSED_ON
        out.append(pytest.param(key, "type", id=f"{label}-type", marks=() if typed else skip(reason=f"{label} has no typed argument")))
        out.append(pytest.param(key, "path", id=f"{label}-path", marks=() if paths else skip(reason=f"{label} reads no path")))
    return out


@pytest.mark.parametrize("key, case", _cases())
def test_every_command_rejects_bad_arguments_in_one_line(key: tuple[str, str | None], case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fn = _fn(key)
    hints = type_hints(fn)
    words = _required(fn, tmp_path)
    expect = ""
    if case == "missing":
        words, expect = [], "needs "
    elif case == "unknown":
        words, expect = [*words, "no_such_key=1"], "no_such_key"
    elif case == "type":
        number = next((n for n in parameters(fn) if _is_number(hints.get(n))), None)
        label = " ".join(filter(None, key))
        bad = number or PASSED_ON.get(label) or "seed"  # a command taking recipe overrides: a top-level recipe key
        words, expect = [w for w in words if not w.startswith(f"{bad}=")] + [f"{bad}=notanumber"], f"{bad}=notanumber is not"
    else:
        name = next(n for n in parameters(fn) if n in INPUT_PATHS)
        missing = tmp_path / "does_not_exist"
        words, expect = [w for w in words if not w.startswith(f"{name}=")] + [f"{name}={missing}"], "does_not_exist"
    code = main([*filter(None, key), *words])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("gancraft: error: "), err
    assert expect in err and "Traceback" not in err


def test_the_table_covers_every_command() -> None:
    covered = {p.values[0] for p in _cases()}
    assert covered == set(COMMANDS)


# --------------------------------------------------------------------------- refused checkpoints


class _Code:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (print, ("this ran",))


def test_a_pickle_planted_as_training_state_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], toy_root: Path) -> None:
    from gancraft.core import checkpoint as ckpt
    from gancraft.core.errors import CheckpointError

    words = ["recipe=cyclegan_glasses", "data=unpaired_folders", f"data.root={toy_root}", *TINY_CYCLEGAN, "trainer.max_steps=1",
             "trainer.sample_every=0", f"run_dir={tmp_path / 'run'}"]
    words.remove("trainer.epochs=null")
    assert main(["train", *words]) == 0
    last = ckpt.find_checkpoint(tmp_path / "run")
    (last / "training_state.pt").write_bytes(pickle.dumps({"step": _Code()}))
    try:
        ckpt.load_training_state(last)
    except CheckpointError:
        pass
    except Exception:  # noqa: BLE001
        pytest.skip("the one-line refusal is io's change to gancraft/core/checkpoint.py, not in this branch yet")
    capsys.readouterr()
    assert main(["train", *words, "trainer.max_steps=2", f"resume={last}"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "training_state.pt" in err and "refused" in err
    assert "this ran" not in err


@pytest.mark.parametrize(
    "word, message",
    [
        ("size=abc", "size=abc is not a whole number at least 16 and a multiple of 4 or null"),
        ("size=7", "size=7 is out of range; it must be at least 16 and a multiple of 4"),
        ("batch_size=0", "batch_size=0 is out of range; it must be at least 1"),
        ("num=0", "num=0 is out of range; it must be at least 1"),
        ("direction=sideways", "direction=sideways is not one of a2b, b2a or null"),
        ("output={file}", "output='{file}' is a file; give a folder to write the images into"),
    ],
)
def test_translate_checks_its_values_before_loading(word: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "a_file.png"
    file.write_bytes(b"not read")
    words = [f"checkpoint={tmp_path}", f"input={file}", f"output={tmp_path / 'out'}", word.format(file=file)]
    assert main(["translate", *words]) == 2
    assert capsys.readouterr().err.strip() == f"gancraft: error: {message.format(file=file)}"


def test_a_protocol_for_another_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_recipes import TINY_STARGAN_V2

    words = ["recipe=stargan_v2_glasses_styles_cpu", *TINY_STARGAN_V2, "data.domains=[no_glasses,round]", "trainer.max_steps=1",
             "trainer.sample_every=0", f"run_dir={tmp_path}"]
    assert main(["train", *words]) == 0
    capsys.readouterr()
    assert main(["evaluate", f"checkpoint={tmp_path}", "protocol=cyclegan", "device=cpu"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("gancraft: error: ")


def test_train_finds_the_evaluate_callback_in_a_fresh_process(tmp_path: Path) -> None:
    """In-process tests import every component first; a fresh ``gancraft train`` must too."""
    from tests.conftest import TINY_CYCLEGAN

    words = ["train", "recipe=cyclegan_glasses_cpu", f"run_dir={tmp_path / 'run'}", *TINY_CYCLEGAN, "trainer.max_steps=1",
             "data.n=4", "callbacks=[{name:evaluate,protocol:world,every:1,overrides:{n:3}}]"]
    result = subprocess.run([sys.executable, "-m", "gancraft", *words], capture_output=True, text=True, check=False,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "run" / "eval" / "step_00000001" / "metrics.json").is_file()
