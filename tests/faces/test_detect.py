import sys

import numpy as np
import pytest

from gancraft.core.errors import ConfigError
from gancraft.faces import detect
from gancraft.faces.detect import FaceDetector
from gancraft.faces.scenes import make_scene
from tests.faces.helpers import world_photo


def test_finds_a_world_face_and_its_eyes():
    photo, (eyes,) = world_photo([(400, 300)])
    faces = FaceDetector()(photo)
    assert len(faces) == 1
    face = faces[0]
    # within a tenth of the eye distance, detected or placed from the box
    assert np.linalg.norm(face.eyes - eyes, axis=1).max() < 0.1 * np.linalg.norm(eyes[1] - eyes[0])
    assert face.eyes[0, 0] < face.eyes[1, 0]


def test_finds_a_tilted_face_and_its_tilted_eyes():
    scene = make_scene(30_005, 1, sides=(300, 400))
    truth = scene.faces[0].eyes
    assert np.degrees(np.arctan2(*(truth[1] - truth[0])[::-1])) < -15  # the case this test is about
    faces = [f for f in FaceDetector()(scene.image) if np.linalg.norm(np.array(f.centre) - truth.mean(0)) < 0.5 * f.size]
    assert len(faces) == 1
    assert np.linalg.norm(faces[0].eyes - truth, axis=1).max() < 0.15 * np.linalg.norm(truth[1] - truth[0])


def test_an_empty_picture_has_no_face():
    assert FaceDetector()(np.full((300, 400, 3), 127, np.uint8)) == []


def test_without_opencv_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ConfigError, match=r"gancraft\[tryon\]"):
        detect.import_cv2()
