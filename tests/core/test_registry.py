import pytest

from gancraft.core.errors import ConfigError, UnknownNameError
from gancraft.core.registry import REGISTRIES, Registry


@pytest.fixture
def registry() -> Registry:
    reg = Registry("widget")

    @reg.register("round_widget")
    def round_widget(size: int, colour: str = "red") -> tuple[int, str]:
        return size, colour

    @reg.register("square_widget")
    class SquareWidget:
        def __init__(self, side: int = 1) -> None:
            self.side = side

    return reg


def test_build_by_name_and_from_config(registry: Registry) -> None:
    assert registry.build("round_widget", size=3) == (3, "red")
    assert registry.build_from_config({"name": "round_widget", "size": 2, "colour": "blue"}) == (2, "blue")
    assert registry.build_from_config({"name": "square_widget"}, side=4).side == 4


def test_names_sorted_and_filtered(registry: Registry) -> None:
    assert registry.names() == ["round_widget", "square_widget"]
    assert registry.names("sq*") == ["square_widget"]
    assert "round_widget" in registry


def test_unknown_name_lists_close_matches(registry: Registry) -> None:
    with pytest.raises(UnknownNameError, match="did you mean round_widget"):
        registry.build("round_widgt", size=1)


def test_wrong_keyword_is_a_config_error_naming_the_keys(registry: Registry) -> None:
    with pytest.raises(ConfigError, match="accepted keys: size, colour"):
        registry.build("round_widget", size=1, shape="x")


def test_target_escape_hatch() -> None:
    reg = Registry("thing")
    built = reg.build_from_config({"_target_": "collections.OrderedDict", "a": 1})
    assert dict(built) == {"a": 1}
    with pytest.raises(ConfigError, match="cannot be imported"):
        reg.build_from_config({"_target_": "no.such.Thing"})


def test_registering_two_objects_under_one_name_fails(registry: Registry) -> None:
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("round_widget")(lambda: None)


def test_built_in_registries_are_populated() -> None:
    import gancraft.components  # noqa: F401

    assert {"resnet_generator", "patchgan_discriminator"} <= set(REGISTRIES["networks"].names())
    assert {"bce", "lsgan", "hinge", "cycle", "identity", "r1"} <= set(REGISTRIES["losses"].names())
    assert "cyclegan" in REGISTRIES["models"].names()
    assert {"unpaired_folders", "celeba"} <= set(REGISTRIES["datasets"].names())
