"""The evaluation context and every registered metric, on scripted models with known outputs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

import gancraft.components  # noqa: F401  (registers the metrics and data sets)
from gancraft.core.errors import ConfigError
from gancraft.core.registry import METRICS
from gancraft.evaluation import fid as fid_mod
from gancraft.evaluation.features import resolve_extractor
from gancraft.evaluation.lpips import ALEXNET_FILE, load_lpips, lpips_diversity
from stand_ins import FakeOracle, ScriptedModel, TensorData, TinyExtractor, scripted_context, smooth_images


@pytest.fixture(scope="module")
def alexnet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    state = torchvision.models.alexnet(weights=None).features.state_dict()
    path = tmp_path_factory.mktemp("hub") / ALEXNET_FILE
    torch.save({f"features.{k}": v for k, v in state.items()}, path)
    return path


@pytest.fixture()
def fake_oracle(monkeypatch: pytest.MonkeyPatch) -> FakeOracle:
    from gancraft.world import oracle

    fake = FakeOracle()
    monkeypatch.setattr(oracle, "load_oracle", lambda *a, **k: fake)
    return fake


def two_domain_data() -> TensorData:
    a = smooth_images(6, seed=1)
    return TensorData({"test": {"A": a, "B": a * 0.5}})


def test_tasks_are_selected_by_pattern_and_guidance_in_order() -> None:
    context = scripted_context(ScriptedModel(("x", "y", "z"), multi=True))
    assert context.domains == ["x", "y", "z"]
    picked = context.select_tasks(["reference/*", "latent/y"], ["latent", "reference"])
    assert [t.name for t in picked] == ["latent/y", "reference/x", "reference/y", "reference/z"]
    with pytest.raises(ConfigError, match="no task of this model matches a2b.*latent/x"):
        context.select_tasks(["a2b"])
    with pytest.raises(ConfigError, match="guidance 'fixd'"):
        context.select_tasks(["*"], ["fixd"])


def test_folders_named_by_the_protocol_replace_the_data_set(tmp_path: Path) -> None:
    from PIL import Image

    for d in ("A", "B"):
        (tmp_path / d).mkdir()
        for i in range(3):
            Image.new("RGB", (40, 40), (10 * i, 0, 0)).save(tmp_path / d / f"{i}.png")
    data = two_domain_data()
    context = scripted_context(ScriptedModel(), data)
    context.folders = {"test": {"A": str(tmp_path / "A"), "B": None}}
    sets = context.evaluation_sets("test")
    assert sets["A"].files is not None and len(sets["A"]) == 3 and len(sets["B"]) == 6
    assert next(sets["A"].batches(2)).shape == (2, 3, 32, 32)  # resized to the context's size
    context = scripted_context(ScriptedModel(), None)
    context.roots = {"test": str(tmp_path)}
    assert [len(s) for s in context.evaluation_sets("test").values()] == [3, 3]
    with pytest.raises(ConfigError, match="no data set"):
        scripted_context(ScriptedModel(), None).evaluation_sets("test")


def test_fid_of_a_task_that_reproduces_the_target_is_zero_and_matches_by_hand() -> None:
    data = two_domain_data()
    context = scripted_context(ScriptedModel(), data)
    ext = TinyExtractor()
    metrics = METRICS.build("fid", extractor=ext, guidance=["fixed"], batch_size=4)(context)
    assert set(metrics) == {"FID/a2b", "KID/a2b", "FID/b2a", "KID/b2a"}
    assert metrics["FID/a2b"] == pytest.approx(0.0, abs=1e-9)  # a2b halves A, and B is A halved
    extractor = resolve_extractor(ext)
    fake = fid_mod.tensor_features((data.images["test"]["B"] * 2).clamp(-1, 1), extractor)
    real = fid_mod.tensor_features(data.images["test"]["A"], extractor)
    assert metrics["FID/b2a"] == pytest.approx(fid_mod.fid_from_features(fake, real), rel=1e-9)
    assert metrics["KID/b2a"] == pytest.approx(fid_mod.kid_from_features(fake, real), rel=1e-9)
    assert context.report.counts == {"a2b/fake": 6, "a2b/real": 6, "b2a/fake": 6, "b2a/real": 6}
    assert context.report.extractor["name"] == "tiny-test-extractor"


def test_guided_fid_names_pairs_and_means() -> None:
    x, y = smooth_images(4, seed=2), smooth_images(4, seed=3)
    data = TensorData({"test": {"x": x, "y": y}, "train": {"x": x, "y": y}})
    context = scripted_context(ScriptedModel(("x", "y"), multi=True), data)
    metrics = METRICS.build("fid", extractor=TinyExtractor(), num_outs=1, mean=True, real_split="train", batch_size=2,
                            kid=False)(context)
    assert set(metrics) == {f"FID_{g}/{t}" for g in ("latent", "reference") for t in ("y2x", "x2y", "mean")}
    # reference guidance returns the references, one pass over the target's own images: the real set itself
    assert metrics["FID_reference/y2x"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["FID_latent/mean"] == pytest.approx((metrics["FID_latent/y2x"] + metrics["FID_latent/x2y"]) / 2)
    assert context.report.counts["latent/y2x/fake"] == 4 and context.report.counts["real/x"] == 4


def test_lpips_diversity_is_zero_for_identical_outputs_and_matches_by_hand(alexnet: Path) -> None:
    x = smooth_images(4, seed=4)
    data = TensorData({"test": {"p": x[:1].repeat(4, 1, 1, 1), "q": x}})  # every image of p is the same
    context = scripted_context(ScriptedModel(("p", "q"), multi=True), data, seed=3)
    metric = METRICS.build("lpips_diversity", weights=str(alexnet), num_outs=3, batch_size=2)
    metrics = metric(context)
    assert metrics["LPIPS_reference/q2p"] == pytest.approx(0.0, abs=1e-6)  # each output is a reference of p: all the same
    # latent: outputs x + z/10 with z drawn from the seed, batch by batch
    g = torch.Generator().manual_seed(3)
    model = load_lpips(alexnet)
    per_batch = []
    for xb in x.split(2):
        group = [(xb + torch.randn(2, 3, generator=g)[:, :1, None, None] / 10).clamp(-1, 1) for _ in range(3)]
        per_batch.append(lpips_diversity(group, model=model))
    assert metrics["LPIPS_latent/q2p"] == pytest.approx(float(np.mean(per_batch)), rel=1e-6)
    assert metrics["LPIPS_latent/q2p"] > 0 and context.report.lpips["weights"] == str(alexnet)


def test_paired_lpips_against_the_ground_truth_and_the_source(alexnet: Path) -> None:
    from gancraft.core.registry import DATASETS

    world = DATASETS.build("glasses_world", size=32, n=4)
    context = scripted_context(ScriptedModel(), world)
    model = load_lpips(alexnet)
    truth = METRICS.build("lpips", weights=str(alexnet), num_images=3, batch_size=2)(context)
    assert list(truth) == ["LPIPS_truth/b2a"]  # adding has no single right style: only b2a has ground truth
    # the pairs are the world metric's own ground truth: each face with its worn style, and without
    from gancraft.evaluation.world_metrics import build_eval_set

    es = build_eval_set(3, 32)
    from gancraft.evaluation.lpips import lpips_distance as distance

    expected = distance((es.with_glasses * 2).clamp(-1, 1), es.no_glasses, model=model).mean()
    assert truth["LPIPS_truth/b2a"] == pytest.approx(float(expected), rel=1e-5)
    source = METRICS.build("lpips", against="source", weights=str(alexnet), num_images=3, tasks=["a2b"])(context)
    a = world.evaluation_sets("test", 3, 32)["A"].load([0, 1, 2])
    assert source["LPIPS_source/a2b"] == pytest.approx(float(distance(a * 0.5, a, model=model).mean()), rel=1e-5)
    with pytest.raises(ConfigError, match="no selected task has ground truth.*B2A"):
        METRICS.build("lpips", weights=str(alexnet), tasks=["a2b"], num_images=2)(context)


def test_world_metric_maps_domains_to_add_and_remove(fake_oracle: FakeOracle) -> None:
    context = scripted_context(ScriptedModel())
    metrics = METRICS.build("world", n=4, size=32, batch_size=4, domains={"A": "no_glasses", "B": "glasses"})(context)
    assert metrics["world/add_success"] == 0.0 and metrics["world/remove_success"] == 1.0
    assert context.report.counts["faces"] == 4 and "world" in context.report.details
    assert len(fake_oracle.calls) == 2  # one add run, one remove run
    with pytest.raises(ConfigError, match="add or remove glasses"):
        METRICS.build("world", n=2, size=32)(scripted_context(ScriptedModel()))  # A/B mean nothing without domains


def test_world_metric_runs_every_style_of_a_multi_domain_model(fake_oracle: FakeOracle) -> None:
    context = scripted_context(ScriptedModel(("no_glasses", "round", "aviator"), multi=True))
    metrics = METRICS.build("world", n=3, size=32, batch_size=3)(context)
    assert {"world/add_style_success/round", "world/add_style_success/aviator"} <= set(metrics)
    assert len(fake_oracle.calls) == 4  # add, add per style (2), remove
    with pytest.raises(ConfigError, match="add_style 'square'"):
        METRICS.build("world", n=3, size=32, add_style="square")(context)


def test_world_styles_metric_needs_a_multi_domain_model(fake_oracle: FakeOracle) -> None:
    with pytest.raises(ConfigError, match="multi-domain"):
        METRICS.build("world_styles", n=2, size=32, lpips=False)(scripted_context(ScriptedModel()))


#: small options for every registered metric: a new metric must add its own line here
SMALL = {
    "fid": {"extractor": TinyExtractor(), "batch_size": 2, "num_outs": 2},
    "lpips": {"against": "source", "batch_size": 2},
    "lpips_diversity": {"num_outs": 2, "batch_size": 2},
    "world": {"n": 3, "size": 32, "batch_size": 3},
    "world_styles": {"n": 3, "size": 32, "num_outs": 2, "n_diversity": 2, "batch_size": 2, "lpips": False},
}


@pytest.mark.parametrize("name", METRICS.names())
def test_every_registered_metric_takes_a_context(name: str, alexnet: Path, fake_oracle: FakeOracle) -> None:
    assert name in SMALL, f"metric {name!r} has no small options in SMALL; add them so that it is tested"
    options = dict(SMALL[name])
    if name in ("lpips", "lpips_diversity"):
        options["weights"] = str(alexnet)
    domains = ("no_glasses", "round")
    x = smooth_images(4, seed=5)
    data = TensorData({split: {d: x for d in domains} for split in ("test", "train")})
    context = scripted_context(ScriptedModel(domains, multi=True), data)
    metrics = METRICS.build(name, **options)(context)
    assert metrics and all(isinstance(k, str) and isinstance(v, float) and not math.isnan(v) for k, v in metrics.items())
    with pytest.raises(ConfigError, match="no_such_option"):
        METRICS.build(name, no_such_option=1)
