"""coerce() and bind(): typed values from the command line and from configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

import pytest

from gancraft.core.errors import ConfigError
from gancraft.core.values import ImageSide, PositiveInt, Range, bind, coerce, describe


@pytest.mark.parametrize(
    "value, hint, expected",
    [
        ("5", int, 5),
        ("-3", int, -3),
        ("0.5", float, 0.5),
        (2, float, 2.0),
        ("true", bool, True),
        ("no", bool, False),
        ("null", int | None, None),
        ("7", int | None, 7),
        ("a,b", list[str], ["a", "b"]),
        ("[1, 2]", list[int], [1, 2]),
        ("x", Sequence[str] | str | None, ["x"]),
        ("a2b", Literal["a2b", "b2a"], "a2b"),
        ("5", Any, 5),
        ("null", Any, None),
        ("hello", str | None, "hello"),
    ],
)
def test_coerce_from_text(value: str, hint: Any, expected: Any) -> None:
    assert coerce(value, hint, "k", from_text=True) == expected


def test_paths_expand_the_home_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert coerce("~/faces", Path, "input", from_text=True) == tmp_path / "faces"
    assert coerce("faces/", Path, "input", from_text=True) == Path("faces")


@pytest.mark.parametrize(
    "value, hint, message",
    [
        ("abc", int, "k=abc is not a whole number"),
        (10.5, int | None, "k=10.5 is not a whole number or null"),
        (True, int, "k=True is not a whole number"),
        ("eight", float, "k=eight is not a number"),
        ("maybe", bool, "k=maybe is not true or false"),
        ("c2d", Literal["a2b", "b2a"], "k=c2d is not one of a2b, b2a"),
        ([1], str, "k=[1] is not a string"),
        ("", Path, "k= is not a path"),
    ],
)
def test_coerce_rejects_with_the_key_the_value_and_what_is_accepted(value: Any, hint: Any, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        coerce(value, hint, "k", from_text=isinstance(value, str))
    assert str(err.value) == message


def test_ranges_are_part_of_the_type() -> None:
    assert coerce("16", ImageSide, "size", from_text=True) == 16
    with pytest.raises(ConfigError, match=r"^size=7 is out of range; it must be at least 16 and a multiple of 4$"):
        coerce("7", ImageSide, "size", from_text=True)
    with pytest.raises(ConfigError, match=r"^num=0 is out of range; it must be at least 1$"):
        coerce("0", PositiveInt | None, "num", from_text=True)
    assert coerce(None, PositiveInt | None, "num") is None
    assert Range(0, 1).describe() == "from 0 to 1"
    assert describe(PositiveInt | None) == "a whole number at least 1 or null"


def _factory(root: str, size: int = 64, flip: bool = True, styles: list[str] | None = None) -> None: ...


def test_bind_types_every_key_and_names_unknown_and_missing_ones() -> None:
    assert bind(_factory, {"root": "x", "size": 32}, "data source toy") == {"root": "x", "size": 32}
    with pytest.raises(ConfigError, match=r"^data source toy does not take data\.n=4000; it takes root, size, flip, styles$"):
        bind(_factory, {"root": "x", "n": 4000}, "data source toy", prefix="data.")
    with pytest.raises(ConfigError, match=r"^data source toy needs data\.root=\.\.\.$"):
        bind(_factory, {"size": 32}, "data source toy", prefix="data.")
    with pytest.raises(ConfigError, match=r"^data\.size=eight is not a whole number$"):
        bind(_factory, {"root": "x", "size": "eight"}, "data source toy", prefix="data.")


def test_bind_passes_what_kwargs_takes_and_reads_class_signatures() -> None:
    class Thing:
        def __init__(self, width: int = 1, **rest: Any) -> None: ...

    assert bind(Thing, {"width": 3, "other": "kept"}, "thing") == {"width": 3, "other": "kept"}
    with pytest.raises(ConfigError, match="width=wide is not a whole number"):
        bind(Thing, {"width": "wide"}, "thing")


@pytest.mark.parametrize(
    "default, text, expected",
    [(200, "8", 8), (0.5, "1", 1.0), (True, "false", False), (["a"], "a,b", ["a", "b"]), (None, "null", None), ("auto", "false", False)],
)
def test_a_setting_takes_the_type_of_its_default(default: Any, text: str, expected: Any) -> None:
    from gancraft.core.values import hint_of

    assert coerce(text, hint_of(default), "k", from_text=True) == expected


def test_a_setting_of_the_wrong_type_names_its_default_type() -> None:
    from gancraft.core.values import hint_of

    with pytest.raises(ConfigError, match=r"^n=abc is not a whole number$"):
        coerce("abc", hint_of(200), "n", from_text=True)
