"""HYPE scores on hand-made answer sets, and the bootstrap interval."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gancraft.evaluation.hype import db
from gancraft.evaluation.hype.analysis import analyse, bootstrap_mean, bootstrap_ratio, infinity_score, write_report
from gancraft.evaluation.hype.staircase import StaircaseRule, rater_threshold


def counts(wrong_real, n_real, wrong_fake, n_fake):
    return {"wrong_real": wrong_real, "n_real": n_real, "wrong_fake": wrong_fake, "n_fake": n_fake}


def test_all_wrong_is_100_percent_and_all_right_is_0():
    all_wrong = infinity_score([counts(5, 5, 5, 5), counts(3, 3, 3, 3)], n_boot=200)
    assert all_wrong["hype_infinity"] == 1.0 and all_wrong["ci"] == (1.0, 1.0)
    all_right = infinity_score([counts(0, 5, 0, 5)] * 3, n_boot=200)
    assert all_right["hype_infinity"] == 0.0


def test_errors_on_reals_and_fakes_are_apart():
    # a rater who calls everything real: every fake is an error, no real is
    s = infinity_score([counts(0, 10, 10, 10)] * 4, n_boot=200)
    assert s["hype_infinity"] == 0.5
    assert s["error_fake"] == 1.0 and s["error_real"] == 0.0


def test_random_answers_score_near_50_percent():
    rng = np.random.default_rng(1)
    raters = []
    for _ in range(20):
        wr, wf = rng.binomial(50, 0.5), rng.binomial(50, 0.5)
        raters.append(counts(int(wr), 50, int(wf), 50))
    s = infinity_score(raters, n_boot=2000)
    assert abs(s["hype_infinity"] - 0.5) < 0.04
    lo, hi = s["ci"]
    assert lo < 0.5 < hi and hi - lo < 0.1


def test_bootstrap_is_seeded_and_covers_the_truth_in_simulation():
    assert bootstrap_mean([1.0, 2.0, 5.0], seed=3) == bootstrap_mean([1.0, 2.0, 5.0], seed=3)
    # 200 simulated studies of 20 raters whose own error rates vary around 0.3
    rng = np.random.default_rng(0)
    truth, covered = 0.3, 0
    trials = 200
    for _ in range(trials):
        p = np.clip(rng.normal(truth, 0.1, size=20), 0, 1)
        wrong = rng.binomial(40, p)
        lo, hi = bootstrap_ratio(wrong, np.full(20, 40), n_boot=1000, seed=int(rng.integers(1 << 30)))
        covered += lo <= truth <= hi
    # a 95 % interval: percentile bootstrap with 20 units runs a little narrow
    assert 0.88 <= covered / trials <= 0.99


def test_report_from_a_study_where_one_rater_is_always_wrong(make_study, helpers, tmp_path):
    study, created = make_study("infinity", raters=3, images_per_rater=8, groups=True)
    toks = list(created.rater_tokens.values())
    helpers.answer_all(study, toks[0], helpers.wrong)
    helpers.answer_all(study, toks[1], helpers.wrong)
    helpers.answer_all(study, toks[2], helpers.wrong)
    rep = write_report(study, tmp_path / "rep", n_boot=500)
    assert rep["score"]["hype_infinity"] == 1.0
    assert rep["score"]["n_answers"] == 24
    assert {g["group"] for g in rep["score"]["by_group"]} == {"dark", "light"}
    files = {p.name for p in (tmp_path / "rep").iterdir()}
    assert {"report.json", "report.md", "summary.csv", "raters.csv", "answers.csv"} <= files
    saved = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert saved["score"]["hype_infinity"] == 1.0
    assert "| HYPE-infinity (error over all answers) | 100.0 % |" in (tmp_path / "rep" / "report.md").read_text()


def test_qualification_failures_are_left_out(make_study, helpers):
    study, created = make_study("infinity", raters=2, images_per_rater=6, qualification=4)
    good, bad = created.rater_tokens.values()
    sent_good = helpers.answer_all(study, good, lambda t, i: helpers.right(t, i) if t["phase"] == "qualification" else "fake")
    sent_bad = helpers.answer_all(study, bad, helpers.wrong)
    assert len(sent_good) == 10 and len(sent_bad) == 4  # the failed rater is dismissed after the block
    with db.opened(study) as con:
        rep = analyse(con, n_boot=200)
    by = {r["rater"]: r for r in rep["raters"]}
    assert by["rater-01"]["qualification"] == "passed" and by["rater-01"]["included"]
    assert by["rater-02"]["qualification"] == "failed" and not by["rater-02"]["included"]
    assert rep["score"]["n_answers"] == 6 and rep["score"]["hype_infinity"] == 0.5  # 'fake' to all: reals wrong


def test_time_study_serves_the_staircase_and_reports_thresholds(make_study, helpers):
    study, created = make_study("time", raters=2, images_per_rater=8, block_size=4)
    tok = next(iter(created.rater_tokens.values()))
    helpers.answer_all(study, tok, lambda t, i: helpers.right(t, i) if i % 4 != 3 else helpers.wrong(t, i))
    with db.opened(study) as con:
        rows = con.execute("SELECT t.block, a.exposure_ms, a.correct FROM answers a JOIN trials t ON t.id = a.trial_id"
                           " ORDER BY t.position").fetchall()
        rep = analyse(con, n_boot=200)
    blocks = {}
    for r in rows:
        blocks.setdefault(r["block"], []).append(r)
    rule = StaircaseRule()
    for b in blocks.values():  # every stored exposure is the rule applied to the answers before it
        assert [r["exposure_ms"] for r in b] == rule.exposures([bool(r["correct"]) for r in b])[:-1]
    expected = rater_threshold([[r["exposure_ms"] for r in b] for b in blocks.values()])
    assert rep["raters"][0]["threshold_ms"] == pytest.approx(expected)
    assert rep["score"]["hype_time_ms"] == pytest.approx(expected)  # only one rater answered


def test_rubric_means_per_criterion_and_group(make_study, helpers, tmp_path):
    study, created = make_study("rubric", raters=2, images_per_rater=6, groups=True)
    toks = list(created.rater_tokens.values())

    def rate(trial, i):  # not spotted, glasses complete, skin tone kept on odd items only, nothing cut never
        return {"answer": "real", "glasses_complete": True, "skin_tone_kept": bool(i % 2), "nothing_cut": False}

    for t in toks:
        helpers.answer_all(study, t, rate)
    rep = write_report(study, tmp_path / "r", n_boot=200)
    s = rep["score"]
    assert s["criteria"]["not_spotted"] == 1.0 and s["criteria"]["glasses_complete"] == 1.0
    assert s["criteria"]["skin_tone_kept"] == 0.5 and s["criteria"]["nothing_cut"] == 0.0
    assert s["rubric_total"] == 2.5
    assert {g["group"] for g in s["by_group"]} <= {"dark", "light"} and sum(g["n"] for g in s["by_group"]) == 12
    assert (tmp_path / "r" / "rubric_by_group.csv").is_file() and (tmp_path / "r" / "rubric_by_image.csv").is_file()
    # every pair shows the after image with its own before image (same file stem)
    for row in s["by_image"]:
        assert row["before"].rsplit("/", 1)[-1].split(".")[0] == row["image"].rsplit("/", 1)[-1].split(".")[0]


def test_a_one_rater_study_warns_instead_of_a_bare_interval(make_study, helpers, tmp_path):
    study, created = make_study("infinity", raters=1, images_per_rater=8)
    helpers.answer_all(study, next(iter(created.rater_tokens.values())), lambda t, i: "real" if i % 2 else "fake")
    rep = write_report(study, tmp_path / "one", n_boot=200)
    assert "only 1 rater(s) included" in rep["score"]["ci_warning"]
    md = (tmp_path / "one" / "report.md").read_text()
    assert "**Warning:** only 1 rater(s) included" in md
    assert "n/a (fewer than 2 raters)" in md and "[50.0 %, 50.0 %]" not in md
    study2, created2 = make_study("infinity", raters=2, images_per_rater=8)
    for tok in created2.rater_tokens.values():
        helpers.answer_all(study2, tok, lambda t, i: "real" if i % 2 else "fake")
    assert "ci_warning" not in write_report(study2, tmp_path / "two", n_boot=200)["score"]
