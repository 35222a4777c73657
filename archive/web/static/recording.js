// The recording page: transcript and audio as one thing. Plays from the #t= media fragment,
// highlights the word being spoken (a binary search over word starts per frame, and only the
// changed element is touched), seeks on click or Enter, cites a selection exactly as
// `archive cite` does, makes clips, and sends corrections through the archive's revisions.
"use strict";

(() => {
  const { el, add, link, mss, hms, api, toast, fail, speakerName } = A;
  const main = document.getElementById("main");
  const rid = location.pathname.split("/")[2];
  const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];
  const stats = { frames: 0, total: 0, max: 0, changes: 0 };

  let data = null;          // the page's JSON twin
  let words = [];           // [start, end, text, p, segment]
  let order = null;         // word indexes sorted by start (Int32Array)
  let starts = null;        // starts in that order (Float64Array)
  let ends = null;          // and their ends
  let wordEls = [];
  let cur = -1;
  let editing = 0;
  let userScrollUntil = 0;
  let fragEnd = null;
  let raf = 0;
  let lastClock = "";

  const audio = el("audio");
  audio.controls = true;
  audio.preload = "auto";
  audio.src = `/r/${rid}/audio`;
  audio.id = "player";

  // ------------------------------------------------------------------ playback and highlight
  // The word being spoken at t: the last word started by t; in a pause, whichever of the
  // words on each side is nearer (so a fragment that opens just before an onset lights the
  // word about to be said, not the one that ended a second ago). O(log n).
  function indexAt(t) {
    let lo = 0, hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= t) lo = mid + 1; else hi = mid;
    }
    if (lo === 0) return starts.length ? order[0] : -1;
    if (lo < starts.length && t > ends[lo - 1] && starts[lo] - t < t - ends[lo - 1]) return order[lo];
    return order[lo - 1];
  }

  // One frame's work: a binary search, and two class changes only when the word changed.
  function update(at) {
    if (!starts) return;
    const t0 = performance.now();
    const t = at === undefined ? audio.currentTime : at;
    if (fragEnd !== null && t >= fragEnd) { audio.pause(); fragEnd = null; }
    const i = indexAt(t);
    if (i !== cur) {
      if (cur >= 0 && wordEls[cur]) { wordEls[cur].classList.remove("cur"); watch.unobserve(wordEls[cur]); }
      if (i >= 0 && !wordEls[i]) fill(words[i][4]);
      if (i >= 0) { wordEls[i].classList.add("cur"); watch.observe(wordEls[i]); }
      cur = i;
      stats.changes++;
    }
    const dt = performance.now() - t0;
    stats.frames++; stats.total += dt; if (dt > stats.max) stats.max = dt;
    const shown = mss(t);
    if (shown !== lastClock) {
      lastClock = shown;
      clock.textContent = `${shown} / ${mss(audio.duration || data.recording.duration)}`;
    }
  }

  function frame() {
    update(undefined);
    raf = audio.paused ? 0 : requestAnimationFrame(frame);
  }

  // Following the current word costs no layout in the frame: an IntersectionObserver
  // reports when the watched word leaves the middle of the view, and only then it scrolls.
  const watch = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (e.target !== wordEls[cur] || e.isIntersecting) continue;
      if (editing || !followBox.checked || Date.now() < userScrollUntil) continue;
      e.target.scrollIntoView({ block: "center" });
    }
  }, { rootMargin: "-20% 0px -20% 0px" });

  function seek(t, play) {
    const d = audio.duration || data.recording.duration;
    audio.currentTime = Math.max(0, Math.min(t, d ? d - 0.01 : t));
    if (play) audio.play().catch(() => {});
    update();
  }

  function fragment() {
    const m = /(?:^#|&)t=(?:npt:)?([0-9.:]+)(?:,([0-9.:]+))?/.exec(location.hash);
    if (!m) return null;
    const sec = (x) => x.split(":").reduce((acc, p) => acc * 60 + parseFloat(p), 0);
    const s = sec(m[1]), e = m[2] ? sec(m[2]) : null;
    return Number.isFinite(s) ? [s, e !== null && e > s ? e : null] : null;
  }

  function playFragment(autoplay) {
    const f = fragment();
    markFragment(f);
    if (!f) return;
    const go = () => {
      fragEnd = f[1];
      seek(f[0], false);
      if (autoplay) {
        audio.play().catch(() => toast("Press Space (or ▶) to play from here"));
      }
      if (cur >= 0) wordEls[cur].scrollIntoView({ block: "center" });
    };
    if (audio.readyState >= 1) go(); else audio.addEventListener("loadedmetadata", go, { once: true });
  }

  let fragSpan = null;
  function markFragment(f) {
    for (const e of main.querySelectorAll(".w.frag")) e.classList.remove("frag");
    fragSpan = f && f[1] !== null ? f : null;
    if (!fragSpan) return;
    words.forEach((w, i) => {
      if (wordEls[i] && w[1] > f[0] + 0.005 && w[0] < f[1] - 0.005) wordEls[i].classList.add("frag");
    });
  }

  function setSpeed(r) {
    audio.playbackRate = r;
    for (const b of speedBox.children) b.setAttribute("aria-pressed", String(+b.dataset.rate === r));
  }

  // ------------------------------------------------------------------ the toolbar
  const bar = el("div", "player");
  const playBtn = el("button", "play", "▶ Play");
  playBtn.type = "button";
  playBtn.addEventListener("click", () => (audio.paused ? audio.play() : audio.pause()));
  const clock = el("span", "clock", "00:00.0");
  const speedBox = el("span", "speeds");
  for (const r of SPEEDS) {
    const b = el("button", null, `${r}×`);
    b.type = "button";
    b.dataset.rate = r;
    b.title = `speed ${r}× (key ${SPEEDS.indexOf(r) + 1})`;
    b.addEventListener("click", () => setSpeed(r));
    speedBox.append(b);
  }
  const followLabel = el("label", "follow");
  const followBox = el("input");
  followBox.type = "checkbox";
  followBox.checked = true;
  add(followLabel, followBox, " follow");
  const helpBtn = el("button", "helpbtn", "?");
  helpBtn.type = "button";
  helpBtn.title = "keyboard shortcuts (?)";
  add(bar, audio, add(el("div", "controls"), playBtn, clock, speedBox, followLabel, helpBtn));

  audio.addEventListener("play", () => { playBtn.textContent = "❚❚ Pause"; if (!raf) frame(); });
  audio.addEventListener("pause", () => { playBtn.textContent = "▶ Play"; update(undefined); });
  audio.addEventListener("seeked", () => update(undefined));
  audio.addEventListener("timeupdate", () => { if (audio.paused) update(undefined); });
  for (const ev of ["wheel", "touchmove"]) {
    window.addEventListener(ev, () => { userScrollUntil = Date.now() + 4000; }, { passive: true });
  }

  const help = el("dialog", "shortcuts");
  add(help, el("h2", null, "Keyboard"));
  const dl = el("dl");
  for (const [k, v] of [["Space", "play / pause"], ["← / →", "back / forward 1 s"],
                        ["Shift + ← / →", "back / forward 5 s"],
                        ["1 … 6", "speed " + SPEEDS.map((s) => s + "×").join(", ")],
                        ["Enter or click on a word", "play from that word"],
                        ["select words", "cite, clip or mark them verified"],
                        ["?", "this help"], ["Esc", "close"]]) add(dl, el("dt", null, k), el("dd", null, v));
  const close = el("button", null, "Close");
  close.type = "button";
  close.addEventListener("click", () => help.close());
  add(help, dl, close);
  helpBtn.addEventListener("click", () => help.showModal());

  document.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("input, textarea, select, [contenteditable]")) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Enter" && e.target.classList && e.target.classList.contains("w")) {
      e.preventDefault();
      seek(words[+e.target.dataset.i][0], true);
    } else if (e.key === " ") {
      e.preventDefault();
      audio.paused ? audio.play() : audio.pause();
    } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      const step = (e.shiftKey ? 5 : 1) * (e.key === "ArrowLeft" ? -1 : 1);
      seek(audio.currentTime + step, false);
    } else if (/^[1-6]$/.test(e.key)) {
      setSpeed(SPEEDS[+e.key - 1]);
    } else if (e.key === "?") {
      help.open ? help.close() : help.showModal();
    } else if (e.key === "Escape") {
      panel.hidden = true;
    }
  });

  // ------------------------------------------------------------------ transcript
  // The transcript is laid out as one empty <section> per segment first; segments are then
  // filled around where the page opens (synchronously, so it paints at once) and the rest in
  // small chunks between frames. Sections off screen skip layout (content-visibility).
  let secs = [], filled = null, complete = false, speakersBy = null, marksOk = [], fillTimer = 0;

  function render() {
    const t = data.transcript;
    const rec = data.recording;
    document.title = `${rec.title || rec.filename} · archive`;
    words = [];
    speakersBy = new Map(t.speakers.map((s) => [s.label, s]));
    marksOk = data.marks.filter((m) => m.revision <= t.revision);
    const tx = el("div", "transcript");
    tx.id = "transcript";
    secs = t.segments.map((s, si) => {
      for (const w of s.words) words.push([w[0], w[1], w[2], w[3], si]);
      const sp = speakersBy.get(s.speaker);
      const sec = el("section", `seg c${sp ? sp.colour : "x"}${s.flags.length ? " suspect" : ""}`);
      sec.dataset.seg = si;
      tx.append(sec);
      return sec;
    });
    wordEls = new Array(words.length);
    filled = new Uint8Array(secs.length);
    complete = false;
    clearTimeout(fillTimer);
    order = Int32Array.from(words.keys()).sort((a, b) => words[a][0] - words[b][0]);
    starts = Float64Array.from(order, (i) => words[i][0]);
    ends = Float64Array.from(order, (i) => words[i][1]);
    cur = -1;
    tx.addEventListener("click", onTranscriptClick);
    tx.addEventListener("mouseup", onSelect);
    tx.addEventListener("keyup", onSelect);
    return tx;
  }

  function fill(si) {
    if (filled[si]) return;
    filled[si] = 1;
    const s = data.transcript.segments[si], sec = secs[si];
    const sp = speakersBy.get(s.speaker);
    const head = el("div", "seghead");
    const tb = el("button", "t", `[${mss(s.start)}]`);
    tb.type = "button";
    tb.tabIndex = -1;
    tb.dataset.t = s.start;
    add(head, tb, " ", el("span", "who", sp ? speakerName(sp) : (s.speaker || "")));
    if (s.flags.length) head.append(el("span", "flag", `⚠ suspect: ${s.flags.join(", ")}`));
    const eb = el("button", "edit", "edit");
    eb.type = "button";
    eb.dataset.seg = si;
    eb.title = "correct this passage (a new revision)";
    head.append(eb);
    const mine = marksOk.filter((m) => m.start < s.end + 0.01 && m.end > s.start - 0.01);
    if (mine.length) {
      head.append(el("span", "verified", `✓ verified by ear (${mine.map((m) => m.by).join(", ")})`));
    }
    const p = el("p", "words");
    let i = segFirst(si);
    s.words.forEach((w, k) => {
      const span = el("span", "w", w[2]);
      span.dataset.i = i;
      span.tabIndex = 0;
      if (w[3] < data.low_confidence) {
        span.classList.add("low");
        span.title = `low confidence (${w[3].toFixed(2)})`;
      }
      if (mine.some((m) => w[0] >= m.start - 0.01 && w[1] <= m.end + 0.01)) span.classList.add("ver");
      if (fragSpan && w[1] > fragSpan[0] + 0.005 && w[0] < fragSpan[1] - 0.005) span.classList.add("frag");
      if (k) p.append(" ");
      p.append(span);
      wordEls[i++] = span;
    });
    add(sec, head, p);
  }

  let firstOf = null;
  function segFirst(si) {
    if (!firstOf || firstOf.length !== secs.length) {
      firstOf = new Int32Array(secs.length);
      let n = 0;
      data.transcript.segments.forEach((s, k) => { firstOf[k] = n; n += s.words.length; });
    }
    return firstOf[si];
  }

  function fillFrom(si) {
    const lo = Math.max(0, si - 30), hi = Math.min(secs.length, si + 60);
    for (let k = lo; k < hi; k++) fill(k);
    let next = 0;
    const step = () => {
      const until = performance.now() + 8;
      while (next < secs.length && performance.now() < until) fill(next++);
      if (next < secs.length) { fillTimer = setTimeout(step, 0); return; }
      complete = true;
      window.archivePlayer.timing.complete = performance.now();
    };
    fillTimer = setTimeout(step, 0);
  }

  function onTranscriptClick(e) {
    const sel = getSelection();
    if (e.target.classList.contains("edit")) { startEdit(+e.target.dataset.seg); return; }
    if (e.target.classList.contains("t")) { seek(+e.target.dataset.t, true); return; }
    const w = e.target.closest(".w");
    if (!w || editing && w.closest(".editing")) return;
    if (sel && !sel.isCollapsed) return;  // a drag selects; it does not seek
    seek(words[+w.dataset.i][0], false);
  }

  function header() {
    const rec = data.recording, t = data.transcript;
    const h = el("div", "rechead");
    add(h, el("h1", "rectitle", rec.title || rec.filename));
    const meta = el("p", "meta");
    add(meta, el("code", "sha", rec.id), " · revision ", el("b", "rev", String(t.revision)),
        ` · ${t.language || "?"} · ${mss(rec.duration)}`,
        rec.recorded ? ` · recorded ${A.dateText(rec)}` : "", ` · ${rec.filename}`,
        data.audio.derived ? el("span", "derived", " · playing a lossless copy (the browser cannot play the original's format)") : null);
    const spk = el("div", "speakerlist");
    for (const s of t.speakers) spk.append(speakerChip(s));
    add(h, meta, spk, el("p", "legend dim",
        "dotted: low confidence · ⚠ suspect: the model may have invented it · green: verified by ear · select words to cite"));
    return h;
  }

  function speakerChip(s) {
    const chip = el("span", `chip c${s.colour}`);
    const name = el("span", "name", speakerName(s));
    const btn = el("button", "rename", "rename");
    btn.type = "button";
    btn.addEventListener("click", () => {
      const f = el("form", "renameform");
      const inp = el("input");
      inp.value = s.name || "";
      inp.placeholder = `name for ${s.label}`;
      inp.setAttribute("aria-label", `name for ${s.label}`);
      const ok = el("button", null, "save");
      ok.type = "submit";
      add(f, inp, ok);
      f.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try {
          const r = await api("/api/speaker", { id: rid, speaker: s.label, name: inp.value });
          toast(`revision ${r.revision}: ${s.label} renamed`);
          await load(false);
        } catch (err) { toast(err.message, "error"); }
      });
      chip.replaceChildren(f);
      inp.focus();
    });
    add(chip, el("span", "swatch"), name, btn);
    return chip;
  }

  function footer() {
    const f = el("div", "history");
    const revs = el("details");
    add(revs, el("summary", null, `revisions (${data.history.length})`));
    const ol = el("ol");
    for (const r of data.history) {
      ol.append(el("li", r.current ? "current" : "",
        `r${r.revision} · ${r.author} · ${r.created} · ${r.note || (r.author === "machine" ? "machine transcript" : "")}`));
    }
    revs.append(ol);
    const ver = el("details");
    add(ver, el("summary", null, `verified by ear (${data.marks.length})`));
    const vl = el("ul");
    for (const m of data.marks) {
      const li = el("li");
      add(li, link(`#t=${m.start.toFixed(2)},${m.end.toFixed(2)}`, `${mss(m.start)}–${mss(m.end)}`),
          ` against revision ${m.revision} by ${m.by} at ${m.at}${m.note ? " — " + m.note : ""}`);
      vl.append(li);
    }
    ver.append(vl);
    const cus = el("details");
    add(cus, el("summary", null, `custody log (${data.custody.length})`));
    const cl = el("ol");
    for (const e of data.custody) {
      const det = Object.entries(e.details || {}).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
      cl.append(el("li", null, `#${e.seq} ${e.time} ${e.event} ${e.user} ${det}`));
    }
    cus.append(cl);
    add(f, revs, ver, cus);
    return f;
  }

  // Selecting, citing, clipping, marking and correcting live in recording-tools.js.
  const page = {
    rid, main,
    get data() { return data; }, get words() { return words; }, get wordEls() { return wordEls; },
    get editing() { return editing; }, set editing(v) { editing = v; },
    load: (first) => load(first),
    playSpan: (i, j) => { fragEnd = words[j][1]; seek(words[i][0], true); },
  };
  const { selbar, panel, onSelect, startEdit } = A.recordingTools(page);

  // ------------------------------------------------------------------ load
  async function load(first) {
    const t0 = performance.now();
    data = await api(`/r/${rid}.json`);
    const t1 = performance.now();
    const tx = render();
    const page = document.createDocumentFragment();
    add(page, header(), bar, tx, footer());
    const keep = audio.currentTime;
    main.replaceChildren(page, selbar, panel, help);
    const f = first ? fragment() : null;
    const at = f ? f[0] : (first ? 0 : keep);
    const wi = words.length ? indexAt(at) : -1;
    fillFrom(wi >= 0 ? words[wi][4] : 0);
    if (!first) { editing = 0; audio.currentTime = keep; }
    setSpeed(audio.playbackRate || 1);
    update();
    const t2 = performance.now();
    window.archivePlayer.timing = { fetch: t1 - t0, render: t2 - t1, words: words.length,
                                    start: t0 };
    requestAnimationFrame(() => { window.archivePlayer.timing.painted = performance.now(); });
  }

  window.archivePlayer = {
    stats, audio, indexAt: (t) => indexAt(t), current: () => cur,
    word: (i) => words[i], count: () => words.length, update: (t) => update(t),
    complete: () => complete,
  };
  window.addEventListener("hashchange", () => playFragment(true));
  load(true).then(() => playFragment(true)).catch((e) => fail(main, e));
})();
