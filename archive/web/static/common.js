// Shared helpers. Every string from the archive (titles, names, tags, transcript text) is
// hostile: it goes into the page with textContent only, never as markup.
"use strict";

const A = (() => {
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function add(parent, ...children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      parent.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return parent;
  }

  function link(href, text, cls) {
    const a = el("a", cls, text);
    a.href = href;
    return a;
  }

  // The formats of archive.timecode.mss / hms, for display only (citations come from the
  // server, so a tie rounded the other way cannot change a quote).
  function tenths(s) { return Math.round(Math.max(0, s) * 10); }
  function pad(n, w) { return String(n).padStart(w, "0"); }
  function mss(s) {
    const t = tenths(s), m = Math.floor(t / 600), r = t % 600;
    return `${pad(m, 2)}:${pad(Math.floor(r / 10), 2)}.${r % 10}`;
  }
  function hms(s) {
    const t = tenths(s), h = Math.floor(t / 36000), m = Math.floor((t % 36000) / 600);
    const r = t % 600;
    return `${pad(h, 2)}:${pad(m, 2)}:${pad(Math.floor(r / 10), 2)}.${r % 10}`;
  }

  class ApiError extends Error {
    constructor(message, status, data) { super(message); this.status = status; this.data = data; }
  }

  async function api(path, body) {
    const opts = { credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      opts.method = "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-Archive-Request"] = "1";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      throw new ApiError((data && data.error) || `HTTP ${r.status}`, r.status, data);
    }
    return data;
  }

  let toastTimer = 0;
  function toast(message, kind) {
    const t = document.getElementById("toast");
    t.textContent = message;
    t.className = kind || "";
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, kind === "error" ? 9000 : 4000);
  }

  function fail(main, err) {
    main.replaceChildren(el("p", "error", err.message || String(err)));
  }

  function dateText(rec) {
    if (!rec.recorded) return "";
    const d = String(rec.recorded).replace("T", " ").slice(0, 16);
    return rec.recorded_inferred ? `~${d}` : d;
  }

  function speakerName(sp) { return sp.name ? `${sp.name} (${sp.label})` : sp.label; }

  return { el, add, link, mss, hms, api, toast, fail, dateText, speakerName, ApiError };
})();
