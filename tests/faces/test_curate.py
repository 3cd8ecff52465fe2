import csv

import numpy as np
from PIL import Image

from gancraft.cli import main
from gancraft.faces.curate import curate, geometry
from gancraft.faces.scenes import make_scene
from tests.faces.helpers import world_photo


def test_each_rule_rejects_its_photo_and_kept_faces_are_aligned(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    one, _ = world_photo([(400, 300)])
    two, _ = world_photo([(200, 300), (600, 300)], side=260)
    tiny, _ = world_photo([(400, 300)], side=90, seed=5)
    Image.fromarray(one).save(photos / "one.png")
    Image.fromarray(two).save(photos / "two.png")
    Image.fromarray(tiny).save(photos / "tiny.png")
    Image.fromarray(make_scene(20_200, 1, style="sunglasses").image).save(photos / "shades.png")
    Image.fromarray(np.full((200, 300, 3), 60, np.uint8)).save(photos / "wall.png")
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    result = curate(photos, tmp_path / "out", size=64)
    with open(tmp_path / "out" / "curation.csv") as handle:
        rows = {r["file"]: r for r in csv.DictReader(handle)}
    assert rows["one.png"]["kept"] == "1" and rows["one.png"]["reasons"] == ""
    assert "several_faces" in rows["two.png"]["reasons"]
    assert "face_too_small" in rows["tiny.png"]["reasons"]
    assert "sunglasses" in rows["shades.png"]["reasons"]
    assert rows["wall.png"]["reasons"] == "no_face"
    assert rows["broken.jpg"]["reasons"].startswith("unreadable")
    assert (result.kept, result.photos, result.unreadable) == (1, 6, 1)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["one.png"]
    assert Image.open(tmp_path / "out" / "one.png").size == (64, 64)
    few = tmp_path / "few"
    few.mkdir()
    for name in ("one.png", "wall.png"):
        (few / name).write_bytes((photos / name).read_bytes())
    assert main(["data", "curate", f"input={few}", f"output={tmp_path / 'out2'}", "size=64"]) == 0
    printed = capsys.readouterr().out
    assert "kept 1" in printed and "1 no_face" in printed and "eyes=" in printed


def test_curated_geometry_is_the_worlds():
    (lx, ly), (rx, ry) = geometry(64).input_eyes()
    assert lx < rx and abs(ly - ry) < 0.5 and geometry(64).size == 64
