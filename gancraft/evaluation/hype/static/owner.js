// HYPE owner page: per-rater progress and the live score, refreshed every few seconds.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const token = location.pathname.split("/").filter(Boolean)[1] || "";
  const REFRESH_MS = 3000;

  const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)} %`);
  const num = (x, d = 2) => (x === null || x === undefined ? "–" : x.toFixed(d));
  const ms = (x) => (x === null || x === undefined ? "–" : `${Math.round(x)} ms`);
  let ciWarning = null;  // set per refresh: with fewer than 2 raters there is no interval to show
  const ci = (c, f) => (ciWarning ? "95 % CI needs 2+ raters" : c && c[0] !== null ? `95 % CI [${f(c[0])}, ${f(c[1])}]` : "95 % CI –");

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function card(label, value, sub) {
    const c = el("div", undefined, "card score");
    c.append(el("div", label, "label"), el("div", value, "value"), el("div", sub, "sub"));
    return c;
  }

  function render(d) {
    $("title").textContent = `HYPE study “${d.study}” — ${d.task}`;
    const s = d.score;
    ciWarning = s.ci_warning || null;
    const cards = $("scores");
    cards.replaceChildren();
    if (d.task === "infinity" || d.task === "time") {
      cards.append(card("HYPE∞ (error rate)", pct(s.hype_infinity), ci(s.ci, pct)));
      cards.append(card("error on fakes", pct(s.error_fake), ci(s.ci_fake, pct)));
      cards.append(card("error on reals", pct(s.error_real), ci(s.ci_real, pct)));
      if (d.task === "time") cards.append(card("HYPE-time (threshold)", ms(s.hype_time_ms), ci(s.ci_time_ms, ms)));
      $("score-note").textContent = `${s.n_answers} answers from ${s.n_raters} included raters. 50 % error: raters cannot tell real from fake.`;
    } else {
      cards.append(card("rubric total (0–4)", num(s.rubric_total), ci(s.ci, num)));
      for (const [k, label] of Object.entries(s.criteria_labels)) cards.append(card(label, num(s.criteria[k]), "mean, 0–1"));
      $("score-note").textContent = `${s.n_answers} ratings from ${s.n_raters} included raters.`;
    }
    if (ciWarning) $("score-note").textContent += ` Warning: ${ciWarning}.`;

    const cols = [["rater", "rater"], ["progress", "progress"], ["qualification", "qualification"], ["included", "included"]];
    if (d.task !== "rubric") cols.push(["error", "error"]);
    if (d.task === "time") cols.push(["threshold_ms", "threshold"]);
    if (d.task === "rubric") cols.push(["rubric_total", "rubric total"]);
    const head = $("rater-head");
    head.replaceChildren(...cols.map(([, h]) => el("th", h)));
    const body = $("raters").querySelector("tbody");
    body.replaceChildren();
    for (const r of d.raters) {
      const tr = el("tr", undefined, r.included ? "" : "excluded");
      for (const [k] of cols) {
        const td = el("td");
        if (k === "progress") {
          const p = el("progress");
          p.max = Math.max(r.total, 1);
          p.value = r.answered;
          td.append(p, el("span", ` ${r.answered} / ${r.total}${r.done ? " ✓" : ""}`));
        } else if (k === "qualification") {
          td.textContent = r.qualification + (r.qualification_accuracy !== null ? ` (${pct(r.qualification_accuracy)})` : "");
        } else if (k === "included") {
          td.textContent = r.included ? "yes" : "no";
        } else if (k === "error") {
          td.textContent = pct(r.error);
        } else if (k === "threshold_ms") {
          td.textContent = ms(r.threshold_ms);
        } else if (k === "rubric_total") {
          td.textContent = num(r.rubric_total);
        } else {
          td.textContent = r[k];
        }
        tr.append(td);
      }
      body.append(tr);
    }

    const g = $("groups");
    g.replaceChildren();
    const groups = s.by_group || [];
    if (groups.length > 1 || (d.task === "rubric" && groups.length)) {
      g.append(el("h2", "By group"));
      const t = el("table");
      const keys = d.task === "rubric"
        ? ["group", "n", ...Object.keys(s.criteria_labels), "total"]
        : ["group", "n", "error", "error_fake", "error_real"];
      const labels = d.task === "rubric" ? { ...s.criteria_labels, n: "ratings" } : { n: "answers", error_fake: "error on fakes", error_real: "error on reals" };
      const hr = el("tr");
      hr.append(...keys.map((k) => el("th", labels[k] || k)));
      t.append(hr);
      for (const row of groups) {
        const tr = el("tr");
        for (const k of keys) {
          const v = row[k];
          tr.append(el("td", k === "group" || k === "n" ? String(v) : d.task === "rubric" ? num(v) : pct(v)));
        }
        t.append(tr);
      }
      g.append(t);
    }
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  async function refresh() {
    try {
      const r = await fetch(`/api/owner/${encodeURIComponent(token)}`, { cache: "no-store" });
      if (r.ok) render(await r.json());
      else $("updated").textContent = `error ${r.status}`;
    } catch (e) {
      $("updated").textContent = "server unreachable, retrying…";
    }
    setTimeout(refresh, REFRESH_MS);
  }
  refresh();
})();
