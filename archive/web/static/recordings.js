// The recording list: titles, dates (inferred ones marked), languages, speakers, custody log
// and verify status of each recording.
"use strict";

(() => {
  const { el, add, link, mss, api, toast, fail, dateText, speakerName } = A;
  const main = document.getElementById("main");

  function custody(events) {
    const d = el("details", "custody");
    add(d, el("summary", null, `custody log (${events.length})`));
    const ol = el("ol", "events");
    for (const e of events) {
      const li = el("li");
      const det = Object.entries(e.details || {})
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
      add(li, el("span", "seq", `#${e.seq}`), " ", el("time", null, e.time), " ",
          el("b", null, e.event), " ", el("span", "user", e.user), " ", el("span", "det", det));
      ol.append(li);
    }
    d.append(ol);
    return d;
  }

  function status(rec, verify) {
    const cell = el("td", "verify");
    if (rec.problem) { cell.append(el("span", "bad", rec.problem)); return cell; }
    const v = verify && verify.recordings && verify.recordings[rec.id];
    if (!v) {
      cell.append(el("span", "dim", "not checked since the server started"));
    } else if (v.ok) {
      cell.append(el("span", "ok", `✓ original intact (SHA-256 checked ${verify.at})`));
    } else {
      cell.append(el("span", "bad", "✗ " + v.problems.join("; ")));
    }
    return cell;
  }

  function render(data) {
    const frag = document.createDocumentFragment();
    const head = el("div", "pagehead");
    const btn = el("button", "verify-all", "Verify all originals");
    btn.type = "button";
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      btn.textContent = "Verifying…";
      try {
        const v = await api("/api/verify", {});
        data.verify = v;
        toast(v.ok ? `All ${v.checked} originals intact` : `${v.problems.length} problem(s)`,
              v.ok ? "" : "error");
        render(data);
      } catch (e) { toast(e.message, "error"); btn.disabled = false; }
    });
    add(head, el("h1", null, `Recordings (${data.recordings.length})`), btn);
    frag.append(head);
    if (!data.recordings.length) {
      frag.append(el("p", "dim", "The archive is empty: add recordings with `archive add FILE`."));
    }
    const table = el("table", "recs");
    const tr = el("tr");
    for (const h of ["title", "recorded", "length", "lang", "speakers", "tags / source",
                     "verify status"]) tr.append(el("th", null, h));
    add(table, add(el("thead"), tr));
    const body = el("tbody");
    let inferred = false;
    for (const r of data.recordings) {
      const row = el("tr");
      row.dataset.id = r.id;
      const t = el("td", "title");
      add(t, link(r.link, r.title || r.filename, "rec-title"), el("br"),
          el("code", "sha", r.short_id), " ", el("span", "dim", r.filename), custody(r.custody));
      const date = el("td", "date", dateText(r));
      if (r.recorded && r.recorded_inferred) {
        inferred = true;
        date.title = `inferred from the ${r.recorded_basis === "tag" ? "container tags" : "file name"}`;
        date.classList.add("inferred");
      }
      const spk = el("td", "speakers", r.speakers.map(speakerName).join(", "));
      const meta = el("td", "tags");
      add(meta, (r.tags || []).map((x) => el("span", "tag", x)).reduce((f, x) => add(f, x, " "),
          document.createDocumentFragment()), r.source ? el("div", "dim", r.source) : null);
      add(row, t, date, el("td", "num", mss(r.duration)), el("td", null, r.language || "?"),
          spk, meta, status(r, data.verify));
      body.append(row);
    }
    table.append(body);
    frag.append(table);
    if (inferred) frag.append(el("p", "dim legend", "~ date inferred from the file name or container tags"));
    if (data.archive_custody && data.archive_custody.length) frag.append(custody(data.archive_custody));
    main.replaceChildren(frag);
  }

  api("/recordings.json").then(render).catch((e) => fail(main, e));
})();
