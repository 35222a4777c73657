// The recording page's tools: a selection of words is cited exactly as `archive cite` cites it
// (text, Markdown, JSON; copy; a link back), clipped as `cite --clip` clips it, or marked
// verified by ear; a passage is corrected through the archive's revisions. Data goes into the
// page with textContent only.
"use strict";

A.recordingTools = (page) => {
  const { el, add, link, mss, api, toast } = A;
  const { rid, main } = page;
  let selected = null;      // [first word, last word]

  // ------------------------------------------------------------------ selection: cite, clip, verify
  const selbar = el("div", "selbar");
  selbar.hidden = true;
  const selText = el("span", "seltext");
  const bCite = button("Cite", () => cite());
  const bClip = button("Make clip", () => clip());
  const bMark = button("Mark verified", () => markVerified());
  const bPlay = button("Play selection", () => page.playSpan(selected[0], selected[1]));
  add(selbar, selText, bCite, bClip, bMark, bPlay);

  const panel = el("aside", "citepanel");
  panel.hidden = true;

  function button(text, fn) {
    const b = el("button", null, text);
    b.type = "button";
    b.addEventListener("click", fn);
    return b;
  }

  function onSelect() {
    const words = page.words;
    const sel = getSelection();
    if (!sel.rangeCount || sel.isCollapsed) return;
    const r = sel.getRangeAt(0);
    const hit = [];
    for (const sec of main.querySelectorAll(".seg")) {
      if (!r.intersectsNode(sec)) continue;
      for (const w of sec.querySelectorAll(".w")) if (r.intersectsNode(w)) hit.push(+w.dataset.i);
    }
    if (hit.length && page.wordEls[hit[0]].contains(r.startContainer) &&
        r.startOffset >= (r.startContainer.textContent || "").length) hit.shift();
    if (hit.length && page.wordEls[hit[hit.length - 1]].contains(r.endContainer) && r.endOffset === 0) hit.pop();
    if (!hit.length) return;
    selected = [hit[0], hit[hit.length - 1]];
    const [i, j] = selected;
    selText.textContent = `${j - i + 1} word(s), ${mss(words[i][0])}–${mss(words[j][1])}: “${words[i][2]}${j > i ? " … " + words[j][2] : ""}”`;
    selbar.hidden = false;
  }

  function ref() {
    const words = page.words;
    const [i, j] = selected;
    return `${rid}@${words[i][0].toFixed(3)}-${words[j][1].toFixed(3)}`;
  }

  function showCitation(c) {
    const tabs = el("div", "tabs");
    const pre = el("pre", "citation");
    pre.id = "citation";
    let shown = "text";
    const show = (k) => {
      shown = k;
      pre.textContent = c[k];
      pre.dataset.format = k;
      for (const b of tabs.children) b.setAttribute("aria-pressed", String(b.dataset.k === k));
    };
    for (const k of ["text", "markdown", "json"]) {
      const b = button(k, () => show(k));
      b.dataset.k = k;
      tabs.append(b);
    }
    const copy = button("Copy", async () => {
      try {
        await navigator.clipboard.writeText(c[shown]);
        toast("Citation copied");
      } catch (e) {
        const r = document.createRange();
        r.selectNodeContents(pre);
        getSelection().removeAllRanges();
        getSelection().addRange(r);
        toast("Press Ctrl+C to copy the selected citation");
      }
    });
    copy.classList.add("copy");
    const back = link(c.link, "link to this span", "backlink");
    const closeBtn = button("×", () => { panel.hidden = true; });
    closeBtn.classList.add("close");
    const extra = el("div", "clipinfo");
    if (c.download) {
      const dl = link(c.download.clip, `download clip (${c.citation.clip_path.split("/").pop()})`, "dlclip");
      dl.download = "";
      const dm = link(c.download.manifest, "download manifest", "dlmanifest");
      dm.download = "";
      add(extra, dl, " · ", dm, el("div", "dim", `clip SHA-256 ${c.citation.clip_sha256}`));
    }
    panel.replaceChildren(add(el("div", "panelhead"), el("b", null, "Citation"), tabs, copy, back, closeBtn), pre, extra);
    show("text");
    panel.hidden = false;
  }

  async function cite() {
    try { showCitation(await api(`/api/cite?ref=${encodeURIComponent(ref())}`)); } catch (e) { toast(e.message, "error"); }
  }

  async function clip() {
    bClip.disabled = true;
    try {
      const c = await api("/api/clip", { ref: ref(), padding: 1.0, format: "ogg" });
      showCitation(c);
      toast("Clip written with its manifest");
    } catch (e) { toast(e.message, "error"); } finally { bClip.disabled = false; }
  }

  async function markVerified() {
    const words = page.words;
    const [i, j] = selected;
    try {
      await api("/api/mark", { id: rid, start: words[i][0], end: words[j][1], verified: true });
      toast(`${mss(words[i][0])}–${mss(words[j][1])} marked verified by ear`);
      await page.load(false);
    } catch (e) { toast(e.message, "error"); }
  }

  // ------------------------------------------------------------------ corrections
  function startEdit(si) {
    const sec = main.querySelector(`.seg[data-seg="${si}"]`);
    if (!sec || sec.classList.contains("editing")) return;
    page.editing++;
    sec.classList.add("editing");
    const p = sec.querySelector(".words");
    const seg = page.data.transcript.segments[si];
    const ta = el("textarea", "edittext");
    ta.value = seg.words.map((w) => w[2]).join(" ");
    ta.rows = Math.max(2, Math.ceil(ta.value.length / 90));
    ta.setAttribute("aria-label", `words of the passage at ${mss(seg.start)}`);
    const msg = el("p", "editmsg dim", "Words you leave alone keep their timings; changed words are re-timed on the audio. Saving makes a new revision.");
    const save = button("Save", async () => {
      save.disabled = true;
      try {
        const r = await api("/api/edit", { id: rid, base_revision: page.data.transcript.revision, segment: si, text: ta.value });
        page.editing--;
        toast(r.changed ? `revision ${r.revision} saved: ${r.note}` : "no change");
        await page.load(false);
      } catch (e) {
        msg.textContent = e.message;
        msg.className = "editmsg error";
        save.disabled = false;
      }
    });
    save.classList.add("save");
    const cancel = button("Cancel", () => {
      page.editing--;
      sec.classList.remove("editing");
      box.replaceWith(p);
    });
    const box = add(el("div", "editbox"), ta, add(el("div", "row"), save, cancel), msg);
    p.replaceWith(box);
    ta.focus();
  }

  window.addEventListener("beforeunload", (e) => { if (page.editing) e.preventDefault(); });

  return { selbar, panel, onSelect, startEdit };
};
