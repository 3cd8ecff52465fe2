"""The before/after figures of docs/tryon.md.

    python benchmarks/tryon_docs_figure.py checkpoint=RUN_DIR

A real photo that ships inside a PyPI wheel (scikit-image's ``astronaut``, NASA, public
domain; ``pip install scikit-image`` for this script only) and one glasses-world picture
of the ground-truth test, each before and after ``TryOn``, side by side with the aligned crop
the model saw and what it made of it.
"""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image, ImageDraw

from gancraft.cli import parse_key_values
from gancraft.data.transforms import to_tensor, to_uint8
from gancraft.faces.scenes import make_scene
from gancraft.inference.tryon import TryOn


def figure(tryon: TryOn, photo: np.ndarray, height: int = 384) -> Image.Image:
    result = tryon.apply(photo, direction="a2b")
    if not result.faces:
        raise SystemExit("no face found in the photo")
    crop = tryon.crop(photo, result.faces[0].eyes)[0]
    out = to_uint8(tryon.translator.translate(to_tensor(crop)[None], direction="a2b")[0]).numpy()
    scale = height / photo.shape[0]
    width = round(photo.shape[1] * scale)
    tiles = [Image.fromarray(photo).resize((width, height), Image.LANCZOS), Image.fromarray(result.images[0]).resize((width, height), Image.LANCZOS)]
    side = height // 2
    column = Image.new("RGB", (side, height), "white")
    column.paste(Image.fromarray(crop).resize((side, side), Image.NEAREST), (0, 0))
    column.paste(Image.fromarray(out).resize((side, side), Image.NEAREST), (0, side))
    canvas = Image.new("RGB", (2 * width + side + 16, height), "white")
    canvas.paste(tiles[0], (0, 0))
    canvas.paste(tiles[1], (width + 8, 0))
    canvas.paste(column, (2 * width + 16, 0))
    draw = ImageDraw.Draw(canvas)
    for x, text in ((4, "before"), (width + 12, "after (full resolution)"), (2 * width + 20, f"model input / output ({tryon.geometry.size} px)")):
        draw.text((x, 4), text, fill="white")
    return canvas


def main(argv: list[str]) -> None:
    from skimage.data import astronaut

    args = parse_key_values(argv)
    tryon = TryOn.load(args["checkpoint"], device="cpu")
    figure(tryon, astronaut()).save("docs/tryon_photo.png")
    figure(tryon, make_scene(10_000, 1).image).save("docs/tryon_world.png")
    print("wrote docs/tryon_photo.png, docs/tryon_world.png")


if __name__ == "__main__":
    main(sys.argv[1:])
