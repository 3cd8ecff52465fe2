"""#14: every builder rejects unknown keys, naming the key and listing the accepted ones.

Parametrised over every entry of the registries below data, world, networks, losses and
models: a new builder that swallows ``**kwargs`` or accepts a typo fails here.
"""

from __future__ import annotations

import inspect

import pytest

import gancraft.data  # noqa: F401  (fill the registries this test walks)
import gancraft.losses  # noqa: F401
import gancraft.models  # noqa: F401
import gancraft.networks  # noqa: F401
import gancraft.world  # noqa: F401
from gancraft.core.errors import ConfigError
from gancraft.core.registry import DATASETS, LOSSES, MODELS, NETWORKS

ENTRIES = [(reg, name) for reg in (NETWORKS, LOSSES, DATASETS, MODELS) for name in reg.names()]


def accepted_keys(factory) -> list[str]:
    params = inspect.signature(factory).parameters.values()
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"]


@pytest.mark.parametrize(("registry", "name"), ENTRIES, ids=[f"{r.kind}:{n}" for r, n in ENTRIES])
def test_a_misspelt_key_is_a_config_error_listing_the_accepted_keys(registry, name) -> None:
    factory = registry.get(name)
    params = inspect.signature(factory).parameters.values()
    assert not any(p.kind is p.VAR_KEYWORD for p in params), f"{registry.kind} {name!r} swallows **kwargs"
    accepted = accepted_keys(factory)
    with pytest.raises(ConfigError) as info:
        registry.build(name, sizee=32)
    message = str(info.value)
    assert "\n" not in message
    assert f"{registry.kind} {name!r}: unknown key(s) sizee" in message
    assert message.endswith(f"accepted keys: {', '.join(accepted)}")
    with pytest.raises(ConfigError, match="unknown key"):  # and from a config mapping, as recipes build
        registry.build_from_config({"name": name, "sizee": 32})


def test_glasses_world_typo_suggests_the_key() -> None:
    with pytest.raises(ConfigError, match=r"unknown key\(s\) sizee \(did you mean size\?\); accepted keys: mode, size, n,"):
        DATASETS.build("glasses_world", sizee=32)
    assert DATASETS.build("glasses_world", size=32, n=2)[0]["A"].shape == (3, 32, 32)


def test_nested_builders_are_checked_too() -> None:
    """Sub-configs (CycleGAN's generator, StarGAN v2 pairs' world) go through the registries as well."""
    with pytest.raises(ConfigError, match="network 'resnet_generator': unknown key.* n_block "):
        MODELS.build("cyclegan", generator={"name": "resnet_generator", "n_block": 2})
    with pytest.raises(ConfigError, match="dataset 'glasses_world': unknown key.* count"):
        DATASETS.build("stargan_v2_domains", domains=["no_glasses", "round"], size=32, world={"count": 4})
