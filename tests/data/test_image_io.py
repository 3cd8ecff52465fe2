import io

import numpy as np
import pytest
from PIL import Image

from gancraft.data import image_io
from gancraft.data.folders import UnpairedFolders
from gancraft.data.image_io import list_images, load_image
from gancraft.core.errors import ConfigError, DataError


def save(img: Image.Image, path, **kw) -> str:
    img.save(path, **kw)
    return str(path)


def test_exif_orientation_is_applied(tmp_path) -> None:
    img = Image.new("RGB", (4, 2), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = save(img, tmp_path / "rot.jpg", exif=exif.tobytes())
    assert load_image(path).size == (2, 4)


@pytest.mark.parametrize(
    "mode, value",
    [("L", 128), ("LA", (128, 255)), ("RGBA", (10, 20, 30, 255)), ("CMYK", (0, 0, 0, 0)), ("P", 3)],
)
def test_modes_become_rgb(tmp_path, mode, value) -> None:
    suffix = ".jpg" if mode == "CMYK" else ".png"
    path = save(Image.new(mode, (3, 3), value), tmp_path / f"x{suffix}")
    out = load_image(path)
    assert out.mode == "RGB" and out.size == (3, 3)


def test_transparent_pixels_become_white(tmp_path) -> None:
    path = save(Image.new("RGBA", (2, 2), (0, 0, 0, 0)), tmp_path / "t.png")
    assert np.asarray(load_image(path))[0, 0].tolist() == [255, 255, 255]


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path) -> None:
    array = np.full((2, 2), 32768, dtype=np.uint16)
    path = save(Image.fromarray(array), tmp_path / "deep.png")
    assert np.asarray(load_image(path))[0, 0].tolist() == [128, 128, 128]


def test_truncated_file_names_the_file(tmp_path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buf.getvalue()[:60])
    with pytest.raises(DataError, match="cut.png"):
        load_image(path)


def test_non_image_and_missing_files(tmp_path) -> None:
    (tmp_path / "notes.png").write_text("hello")
    with pytest.raises(DataError, match="not an image"):
        load_image(tmp_path / "notes.png")
    with pytest.raises(DataError, match="does not exist"):
        load_image(tmp_path / "gone.png")


def test_decompression_bomb_is_refused(tmp_path, monkeypatch) -> None:
    path = save(Image.new("RGB", (20, 20)), tmp_path / "big.png")
    monkeypatch.setattr(image_io, "MAX_PIXELS", 100)
    with pytest.raises(DataError, match="pixel limit"):
        load_image(path)


def test_empty_or_missing_folder(tmp_path) -> None:
    with pytest.raises(DataError, match="holds no images"):
        list_images(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        list_images(tmp_path / "nope")


def test_skip_bad_replaces_a_bad_file_and_counts_it(tmp_path) -> None:
    for split in ("trainA", "trainB"):
        (tmp_path / split).mkdir()
        save(Image.new("RGB", (8, 8), (200, 0, 0)), tmp_path / split / "good.png")
    (tmp_path / "trainA" / "bad.png").write_text("not an image")
    strict = UnpairedFolders(root=str(tmp_path), load_size=8, crop_size=8)
    with pytest.raises(DataError, match="bad.png"):
        strict[0]
    lenient = UnpairedFolders(root=str(tmp_path), load_size=8, crop_size=8, skip_bad=True)
    item = lenient[0]  # bad.png sorts first; the next good file stands in
    assert item["A"].shape == (3, 8, 8) and lenient.a.dropped == [tmp_path / "trainA" / "bad.png"]
    lenient[0]
    assert lenient.a.dropped == [tmp_path / "trainA" / "bad.png"]  # found once, not counted again


def test_unpaired_folders_needs_root_or_two_dirs() -> None:
    with pytest.raises(ConfigError, match="data.root"):
        UnpairedFolders()
