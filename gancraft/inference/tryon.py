"""Try-on: translate every face of a photo at the model's size and paste it back at full resolution.

For each face found (:class:`~gancraft.faces.detect.FaceDetector`), a similarity
transform puts its eyes where the model's training crops had them
(:mod:`gancraft.faces.align`); the aligned crop is translated, warped back, and only the
changed region (:mod:`gancraft.faces.blend`) is blended into the photo. The output keeps
the photo's size and EXIF orientation, and every pixel outside the blend keeps its value.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from gancraft.core.checkpoint import atomic_file
from gancraft.core.errors import DataError
from gancraft.data.image_io import IMAGE_SUFFIXES, list_images, load_image
from gancraft.data.transforms import to_tensor, to_uint8
from gancraft.faces.align import CropGeometry, aligned_crop, crop_geometry, invert, roi, shift_origin
from gancraft.faces.blend import attention_probe, blend_weights, face_region
from gancraft.faces.detect import Face, FaceDetector, import_cv2
from gancraft.inference.translator import check_output, output_names

log = logging.getLogger(__name__)

_ORIENTATION = 0x0112
# EXIF orientation -> the transpose that makes the stored pixels upright (Pillow's exif_transpose table)
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
_BACK = {**_UPRIGHT, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}  # the inverse of each


@dataclass
class PhotoResult:
    """One photo's try-on: ``images`` (one uint8 H x W x 3 upright array per output variant),
    the faces found, and why each skipped face was skipped."""

    images: list[np.ndarray]
    faces: list[Face]
    translated: int
    skipped: list[str] = field(default_factory=list)
    eyes_from_box: int = 0  # translated faces whose eyes were placed from the face box


@dataclass
class Summary:
    """Counts over a run of :meth:`TryOn.run`."""

    photos: int = 0
    written: int = 0
    faces_found: int = 0
    translated: int = 0
    eyes_from_box: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> faces
    photos_without_face: int = 0
    unreadable: int = 0

    def line(self) -> str:
        why = ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items())) or "none"
        return (f"{self.photos} photo(s): {self.faces_found} face(s) found, {self.translated} translated "
                f"({self.eyes_from_box} with eyes placed from the face box), skipped: {why}; "
                f"{self.photos_without_face} photo(s) without a usable face, {self.unreadable} unreadable; {self.written} image(s) written")


class TryOn:
    """``TryOn.load(checkpoint).apply(rgb, direction="a2b")``: every face of a photo translated in place.

    ``translator`` is a :class:`~gancraft.inference.translator.Translator` or an ONNX
    translator (anything with ``translate(images, **condition)``, ``size`` and ``config``);
    ``geometry`` where the model wants the eyes (default: read from its config);
    ``min_eye_distance``: faces whose eyes are closer (photo pixels) are skipped as too small;
    ``feather``: the blend's soft edge, in model pixels.
    """

    def __init__(self, translator: Any, geometry: CropGeometry | None = None, detector: FaceDetector | None = None,
                 min_eye_distance: float = 8.0, feather: float = 1.0) -> None:
        self.translator = translator
        self.geometry = geometry or crop_geometry(translator.config)
        self.detector = detector or FaceDetector()
        self.min_eye_distance, self.feather = min_eye_distance, feather
        self.region = face_region(self.geometry.input_eyes(), self.geometry.size)

    @classmethod
    def load(cls, checkpoint: str | Path, device: str = "auto", eyes: str | None = None, **kwargs: Any) -> TryOn:
        """From a checkpoint or run directory, or an ``.onnx`` file written by ``gancraft export``."""
        path = Path(checkpoint).expanduser()
        if path.suffix == ".onnx":
            from gancraft.inference.export import OnnxTranslator

            translator: Any = OnnxTranslator.load(path)
        else:
            from gancraft.inference.translator import Translator

            translator = Translator.load(path, device=device)
        return cls(translator, crop_geometry(translator.config, eyes), **kwargs)

    # --- one face at a time -----------------------------------------------------------
    def crop(self, rgb: np.ndarray, eyes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The aligned model-size crop (uint8) of the face with ``eyes``, and the photo -> crop affine."""
        return aligned_crop(rgb, eyes, self.geometry)

    def paste(self, photo: np.ndarray, translated: np.ndarray, source: np.ndarray, weight: np.ndarray, m: np.ndarray) -> None:
        """Blend the change a model made to a crop into ``photo`` in place.

        ``translated`` and ``source`` are the model's output and input crops (uint8), ``weight``
        the blend weights (float, model size), ``m`` the photo -> crop affine. What is added is the
        change, warped back (``translated - source``), not the low-resolution output itself: so
        where the model passed its input through, the photo keeps its full-resolution detail.
        """
        cv2 = import_cv2()
        size = self.geometry.size
        m_inv = invert(m)
        pixel = float(np.sqrt(abs(np.linalg.det(m_inv[:, :2]))))  # photo pixels per model pixel
        pad = int(np.ceil(3 * self.feather * pixel)) + 2
        x0, y0, x1, y1 = roi(m_inv, size, photo.shape[:2], pad)
        if x1 <= x0 or y1 <= y0:
            return
        back = shift_origin(m, x0, y0)  # ROI pixel -> crop pixel
        dsize = (x1 - x0, y1 - y0)
        flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
        change = translated.astype(np.float32) - source.astype(np.float32)
        change = cv2.warpAffine(change, back, dsize, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        w = cv2.warpAffine(weight.astype(np.float32), back, dsize, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if self.feather > 0:
            w = cv2.GaussianBlur(w, (0, 0), self.feather * pixel)
        w[w < 1.0 / 255] = 0.0
        region = photo[y0:y1, x0:x1]
        mixed = region + w[..., None] * change
        photo[y0:y1, x0:x1] = np.where(w[..., None] > 0, np.clip(np.rint(mixed), 0, 255), region).astype(np.uint8)

    # --- a photo ------------------------------------------------------------------------
    def usable(self, face: Face, shape: tuple[int, int]) -> str | None:
        """Why ``face`` cannot be translated, or None."""
        if face.eye_distance < self.min_eye_distance:
            return "too small"
        h, w = shape
        x, y = face.centre
        if not (0 <= x < w and 0 <= y < h):
            return "outside the photo"
        return None

    def reference_crop(self, path: str | Path) -> torch.Tensor:
        """A reference photo's largest face, aligned like the inputs, as a 1 x 3 x S x S tensor."""
        rgb = np.asarray(load_image(path))
        faces = self.detector(rgb)
        if not faces:
            raise DataError(f"reference {str(path)!r} shows no face the detector finds; use another photo")
        return to_tensor(self.crop(rgb, faces[0].eyes)[0])[None]

    def apply(self, rgb: np.ndarray, faces: list[Face] | None = None, **condition: Any) -> PhotoResult:
        """Translate every usable face of the upright uint8 RGB photo ``rgb``; ``faces`` skips detection."""
        faces = self.detector(rgb) if faces is None else faces
        kept, skipped = [], []
        for face in faces:
            reason = self.usable(face, rgb.shape[:2])
            (skipped if reason else kept).append(reason or face)
        if isinstance(condition.get("reference"), (str, Path)):
            condition["reference"] = self.reference_crop(condition["reference"])
        if not kept:
            return PhotoResult([rgb.copy()], faces, 0, skipped)
        crops, mats = zip(*(self.crop(rgb, f.eyes) for f in kept))
        inputs = torch.stack([to_tensor(c) for c in crops])
        with attention_probe(getattr(self.translator, "model", None)) as masks:
            out = self.translator.translate(inputs, **condition).float().cpu()
        variants = out.shape[1] if out.dim() == 5 else 1
        out = out if out.dim() == 5 else out[:, None]
        attention = masks[-1].reshape(len(kept), variants, *out.shape[-2:]) if masks else None
        images = []
        for k in range(variants):
            weights = blend_weights(inputs, out[:, k], attention[:, k] if attention is not None else None, self.region).numpy()
            photo = rgb.copy()
            for i, m in enumerate(mats):
                self.paste(photo, to_uint8(out[i, k]).numpy(), crops[i], weights[i], m)
            images.append(photo)
        return PhotoResult(images, faces, len(kept), skipped, sum(not f.eyes_found for f in kept))

    def apply_file(
        self, path: str | Path, output: str | Path, name: str | None = None, **condition: Any
    ) -> tuple[PhotoResult, list[Path]]:
        """Try on one file; writes ``<output>/<name>.png`` (``<name>_<k>.png`` per variant; ``name``
        defaults to the input's stem) with the input's EXIF, each file atomically."""
        path, output = Path(path), Path(output)
        rgb = np.asarray(load_image(path))  # an unreadable file is one DataError line naming it
        with Image.open(path) as raw:
            exif = raw.getexif()
        orientation = int(exif.get(_ORIENTATION, 1) or 1)
        result = self.apply(rgb, **condition)
        stem = name or path.stem
        written = []
        for k, image in enumerate(result.images):
            picture = Image.fromarray(image)
            if orientation in _BACK:  # store the pixels as the input stored them; the tag turns both alike
                picture = picture.transpose(_BACK[orientation])
            target = output / (f"{stem}.png" if len(result.images) == 1 else f"{stem}_{k}.png")
            with atomic_file(target) as tmp:  # a crash mid-write leaves no half picture
                picture.save(tmp, format="PNG", exif=exif.tobytes() if len(exif) else b"")
            written.append(target)
        return result, written

    def run(self, inputs: str | Path, output: str | Path, **condition: Any) -> Summary:
        """Try on a photo or every photo of a folder; one line per photo without a usable face, then the summary."""
        inputs = Path(inputs).expanduser()
        if inputs.is_file() and inputs.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(f"input {str(inputs)!r} is not an image file ({', '.join(IMAGE_SUFFIXES)})")
        files = [inputs] if inputs.is_file() else list_images(inputs)
        output = Path(output).expanduser()
        check_output(inputs, output)
        if isinstance(condition.get("reference"), (str, Path)):
            condition["reference"] = self.reference_crop(condition["reference"])
        summary = Summary()
        for path, name in zip(files, output_names(files)):
            summary.photos += 1
            try:
                result, written = self.apply_file(path, output, name, **condition)
            except DataError as err:
                summary.unreadable += 1
                log.warning("%s: skipped (%s)", path.name, err)
                continue
            summary.written += len(written)
            summary.faces_found += len(result.faces)
            summary.translated += result.translated
            summary.eyes_from_box += result.eyes_from_box
            summary.skipped.update(result.skipped)
            if result.translated == 0:
                summary.photos_without_face += 1
                why = ", ".join(sorted(set(result.skipped))) if result.skipped else "no face found"
                log.warning("%s: no usable face (%s); written unchanged", path.name, why)
        return summary


def tryon_command(
    checkpoint: Path,
    input: Path,
    output: Path,
    device: str = "auto",
    eyes: str | None = None,
    min_eye_distance: float = 8.0,
    feather: float = 1.0,
    **condition: Any,
) -> int:
    """``gancraft tryon checkpoint=DIR|FILE.onnx input=FILE|DIR output=DIR [direction=a2b | domain=round num=3 | reference=FILE]``."""
    from gancraft.inference.translator import condition_from_words

    given = condition_from_words(condition, "gancraft tryon")
    tryon = TryOn.load(checkpoint, device=device, eyes=eyes, min_eye_distance=min_eye_distance, feather=feather)
    summary = tryon.run(input, output, **given)
    print(summary.line())
    return 0
