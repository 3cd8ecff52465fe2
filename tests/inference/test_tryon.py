import logging

import numpy as np
import pytest
from PIL import Image

from gancraft.cli import main
from gancraft.core.errors import ConfigError
from gancraft.faces.detect import Face
from gancraft.inference import TryOn
from tests.faces.helpers import tiny_checkpoint, world_photo


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "ckpt")


@pytest.fixture(scope="module")
def tryon(checkpoint):
    return TryOn.load(checkpoint, device="cpu")


def _face(eyes: np.ndarray) -> Face:
    return Face(tuple(eyes.mean(0)), 2.7 * float(np.linalg.norm(eyes[1] - eyes[0])), 0.0, eyes, True, 50)


def test_only_pixels_near_the_eyes_change_and_the_size_is_kept(tryon):
    photo, (eyes,) = world_photo([(400, 300)])
    result = tryon.apply(photo, faces=[_face(eyes)], direction="a2b")
    (out,) = result.images
    assert out.shape == photo.shape and out.dtype == np.uint8 and result.translated == 1
    changed = (out != photo).any(-1)
    assert changed.any()
    d = np.linalg.norm(eyes[1] - eyes[0])
    ys, xs = np.nonzero(changed)
    # everything that changed lies within two eye distances of the eyes; the rest is bit-identical
    assert np.hypot(xs - eyes[:, 0].mean(), ys - eyes[:, 1].mean()).max() < 2 * d
    assert (out[:150] == photo[:150]).all() and (out[:, :230] == photo[:, :230]).all()


def test_several_faces_are_each_translated(tryon):
    photo, eyes = world_photo([(200, 300), (600, 300)], side=260)
    result = tryon.apply(photo, faces=[_face(e) for e in eyes], direction="a2b")
    changed = (result.images[0] != photo).any(-1)
    assert result.translated == 2 and changed[:, :400].any() and changed[:, 400:].any()


def test_detected_end_to_end_and_tiny_faces_are_skipped(tryon):
    photo, (eyes,) = world_photo([(400, 300)])
    result = tryon.apply(photo, direction="a2b")
    assert len(result.faces) == 1 and result.translated == 1
    tiny = _face(np.array([[10.0, 10.0], [13.0, 10.0]]))
    assert tryon.apply(photo, faces=[tiny], direction="a2b").skipped == ["too small"]


def test_files_keep_size_and_exif_orientation_and_the_summary_counts(tryon, tmp_path, caplog):
    photos = tmp_path / "in"
    photos.mkdir()
    photo, _ = world_photo([(300, 400)], width=600, height=800)
    # stored rotated, with an EXIF tag saying "rotate 90 degrees clockwise to view" (orientation 6)
    stored = Image.fromarray(photo).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(photos / "face.jpg", quality=95, exif=exif.tobytes())
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(photos / "wall.png")
    with caplog.at_level(logging.WARNING):
        summary = tryon.run(photos, tmp_path / "out", direction="a2b")
    with Image.open(tmp_path / "out" / "face.png") as out, Image.open(photos / "face.jpg") as src:
        assert out.size == src.size and out.getexif().get(0x0112) == 6
        raw_out, raw_src = np.asarray(out.convert("RGB")), np.asarray(src.convert("RGB"))
    assert (raw_out != raw_src).any()
    assert (raw_out[:, -150:] == raw_src[:, -150:]).all()  # far from the face: the decoded input's pixels
    assert (summary.photos, summary.faces_found, summary.translated, summary.photos_without_face, summary.written) == (2, 1, 1, 1, 2)
    assert "wall.png: no usable face (no face found)" in caplog.text
    assert "2 photo(s): 1 face(s) found, 1 translated" in summary.line()


def test_the_command_runs_and_reports(checkpoint, tmp_path, capsys):
    photo, _ = world_photo([(400, 300)])
    Image.fromarray(photo).save(tmp_path / "me.png")
    assert main(["tryon", f"checkpoint={checkpoint}", f"input={tmp_path / 'me.png'}", f"output={tmp_path / 'out'}", "direction=a2b", "device=cpu"]) == 0
    assert "1 translated" in capsys.readouterr().out
    assert Image.open(tmp_path / "out" / "me.png").size == (800, 600)
    assert main(["tryon", f"checkpoint={checkpoint}", f"input={tmp_path / 'me.png'}"]) == 2


def test_stargan_gives_one_picture_per_style(tmp_path):
    from tests.faces.helpers import TINY_STARGAN

    tryon = TryOn.load(tiny_checkpoint(tmp_path / "sg", TINY_STARGAN), device="cpu")
    photo, (eyes,) = world_photo([(400, 300)])
    result = tryon.apply(photo, faces=[_face(eyes)], domain="round", num=3, seed=1)
    assert len(result.images) == 3 and not (result.images[0] == result.images[1]).all()


def test_unknown_geometry_is_a_user_error(tmp_path):
    ckpt = tiny_checkpoint(tmp_path / "f", data={"name": "unpaired_folders", "root": "x", "crop_size": 32})
    with pytest.raises(ConfigError, match="eyes="):
        TryOn.load(ckpt, device="cpu")
    assert TryOn.load(ckpt, device="cpu", eyes="0.35,0.45,0.65,0.45").geometry.size == 32


def test_a_reference_photo_is_aligned_like_the_inputs(tmp_path):
    from tests.faces.helpers import TINY_STARGAN

    tryon = TryOn.load(tiny_checkpoint(tmp_path / "sg", TINY_STARGAN), device="cpu")
    photo, (eyes,) = world_photo([(400, 300)])
    reference, _ = world_photo([(300, 250)], seed=9)
    Image.fromarray(reference).save(tmp_path / "ref.png")
    crop = tryon.reference_crop(tmp_path / "ref.png")
    assert crop.shape == (1, 3, 32, 32)
    result = tryon.apply(photo, faces=[_face(eyes)], domain="round", reference=str(tmp_path / "ref.png"))
    assert len(result.images) == 1 and result.translated == 1
    Image.fromarray(np.full((64, 64, 3), 80, np.uint8)).save(tmp_path / "blank.png")
    from gancraft.core.errors import DataError

    with pytest.raises(DataError, match="shows no face"):
        tryon.reference_crop(tmp_path / "blank.png")
