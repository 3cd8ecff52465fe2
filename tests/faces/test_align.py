import numpy as np
import pytest
from omegaconf import OmegaConf

from gancraft.core.errors import ConfigError
from gancraft.faces.align import CELEBA_EYES, CropGeometry, aligned_crop, alignment, compose, crop_geometry, invert, similarity, world_eyes


def test_similarity_maps_the_two_points_and_inverts():
    src, dst = np.array([[10.0, 20.0], [50.0, 35.0]]), np.array([[3.0, 4.0], [9.0, 4.0]])
    m = similarity(src, dst)
    assert np.allclose(src @ m[:, :2].T + m[:, 2], dst)
    assert np.allclose(compose(invert(m), m), np.hstack([np.eye(2), np.zeros((2, 1))]))
    # a similarity: orthogonal rows of equal length
    assert np.isclose(m[0, 0], m[1, 1]) and np.isclose(m[0, 1], -m[1, 0])


def test_world_eyes_are_level_and_symmetric():
    (lx, ly), (rx, ry) = world_eyes(64)
    assert lx < 31.5 < rx and abs((lx + rx) / 2 - 31.5) < 1.0 and abs(ly - ry) < 0.5
    assert np.allclose(np.asarray(world_eyes(128)), (np.asarray(world_eyes(64)) + 0.5) * 2 - 0.5)


def test_geometry_comes_from_the_data_config():
    world = crop_geometry(OmegaConf.create({"data": {"name": "glasses_world", "size": 64, "load_size": 72, "crop_size": 64}}))
    assert world.size == 64 and world.load == 72
    # resizing 64 -> 72 then taking the centre 64: eyes move outwards by 72/64 about the centre
    centre = 31.5
    assert np.allclose(world.input_eyes(), (np.asarray(world_eyes(64)) - centre) * 72 / 64 + centre)
    celeba = crop_geometry(OmegaConf.create({"data": {"name": "celeba", "load_size": 286, "crop_size": 256}}))
    assert celeba.frame == (178, 218) and celeba.eyes == CELEBA_EYES
    stargan = crop_geometry(OmegaConf.create({"data": {"name": "stargan_v2_domains", "root": None, "size": 32}}))
    assert stargan.size == 32
    with pytest.raises(ConfigError, match="eyes=LX,LY,RX,RY"):
        crop_geometry(OmegaConf.create({"data": {"name": "unpaired_folders", "root": "x", "crop_size": 64}}))
    manual = crop_geometry(OmegaConf.create({"data": {"name": "unpaired_folders", "crop_size": 100}}), eyes="0.3,0.4,0.7,0.4")
    assert np.allclose(manual.input_eyes(), [[30, 40], [70, 40]])
    with pytest.raises(ConfigError, match="four numbers"):
        crop_geometry(OmegaConf.create({"data": {"name": "x", "crop_size": 8}}), eyes="1,2")


@pytest.mark.parametrize("scale", [1.0, 6.0])
def test_aligned_crop_puts_the_eyes_where_the_model_wants_them(scale):
    geometry = CropGeometry(64, (64, 64), ((22.0, 30.0), (42.0, 30.0)), 64)
    photo = np.zeros((round(120 * scale), round(160 * scale), 3), np.uint8)
    eyes = np.array([[60.0, 50.0], [100.0, 70.0]]) * scale  # tilted by about 27 degrees
    for x, y in eyes:
        r = 2 * scale
        photo[round(y - r) : round(y + r) + 1, round(x - r) : round(x + r) + 1] = 255
    crop, m = aligned_crop(photo, eyes, geometry)
    assert crop.shape == (64, 64, 3)
    assert np.allclose(eyes @ m[:, :2].T + m[:, 2], geometry.input_eyes())
    for (x, y) in geometry.input_eyes():
        assert crop[round(y), round(x)].mean() > 120  # the bright dot landed there
    assert crop[5, 5].mean() == 0
    assert np.allclose(alignment(eyes, geometry), m)
