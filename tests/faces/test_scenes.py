import numpy as np

from gancraft.faces.scenes import RENDER, make_scene, paste_matrix


def test_paste_matrix_scales_rotates_and_centres():
    m = paste_matrix((100.0, 80.0), 256.0, 90.0)
    centre = np.array([(RENDER - 1) / 2] * 2)
    assert np.allclose(centre @ m[:, :2].T + m[:, 2], [100, 80])
    # the render's x axis turns into the picture's y axis at half the scale
    assert np.allclose(m[:, 0], [0, 0.5], atol=1e-12)


def test_scenes_know_their_faces_eyes_and_band():
    empty = make_scene(1, 0, width=320, height=240)
    assert empty.image.shape == (240, 320, 3) and not empty.faces and not empty.band.any()
    scene = make_scene(2, 2, width=640, height=480)
    assert len(scene.faces) == 2
    for face in scene.faces:
        assert face.eyes[0, 0] < face.eyes[1, 0]
        for x, y in face.eyes:
            assert 0 <= x < 640 and 0 <= y < 480 and scene.band[round(y), round(x)]
    # the same seed draws the same picture
    assert (make_scene(2, 2, width=640, height=480).image == scene.image).all()
