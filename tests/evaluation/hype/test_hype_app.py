"""The rater/owner web app: tokens, paths, idempotent answers, concurrency, restarts."""

from __future__ import annotations

import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from gancraft.evaluation.hype import db
from gancraft.evaluation.hype.app import create_app


def n_answers(study) -> int:
    with db.opened(study) as con:
        return con.execute("SELECT COUNT(*) FROM answers").fetchone()[0]


@pytest.fixture
def study(make_study):
    return make_study("infinity", raters=2, images_per_rater=6)


def test_rater_sees_their_page_state_and_images(study):
    study_dir, created = study
    tok = created.rater_tokens["rater-01"]
    c = TestClient(create_app(study_dir))
    page = c.get(f"/r/{tok}")
    assert page.status_code == 200 and "rater.js" in page.text
    state = c.get(f"/api/r/{tok}/state").json()
    assert state["total"] == 6 and state["answered"] == 0 and state["current"] and state["next"]
    assert "truth" not in str(state) and "real/" not in str(state)  # nothing gives the answer away
    img = c.get(state["current"]["image"])
    assert img.status_code == 200 and img.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert c.get("/static/rater.js").status_code == 200


@pytest.mark.parametrize("token", ["AAAAAAAAAAAAAAAAAAAAAA", "short", "..%2F..%2Fstudy.sqlite", "x" * 200])
def test_unknown_token_gets_nothing(study, token):
    study_dir, _ = study
    c = TestClient(create_app(study_dir))
    for url in (f"/r/{token}", f"/api/r/{token}/state", f"/api/r/{token}/image/0123456789abcdef", f"/owner/{token}",
                f"/api/owner/{token}"):
        r = c.get(url)
        assert r.status_code == 404, url
        assert "rater" not in r.text and "image" not in r.text
    r = c.post(f"/api/r/{token}/answer", json={"trial_id": 1, "answer": "fake"})
    assert r.status_code == 404
    assert n_answers(study_dir) == 0


def test_a_token_cannot_read_or_write_another_raters_trials(study):
    study_dir, created = study
    a, b = created.rater_tokens["rater-01"], created.rater_tokens["rater-02"]
    c = TestClient(create_app(study_dir))
    b_state = c.get(f"/api/r/{b}/state").json()
    with db.opened(study_dir) as con:  # an image that only rater-02 was given
        only_b = con.execute(
            "SELECT image_id FROM trials WHERE rater_id = 2 AND image_id NOT IN"
            " (SELECT image_id FROM trials WHERE rater_id = 1)"
        ).fetchone()[0]
    assert c.get(f"/api/r/{b}/image/{only_b}").status_code == 200
    assert c.get(f"/api/r/{a}/image/{only_b}").status_code == 404
    r = c.post(f"/api/r/{a}/answer", json={"trial_id": b_state["current"]["id"], "answer": "fake"})
    assert r.status_code == 404
    assert n_answers(study_dir) == 0
    assert c.get(f"/api/owner/{a}").status_code == 404  # a rater token is not the owner token


@pytest.mark.parametrize(
    "path",
    [
        "/api/r/{tok}/image/..%2F..%2Fstudy.sqlite",
        "/api/r/{tok}/image/../study.sqlite",
        "/api/r/{tok}/image/%2e%2e%2fstudy.sqlite",
        "/api/r/{tok}/image/..%5C..%5Cstudy.sqlite",
        "/static/..%2Fapp.py",
        "/static/../app.py",
        "/static/%2e%2e/db.py",
        "/static/rater.html",
        "/api/r/{tok}/image/%2Fetc%2Fpasswd",
        "/images/{img}.png",
        "/study.sqlite",
        "/links.txt",
    ],
)
def test_no_request_path_reaches_a_file(study, path):
    study_dir, created = study
    tok = created.rater_tokens["rater-01"]
    c = TestClient(create_app(study_dir))
    img = c.get(f"/api/r/{tok}/state").json()["current"]["image"].rsplit("/", 1)[1]
    r = c.get(path.format(tok=tok, img=img))
    assert r.status_code == 404, (path, r.status_code)
    assert b"SQLite" not in r.content and b"import" not in r.content and b"root:" not in r.content


def test_input_is_validated(study):
    study_dir, created = study
    tok = created.rater_tokens["rater-01"]
    c = TestClient(create_app(study_dir))
    tid = c.get(f"/api/r/{tok}/state").json()["current"]["id"]
    for bad in ({"trial_id": tid, "answer": "maybe"}, {"trial_id": "1; DROP TABLE answers", "answer": "real"},
                {"trial_id": tid}, {"trial_id": tid, "answer": "real", "rater_id": 2},
                {"trial_id": tid, "answer": "real", "response_ms": -5}, {"trial_id": -1, "answer": "real"}):
        assert c.post(f"/api/r/{tok}/answer", json=bad).status_code == 422, bad
    assert c.post(f"/api/r/{tok}/answer", content=b"not json", headers={"content-type": "application/json"}).status_code == 422
    assert n_answers(study_dir) == 0


def test_duplicate_answer_counts_once_and_order_is_kept(study):
    study_dir, created = study
    tok = created.rater_tokens["rater-01"]
    c = TestClient(create_app(study_dir))
    s0 = c.get(f"/api/r/{tok}/state").json()
    first, second = s0["current"]["id"], s0["next"]["id"]
    assert c.post(f"/api/r/{tok}/answer", json={"trial_id": second, "answer": "real"}).status_code == 409  # no skipping
    r1 = c.post(f"/api/r/{tok}/answer", json={"trial_id": first, "answer": "fake"}).json()
    r2 = c.post(f"/api/r/{tok}/answer", json={"trial_id": first, "answer": "real"}).json()
    assert not r1["duplicate"] and r2["duplicate"]
    assert r2["answered"] == 1 and r2["current"]["id"] == second
    with db.opened(study_dir) as con:
        rows = con.execute("SELECT answer FROM answers").fetchall()
    assert [r["answer"] for r in rows] == ["fake"]  # the first answer stands


def test_twenty_raters_answering_at_once_lose_nothing(make_study, live_server):
    study_dir, created = make_study("infinity", raters=20, images_per_rater=6)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []
    dupes = []

    def rater(token: str) -> None:
        try:
            with httpx.Client(base_url=srv.url, timeout=60) as http:
                state = http.get(f"/api/r/{token}/state").json()
                barrier.wait()
                while not state["done"]:
                    body = {"trial_id": state["current"]["id"], "answer": "fake", "response_ms": 10}
                    state = http.post(f"/api/r/{token}/answer", json=body).raise_for_status().json()
                    again = http.post(f"/api/r/{token}/answer", json=body).raise_for_status().json()  # a retry
                    dupes.append(again["duplicate"])
        except BaseException as err:  # noqa: BLE001  (reported below)
            errors.append(err)

    with live_server(create_app(study_dir)) as srv:
        threads = [threading.Thread(target=rater, args=(t,)) for t in created.rater_tokens.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert not errors, errors[:3]
    assert len(dupes) == 120 and all(dupes)
    with db.opened(study_dir) as con:
        per_rater = con.execute("SELECT rater_id, COUNT(*) FROM answers GROUP BY rater_id").fetchall()
    assert len(per_rater) == 20 and all(n == 6 for _, n in per_rater)


def test_restart_keeps_answers_and_resumes(make_study, live_server):
    study_dir, created = make_study("infinity", raters=1, images_per_rater=6)
    tok = created.rater_tokens["rater-01"]
    with live_server(create_app(study_dir)) as srv:
        state = httpx.get(f"{srv.url}/api/r/{tok}/state").json()
        for _ in range(3):
            state = httpx.post(f"{srv.url}/api/r/{tok}/answer", json={"trial_id": state["current"]["id"], "answer": "real"}).json()
        where = state["current"]["id"]
    with live_server(create_app(study_dir)) as srv:  # a new server process-equivalent on the same directory
        state = httpx.get(f"{srv.url}/api/r/{tok}/state").json()
        assert state["answered"] == 3 and state["current"]["id"] == where
    assert n_answers(study_dir) == 3


def test_owner_page_shows_progress_and_live_score(make_study, helpers):
    study_dir, created = make_study("infinity", raters=2, images_per_rater=6)
    helpers.answer_all(study_dir, created.rater_tokens["rater-01"], helpers.wrong)
    c = TestClient(create_app(study_dir))
    assert c.get(f"/owner/{created.owner_token}").status_code == 200
    data = c.get(f"/api/owner/{created.owner_token}").json()
    assert [r["answered"] for r in data["raters"]] == [6, 0]
    assert data["score"]["hype_infinity"] == 1.0
    assert "token" not in str(data)
