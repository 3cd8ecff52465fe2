"""``gancraft data prepare``: a pre-resized uint8 image cache in one memory-mapped file.

Decoding a 1024 px JPEG and resizing it costs far more than a training step needs
from it: on a fast GPU the loader, not the model, sets the pace. ``prepare`` decodes
every image under a folder once (with the same safe loader and the same bicubic
resize the transforms use), and writes them as one array ``N x S x S x 3`` of uint8
behind a small JSON header. Data sets read it transparently: an
:class:`~gancraft.data.folders.ImageList` whose files lie under a prepared folder
returns the cached pixels instead of decoding the file.

Prepared at ``size == data.load_size`` the cache changes nothing but speed: the
transform's own resize becomes a no-op, and every item is bit-identical to the one
read from the files. At any other size the cached image is resized again (faster
still, but not bit-identical).

Where caches are found, in order: the paths in ``$GANCRAFT_PREPARED`` (``:``-separated;
``none`` turns caches off), then ``.gancraft/prepared-*.gcache`` in the images' folder
and up to three folders above it (where ``prepare`` writes by default). A cached
entry is used only while its source file keeps the size and modification time it
had when prepared; otherwise the file itself is read.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from gancraft.data.image_io import IMAGE_SUFFIXES, load_image
from gancraft.core.errors import ConfigError, DataError
from gancraft.core.values import PositiveInt

log = logging.getLogger(__name__)

MAGIC = b"GCPREP01"
SUFFIX = ".gcache"
CACHE_DIR = ".gancraft"
ENV = "GANCRAFT_PREPARED"
_ALIGN = 4096  # the pixel array starts page-aligned


def default_output(root: str | Path, size: int) -> Path:
    """Where ``prepare`` writes when no ``output`` is given (and where data sets look)."""
    return Path(root) / CACHE_DIR / f"prepared-{size}px{SUFFIX}"


def find_images(root: str | Path) -> list[Path]:
    """Every image file under ``root`` (recursively, hidden folders skipped), sorted."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"folder {str(root)!r} does not exist")
    files = sorted(
        p for p in root.rglob("*")
        # not only regular files: a broken link or symlink loop is reported by name, not skipped silently
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        raise DataError(f"folder {str(root)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _stat(path: Path | str) -> list[int]:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


def _decode(args: tuple[str, int]) -> np.ndarray | str:
    """One file -> ``S x S x 3`` uint8 (exactly what the transforms' resize would give), or the error."""
    path, size = args
    try:
        image = load_image(path)
    except DataError as err:
        return str(err)
    if image.size != (size, size):
        image = image.resize((size, size), Image.BICUBIC)
    return np.asarray(image, dtype=np.uint8)


def prepare(
    root: str | Path,
    size: int,
    output: str | Path | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Decode and resize every image under ``root`` into one cache file; returns its path.

    Unreadable files are left out with a warning (reading them later raises as usual).
    The file is written to a temporary name and renamed, so a crash leaves no half cache.
    """
    if size < 1:
        raise ConfigError(f"size={size} must be a positive number of pixels, for example size=286")
    root = Path(os.path.abspath(Path(root).expanduser()))
    files = find_images(root)
    out = Path(output).expanduser() if output else default_output(root, size)
    out.parent.mkdir(parents=True, exist_ok=True)
    workers = workers if workers is not None else min(8, os.cpu_count() or 1)
    frame = size * size * 3
    tmp = out.with_name(out.name + ".tmp")
    kept: list[str] = []
    stats: list[list[int]] = []
    skipped = 0
    # Pixels first (to a scratch file), the header once the kept files are known.
    scratch = out.with_name(out.name + ".pixels.tmp")
    try:
        with scratch.open("wb") as fh:
            jobs = ((str(f), size) for f in files)
            bar = tqdm(total=len(files), unit="img", desc="prepare", disable=not progress, dynamic_ncols=True)
            pool = ProcessPoolExecutor(workers) if workers > 1 else None
            results: Iterable = pool.map(_decode, jobs, chunksize=16) if pool else map(_decode, jobs)
            try:
                for path, result in zip(files, results):
                    bar.update(1)
                    if isinstance(result, str):
                        skipped += 1
                        log.warning("left out of the cache: %s", result)
                        continue
                    fh.write(result.tobytes())
                    kept.append(path.relative_to(root).as_posix())
                    stats.append(_stat(path))
            finally:
                bar.close()
                if pool:
                    pool.shutdown()
        if not kept:
            raise DataError(f"no readable image under {str(root)!r}; nothing to prepare")
        header = {"version": 1, "size": size, "count": len(kept), "root": str(root), "files": kept, "stat": stats}
        blob = json.dumps(header, separators=(",", ":")).encode()
        offset = -(-(len(MAGIC) + 8 + len(blob)) // _ALIGN) * _ALIGN
        with tmp.open("wb") as fh, scratch.open("rb") as pixels:
            fh.write(MAGIC + struct.pack("<Q", len(blob)) + blob)
            fh.write(b"\0" * (offset - fh.tell()))
            while chunk := pixels.read(64 * frame):
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    finally:
        scratch.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    log.info("prepared %d images at %d px into %s (%d left out)", len(kept), size, out, skipped)
    return out


class PreparedImages:
    """A cache file opened for reading: ``get(path)`` -> PIL image, or ``None`` if not cached."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            with self.path.open("rb") as fh:
                magic, length = fh.read(len(MAGIC)), fh.read(8)
                if magic != MAGIC or len(length) != 8:
                    raise DataError(f"{str(self.path)!r} is not a gancraft prepared cache; rebuild it with gancraft data prepare")
                header = json.loads(fh.read(struct.unpack("<Q", length)[0]))
        except FileNotFoundError:
            raise DataError(f"prepared cache {str(self.path)!r} does not exist") from None
        self.size, self.count, self.root = int(header["size"]), int(header["count"]), header["root"]
        self.offset = -(-(len(MAGIC) + 8 + struct.unpack("<Q", length)[0]) // _ALIGN) * _ALIGN
        self.index = {name: i for i, name in enumerate(header["files"])}
        self.stat = header["stat"]
        self._pixels: np.ndarray | None = None  # opened lazily, in each worker process
        self.stale = 0

    def __getstate__(self) -> dict:  # DataLoader workers re-open the map themselves
        return {**self.__dict__, "_pixels": None}

    @property
    def pixels(self) -> np.ndarray:
        if self._pixels is None:
            self._pixels = np.memmap(self.path, dtype=np.uint8, mode="r", offset=self.offset, shape=(self.count, self.size, self.size, 3))
        return self._pixels

    def row(self, path: str | Path) -> int | None:
        """The row of ``path``, if it is cached and unchanged since."""
        rel = os.path.relpath(os.path.abspath(path), self.root)
        i = self.index.get(Path(rel).as_posix())
        if i is None:
            return None
        try:
            if _stat(path) != self.stat[i]:
                self.stale += 1
                if self.stale == 1:
                    log.warning("%s changed since %s was prepared; reading changed files directly", path, self.path)
                return None
        except OSError:
            return None
        return i

    def get(self, path: str | Path) -> Image.Image | None:
        i = self.row(path)
        return None if i is None else Image.fromarray(np.array(self.pixels[i]))

    def covers(self, path: str | Path) -> bool:
        return self.row(path) is not None


def _candidates(folder: Path) -> list[Path]:
    env = os.environ.get(ENV, "")
    if env.strip().lower() in ("none", "off", "0"):
        return []
    found = [Path(p) for p in env.split(os.pathsep) if p]
    for parent in [folder, *list(folder.parents)[:3]]:
        cache_dir = parent / CACHE_DIR
        if cache_dir.is_dir():
            found += sorted(cache_dir.glob(f"*{SUFFIX}"))
    return found


def find_prepared(files: Sequence[Path]) -> PreparedImages | None:
    """The prepared cache that holds ``files`` (the largest size if several do), or ``None``."""
    if not files or os.environ.get(ENV, "").strip().lower() in ("none", "off", "0"):
        return None
    best, best_rank = None, (0, 0)
    probe = files[0], files[len(files) // 2], files[-1]
    for candidate in _candidates(Path(os.path.abspath(files[0])).parent):
        try:
            cache = PreparedImages(candidate)
        except (DataError, OSError, ValueError, KeyError) as err:
            log.warning("ignoring prepared cache %s (%s)", candidate, err)
            continue
        covered = sum(cache.covers(p) for p in probe)  # a file left out as unreadable may be a probe
        if covered and (best is None or (covered, cache.size) > best_rank):
            best, best_rank = cache, (covered, cache.size)
    if best is not None:
        log.info("reading %d images through the prepared cache %s (%d px)", len(files), best.path, best.size)
    return best


def prepare_command(input: Path, size: PositiveInt, output: Path | None = None, workers: PositiveInt | None = None, progress: bool = True) -> int:
    """``gancraft data prepare input=DIR size=S [output=FILE] [workers=N]``: ``size`` is your data.load_size."""
    out = prepare(input, size, output, workers, progress)
    cache = PreparedImages(out)
    print(f"wrote {cache.count} images at {size} px to {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    if output is not None and not str(out.parent).endswith(CACHE_DIR):
        print(f"data sets find it when {ENV}={out} is set (the default output is found without it)")
    return 0
