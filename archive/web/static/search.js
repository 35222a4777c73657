// The search page: the query language of `archive search`, the same hits; the state lives in
// the URL (/search?q=… or /search?quote=…), so a search can be bookmarked.
"use strict";

(() => {
  const { el, add, link, hms, api, fail } = A;
  const main = document.getElementById("main");
  const params = new URLSearchParams(location.search);
  const q = params.get("q") || "";
  const quote = params.get("quote") || "";

  function form() {
    const f = el("form", "searchform");
    f.action = "/search";
    f.method = "get";
    const mode = quote ? "quote" : "q";
    const input = el("input");
    input.type = "search";
    input.name = mode;
    input.id = "query";
    input.value = quote || q;
    input.placeholder = '"cowards and traitors"  speaker:Commander  traitor~  recorded:2022-03..2022-04';
    input.setAttribute("aria-label", "query");
    const qt = el("label", "check");
    const cb = el("input");
    cb.type = "checkbox";
    cb.id = "quote-mode";
    cb.checked = !!quote;
    cb.addEventListener("change", () => { input.name = cb.checked ? "quote" : "q"; });
    add(qt, cb, " find a quote as published (tolerates misheard words)");
    const sort = el("select");
    sort.name = "sort";
    for (const s of ["score", "time"]) {
      const o = el("option", null, `sort by ${s}`);
      o.value = s;
      o.selected = (params.get("sort") || "score") === s;
      sort.append(o);
    }
    const tl = el("label", "check");
    const tb = el("input");
    tb.type = "checkbox";
    tb.name = "translation";
    tb.value = "1";
    tb.checked = params.get("translation") === "1";
    add(tl, tb, " English translations only");
    const go = el("button", null, "Search");
    go.type = "submit";
    add(f, add(el("div", "row"), input, go), add(el("div", "row opts"), qt, tl, sort));
    const help = el("details", "help");
    add(help, el("summary", null, "query language"),
        el("p", null, '"cowards and traitors" (phrase) · cowards AND traitors, OR, NOT · traitor* · ' +
           "traitor~ traitor~2 (fuzzy) · speaker:Commander recording:3fa4 title:call lang:uk " +
           'tag:leak source:"source K" recorded:2022-03..2022-04'));
    f.append(help);
    return f;
  }

  function hitRow(h, isQuote) {
    const li = el("li", "hit");
    li.dataset.ref = h.ref;
    const head = el("div", "hithead");
    add(head, el("span", "n", `${h.n}`), link(h.link, h.title, "hit-title"), " ",
        el("code", "sha", h.short_id), " ", el("span", "spk", h.speaker || ""), " ",
        link(h.link, `[${hms(h.start)}–${hms(h.end)}]`, "time"), " ",
        el("span", "score", isQuote && h.similarity !== null
          ? `${Math.round(h.similarity * 100)}% match` : `score ${h.score.toFixed(2)}`));
    const snip = el("p", "snippet");
    if (h.before) snip.append(el("span", "ctx", "…" + h.before + " "));
    snip.append(el("mark", null, h.text));
    if (h.after) snip.append(el("span", "ctx", " " + h.after + "…"));
    if (h.translation) snip.append(el("span", "tr", "  [en translation]"));
    add(li, head, snip);
    if (isQuote && h.differences && h.differences.length) {
      const d = el("p", "diffs");
      add(d, el("b", null, "differs: "));
      h.differences.forEach(([qw, tw], i) => {
        if (i) d.append("; ");
        add(d, el("del", null, qw || "∅"), " → ", el("ins", null, tw || "∅"));
      });
      li.append(d);
    }
    return li;
  }

  async function run() {
    const box = el("section", "results");
    main.replaceChildren(add(el("h1", null, "Search"), ), form(), box);
    if (!q && !quote) return;
    box.append(el("p", "loading", "Searching…"));
    const qs = new URLSearchParams();
    for (const k of ["q", "quote", "sort", "limit", "translation"]) {
      if (params.get(k)) qs.set(k, params.get(k));
    }
    try {
      const data = await api(`/search.json?${qs}`);
      const list = el("ol", "hits");
      for (const h of data.hits) list.append(hitRow(h, !!quote));
      box.replaceChildren(el("p", "count", data.hits.length ? `${data.hits.length} hit(s)` : "no hits"), list);
      if (data.retry_quote) {  // a phrase misses a misheard word; a quote search tolerates it
        const again = `/search?${new URLSearchParams({ quote: data.retry_quote })}`;
        box.append(add(el("p", "retry"), "The model may have misheard a word: ",
                       link(again, `find “${data.retry_quote}” as a quote`, "retry-quote")));
      }
    } catch (e) {
      fail(box, e);
    }
  }

  document.title = (quote || q) ? `${quote || q} · search · archive` : "Search · archive";
  run();
})();
