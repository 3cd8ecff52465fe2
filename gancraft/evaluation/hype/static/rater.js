// HYPE rater page: one trial at a time, answers saved before the next image is shown.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const token = location.pathname.split("/").filter(Boolean)[1] || "";
  const api = (p) => `/api/r/${encodeURIComponent(token)}/${p}`;
  const COUNTDOWN_MS = 500; // each of 3, 2, 1
  const MASK_FRAMES = 4; // noise masks after a timed exposure
  const MASK_MS = 30; // each
  const FRAME_SLACK_MS = 8; // stop half a 60 Hz frame early so the next paint lands on time

  let state = null;
  let busy = false;
  let mode = "idle"; // intro | wait | choose | spot | check | done
  let trialStart = 0;
  let spotted = null;
  let spotTimer = null;
  const cache = new Map();

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const frame = () => new Promise((r) => requestAnimationFrame(r));

  function load(url) {
    if (!cache.has(url)) {
      const img = new Image();
      img.src = url;
      const p = img.decode().then(() => img, (err) => { cache.delete(url); throw err; });
      cache.set(url, p);
    }
    return cache.get(url);
  }

  function preloadNext() {
    const n = state && state.next;
    if (!n) return;
    load(n.image).catch(() => {});
    if (n.before) load(n.before).catch(() => {});
  }

  function setView(name) { document.body.dataset.view = name; }
  function setMode(m) { mode = m; document.body.dataset.mode = m; }
  function show(id, on) { $(id).classList.toggle("hidden", !on); }

  async function fetchJSON(url, opts) {
    const r = await fetch(url, { cache: "no-store", ...opts });
    if (!r.ok) {
      const e = new Error(`HTTP ${r.status}`);
      e.status = r.status;
      throw e;
    }
    return r.json();
  }

  function fail(text) {
    $("error-text").textContent = text;
    setView("error");
    setMode("done");
  }

  function progress() {
    const total = state.total;
    const done = state.answered;
    $("progress").max = Math.max(total, 1);
    $("progress").value = done;
    $("progress-text").textContent = state.done
      ? `${done} of ${total} answered`
      : `Image ${Math.min(done + 1, total)} of ${total}`;
  }

  function introText() {
    // The same count as the "Image i of N" header: every trial, qualification included.
    const n = state.total;
    const q = state.qualification_trials;
    const parts = [];
    if (state.task === "rubric") {
      parts.push(`<p>You will see <b>${n}</b> photos${q ? `: <b>${q}</b> to judge real or fake, then <b>${n - q}</b> computer-edited photos to rate` : ", all computer-edited, to rate"}. Each edited photo comes in two steps.</p>`,
        `<p><b>1.</b> The edited photo appears alone for a few seconds. If you can tell it was made by a computer, press <kbd>F</kbd> (fake). If it looks real, press <kbd>R</kbd> or just wait.</p>`,
        `<p><b>2.</b> The original and the edited photo appear side by side. Tick what holds, with the mouse or the keys <kbd>1</kbd> <kbd>2</kbd> <kbd>3</kbd>, then press <kbd>Enter</kbd>.</p>`);
    } else {
      parts.push(`<p>You will see <b>${n}</b> photos, one at a time. <b>Half are real photos and half were made by a computer.</b> For each, decide: real or fake?</p>`);
      if (state.task === "time") {
        parts.push(`<p>Each photo appears after a 3-2-1 countdown and <b>only for a moment</b>, then it is covered by noise. Answer after it has gone; go with your first impression.</p>`);
      } else {
        parts.push(`<p>Take as long as you need.</p>`);
      }
      parts.push(`<p>Answer with <kbd>R</kbd> or <kbd>←</kbd> for real, <kbd>F</kbd> or <kbd>→</kbd> for fake, or click the buttons.</p>`);
    }
    if (q) {
      parts.push(`<p>The first <b>${q}</b> of these ${n} photos are a short qualification block: just say real or fake, without a time limit.</p>`);
    }
    if (state.answered > 0) {
      parts.push(`<p class="resume">Welcome back: your ${state.answered} answers so far are saved. You continue where you left off.</p>`);
    }
    return parts.join("");
  }

  function intro() {
    $("intro-title").textContent = state.answered > 0 ? "Continue the study" : "Instructions";
    $("intro-text").innerHTML = introText();
    $("start").textContent = state.answered > 0 ? "Continue" : "Start";
    progress();
    setView("intro");
    setMode("intro");
    preloadNext();
    if (state.current) load(state.current.image).catch(() => {});
  }

  function done() {
    progress();
    $("done-text").textContent = state.dismissed
      ? "Thank you for your time. The study is complete for you; you can close this page."
      : `Your ${state.answered} answers are saved. You can close this page.`;
    setView("done");
    setMode("done");
  }

  function drawNoise() {
    const c = $("mask");
    const ctx = c.getContext("2d");
    const img = ctx.createImageData(c.width, c.height);
    const d = img.data;
    for (let i = 0; i < d.length; i += 4) {
      const v = (Math.random() * 256) | 0;
      d[i] = v; d[i + 1] = (Math.random() * 256) | 0; d[i + 2] = (Math.random() * 256) | 0; d[i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  async function holdFor(ms) {
    const t0 = await frame();
    let t = t0;
    while (t - t0 < ms - FRAME_SLACK_MS) t = await frame();
    return t - t0;
  }

  async function timedExposure(ms) {
    const cd = $("countdown");
    show("main", false);
    show("mask", false);
    show("countdown", true);
    for (const n of [3, 2, 1]) {
      cd.textContent = String(n);
      await sleep(COUNTDOWN_MS);
    }
    show("countdown", false);
    show("main", true);
    await holdFor(ms);
    const m = $("main");
    $("mask").width = m.naturalWidth || 256;
    $("mask").height = m.naturalHeight || 256;
    show("main", false);
    show("mask", true);
    for (let i = 0; i < MASK_FRAMES; i++) {
      drawNoise();
      await holdFor(MASK_MS);
    }
    show("mask", false);
  }

  function resetTrialUI() {
    clearInterval(spotTimer);
    spotted = null;
    for (const id of ["c-glasses", "c-skin", "c-cut"]) $(id).checked = false;
    for (const b of document.querySelectorAll("button.choice")) b.disabled = false;
    show("countdown", false);
    show("mask", false);
    show("main", true);
    show("before-fig", false);
    show("timer", false);
    show("rubric", false);
    show("choices", false);
    $("status").textContent = "";
    $("btn-real").innerHTML = "Real <kbd>R</kbd> <kbd>←</kbd>";
    $("btn-fake").innerHTML = "Fake <kbd>F</kbd> <kbd>→</kbd>";
    $("question").textContent = "";
    $("main-caption").textContent = "";
  }

  async function showTrial() {
    const t = state.current;
    document.body.dataset.ready = "0";
    document.body.dataset.trial = String(t.id);
    setMode("wait");
    setView("trial");
    resetTrialUI();
    progress();
    $("phase-note").textContent = t.phase === "qualification" ? "Qualification" : "";
    let img;
    let before = null;
    try {
      img = await load(t.image);
      if (t.before) before = await load(t.before);
    } catch (e) {
      fail("An image could not be loaded. Reload the page to try again.");
      return;
    }
    $("main").src = img.src;
    if (before) $("before").src = before.src;
    else $("before").removeAttribute("src");
    preloadNext();
    const rubric = state.task === "rubric" && t.phase === "main";
    if (state.task === "time" && t.phase === "main") {
      show("main", false);
      await timedExposure(t.exposure_ms);
      $("question").textContent = "Was it real or fake?";
    } else if (!rubric) {
      $("question").textContent = "Real or fake?";
    }
    if (rubric) {
      startSpot(t.time_limit_ms);
    } else {
      show("choices", true);
      setMode("choose");
    }
    trialStart = performance.now();
    document.body.dataset.ready = "1";
  }

  function startSpot(limit) {
    $("question").textContent = "Does this photo look real or fake?";
    $("btn-real").innerHTML = "Looks real <kbd>R</kbd>";
    $("btn-fake").innerHTML = "Fake! <kbd>F</kbd>";
    show("choices", true);
    show("timer", true);
    const bar = $("timer-bar");
    const t0 = performance.now();
    bar.style.width = "100%";
    spotTimer = setInterval(() => {
      const left = Math.max(0, 1 - (performance.now() - t0) / limit);
      bar.style.width = `${(left * 100).toFixed(1)}%`;
      if (left <= 0) endSpot(false);
    }, 50);
    setMode("spot");
  }

  function endSpot(isFake) {
    if (mode !== "spot") return;
    clearInterval(spotTimer);
    spotted = isFake;
    show("timer", false);
    show("choices", false);
    show("before-fig", true);
    $("main-caption").textContent = "result";
    $("question").textContent = "Tick what holds for the result:";
    show("rubric", true);
    setMode("check");
  }

  function answer(value) {
    if (busy) return;
    if (mode === "spot") return endSpot(value === "fake");
    if (mode !== "choose") return;
    submit({ trial_id: state.current.id, answer: value });
  }

  function submitRubric() {
    if (mode !== "check" || busy) return;
    submit({
      trial_id: state.current.id,
      answer: spotted ? "fake" : "real",
      glasses_complete: $("c-glasses").checked,
      skin_tone_kept: $("c-skin").checked,
      nothing_cut: $("c-cut").checked,
    });
  }

  async function submit(payload) {
    busy = true;
    setMode("wait");
    document.body.dataset.ready = "0";
    for (const b of document.querySelectorAll("button")) b.disabled = true;
    payload.response_ms = Math.round(performance.now() - trialStart);
    let delay = 500;
    for (;;) {
      try {
        state = await fetchJSON(api("answer"), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(payload),
        });
        break;
      } catch (e) {
        if (e.status === 409) { state = await fetchJSON(api("state")); break; }
        if (e.status === 404 || e.status === 422) { busy = false; fail("This answer was refused. Reload the page."); return; }
        // network trouble: resending is safe, the server keeps an answer only once
        $("status").textContent = "Saving… (retrying)";
        await sleep(delay);
        delay = Math.min(delay * 2, 8000);
      }
    }
    for (const b of document.querySelectorAll("button")) b.disabled = false;
    busy = false;
    if (state.done) done(); else showTrial();
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const k = ev.key.toLowerCase();
    if (mode === "intro" && (k === " " || k === "enter")) { ev.preventDefault(); begin(); return; }
    if ((mode === "choose" || mode === "spot") && (k === "r" || k === "arrowleft")) { ev.preventDefault(); answer("real"); return; }
    if ((mode === "choose" || mode === "spot") && (k === "f" || k === "arrowright")) { ev.preventDefault(); answer("fake"); return; }
    if (mode === "check") {
      const box = { 1: "c-glasses", 2: "c-skin", 3: "c-cut" }[k];
      if (box) { ev.preventDefault(); $(box).checked = !$(box).checked; return; }
      if (k === "enter") { ev.preventDefault(); submitRubric(); }
    }
  });

  for (const b of document.querySelectorAll("button.choice")) {
    b.addEventListener("click", () => answer(b.dataset.answer));
  }
  $("rubric").addEventListener("submit", (ev) => { ev.preventDefault(); submitRubric(); });
  $("start").addEventListener("click", () => begin());

  function begin() {
    if (mode !== "intro") return;
    showTrial();
  }

  async function start() {
    try {
      state = await fetchJSON(api("state"));
    } catch (e) {
      fail(e.status === 404 ? "This link is not valid." : "The server cannot be reached. Reload the page to try again.");
      return;
    }
    $("title").textContent = "Image study";
    if (state.done) done(); else intro();
  }

  start();
})();
