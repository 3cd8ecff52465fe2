"""Fixtures for the HYPE tests: tiny image folders, studies, answering helpers, a live server."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gancraft.evaluation.hype import db, service
from gancraft.evaluation.hype.study import StudyConfig, create_study

N_IMAGES = 24


@pytest.fixture(scope="session")
def image_dirs(tmp_path_factory) -> tuple[Path, Path, Path]:
    """24 'real' JPEGs and 24 'fake' PNGs with the same stems, and a groups CSV."""
    root = tmp_path_factory.mktemp("hype_images")
    rng = np.random.default_rng(0)
    real, fake = root / "real", root / "fake"
    real.mkdir()
    fake.mkdir()
    for i in range(N_IMAGES):
        base = (rng.random((20, 20, 3)) * 255).astype(np.uint8)
        Image.fromarray(base).save(real / f"face_{i:02d}.jpg")
        tinted = base.copy()
        tinted[..., 0] = 220
        Image.fromarray(tinted).save(fake / f"face_{i:02d}.png")
    meta = root / "metadata.csv"
    meta.write_text("file,group\n" + "".join(f"face_{i:02d}.jpg,{'dark' if i % 3 == 0 else 'light'}\n" for i in range(N_IMAGES)))
    return real, fake, meta


@pytest.fixture
def make_study(tmp_path, image_dirs) -> Callable[..., tuple[Path, object]]:
    """``make_study(task='infinity', raters=2, images_per_rater=6, **kw) -> (study_dir, Created)``."""
    real, fake, meta = image_dirs
    count = iter(range(1000))

    def make(task: str = "infinity", raters: int = 2, images_per_rater: int = 6, groups: bool = False, **kw):
        name = f"s{next(count)}"
        cfg = StudyConfig(
            name=name, task=task, real=real, fake=fake, raters=raters, images_per_rater=images_per_rater,
            study_dir=tmp_path / name, groups=meta if groups else None, size=kw.pop("size", 32), **kw,
        )
        created = create_study(cfg)
        return created.study_dir, created

    return make


def truths(study_dir: Path, token: str) -> list[sqlite3.Row]:
    with db.opened(study_dir) as con:
        return con.execute(
            "SELECT t.* FROM trials t JOIN raters r ON r.id = t.rater_id WHERE r.token = ? ORDER BY t.position",
            (token,),
        ).fetchall()


def answer_all(study_dir: Path, token: str, choose: Callable[[sqlite3.Row, int], dict | str]) -> list[dict]:
    """Answer every trial of a rater in order through the service layer; returns what was sent."""
    sent = []
    with db.opened(study_dir) as con:
        settings = service.Settings.load(con)
        rows = {r["id"]: r for r in truths(study_dir, token)}
        i = 0
        while True:
            state = service.rater_state(con, token, settings)
            if state["done"]:
                return sent
            trial = rows[state["current"]["id"]]
            choice = choose(trial, i)
            payload = {"trial_id": trial["id"], **({"answer": choice} if isinstance(choice, str) else choice)}
            service.submit_answer(con, token, service.AnswerIn(**payload), settings)
            sent.append(payload)
            i += 1


def wrong(trial, _i) -> str:
    return "real" if trial["truth"] == "fake" else "fake"


def right(trial, _i) -> str:
    return trial["truth"]


@pytest.fixture
def helpers():
    """The answering helpers, as a namespace (conftest modules are not importable)."""

    class H:
        pass

    H.truths, H.answer_all, H.wrong, H.right = staticmethod(truths), staticmethod(answer_all), staticmethod(wrong), staticmethod(right)
    return H


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in a thread."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live_server():
    """``with live_server(app) as srv: srv.url``."""
    return LiveServer
