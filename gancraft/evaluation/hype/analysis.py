"""Scores of a HYPE study, with bootstrap confidence intervals over raters.

* HYPE-infinity: the share of wrong answers over all answers (fakes taken as real
  plus reals taken as fake); 50 % means people cannot tell. Reported with the error
  on fakes and on reals apart.
* HYPE-time: each rater's threshold (mean over blocks of the modal exposure), and
  the mean over raters.
* Rubric: the paper's four criteria, one point each; means per criterion, the mean
  total (0-4), per group and per image (the paper's table).

Confidence intervals resample raters with replacement (raters, not answers, are
the independent units: answers of one rater are correlated), 10,000 times by
default, from a fixed seed, and take the 2.5th and 97.5th percentiles.
"""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gancraft.core.reports import jsonable, markdown_table
from gancraft.evaluation.hype import db
from gancraft.evaluation.hype.staircase import rater_threshold
from gancraft.evaluation.hype.study import RUBRIC_CRITERIA, RUBRIC_LABELS

N_BOOT = 10_000
MIN_RATERS_FOR_CI = 2  # a bootstrap over raters needs raters to resample


def bootstrap_ratio(
    num: Sequence[float], den: Sequence[float], *, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of ``sum(num) / sum(den)`` when the units (raters) are resampled."""
    num_a, den_a = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    n = len(num_a)
    if n == 0 or den_a.sum() == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n)  # bound memory: chunk * n indices at a time
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        with np.errstate(invalid="ignore", divide="ignore"):
            stats[start:stop] = num_a[idx].sum(1) / den_a[idx].sum(1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanpercentile(stats, [100 * alpha, 100 * (1 - alpha)])
    return float(lo), float(hi)


def bootstrap_mean(values: Sequence[float], *, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95):
    """Percentile interval of the mean of ``values`` (one per rater)."""
    return bootstrap_ratio(values, np.ones(len(values)), n_boot=n_boot, seed=seed, level=level)


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def infinity_score(
    raters: Sequence[dict[str, int]], *, n_boot: int = N_BOOT, seed: int = 0
) -> dict[str, Any]:
    """HYPE-infinity from per-rater counts ``{wrong_real, n_real, wrong_fake, n_fake}``."""
    wr = np.array([r["wrong_real"] for r in raters], dtype=float)
    nr = np.array([r["n_real"] for r in raters], dtype=float)
    wf = np.array([r["wrong_fake"] for r in raters], dtype=float)
    nf = np.array([r["n_fake"] for r in raters], dtype=float)
    out = {
        "hype_infinity": _ratio(wr.sum() + wf.sum(), nr.sum() + nf.sum()),
        "ci": bootstrap_ratio(wr + wf, nr + nf, n_boot=n_boot, seed=seed),
        "error_fake": _ratio(wf.sum(), nf.sum()),
        "ci_fake": bootstrap_ratio(wf, nf, n_boot=n_boot, seed=seed),
        "error_real": _ratio(wr.sum(), nr.sum()),
        "ci_real": bootstrap_ratio(wr, nr, n_boot=n_boot, seed=seed),
        "n_raters": len(raters),
        "n_answers": int(nr.sum() + nf.sum()),
    }
    return out


# ---------------------------------------------------------------- loading


def load_answers(con: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every answer with its trial, rater and image, in rater then trial order."""
    rows = con.execute(
        "SELECT r.label AS rater, t.position, t.phase, t.block, t.truth, a.answer, a.correct,"
        " a.exposure_ms, a.glasses_complete, a.skin_tone_kept, a.nothing_cut, a.response_ms, a.created_at,"
        " t.image_id, i.source AS image_source, i.grp AS grp, t.before_id, b.source AS before_source"
        " FROM answers a JOIN trials t ON t.id = a.trial_id JOIN raters r ON r.id = a.rater_id"
        " JOIN images i ON i.id = t.image_id LEFT JOIN images b ON b.id = t.before_id"
        " ORDER BY r.id, t.position"
    ).fetchall()
    return [dict(r) for r in rows]


def _rater_rows(con: sqlite3.Connection, answers: list[dict], cfg: dict) -> list[dict[str, Any]]:
    totals = con.execute(
        "SELECT r.label, COUNT(t.id) AS total, SUM(t.phase = 'qualification') AS n_qual"
        " FROM raters r LEFT JOIN trials t ON t.rater_id = r.id GROUP BY r.id ORDER BY r.id"
    ).fetchall()
    by_rater: dict[str, list[dict]] = defaultdict(list)
    for a in answers:
        by_rater[a["rater"]].append(a)
    out = []
    for row in totals:
        mine = by_rater.get(row["label"], [])
        qual = [a for a in mine if a["phase"] == "qualification"]
        main = [a for a in mine if a["phase"] == "main"]
        n_qual = int(row["n_qual"] or 0)
        acc = sum(a["correct"] for a in qual) / len(qual) if qual else None
        if n_qual == 0:
            status = "none"
        elif len(qual) < n_qual:
            status = "pending"
        else:
            status = "passed" if acc >= cfg["min_accuracy"] else "failed"
        main_total = int(row["total"]) - n_qual
        r: dict[str, Any] = {
            "rater": row["label"],
            "answered": len(mine),
            "total": int(row["total"]),
            "progress": f"{len(mine)}/{int(row['total'])}",
            "qualification": status,
            "qualification_accuracy": acc,
            "included": status in ("none", "passed") and bool(main),
            "main_answered": len(main),
            "main_total": main_total,
            "done": len(main) == main_total or status == "failed",
            "wrong_real": sum(a["truth"] == "real" and not a["correct"] for a in main),
            "n_real": sum(a["truth"] == "real" for a in main),
            "wrong_fake": sum(a["truth"] == "fake" and not a["correct"] for a in main),
            "n_fake": sum(a["truth"] == "fake" for a in main),
        }
        r["error"] = _ratio(r["wrong_real"] + r["wrong_fake"], r["n_real"] + r["n_fake"])
        if cfg["task"] == "time":
            blocks: dict[int, list[int]] = defaultdict(list)
            for a in main:
                blocks[a["block"]].append(a["exposure_ms"])
            r["threshold_ms"] = rater_threshold([blocks[b] for b in sorted(blocks)])
            r["blocks"] = len(blocks)
        if cfg["task"] == "rubric":
            pts = [_rubric_points(a) for a in main]
            r["rubric_total"] = float(np.mean([sum(p.values()) for p in pts])) if pts else math.nan
        out.append(r)
    return out


def _rubric_points(a: dict) -> dict[str, int]:
    return {
        "not_spotted": int(a["answer"] == "real"),  # the fake was not called fake within the limit
        "glasses_complete": int(a["glasses_complete"] or 0),
        "skin_tone_kept": int(a["skin_tone_kept"] or 0),
        "nothing_cut": int(a["nothing_cut"] or 0),
    }


def _rubric(answers: list[dict], included: set[str], n_boot: int, seed: int) -> dict[str, Any]:
    main = [a for a in answers if a["phase"] == "main" and a["rater"] in included]
    pts = [_rubric_points(a) for a in main]
    per_rater: dict[str, list[int]] = defaultdict(list)
    for a, p in zip(main, pts):
        per_rater[a["rater"]].append(sum(p.values()))
    sums = [sum(v) for v in per_rater.values()]
    counts = [len(v) for v in per_rater.values()]

    def means(rows: list[dict[str, int]]) -> dict[str, float]:
        m = {c: float(np.mean([p[c] for p in rows])) if rows else math.nan for c in RUBRIC_CRITERIA}
        m["total"] = float(sum(m[c] for c in RUBRIC_CRITERIA))
        return m

    groups: dict[str, list[dict[str, int]]] = defaultdict(list)
    images: dict[str, dict[str, Any]] = {}
    for a, p in zip(main, pts):
        groups[a["grp"] or "(none)"].append(p)
        img = images.setdefault(
            a["image_id"],
            {"image": a["image_source"], "before": a["before_source"], "group": a["grp"] or "(none)", "pts": []},
        )
        img["pts"].append(p)
    by_image = []
    for img in images.values():
        row = {k: img[k] for k in ("group", "before", "image")}
        row["ratings"] = len(img["pts"])
        row.update(means(img["pts"]))
        by_image.append(row)
    by_image.sort(key=lambda r: (r["group"], r["before"] or "", r["image"]))
    return {
        "rubric_total": float(np.mean([sum(p.values()) for p in pts])) if pts else math.nan,
        "ci": bootstrap_ratio(sums, counts, n_boot=n_boot, seed=seed),
        "criteria": means(pts),
        "criteria_labels": RUBRIC_LABELS,
        "by_group": [{"group": g, "n": len(v), **means(v)} for g, v in sorted(groups.items())],
        "by_image": by_image,
        "n_raters": len(per_rater),
        "n_answers": len(main),
    }


def _by_group_error(answers: list[dict], included: set[str]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for a in answers:
        if a["phase"] == "main" and a["rater"] in included:
            groups[a["grp"] or "(none)"].append(a)
    out = []
    for g, rows in sorted(groups.items()):
        fakes = [a for a in rows if a["truth"] == "fake"]
        reals = [a for a in rows if a["truth"] == "real"]
        out.append({
            "group": g,
            "n": len(rows),
            "error": _ratio(sum(not a["correct"] for a in rows), len(rows)),
            "error_fake": _ratio(sum(not a["correct"] for a in fakes), len(fakes)),
            "error_real": _ratio(sum(not a["correct"] for a in reals), len(reals)),
        })
    return out


def analyse(con: sqlite3.Connection, *, n_boot: int = N_BOOT, seed: int = 0) -> dict[str, Any]:
    """The whole report as a JSON-ready dict."""
    meta = db.get_meta(con)
    cfg = meta["config"]
    answers = load_answers(con)
    raters = _rater_rows(con, answers, cfg)
    included = [r for r in raters if r["included"]]
    inc_names = {r["rater"] for r in included}
    score: dict[str, Any] = {"task": cfg["task"], "n_boot": n_boot, "seed": seed}
    if cfg["task"] in ("infinity", "time"):
        score.update(infinity_score(included, n_boot=n_boot, seed=seed))
        score["by_group"] = _by_group_error(answers, inc_names)
    if cfg["task"] == "time":
        th = [r["threshold_ms"] for r in included if not math.isnan(r["threshold_ms"])]
        score["hype_time_ms"] = float(np.mean(th)) if th else math.nan
        score["ci_time_ms"] = bootstrap_mean(th, n_boot=n_boot, seed=seed)
    if cfg["task"] == "rubric":
        score.update(_rubric(answers, inc_names, n_boot, seed))
    if len(included) < MIN_RATERS_FOR_CI:
        # Resampling one rater gives that rater back every time: the "interval" is a point,
        # and shown bare ([50 %, 50 %]) it would read as certainty.
        score["ci_warning"] = (
            f"only {len(included)} rater(s) included: the intervals over raters need at least {MIN_RATERS_FOR_CI}, "
            "so none is shown; the scores are one person's answers"
        )
    excluded = [r["rater"] for r in raters if not r["included"]]
    return {
        "study": cfg["name"],
        "task": cfg["task"],
        "settings": {k: cfg[k] for k in ("qualification", "min_accuracy", "images_per_rater", "raters", "seed")},
        "raters": raters,
        "excluded": excluded,
        "score": score,
    }


# ---------------------------------------------------------------- writing


def _clean(x: Any) -> Any:
    """The report as standard JSON: NaN (no value yet) as null, through the project's one cleaner."""
    return jsonable(x, non_finite=lambda v: None if math.isnan(v) else str(v))


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f} %"


def _ci(ci: Sequence[float], fmt=_pct, warning: str | None = None) -> str:
    if warning:
        return f"n/a (fewer than {MIN_RATERS_FOR_CI} raters)"
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]"


def _num(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def to_markdown(rep: dict[str, Any]) -> str:
    s = rep["score"]
    lines = [f"# HYPE study `{rep['study']}` (task: {rep['task']})", ""]
    n_inc = sum(r["included"] for r in rep["raters"])
    lines.append(
        f"{n_inc} of {len(rep['raters'])} raters included; 95 % bootstrap intervals over raters "
        f"({s['n_boot']} resamples, seed {s['seed']})."
    )
    if rep["excluded"]:
        lines.append(f"Left out (qualification failed or pending, or no answers): {', '.join(rep['excluded'])}.")
    warn = s.get("ci_warning")
    if warn:
        lines += ["", f"**Warning:** {warn}."]
    lines.append("")
    if rep["task"] in ("infinity", "time"):
        scores = [
            ["HYPE-infinity (error over all answers)", _pct(s["hype_infinity"]), _ci(s["ci"], warning=warn)],
            ["error on fakes (fake judged real)", _pct(s["error_fake"]), _ci(s["ci_fake"], warning=warn)],
            ["error on reals (real judged fake)", _pct(s["error_real"]), _ci(s["ci_real"], warning=warn)],
        ]
        if rep["task"] == "time":
            ms = lambda v: _num(v, 0) + " ms"  # noqa: E731
            scores.append(["HYPE-time (mean threshold)", ms(s["hype_time_ms"]), _ci(s["ci_time_ms"], ms, warn)])
        lines.append(markdown_table(["score", "value", "95 % CI"], scores))
        lines += ["", f"{s['n_answers']} answers. 50 % error means raters could not tell real from fake.", ""]
        if len(s.get("by_group", [])) > 1:
            rows = [[g["group"], g["n"], _pct(g["error"]), _pct(g["error_fake"]), _pct(g["error_real"])] for g in s["by_group"]]
            lines += ["## By group", "", markdown_table(["group", "answers", "error", "error on fakes", "error on reals"], rows), ""]
    if rep["task"] == "rubric":
        c = s["criteria"]
        lines += [f"Mean rubric total: **{_num(s['rubric_total'])} / 4** {_ci(s['ci'], _num, warn)}", ""]
        lines.append(markdown_table(["criterion", "mean (0-1)"], [[RUBRIC_LABELS[k], _num(c[k])] for k in RUBRIC_CRITERIA]))
        rows = [[g["group"], g["n"], *(_num(g[k]) for k in RUBRIC_CRITERIA), _num(g["total"])] for g in s["by_group"]]
        heads = ["group", "ratings", *(RUBRIC_LABELS[k] for k in RUBRIC_CRITERIA), "total"]
        lines += ["", "## By group", "", markdown_table(heads, rows)]
        lines += ["", "Per image: `rubric_by_image.csv`.", ""]
    extra = {"time": ("threshold", lambda r: f"{_num(r['threshold_ms'], 0)} ms"), "rubric": ("rubric total", lambda r: _num(r["rubric_total"]))}.get(rep["task"])
    rows = []
    for r in rep["raters"]:
        qa = r["qualification"] + (f" ({_pct(r['qualification_accuracy'])})" if r["qualification_accuracy"] is not None else "")
        rows.append([r["rater"], r["progress"], qa, "yes" if r["included"] else "no", _pct(r["error"]), *([extra[1](r)] if extra else [])])
    heads = ["rater", "progress", "qualification", "included", "error", *([extra[0]] if extra else [])]
    lines += ["## Raters", "", markdown_table(heads, rows)]
    return "\n".join(lines) + "\n"


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None or (isinstance(v, float) and math.isnan(v)) else v) for k, v in r.items()})


def _summary_rows(rep: dict[str, Any]) -> list[dict[str, Any]]:
    s = rep["score"]
    rows = []

    def add(name: str, value: float, ci: Sequence[float] | None = None) -> None:
        rows.append({"metric": name, "value": value, "ci_low": ci[0] if ci else None, "ci_high": ci[1] if ci else None})

    if rep["task"] in ("infinity", "time"):
        add("hype_infinity", s["hype_infinity"], s["ci"])
        add("error_fake", s["error_fake"], s["ci_fake"])
        add("error_real", s["error_real"], s["ci_real"])
    if rep["task"] == "time":
        add("hype_time_ms", s["hype_time_ms"], s["ci_time_ms"])
    if rep["task"] == "rubric":
        add("rubric_total", s["rubric_total"], s["ci"])
        for k in RUBRIC_CRITERIA:
            add(k, s["criteria"][k])
    return rows


def write_report(study_dir: str | Path, out: str | Path | None = None, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Analyse the study and write report.json, report.md, summary.csv, raters.csv, answers.csv (+ rubric tables)."""
    with db.opened(study_dir) as con:
        rep = analyse(con, n_boot=n_boot, seed=seed)
        answers = load_answers(con)
    out_dir = Path(out) if out else Path(study_dir) / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(_clean(rep), indent=2), encoding="utf-8")
    (out_dir / "report.md").write_text(to_markdown(rep), encoding="utf-8")
    _write_csv(out_dir / "summary.csv", _summary_rows(rep))
    _write_csv(out_dir / "raters.csv", rep["raters"])
    _write_csv(out_dir / "answers.csv", answers)
    if rep["task"] == "rubric":
        _write_csv(out_dir / "rubric_by_group.csv", rep["score"]["by_group"])
        _write_csv(out_dir / "rubric_by_image.csv", rep["score"]["by_image"])
    rep["out_dir"] = str(out_dir)
    return rep
