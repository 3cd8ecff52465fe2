"""Safe image loading: one function that turns any image file into uint8 RGB or says why not."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gancraft.core.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".gif")

#: Largest image accepted (pixels); larger files are treated as decompression bombs.
MAX_PIXELS = 89_478_485  # Pillow's own default limit, enforced as an error rather than a warning


def list_images(directory: str | Path, recursive: bool = False) -> list[Path]:
    """Image files directly in ``directory`` (and its sub-folders with ``recursive``), sorted by path;
    a missing or empty folder is an error."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise DataError(f"image folder {str(directory)!r} does not exist")
    # Not only regular files: a broken link or a symlink loop named like an image is listed,
    # so that reading it fails with its name instead of the file vanishing without a word.
    candidates = directory.rglob("*") if recursive else directory.iterdir()
    files = sorted(p for p in candidates if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir())
    if not files:
        raise DataError(f"image folder {str(directory)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I") and array.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(array * (255.0 / peak), 0, 255).round().astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def load_image(path: str | Path) -> Image.Image:
    """Open ``path`` as an RGB image with its EXIF orientation applied.

    Palette, alpha, CMYK, 16-bit and grayscale images are converted to 8-bit RGB
    (transparent areas composited on white). A missing, truncated or non-image file,
    or one larger than :data:`MAX_PIXELS`, raises a :class:`DataError` naming it.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise DataError(f"image {str(path)!r} is {opened.width}x{opened.height}, over the {MAX_PIXELS:,} pixel limit (decompression bomb?)")
                opened.load()
                image = ImageOps.exif_transpose(opened) or opened
                return _to_rgb(image)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"image {str(path)!r} does not exist") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"image {str(path)!r} is over the {MAX_PIXELS:,} pixel limit (decompression bomb?)") from None
    except UnidentifiedImageError:
        raise DataError(f"file {str(path)!r} is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"image {str(path)!r} cannot be read ({err}); re-export it or set data.skip_bad=true") from None
