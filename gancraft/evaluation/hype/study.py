"""Create a HYPE study: sample balanced image sets per rater, copy them, write the database.

A study directory holds ``study.sqlite`` (settings, images, raters, trials, answers),
``images/`` (every image the raters will see, re-encoded the same way whether real
or fake so that file format, size or metadata give nothing away) and ``links.txt``
(the invitation links; keep it private, the tokens are the only credentials).
"""

from __future__ import annotations

import csv
import logging
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from gancraft.data.image_io import list_images, load_image
from gancraft.core.errors import ConfigError, DataError
from gancraft.evaluation.hype import db
from gancraft.evaluation.hype.staircase import StaircaseRule

log = logging.getLogger(__name__)

TASKS = ("infinity", "time", "rubric")
RUBRIC_CRITERIA = ("not_spotted", "glasses_complete", "skin_tone_kept", "nothing_cut")
RUBRIC_LABELS = {
    "not_spotted": "fake not spotted within the time limit",
    "glasses_complete": "glasses complete",
    "skin_tone_kept": "skin tone kept",
    "nothing_cut": "nothing cut",
}


@dataclass
class StudyConfig:
    """Everything ``gancraft hype create`` needs; the defaults are the HYPE protocol."""

    name: str
    task: str
    real: Path
    fake: Path
    raters: int
    images_per_rater: int
    study_dir: Path | None = None
    groups: Path | None = None
    seed: int = 0
    size: int = 256  # longest side of the served images; 0 keeps every image's own size
    qualification: int = 0  # known-answer trials before the study (even number; 0 = none)
    min_accuracy: float = 0.65  # raters below this on the qualification block are left out
    block_size: int = 0  # time task: trials per staircase block (0: min(images_per_rater, 50))
    time_limit_ms: int = 3000  # rubric criterion 1: the fake must not be spotted within this
    input: Path | None = None  # fake=CHECKPOINT: the images to translate (default: real)
    condition: dict[str, str] = field(default_factory=dict)  # fake=CHECKPOINT: Translator.translate(**condition)
    staircase: StaircaseRule = field(default_factory=StaircaseRule)
    base_url: str = "http://127.0.0.1:8000"

    def validate(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_." for c in self.name):
            raise ConfigError(f"study name {self.name!r} must be letters, digits, '-', '_' or '.'")
        if self.task not in TASKS:
            raise ConfigError(f"task={self.task!r} is not one of {', '.join(TASKS)}")
        if not 1 <= self.raters <= 10_000:
            raise ConfigError(f"raters={self.raters} must be between 1 and 10000")
        if self.images_per_rater < 1:
            raise ConfigError(f"images_per_rater={self.images_per_rater} must be at least 1")
        if self.task != "rubric" and self.images_per_rater % 2:
            raise ConfigError(f"images_per_rater={self.images_per_rater} must be even (half real, half fake)")
        if self.qualification < 0 or self.qualification % 2:
            raise ConfigError(f"qualification={self.qualification} must be an even number >= 0 (half real, half fake)")
        if not 0.0 <= self.min_accuracy <= 1.0:
            raise ConfigError(f"min_accuracy={self.min_accuracy} must be between 0 and 1")
        if self.size < 0:
            raise ConfigError(f"size={self.size} must be >= 0")
        if self.time_limit_ms < 100 or self.time_limit_ms > 60_000:
            raise ConfigError(f"time_limit_ms={self.time_limit_ms} must be between 100 and 60000")
        if self.task == "time":
            if self.block_size == 0:
                self.block_size = min(self.images_per_rater, 50)
            b = self.block_size
            if b < 2 or b % 2 or self.images_per_rater % b:
                raise ConfigError(
                    f"block_size={b} must be even and divide images_per_rater={self.images_per_rater}"
                )
            r = self.staircase
            if not 0 < r.min_ms <= r.start_ms <= r.max_ms or r.step_ms <= 0:
                raise ConfigError("staircase needs 0 < min_ms <= start_ms <= max_ms and step_ms > 0")


@dataclass
class Created:
    """What :func:`create_study` made: the directory and the links to hand out."""

    study_dir: Path
    owner_token: str
    rater_tokens: dict[str, str]  # label -> token
    base_url: str

    def rater_links(self, base_url: str | None = None) -> dict[str, str]:
        base = (base_url or self.base_url).rstrip("/")
        return {label: f"{base}/r/{tok}" for label, tok in self.rater_tokens.items()}

    def owner_link(self, base_url: str | None = None) -> str:
        return f"{(base_url or self.base_url).rstrip('/')}/owner/{self.owner_token}"


# ---------------------------------------------------------------- image pools


def _images_or_none(path: Path) -> list[Path]:
    """The images under ``path`` (recursively), or none: a folder without images may be a model."""
    try:
        return list_images(path, recursive=True) if path.is_dir() else []
    except DataError:
        return []


def _key(path: Path, root: Path) -> str:
    """Name used to pair a before image with its after image and to look up its group."""
    return path.relative_to(root).with_suffix("").as_posix()


def read_groups(path: Path) -> dict[str, str]:
    """``metadata.csv`` -> {file stem or relative name without suffix: group}.

    The CSV needs a header with a ``group`` column and a ``file`` (or ``image``,
    ``name``, ``path``) column naming the image.
    """
    if not path.is_file():
        raise DataError(f"groups file {path} does not exist; pass a CSV with columns file,group")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
        file_col = next((cols[c] for c in ("file", "image", "name", "path", "filename") if c in cols), None)
        if file_col is None or "group" not in cols:
            raise DataError(f"{path} needs a header with columns 'file' and 'group' (found {reader.fieldnames})")
        out: dict[str, str] = {}
        for row in reader:
            name, grp = (row.get(file_col) or "").strip(), (row.get(cols["group"]) or "").strip()
            if name and grp:
                out[Path(name).with_suffix("").as_posix()] = grp
                out.setdefault(Path(name).stem, grp)
    return out


def _group_of(key: str, groups: dict[str, str]) -> str | None:
    return groups.get(key) or groups.get(Path(key).name)


def _copy_image(src: Path, dst: Path, size: int) -> None:
    """Decode, fix orientation, drop metadata and alpha, fit into ``size``, save as PNG."""
    im = load_image(src)  # uint8 RGB, orientation applied, or a DataError naming the file
    if size and max(im.size) != size:
        scale = size / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)
    im.save(dst, format="PNG")


def _is_checkpoint(path: Path) -> bool:
    """A gancraft checkpoint or run directory, or a reference ``.pth``: something to translate with."""
    if path.is_file():
        return path.suffix in (".pth", ".pt")
    return (path / "model.safetensors").is_file() or (path / "latest").is_file() or any(path.glob("step_*/model.safetensors")) or any(
        (path / "checkpoints").glob("step_*/model.safetensors")
    )


def _run_directory(path: Path) -> Path | None:
    """The gancraft run directory ``path`` is or lies in (it has ``config.yaml`` and ``samples/`` or ``logs/``)."""
    for folder in (path, *path.parents):
        if (folder / "config.yaml").is_file() and ((folder / "samples").is_dir() or (folder / "logs").is_dir()):
            return folder
    return None


def fake_pool(cfg: StudyConfig, work_dir: Path) -> tuple[list[Path], Path]:
    """The fake images: a folder of images, or a checkpoint whose outputs are rendered first.

    A run directory is never searched for images: its ``samples/`` are training grids
    (several images side by side), not fakes. With a checkpoint in it, its model
    translates ``input=``; without one it is an error.
    """
    if not cfg.fake.exists():
        raise DataError(f"fake={cfg.fake} does not exist; pass a folder of images or a checkpoint directory")
    if not _is_checkpoint(cfg.fake):
        run = _run_directory(cfg.fake.resolve())
        if run is not None:
            raise DataError(
                f"fake={cfg.fake} is (inside) the training run {run} and holds no checkpoint; its samples/ are training grids, "
                "not fakes: pass a folder of translated images (gancraft translate ... output=DIR) or a run with checkpoints/"
            )
        files = _images_or_none(cfg.fake)
        if files:
            return files, cfg.fake
    from gancraft.evaluation.hype import checkpoint  # only when needed: imports torch

    out = work_dir / "_translated"
    log.info("fake=%s is a model: translating the images of input=%s with it into %s", cfg.fake, cfg.input or cfg.real, out)
    return checkpoint.translate_folder(cfg.fake, cfg.input or cfg.real, out, condition=cfg.condition), out


# ---------------------------------------------------------------- sampling


def _take(rng: np.random.Generator, pool: list[int], n: int, what: str, cfg: StudyConfig) -> list[int]:
    if n > len(pool):
        raise ConfigError(
            f"{what}: need {n} images per rater but only {len(pool)} are available; "
            f"lower images_per_rater/qualification or add images"
        )
    idx = rng.choice(len(pool), size=n, replace=False)
    return [pool[i] for i in idx]


def _plan_rater(cfg: StudyConfig, rng: np.random.Generator, n_real: int, n_fake: int):
    """Trials of one rater as (phase, block, real_or_fake, index) tuples, in order."""
    trials: list[tuple[str, int, str, int]] = []
    k, q = cfg.images_per_rater, cfg.qualification
    if cfg.task == "rubric":
        main = _take(rng, list(range(n_fake)), k, "rubric pairs", cfg)
        left = sorted(set(range(n_fake)) - set(main))
        if q:
            qual_fake = _take(rng, left, q // 2, "qualification fakes", cfg)
            qual_real = _take(rng, list(range(n_real)), q // 2, "qualification reals", cfg)
            qual = [("real", i) for i in qual_real] + [("fake", i) for i in qual_fake]
            rng.shuffle(qual)
            trials += [("qualification", 0, kind, i) for kind, i in qual]
        trials += [("main", 0, "pair", i) for i in main]
        return trials
    reals = _take(rng, list(range(n_real)), (k + q) // 2, "real images", cfg)
    fakes = _take(rng, list(range(n_fake)), (k + q) // 2, "fake images", cfg)
    if q:
        qual = [("real", i) for i in reals[: q // 2]] + [("fake", i) for i in fakes[: q // 2]]
        rng.shuffle(qual)
        trials += [("qualification", 0, kind, i) for kind, i in qual]
    reals, fakes = reals[q // 2 :], fakes[q // 2 :]
    block = cfg.block_size if cfg.task == "time" else k
    for b in range(k // block):
        h = block // 2
        items = [("real", i) for i in reals[b * h : (b + 1) * h]] + [("fake", i) for i in fakes[b * h : (b + 1) * h]]
        rng.shuffle(items)  # each block is balanced, its order random
        trials += [("main", b, kind, i) for kind, i in items]
    return trials


# ---------------------------------------------------------------- create


def create_study(cfg: StudyConfig) -> Created:
    """Sample, copy and store a study; returns the invitation tokens."""
    cfg.validate()
    study_dir = Path(cfg.study_dir or Path("hype_studies") / cfg.name)
    if db.db_path(study_dir).exists():
        raise ConfigError(f"{study_dir} already holds a study; choose another name or study= directory")
    existed = study_dir.exists()
    try:
        return _create(cfg, study_dir)
    except BaseException as err:
        # Nothing half-made stays behind: the copied images and translations go with the study.
        if not existed:
            shutil.rmtree(study_dir, ignore_errors=True)
        else:
            for made in (db.IMAGES_DIR, "_translated", db.DB_NAME, f"{db.DB_NAME}-wal", f"{db.DB_NAME}-shm", "links.txt"):
                target = study_dir / made
                shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
        if isinstance(err, DataError):
            raise DataError(f"{err}; no study was created") from None
        raise


def _create(cfg: StudyConfig, study_dir: Path) -> Created:
    reals = list_images(cfg.real, recursive=True)
    if not reals:
        raise DataError(f"no images found in real={cfg.real}; pass a folder of .png/.jpg files")
    fakes, fake_root = fake_pool(cfg, study_dir)
    if not fakes:
        raise DataError(f"no images found in fake={cfg.fake}; pass a folder of images or a checkpoint directory")
    groups = read_groups(cfg.groups) if cfg.groups else {}

    real_keys = [_key(p, cfg.real) for p in reals]
    fake_keys = [_key(p, fake_root) for p in fakes]
    before_of: list[int] = []
    if cfg.task == "rubric":
        # pair each after image with the before image of the same relative name
        by_key = {k: i for i, k in enumerate(real_keys)}
        by_stem: dict[str, int] = {}
        for i, k in enumerate(real_keys):
            by_stem.setdefault(Path(k).name, i)
        paired = [(j, by_key.get(k, by_stem.get(Path(k).name))) for j, k in enumerate(fake_keys)]
        paired = [(j, i) for j, i in paired if i is not None]
        if not paired:
            raise DataError(
                f"no image in fake={cfg.fake} has a before image of the same name in real={cfg.real}; "
                "rubric pairs are matched by file name"
            )
        fakes = [fakes[j] for j, _ in paired]
        fake_keys = [fake_keys[j] for j, _ in paired]
        before_of = [i for _, i in paired]

    plans = [_plan_rater(cfg, np.random.default_rng([cfg.seed, r]), len(reals), len(fakes)) for r in range(cfg.raters)]

    (study_dir / db.IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    # copy every image that some rater will see, once, under a random id
    image_ids: dict[tuple[str, int], str] = {}
    rows = []

    def image_id(kind: str, index: int) -> str:
        if (kind, index) not in image_ids:
            iid = secrets.token_hex(8)
            src = reals[index] if kind == "real" else fakes[index]
            key = real_keys[index] if kind == "real" else fake_keys[index]
            _copy_image(src, study_dir / db.IMAGES_DIR / f"{iid}.png", cfg.size)
            image_ids[(kind, index)] = iid
            rows.append((iid, f"{iid}.png", kind, str(src), _group_of(key, groups)))
        return image_ids[(kind, index)]

    owner_token = secrets.token_urlsafe(24)
    tokens = {f"rater-{r + 1:0{max(2, len(str(cfg.raters)))}d}": secrets.token_urlsafe(16) for r in range(cfg.raters)}
    trial_rows = []
    for r, plan in enumerate(plans):
        for pos, (phase, block, kind, index) in enumerate(plan):
            if kind == "pair":
                main, before = image_id("fake", index), image_id("real", before_of[index])
                trial_rows.append((r + 1, pos, phase, block, main, before, "fake"))
            else:
                trial_rows.append((r + 1, pos, phase, block, image_id(kind, index), None, kind))

    con = db.connect(study_dir, create=True)
    try:
        db.init_schema(con)
        with db.write(con):
            settings = asdict(cfg)
            settings.update(
                real=str(cfg.real), fake=str(cfg.fake), groups=str(cfg.groups) if cfg.groups else None,
                input=str(cfg.input) if cfg.input else None,
                study_dir=str(study_dir), staircase=asdict(cfg.staircase),
            )
            db.set_meta(con, {"schema": db.SCHEMA_VERSION, "config": settings, "owner_token": owner_token})
            con.executemany("INSERT INTO images (id, file, kind, source, grp) VALUES (?, ?, ?, ?, ?)", rows)
            con.executemany(
                "INSERT INTO raters (id, label, token) VALUES (?, ?, ?)",
                [(i + 1, label, tok) for i, (label, tok) in enumerate(tokens.items())],
            )
            con.executemany(
                "INSERT INTO trials (rater_id, position, phase, block, image_id, before_id, truth)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                trial_rows,
            )
    finally:
        con.close()
    created = Created(study_dir, owner_token, tokens, cfg.base_url)
    text = f"owner {created.owner_link()}\n" + "".join(f"{k} {v}\n" for k, v in created.rater_links().items())
    db.write_private(study_dir / "links.txt", text)  # the tokens are the credentials
    log.info("study %s: %d raters, %d images copied to %s", cfg.name, cfg.raters, len(rows), study_dir)
    return created
