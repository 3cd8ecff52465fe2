"""What the web app does, without HTTP: a rater's state, saving an answer, the owner's view.

Every function takes an open connection; the app opens one per request. A rater is
only ever found by their token, and every trial, image and answer is looked up
through that rater, so a token can neither read nor write anything of another rater.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gancraft.evaluation.hype import db
from gancraft.evaluation.hype.staircase import StaircaseRule


class AnswerIn(BaseModel):
    """One answer as the browser sends it; anything else is rejected (422)."""

    model_config = ConfigDict(extra="forbid")

    trial_id: int = Field(ge=1, le=2**53)
    answer: Literal["real", "fake"]
    response_ms: int | None = Field(default=None, ge=0, le=3_600_000)
    glasses_complete: bool | None = None
    skin_tone_kept: bool | None = None
    nothing_cut: bool | None = None


class NotFound(Exception):
    """Nothing to see for this token (unknown token, foreign trial or image)."""


class Conflict(Exception):
    """The answer does not fit the rater's progress (out of order, study over)."""


class Invalid(Exception):
    """The answer is well formed but incomplete for this task."""


@dataclass(frozen=True)
class Settings:
    """The few study settings the app needs on every request."""

    task: str
    qualification: int
    min_accuracy: float
    time_limit_ms: int
    rule: StaircaseRule
    name: str

    @classmethod
    def load(cls, con: sqlite3.Connection) -> Settings:
        cfg = db.get_meta(con)["config"]
        return cls(
            task=cfg["task"],
            qualification=int(cfg["qualification"]),
            min_accuracy=float(cfg["min_accuracy"]),
            time_limit_ms=int(cfg["time_limit_ms"]),
            rule=StaircaseRule(**cfg["staircase"]),
            name=cfg["name"],
        )


def owner_token(con: sqlite3.Connection) -> str:
    return db.get_meta(con)["owner_token"]


def find_rater(con: sqlite3.Connection, token: str) -> sqlite3.Row:
    row = con.execute("SELECT id, label FROM raters WHERE token = ?", (token,)).fetchone()
    if row is None:
        raise NotFound("unknown token")
    return row


def _trials(con: sqlite3.Connection, rater_id: int) -> list[sqlite3.Row]:
    return con.execute(
        "SELECT t.id, t.position, t.phase, t.block, t.image_id, t.before_id, t.truth,"
        " a.id AS answer_id, a.correct, a.exposure_ms"
        " FROM trials t LEFT JOIN answers a ON a.trial_id = t.id AND a.rater_id = t.rater_id"
        " WHERE t.rater_id = ? ORDER BY t.position",
        (rater_id,),
    ).fetchall()


def _exposure(trials: list[sqlite3.Row], trial: sqlite3.Row, rule: StaircaseRule) -> int:
    """The staircase exposure of ``trial``: a function of the answers before it in its block."""
    history = [
        bool(t["correct"])
        for t in trials
        if t["phase"] == "main" and t["block"] == trial["block"] and t["position"] < trial["position"]
    ]
    return rule.next_exposure(history)


def _qualification_status(trials: list[sqlite3.Row], s: Settings) -> tuple[str, float | None]:
    """``('none'|'pending'|'passed'|'failed', accuracy)`` of the qualification block."""
    qual = [t for t in trials if t["phase"] == "qualification"]
    if not qual:
        return "none", None
    answered = [t for t in qual if t["answer_id"] is not None]
    acc = sum(t["correct"] for t in answered) / len(answered) if answered else None
    if len(answered) < len(qual):
        return "pending", acc
    return ("passed" if acc is not None and acc >= s.min_accuracy else "failed"), acc


def _trial_view(token: str, trials: list[sqlite3.Row], t: sqlite3.Row, s: Settings, *, full: bool) -> dict:
    def url(image_id: str) -> str:
        return f"/api/r/{token}/image/{image_id}"

    view: dict[str, Any] = {"id": t["id"], "phase": t["phase"], "image": url(t["image_id"])}
    if t["before_id"] and t["phase"] == "main":
        view["before"] = url(t["before_id"])
    if full and t["phase"] == "main":
        if s.task == "time":
            view["exposure_ms"] = _exposure(trials, t, s.rule)
            view["block"] = t["block"]
        if s.task == "rubric":
            view["time_limit_ms"] = s.time_limit_ms
    return view


def rater_state(con: sqlite3.Connection, token: str, s: Settings) -> dict:
    """Progress, the current trial (``None`` when done) and the next one's images to preload."""
    rater = find_rater(con, token)
    trials = _trials(con, rater["id"])
    status, _ = _qualification_status(trials, s)
    open_trials = [t for t in trials if t["answer_id"] is None]
    answered = len(trials) - len(open_trials)
    if status == "failed":
        open_trials = []  # HYPE dismisses raters who fail the qualification block
    current = open_trials[0] if open_trials else None
    nxt = open_trials[1] if len(open_trials) > 1 else None
    n_qual = sum(t["phase"] == "qualification" for t in trials)
    return {
        "study": s.name,
        "task": s.task,
        "rater": rater["label"],
        "answered": answered,
        "total": len(trials),
        "qualification_trials": n_qual,
        "done": current is None,
        "dismissed": status == "failed",
        "current": _trial_view(token, trials, current, s, full=True) if current is not None else None,
        "next": _trial_view(token, trials, nxt, s, full=False) if nxt is not None else None,
    }


def image_file(con: sqlite3.Connection, token: str, image_id: str) -> str:
    """File name (inside images/) of an image shown to this rater; :class:`NotFound` otherwise."""
    rater = find_rater(con, token)
    row = con.execute(
        "SELECT i.file FROM images i WHERE i.id = ? AND EXISTS ("
        " SELECT 1 FROM trials t WHERE t.rater_id = ? AND (t.image_id = i.id OR t.before_id = i.id))",
        (image_id, rater["id"]),
    ).fetchone()
    if row is None:
        raise NotFound("no such image")
    return row["file"]


def submit_answer(con: sqlite3.Connection, token: str, ans: AnswerIn, s: Settings) -> dict:
    """Save one answer (atomically, committed on return) and return the rater's new state.

    The same answer sent twice is saved once: the second call finds it and reports
    ``duplicate: true``. Only the rater's current trial can be answered, so the
    staircase sees answers in order and no trial can be skipped.
    """
    rater = find_rater(con, token)
    duplicate = False
    with db.write(con):
        trials = _trials(con, rater["id"])
        trial = next((t for t in trials if t["id"] == ans.trial_id), None)
        if trial is None:
            raise NotFound("no such trial")  # never say whether it belongs to someone else
        if trial["answer_id"] is not None:
            duplicate = True
        else:
            status, _ = _qualification_status(trials, s)
            current = next((t for t in trials if t["answer_id"] is None), None)
            if status == "failed":
                raise Conflict("this study is over for you")
            if current is None or current["id"] != trial["id"]:
                raise Conflict("answer the trials in order; reload the page")
            rubric = s.task == "rubric" and trial["phase"] == "main"
            crit = (ans.glasses_complete, ans.skin_tone_kept, ans.nothing_cut)
            if rubric and any(c is None for c in crit):
                raise Invalid("a rubric answer needs glasses_complete, skin_tone_kept and nothing_cut")
            exposure = _exposure(trials, trial, s.rule) if s.task == "time" and trial["phase"] == "main" else None
            con.execute(
                "INSERT INTO answers (rater_id, trial_id, answer, correct, exposure_ms, glasses_complete,"
                " skin_tone_kept, nothing_cut, response_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rater["id"], trial["id"], ans.answer, int(ans.answer == trial["truth"]), exposure,
                    *((int(c) for c in crit) if rubric else (None, None, None)),
                    ans.response_ms,
                ),
            )
    state = rater_state(con, token, s)
    state["saved"] = ans.trial_id
    state["duplicate"] = duplicate
    return state


def owner_view(con: sqlite3.Connection, s: Settings) -> dict:
    """Per-rater progress and the live score (bootstrap with fewer resamples, for speed)."""
    from gancraft.evaluation.hype import analysis

    report = analysis.analyse(con, n_boot=1000, seed=0)
    return {"study": s.name, "task": s.task, "raters": report["raters"], "score": report["score"]}
