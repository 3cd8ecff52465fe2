"""The oracle: shipped weights load, classify renders, and retraining is reproducible."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gancraft.data.transforms import to_tensor
from gancraft.core.errors import MissingWeightsError
from gancraft.world import STYLES, face_seed, render_variants
from gancraft.world.oracle import CLASSES, INPUT_HW, WEIGHTS_PATH, load_oracle, preprocess, train_oracle


def test_shipped_weights_are_small_and_load() -> None:
    assert WEIGHTS_PATH.is_file()
    assert WEIGHTS_PATH.stat().st_size < 1_000_000
    oracle = load_oracle()
    assert oracle.classes == CLASSES == ["no_glasses", *STYLES]


def test_oracle_classifies_held_out_renders() -> None:
    oracle = load_oracle()
    images, labels = [], []
    for i in range(4):  # faces the oracle never saw in training
        for label, r in enumerate(render_variants(face_seed("oracle", "heldout", 9000 + i), 64).values()):
            images.append(to_tensor(r.image))
            labels.append(label)
    pred = oracle(torch.stack(images))
    truth = torch.tensor(labels)
    assert pred.probs.shape == (24, len(CLASSES))
    assert torch.equal(pred.eyewear, truth != 0)
    assert (pred.probs.argmax(1) == truth).sum() >= 22
    assert torch.equal(pred.glasses, torch.tensor([c in STYLES[:4] for c in pred.label]))


def test_any_input_size_is_resized_to_the_oracle_crop() -> None:
    assert preprocess(torch.zeros(2, 3, 200, 200)).shape == (2, 3, *INPUT_HW)
    assert preprocess(torch.zeros(1, 3, 48, 48)).shape == (1, 3, *INPUT_HW)


def test_missing_weights_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(MissingWeightsError, match="gancraft oracle train"):
        load_oracle(tmp_path / "none.safetensors")


def test_retraining_is_reproducible(tmp_path: Path) -> None:
    kw = {"faces": 3, "heldout": 1, "epochs": 1, "batch_size": 6, "sizes": (32,), "eval_sizes": (64,)}
    r1 = train_oracle(tmp_path / "a.safetensors", seed=3, **kw)
    r2 = train_oracle(tmp_path / "b.safetensors", seed=3, **kw)
    a, b = load_file(str(tmp_path / "a.safetensors")), load_file(str(tmp_path / "b.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert r1["heldout_64px"] == r2["heldout_64px"]
    load_oracle(tmp_path / "a.safetensors")


def test_eye_band_is_the_oracles_crop_at_any_size():
    from gancraft.world.oracle import eye_band, eye_band_shape

    x = torch.arange(64.0).view(1, 1, 1, 64).expand(1, 3, 64, 64)
    band = eye_band(x)
    assert band.shape[-2:] == eye_band_shape(64, 64) == (26, 44)  # rows 19..45, columns 10..54
    assert band[0, 0, 0, 0] == 10 and band[0, 0, 0, -1] == 53
    assert eye_band(x, (52, 88)).shape == (1, 3, 52, 88)
    torch.testing.assert_close(preprocess(x), eye_band(x, INPUT_HW))
