"""The study database: one SQLite file in WAL mode inside the study directory.

Every request opens its own short-lived connection (SQLite connections must not be
shared between threads), writes inside ``BEGIN IMMEDIATE`` so that the check and
the insert of an answer are one atomic step, and commits before the response is
sent. ``synchronous=FULL`` makes a commit durable, so a killed server loses nothing
that a rater was told was saved.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gancraft.core.errors import ConfigError

DB_NAME = "study.sqlite"
IMAGES_DIR = "images"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL                      -- JSON
);
CREATE TABLE IF NOT EXISTS images (
    id     TEXT PRIMARY KEY,                 -- random hex; the only name the web app knows
    file   TEXT NOT NULL UNIQUE,             -- file name inside images/, never from a request
    kind   TEXT NOT NULL CHECK (kind IN ('real', 'fake')),
    source TEXT NOT NULL,                    -- where it was copied from (for the report)
    grp    TEXT                              -- group label from the metadata CSV
);
CREATE TABLE IF NOT EXISTS raters (
    id    INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS trials (
    id        INTEGER PRIMARY KEY,
    rater_id  INTEGER NOT NULL REFERENCES raters(id),
    position  INTEGER NOT NULL,
    phase     TEXT NOT NULL CHECK (phase IN ('qualification', 'main')),
    block     INTEGER NOT NULL,
    image_id  TEXT NOT NULL REFERENCES images(id),
    before_id TEXT REFERENCES images(id),    -- rubric: the input the image was made from
    truth     TEXT NOT NULL CHECK (truth IN ('real', 'fake')),
    UNIQUE (rater_id, position)
);
CREATE TABLE IF NOT EXISTS answers (
    id               INTEGER PRIMARY KEY,
    rater_id         INTEGER NOT NULL REFERENCES raters(id),
    trial_id         INTEGER NOT NULL REFERENCES trials(id),
    answer           TEXT NOT NULL CHECK (answer IN ('real', 'fake')),
    correct          INTEGER NOT NULL,
    exposure_ms      INTEGER,                -- time task: computed by the server
    glasses_complete INTEGER,                -- rubric criteria 2-4 (0/1)
    skin_tone_kept   INTEGER,
    nothing_cut      INTEGER,
    response_ms      INTEGER,                -- as measured by the browser
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (rater_id, trial_id)              -- an answer sent twice counts once
);
CREATE INDEX IF NOT EXISTS trials_by_rater ON trials (rater_id, position);
"""


def db_path(study_dir: str | Path) -> Path:
    return Path(study_dir) / DB_NAME


def connect(study_dir: str | Path, *, create: bool = False) -> sqlite3.Connection:
    """Open the study database (autocommit mode; use :func:`write` for transactions)."""
    path = db_path(study_dir)
    if not create and not path.is_file():
        raise ConfigError(f"{study_dir} is not a HYPE study (no {DB_NAME}); create one with `gancraft hype create`")
    if create and not path.exists():
        # It holds the rater and owner tokens and the real/fake labels: readable by the owner
        # only, from its first byte. SQLite gives its -wal and -shm files the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    con = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=60000")
    return con


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only the owner can read (mode 0600 from the start, not chmod-ed after)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


@contextmanager
def opened(study_dir: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection closed on exit."""
    con = connect(study_dir)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def write(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error): one writer at a time."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def init_schema(con: sqlite3.Connection) -> None:
    con.executescript(SCHEMA)


def set_meta(con: sqlite3.Connection, values: dict[str, Any]) -> None:
    con.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        [(k, json.dumps(v)) for k, v in values.items()],
    )


def get_meta(con: sqlite3.Connection) -> dict[str, Any]:
    return {row["key"]: json.loads(row["value"]) for row in con.execute("SELECT key, value FROM meta")}
