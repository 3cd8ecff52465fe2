"""A rater in real headless Chromium: keys and clicks, a reload midway, the report afterwards."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gancraft.evaluation.hype import db
from gancraft.evaluation.hype.analysis import write_report
from gancraft.evaluation.hype.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def wait_next(page, previous: str) -> None:
    """Until the page shows a new trial (ready for an answer) or the done screen."""
    page.wait_for_function(
        "prev => document.body.dataset.view === 'done' ||"
        " (document.body.dataset.ready === '1' && document.body.dataset.trial !== prev)",
        arg=previous,
        timeout=15_000,
    )


def test_rater_answers_a_whole_study_with_a_reload(browser, make_study, helpers, live_server, tmp_path):
    study_dir, created = make_study("infinity", raters=2, images_per_rater=8, qualification=2)
    tok = created.rater_tokens["rater-01"]
    truth = {r["id"]: r for r in helpers.truths(study_dir, tok)}
    given: dict[int, str] = {}
    with live_server(create_app(study_dir)) as srv:
        page = browser.new_page()
        page.goto(f"{srv.url}/r/{tok}")
        page.wait_for_selector("body[data-view='intro']")
        intro = page.inner_text("#intro-text")
        assert "Half are real photos" in intro
        assert "You will see 10 photos" in intro and "The first 2 of these 10 photos" in intro  # 8 + 2 qualification
        page.keyboard.press("Space")
        wait_next(page, "")
        assert page.inner_text("#progress-text") == "Image 1 of 10"  # the header counts the same photos
        i = 0
        while page.evaluate("document.body.dataset.view") != "done":
            trial = page.evaluate("document.body.dataset.trial")
            row = truth[int(trial)]
            # pass the qualification block, then a fixed pattern of answers
            answer = row["truth"] if row["phase"] == "qualification" else ("fake" if i % 3 else "real")
            assert page.is_visible("#main") and page.evaluate("document.getElementById('main').naturalWidth") > 0
            if i % 2 == 0:
                page.keyboard.press({"real": "r", "fake": "ArrowRight"}[answer] if i % 4 == 0 else {"real": "ArrowLeft", "fake": "f"}[answer])
            else:
                page.click(f"#btn-{answer}")
            given[int(trial)] = answer
            i += 1
            if i == 5:  # reload midway: the rater resumes where they were
                wait_next(page, trial)
                page.reload()
                page.wait_for_selector("body[data-view='intro']")
                assert "Welcome back" in page.inner_text("#intro-text")
                assert "5 answers" in page.inner_text("#intro-text")
                page.click("#start")
                wait_next(page, "")
                continue
            wait_next(page, trial)
        assert "answers are saved" in page.inner_text("#view-done")
        assert page.inner_text("#progress-text").startswith("10 of 10")
        page.close()
    assert len(given) == 10
    rep = write_report(study_dir, tmp_path / "report", n_boot=500)
    with open(tmp_path / "report" / "answers.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["rater"] == "rater-01"]
    with db.opened(study_dir) as con:
        saved = {r["trial_id"]: r["answer"] for r in con.execute("SELECT trial_id, answer FROM answers")}
    assert saved == given  # exactly the answers given, each once, nothing from rater-02
    assert [r["answer"] for r in rows] == [given[t] for t in sorted(given, key=lambda t: truth[t]["position"])]
    main = [t for t in given if truth[t]["phase"] == "main"]
    wrong = sum(given[t] != truth[t]["truth"] for t in main)
    r1 = next(r for r in rep["raters"] if r["rater"] == "rater-01")
    assert r1["qualification"] == "passed" and r1["main_answered"] == 8
    assert rep["score"]["hype_infinity"] == pytest.approx(wrong / 8)


def test_timed_and_rubric_trials_run_in_the_browser(browser, make_study, live_server):
    timed_dir, timed = make_study("time", raters=1, images_per_rater=2, block_size=2)
    rubric_dir, rubric = make_study("rubric", raters=1, images_per_rater=2, time_limit_ms=1500)
    page = browser.new_page()
    with live_server(create_app(timed_dir)) as srv:
        page.goto(f"{srv.url}/r/{timed.rater_tokens['rater-01']}")
        page.wait_for_selector("body[data-view='intro']")
        page.click("#start")
        for _ in range(2):
            wait_next(page, "")
            assert page.is_hidden("#main") and page.is_visible("#btn-fake")  # image gone after the masks
            trial = page.evaluate("document.body.dataset.trial")
            page.keyboard.press("f")
            wait_next(page, trial)
        page.wait_for_selector("body[data-view='done']")
    with live_server(create_app(rubric_dir)) as srv:
        page.goto(f"{srv.url}/r/{rubric.rater_tokens['rater-01']}")
        page.wait_for_selector("body[data-view='intro']")
        page.keyboard.press("Enter")
        wait_next(page, "")
        trial = page.evaluate("document.body.dataset.trial")
        page.keyboard.press("f")  # spotted as fake
        page.wait_for_selector("body[data-mode='check']")
        assert page.evaluate("document.getElementById('before').naturalWidth") > 0  # the before image is shown
        page.keyboard.press("1")
        page.click("#c-cut")
        page.keyboard.press("Enter")
        wait_next(page, trial)
        page.wait_for_selector("body[data-mode='check']", timeout=5000)  # time limit ran out: not spotted
        page.click("#rubric-submit")
        page.wait_for_selector("body[data-view='done']")
    page.close()
    with db.opened(timed_dir) as con:
        rows = con.execute("SELECT exposure_ms, correct FROM answers ORDER BY id").fetchall()
    # 500 ms first; the second exposure follows the staircase (longer after a wrong answer)
    assert [r["exposure_ms"] for r in rows] == [500, 500 if rows[0]["correct"] else 530]
    with db.opened(rubric_dir) as con:
        rows = [tuple(r) for r in con.execute(
            "SELECT answer, glasses_complete, skin_tone_kept, nothing_cut FROM answers ORDER BY id")]
    assert rows == [("fake", 1, 0, 1), ("real", 0, 0, 0)]
