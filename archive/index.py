"""Full-text index of transcripts (whoosh), and search that returns exact word spans.

Public API: :class:`Index` (open or create, :meth:`~Index.writer` batches, :meth:`~Index.add`,
:meth:`~Index.remove`, :meth:`~Index.search`, :meth:`~Index.candidates`,
:meth:`~Index.recording_ids`, :meth:`~Index.doc_count`, :meth:`~Index.rebuild` and
:meth:`~Index.rebuild_at`), :class:`IndexWriter` and :class:`Candidate`.

The index is derived data: one whoosh document per segment, plus one per recording holding
its metadata. It can always be rebuilt from the transcripts. Design, and why:

* Searched fields are few and hold pre-normalised tokens (:func:`archive.query.normalize`):
  ``text`` (the segment's own words, scored), ``bi`` (word bigrams) and filter fields.
  No positions are indexed: each segment stores one compact tuple (words, millisecond
  offsets as a uint16 array, speaker, title), so a hit costs one stored-field read.
* Phrases use bigram shingles, so that a phrase of common words becomes an AND of a few
  much rarer terms. A bigram starting in the segment's own words and one lying wholly in
  the *tail* (the next :data:`TAIL` words after the segment) are distinct terms, so a
  phrase that runs into the next segment is found, once, in the segment where it starts.
  Bigram terms are CRC32 hash buckets (:data:`_BUCKETS`) to keep whoosh's term dictionary
  small; a collision only adds a candidate, which the stored words reject.
* The query tree (:mod:`archive.query`) compiles to a whoosh query matching a superset of
  the true matches; :func:`archive.query.locate` on the stored words is the judge and
  gives the exact span. NOT is applied there too (whoosh's AndNot skips documents).
* Execution, by shape (whoosh walks postings one Python call at a time, which costs
  seconds on the long lists of common words at 1M segments):
  - short lists (at most :data:`EXACT_RANK` candidates): whoosh's exact BM25 top-k;
  - an AND of long lists or of unions (a phrase's bigrams) expected to match fewer than
    :data:`BULK_MAX`: ranked by BM25 with tf = 1, which orders matches by segment length,
    so candidates from the rarest list are checked on their stored words shortest first.
    Each other list is intersected (whole posting blocks decoded, set operations) only
    when that costs less than the checks it saves, as measured while checking;
  - denser queries (very common words): the first matches in index order are ranked.
    Such queries have no meaningful best hits anyway; filters or a phrase narrow them.
  Filters whose posting lists cost more to intersect than checking the extra candidates
  (on the recording's cached metadata) are left to that check.
* Segments are written as separate files (not whoosh's compound file, which copies a
  whole sub-file into memory when first read: seconds for the stored fields of 1M).
"""

from __future__ import annotations

import heapq
import os
import re
import shutil
import sys
import zlib
from array import array
from bisect import bisect_right
from itertools import accumulate
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence

from . import query as Q
from .errors import ArchiveError, DiskFull, IndexCorrupt, LockTimeout, QueryError
from .models import Hit, Transcript, Word

#: Words of the following segments indexed with each segment, so phrases cross boundaries.
TAIL = 10
#: Queries matching more documents than this are ranked among their first matches only
#: (scoring every posting of a very frequent word costs seconds in pure Python).
EXACT_RANK = 2000
#: An AND of long lists expected to match fewer documents than this is ranked in full
#: (:meth:`Index._ranked_and`); denser ones rank their first matches.
BULK_MAX = 2000
#: Words of context on each side of a hit.
CONTEXT = 6
#: Version of the index layout; an index of another version must be rebuilt.
FORMAT = "archive-index 2"
_VERSION_FILE = "ARCHIVE_INDEX"
_SEP = "\x1f"
#: Hash buckets for word bigrams.
_BUCKETS = 1 << 18
_EXTRA_KEYS = {"title", "source", "recorded", "tags", "language", "speakers"}
_CORRUPT_HINT = "search index is damaged or outdated ({}); run `archive reindex`"


class Candidate(NamedTuple):
    """A segment that may hold a published quote, for word-by-word alignment.

    Attributes:
        recording_id: Full id of the recording.
        segment_id: Segment the window starts with.
        revision: Transcript revision indexed.
        language: Language of the text.
        translation: True for an English translation.
        score: Relevance of the segment to the quote's rarer words.
        words: The segment's words, then up to :data:`TAIL` following words.
        own: How many of ``words`` belong to the segment itself.
    """

    recording_id: str
    segment_id: int
    revision: int
    language: str | None
    translation: bool
    score: float
    words: tuple[Word, ...]
    own: int


def _schema() -> Any:
    from whoosh import analysis, columns, fields
    ws = analysis.SpaceSeparatedTokenizer()
    return fields.Schema(
        text=fields.TEXT(analyzer=ws, phrase=False), bi=fields.TEXT(analyzer=ws, phrase=False),
        spk=fields.KEYWORD(commas=True, scorable=False), rid=fields.ID(),
        title=fields.KEYWORD(scorable=False), src=fields.KEYWORD(scorable=False),
        tag=fields.KEYWORD(commas=True, scorable=False), lang=fields.ID(), kind=fields.ID(),
        rec=fields.KEYWORD(scorable=False),
        tk=fields.COLUMN(columns.NumericColumn("Q")), d=fields.STORED())


def _bigram(x: str, y: str, tail: bool = False) -> str:
    """The term for a word pair: a hash bucket, so the dictionary stays small.

    Collisions only add candidates, which the stored words then reject.
    """
    key = ("~" if tail else "") + x + "|" + y
    return f"{zlib.crc32(key.encode()) & (_BUCKETS - 1):05x}"


def _words_of(words: str) -> list[str]:
    return [w for w in (Q.normalize(x) for x in words.split()) if w]


def _pack_times(ws: Sequence[Word]) -> tuple[int, bytes]:
    ms = [int(round(t * 1000)) for w in ws for t in (w.start, w.end)]
    base = min(ms) if ms else 0
    off = [m - base for m in ms]
    return base, array("H" if max(off, default=0) < 65536 else "I", off).tobytes()


def _unpack_times(base: int, raw: bytes, n: int) -> list[float]:
    a = array("H" if len(raw) == 4 * n else "I")
    a.frombytes(raw)
    return [(base + x) / 1000 for x in a]


def _time_key(recorded: int | None, rid: str, seg: int) -> int:
    days = 0xFFFF
    if recorded:
        y, m, d = recorded // 10000, max(recorded // 100 % 100, 1), max(recorded % 100, 1)
        try:
            days = min(max(date(y, m, d).toordinal() - 693596, 0), 0xFFFE)
        except ValueError:
            pass
    head = int(rid[:8], 16) if re.fullmatch(r"[0-9a-fA-F]{8}", rid[:8]) else 0
    return (days << 48) | (head << 16) | min(seg, 0xFFFF)


class IndexWriter:
    """Batched changes to the index, committed together by :meth:`Index.writer`."""

    def __init__(self, w: Any, *, fresh: bool = False) -> None:
        self._w = w
        self._fresh = fresh
        self._seen: set[tuple[str, str]] = set()
        self._recs: set[str] = set()
        #: Segments added so far.
        self.segments = 0

    def remove(self, recording_id: str) -> None:
        """Remove a recording: its transcript, its translation and its metadata.

        Only what was committed before this writer is removed (call it before ``add``).
        """
        from whoosh.query import Or, Term
        self._w.delete_by_query(Or([Term("rid", recording_id),
                                    Term("rid", "r:" + recording_id)]))

    def add(self, transcript: Transcript, *, extra: Mapping[str, Any] | None = None) -> None:
        """Index a transcript (or translation), replacing the one of the same kind.

        Args:
            transcript: The revision to index. ``task == "translate"`` marks an English
                translation, indexed with language ``en`` and found with ``--translation``.
            extra: Catalog values that override the transcript's copy of the recording:
                ``title``, ``source``, ``recorded``, ``tags``, ``language``, and ``speakers``
                (label -> display name).
        """
        from whoosh.query import And, Term
        extra = dict(extra or {})
        if set(extra) - _EXTRA_KEYS:
            raise TypeError(f"unknown extra keys: {sorted(set(extra) - _EXTRA_KEYS)}")
        rec = transcript.recording
        rid = rec.id
        kind = "t" if transcript.task == "translate" else "o"
        if (rid, kind) in self._seen:
            raise ValueError(f"recording {rid[:10]} added twice in one writer")
        self._seen.add((rid, kind))
        if not self._fresh:
            self._w.delete_by_query(And([Term("rid", rid), Term("kind", kind)]))
        title = str(extra.get("title", rec.title or rec.filename) or "")
        source = extra.get("source", rec.source) or ""
        recorded = extra.get("recorded", rec.recorded)
        tags = tuple(extra.get("tags", rec.tags))
        lang = "en" if kind == "t" else (extra.get("language") or transcript.language
                                         or rec.language or "")
        names = {sp.label: sp.display for sp in transcript.speakers}
        names.update(extra.get("speakers", {}))
        rkey = Q.date_key(recorded)
        if rid not in self._recs:  # one metadata document per recording
            if not self._fresh:
                self._w.delete_by_query(Term("rid", "r:" + rid))
            self._recs.add(rid)
            self._w.add_document(rid="r:" + rid, kind="r",
                                 d=("r", rid, title, source, tags, recorded, rec.language))
        # Token lists go to whoosh as they are (no analyzer pass).
        common = dict(rid=[rid], kind=[kind], lang=[lang.lower()], title=_words_of(title),
                      src=_words_of(source),
                      tag=[t for t in (Q.normalize_tag(t) for t in tags) if t])
        stored_rid = bytes.fromhex(rid) if re.fullmatch(r"([0-9a-f]{2})+", rid) else rid
        if rkey is not None:
            y, m, d = rkey // 10000, rkey // 100 % 100, rkey % 100
            common["rec"] = ([f"y{y}"] + [f"m{y}{m:02d}"] * bool(m)
                             + [f"d{y}{m:02d}{d:02d}"] * bool(m and d))
        flat: list[Word] = []
        bounds: list[tuple[int, int]] = []
        for seg in transcript.segments:
            ws = seg.words or _synth_words(seg.text, seg.start, seg.end)
            bounds.append((len(flat), len(flat) + len(ws)))
            flat.extend(ws)
        norms = [Q.normalize(w.text) for w in flat]
        for seg, (a, b) in zip(transcript.segments, bounds):
            if a == b:
                continue
            label = seg.speaker or flat[a].speaker
            win = flat[a:b + TAIL]
            own_t = [t for t in norms[a:b] if t]
            toks = [(t, i < b) for i, t in enumerate(norms[a:b + TAIL], a) if t]
            bi = [_bigram(x, y, not own) for (x, own), (y, _) in zip(toks, toks[1:])]
            spk = {label or "", names.get(label or "", label or "")} if label else set()
            spk_tokens = [Q.normalize_tag(s) for s in spk] + _words_of(" ".join(spk))
            per_word = None
            if any(w.speaker and w.speaker != label for w in flat[a:b]):
                per_word = tuple(names.get(w.speaker, w.speaker) if w.speaker else None
                                 for w in flat[a:b])
            base, raw = _pack_times(win)
            before = " ".join(w.text for w in flat[max(0, a - CONTEXT):a])
            stored = (kind, stored_rid, seg.id, transcript.revision, lang or None, b - a,
                      _SEP.join(w.text for w in win), base, raw,
                      names.get(label, label) if label else None, per_word, before, title,
                      label)
            self.segments += 1
            self._w.add_document(text=own_t, bi=bi, spk=[t for t in set(spk_tokens) if t],
                                 tk=_time_key(rkey, rid, seg.id), d=stored, **common)


def _synth_words(text: str, start: float, end: float) -> tuple[Word, ...]:
    """Words for a segment that has none (timing spread evenly; approximate)."""
    parts = text.split()
    step = (end - start) / max(len(parts), 1)
    return tuple(Word(start + i * step, start + (i + 1) * step, p) for i, p in enumerate(parts))


def _guarded(fn: Callable) -> Callable:
    """Report whoosh's failures on damaged files as IndexCorrupt."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ArchiveError:
            raise
        except Exception as e:  # whoosh raises bare Exception, struct.error... on damage
            raise IndexCorrupt(_CORRUPT_HINT.format(type(e).__name__)) from e
    return wrapper


class Index:
    """The search index of an archive, in its own folder (``<archive>/index``).

    Args:
        path: The index folder. It is created (empty) when missing, unless ``create`` is
            False.

    Raises:
        IndexCorrupt: If the folder holds a damaged or outdated index.
    """

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path = Path(path)
        self._searcher: Any = None
        self._meta_cache: dict[str, tuple] = {}
        from whoosh import index as wi
        where = self.path
        old = self.path.with_name(self.path.name + ".old")
        if not where.exists() and old.is_dir():
            where = old  # a rebuild is between its two renames (or stopped there)
        elif not where.is_dir() or not any(where.iterdir()):
            if not create:
                raise IndexCorrupt(_CORRUPT_HINT.format("missing"))
            self._ix = self._create(where)
            return
        try:
            if (where / _VERSION_FILE).read_text().strip() != FORMAT:
                raise IndexCorrupt(_CORRUPT_HINT.format("unknown format"))
            self._ix = wi.open_dir(str(where))
            if set(self._ix.schema.names()) != set(_schema().names()):
                raise IndexCorrupt(_CORRUPT_HINT.format("unexpected fields"))
            self._open()
        except IndexCorrupt:
            raise
        except Exception as e:  # whoosh raises many types on damaged files
            raise IndexCorrupt(_CORRUPT_HINT.format(type(e).__name__)) from e

    @staticmethod
    def _create(path: Path) -> Any:
        from whoosh import index as wi
        path.mkdir(parents=True, exist_ok=True)
        ix = wi.create_in(str(path), _schema())
        (path / _VERSION_FILE).write_text(FORMAT + "\n")
        return ix

    @staticmethod
    def _recover(path: Path) -> None:
        """Finish or undo a rebuild that stopped half-way (call with the write lock)."""
        old, new = path.with_name(path.name + ".old"), path.with_name(path.name + ".new")
        if not path.exists() and old.is_dir():
            os.rename(old, path)
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(new, ignore_errors=True)

    def _open(self) -> Any:
        if self._searcher is None:
            self._searcher = self._ix.searcher()
            self._meta_cache.clear()
        return self._searcher

    def close(self) -> None:
        """Release open files."""
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    # --- writing ---

    @contextmanager
    def writer(self, *, limitmb: int = 128, procs: int = 1,
               timeout: float = 10.0) -> Iterator[IndexWriter]:
        """Batch changes; all are committed at the end of the block, or none on error.

        Raises:
            LockTimeout: If another process is writing the index.
            DiskFull: If the disk fills up during the commit.
        """
        from whoosh.index import LockError
        self._recover(self.path)
        try:
            w = self._ix.writer(limitmb=limitmb, procs=procs, timeout=timeout,
                                compound=False, codec=_codec())
        except LockError as e:
            raise LockTimeout("the search index is locked by another process") from e
        try:
            yield IndexWriter(w)
        except BaseException:
            w.cancel()
            raise
        try:
            w.commit()
        except OSError as e:
            if e.errno == 28:
                raise DiskFull("disk full while writing the search index") from e
            raise
        self.close()

    def add(self, transcript: Transcript, *, extra: Mapping[str, Any] | None = None) -> None:
        """Index one transcript now (see :meth:`IndexWriter.add`)."""
        with self.writer() as w:
            w.add(transcript, extra=extra)

    def remove(self, recording_id: str) -> None:
        """Remove one recording from the index now."""
        with self.writer() as w:
            w.remove(recording_id)

    def rebuild(self, transcripts: Iterable[Transcript],
                progress: Callable[[float, float], None] | None = None, **kw: Any) -> int:
        """Rebuild this index from transcripts (see :meth:`rebuild_at`)."""
        self.close()
        n = Index.rebuild_at(self.path, transcripts, progress=progress, **kw)
        from whoosh import index as wi
        self._ix = wi.open_dir(str(self.path))
        return n

    @staticmethod
    def rebuild_at(path: Path | str, transcripts: Iterable[Transcript], *,
                   total: int | None = None,
                   progress: Callable[[float, float], None] | None = None,
                   extras: Mapping[str, Mapping[str, Any]] | None = None,
                   limitmb: int = 256, procs: int = 1) -> int:
        """Build a fresh index in a sibling folder, then swap it in (even over a damaged one).

        Args:
            path: The index folder.
            transcripts: Every transcript to index (the latest revision of each, and
                translations); each recording at most once per kind.
            total: Number of transcripts, for progress (else ``len()`` when known, or 0).
            progress: Called with (transcripts done, total).
            extras: Per recording id, the ``extra`` values for :meth:`IndexWriter.add`.
            limitmb: Memory for whoosh's writer, per process.
            procs: Writer processes.

        Returns:
            The number of segments indexed.
        """
        path = Path(path)
        if total is None:
            total = len(transcripts) if hasattr(transcripts, "__len__") else 0
        new, old = path.with_name(path.name + ".new"), path.with_name(path.name + ".old")
        Index._recover(path)
        ix = Index._create(new)
        w = IndexWriter(ix.writer(limitmb=limitmb, procs=procs, compound=False,
                                  codec=_codec()), fresh=True)
        try:
            for i, t in enumerate(transcripts):
                w.add(t, extra=(extras or {}).get(t.recording.id))
                if progress:
                    progress(float(i + 1), float(total))
            w._w.commit()
        except BaseException as e:
            w._w.cancel()
            shutil.rmtree(new, ignore_errors=True)
            if isinstance(e, OSError) and e.errno == 28:
                raise DiskFull("disk full while rebuilding the search index") from e
            raise
        if path.exists():
            os.rename(path, old)
        os.rename(new, path)
        shutil.rmtree(old, ignore_errors=True)
        return w.segments

    # --- reading ---

    @_guarded
    def doc_count(self) -> int:
        """Number of indexed segments (originals and translations)."""
        r = self._open().reader()
        return r.doc_count() - len(self._live(r, "kind", "r"))

    @_guarded
    def recording_ids(self) -> set[str]:
        """Ids of the recordings in the index."""
        r = self._open().reader()
        return {t.decode()[2:] for t in r.expand_prefix("rid", "r:")
                if self._live(r, "rid", t.decode())}

    @staticmethod
    def _live(reader: Any, field: str, text: str) -> list[int]:
        """Documents holding a term, less deleted ones (the lexicon keeps them until merged)."""
        if (field, text) not in reader:
            return []
        ids = reader.postings(field, text).all_ids()
        return [d for d in ids if not reader.is_deleted(d)] if reader.has_deletions() \
            else list(ids)

    def _meta(self, rid: str) -> tuple:
        if rid not in self._meta_cache:
            s = self._open()
            docs = self._live(s.reader(), "rid", "r:" + rid)
            self._meta_cache[rid] = s.stored_fields(docs[0])["d"] if docs else (
                "r", rid, "", "", (), None, None)
        return self._meta_cache[rid]

    def _bare(self, query: str) -> Any:
        """The whoosh query a search compiles to (for the benchmark)."""
        return _Plan(Q.parse(query), self._open().reader()).query

    @_guarded
    def search(self, query: str, *, limit: int = 20, sort: str = "score",
               translation: bool | None = None) -> list[Hit]:
        """Find exact word spans matching a query (syntax in :mod:`archive.query`).

        Args:
            query: The query string.
            limit: Most hits returned (one per segment).
            sort: ``score`` (best first) or ``time`` (recording date, recording, start).
            translation: True for translations only, False for originals only, None both.

        Raises:
            QueryError: If the query is malformed.
            IndexCorrupt: If the index cannot be read.
        """
        if sort not in ("score", "time"):
            raise QueryError(f"sort must be 'score' or 'time', not {sort!r}")
        node = Q.parse(query)
        return self._search(node, limit, sort, translation) if limit > 0 else []

    def _search(self, node: Q.Node, limit: int, sort: str,
                translation: bool | None) -> list[Hit]:
        s = self._open()
        r = s.reader()
        p = _Plan(node, r, limit)
        q = p.restrict(translation)
        groups = _term_groups(q) if p.scored and sort == "score" else None
        # whoosh's own intersection steps through a long list one posting per Python call
        if groups and len(groups) > 1 and _longest(r, groups) > EXACT_RANK and \
                _expected(r, groups) < BULK_MAX:
            return self._ranked_and(s, node, p, groups, limit, translation)
        hits: list[Hit] = []
        seen: set[int] = set()
        for docs in self._batches(s, p, q, sort, limit, translation):
            for score, docnum in docs:
                if docnum in seen:
                    continue
                seen.add(docnum)
                hit = self._hit(node, p, s.stored_fields(docnum)["d"], score, translation)
                if hit is not None:
                    hits.append(hit)
                    if len(hits) >= limit:
                        return hits
        return hits

    def _ranked_and(self, s: Any, node: Q.Node, p: "_Plan", groups: list[list[tuple[str, str]]],
                    limit: int, translation: bool | None) -> list[Hit]:
        """The best hits of an AND of term groups, found by checking candidates best first.

        Segments are short, so BM25 with tf = 1 is used: every match then gets the same
        idf, and matches rank by segment length alone. Candidates (the rarest group's
        documents, with filters applied) are checked on their stored words in that order,
        so the hits equal those of ranking the whole intersection. Each other word group
        is intersected only when that costs less than checking the candidates it would
        remove, judged by the share of checks that found a hit so far (a common word in
        a sixth of all segments has over a thousand posting blocks; a phrase's bigrams may
        prune almost nothing, or almost everything).
        """
        from math import log
        r = s.reader()
        n_all = max(r.doc_count_all(), 1)
        ranked = sorted(((sum(r.doc_frequency(f, t) for f, t in g), g) for g in groups),
                        key=lambda x: x[0])
        idf = sum(log(1 + (n_all - df + 0.5) / (df + 0.5))
                  for df, g in ranked if g[0][0] in ("text", "bi"))
        head = ranked[0][1]
        later = [g for _, g in ranked[1:] if g[0][0] in ("text", "bi")]
        pools = [_Pool(leaf, base, head, [g for _, g in ranked[1:] if g not in later], idf)
                 for leaf, base in r.leaf_readers()]
        order = sorted(((score, i, code) for i, pool in enumerate(pools)
                        for code, score in pool.scores()), key=lambda x: (-x[0], x[1]))
        hits: list[Hit] = []
        checked, step = 0, min(max(limit, 10), 50)
        for score, i, code in order:
            pool = pools[i]
            for d in pool.bucket(code):
                if d not in pool.docs:
                    continue  # removed by a group intersected meanwhile
                pool.docs.discard(d)
                checked += 1
                hit = self._hit(node, p, s.stored_fields(pool.base + d)["d"], score,
                                translation)
                if hit is not None:
                    hits.append(hit)
                    if len(hits) >= limit:
                        return hits
                if later and checked % step == 0:
                    rate = (len(hits) + 1) / (checked + 2)
                    left = sum(len(x.docs) for x in pools)
                    check = _CHECK * min(left, (limit - len(hits)) / rate)
                    if sum(x.probe_cost(later[0]) for x in pools) < check:
                        g = later.pop(0)
                        for x in pools:
                            x.docs = _probe(x.leaf, g, x.docs) if x.docs else x.docs
        return hits

    @staticmethod
    def _batches(s: Any, p: "_Plan", q: Any, sort: str, limit: int,
                 translation: bool | None) -> Iterator[list[tuple[float, int]]]:
        """Candidate (score, docnum) lists, best first, until the matches run out.

        Candidates are a superset of the hits (phrases and NOT are confirmed later), so
        more batches are asked for while hits are missing.
        """
        r = s.reader()
        n = limit if p.exact and translation is not False else limit * 3 + 10
        while True:
            if sort == "time":
                docs = [(0.0, d) for d in heapq.nsmallest(n, _matching(s, q),
                                                          key=_key_of(s))]
            elif p.scored and q.estimate_size(r) <= EXACT_RANK:
                docs = [(sc, d) for sc, d in s.search(q, limit=n).top_n]
            else:  # very frequent, or unscored: rank the first matches in index order
                docs = sorted(p.first_ids(s, q, max(n, 10 * limit, 300), p.scored),
                              key=lambda x: -x[0])
            yield docs
            if len(docs) < n:
                return
            n *= 4

    def _hit(self, node: Q.Node, p: "_Plan", d: tuple, score: float,
             translation: bool | None = None) -> Hit | None:
        if d[0] == "r" or (d[0] == "t" and translation is False):
            return None
        kind, rid, seg, rev, lang, own, text, base, raw, spk, per_word, before, title, \
            label = d
        rid = rid.hex() if isinstance(rid, bytes) else rid
        words = text.split(_SEP)
        norms = [Q.normalize(w) for w in words]
        idx = [i for i, t in enumerate(norms) if t]
        toks = [norms[i] for i in idx]
        n_own = sum(1 for i in idx if i < own)
        span = Q.locate(node, toks, n_own, p.expand,
                        lambda f: _meta_match(f, self._meta(rid), (label, spk), lang),
                        p.known)
        if span is None:
            return None
        a, b = (idx[span[0]], idx[span[1]]) if span else (0, own - 1)
        times = _unpack_times(base, raw, len(words))
        ctx = (before.split() + words[:a])[-CONTEXT:]
        speaker = (per_word[a] if per_word else None) or spk
        return Hit(recording_id=rid, title=title, speaker=speaker, start=times[2 * a],
                   end=times[2 * b + 1], text=" ".join(words[a:b + 1]), before=" ".join(ctx),
                   after=" ".join(words[b + 1:b + 1 + CONTEXT]), score=float(score),
                   segment_id=seg, revision=rev, language=lang, translation=kind == "t")

    @_guarded
    def candidates(self, words: Sequence[str], *, limit: int = 50,
                   translation: bool | None = None) -> list[Candidate]:
        """Segments sharing the rarer words of a quote (fuzzily), best first.

        For quote search: the caller aligns the quote word by word against each
        candidate's words. Adjacent quote words also count as bigrams, which ranks the
        segment holding the quote's wording first.
        """
        from whoosh.query import Or, Term
        s = self._open()
        r = s.reader()
        norms = [t for t in (Q.normalize(w) for w in words) if t]
        if not norms:
            return []
        rare = sorted(set(norms), key=lambda t: (r.doc_frequency("text", t), -len(t)))[:8]
        parts = []
        for t in rare:
            dist = 0 if len(t) < 4 else 1 if len(t) < 8 else 2
            terms = _fuzzy(r, t, dist) if dist else {t}
            parts += [Term("text", x, boost=2.0 if x == t else 1.0) for x in terms]
        for x, y in zip(norms, norms[1:]):
            parts += [Term("bi", _bigram(x, y), boost=2.0),
                      Term("bi", _bigram(x, y, True), boost=2.0)]
        q = _restrict(Or(parts), translation)
        out = []
        for score, docnum in s.search(q, limit=limit * (2 if translation is False else 1)).top_n:
            kind, rid, seg, rev, lang, own, text, base, raw, spk, per_word, _, _, _ = \
                s.stored_fields(docnum)["d"]
            if (kind == "t" and translation is False) or len(out) >= limit:
                continue
            rid = rid.hex() if isinstance(rid, bytes) else rid
            ws = text.split(_SEP)
            times = _unpack_times(base, raw, len(ws))
            out.append(Candidate(rid, seg, rev, lang, kind == "t", float(score), tuple(
                Word(times[2 * i], times[2 * i + 1], w) for i, w in enumerate(ws)), own))
        return out


def _meta_match(f: Q.Filter | Q.DateRange, meta: tuple,
                speaker: tuple[str | None, str | None], lang: str | None) -> bool:
    """Evaluate a filter in Python, for filters the index could not apply by itself."""
    from fnmatch import fnmatchcase
    _, rid, title, source, tags, recorded, _lang = meta
    if isinstance(f, Q.DateRange):
        return Q.date_in(Q.date_key(recorded), f)
    if f.field == "recording":
        return rid.startswith(f.values[0])
    tokens = {"title": _words_of(title), "source": _words_of(source or ""),
              "tag": [Q.normalize_tag(t) for t in tags], "lang": [(lang or "").lower()],
              "speaker": [Q.normalize_tag(x or "") for x in speaker]
              + _words_of(" ".join(x or "" for x in speaker))}[f.field]
    return all(any(fnmatchcase(t, v) for t in tokens) for v in f.values)


def _fuzzy(reader: Any, word: str, dist: int) -> set[str]:
    """Indexed words within ``dist`` edits (transpositions count one) sharing the first letter.

    A plain scan of the words under the first letter with a cut-off edit distance is ~4x
    faster than whoosh's Python automaton (``terms_within``), with the same result.
    """
    out = set()
    for b in reader.expand_prefix("text", word[:1]):
        w = b.decode()
        if abs(len(w) - len(word)) <= dist and _within(word, w, dist):
            out.add(w)
    return out


def _within(a: str, b: str, k: int) -> bool:
    """Whether the (restricted Damerau-Levenshtein) distance of a and b is at most k."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > k:
            return False
        prev2, prev = prev, cur
    return prev[-1] <= k


def _date_terms(reader: Any, lo: int, hi: int) -> list[str]:
    """Year, month and day terms covering recording dates lo..hi (yyyymmdd, 00 = unknown)."""
    out = []
    for year in sorted(int(t[1:]) for t in (b.decode() for b in reader.expand_prefix("rec", "y"))):
        y = year * 10000
        if lo <= y and y + 9999 <= hi:
            out.append(f"y{year}")
            continue
        for m in range(1, 13):
            ym = y + m * 100
            if lo <= ym and ym + 99 <= hi:
                out.append(f"m{ym // 100}")
            elif lo <= ym + 31 and ym + 1 <= hi:
                out += [f"d{ym + d}" for d in range(1, 32) if lo <= ym + d <= hi]
    return [t for t in out if reader.doc_frequency("rec", t)]


def _term_groups(q: Any) -> list[list[tuple[str, str]]] | None:
    """The query as an AND of OR-groups of terms, or None if it has another shape."""
    from whoosh.query import And, Or, Term
    groups: list[list[tuple[str, str]]] = []
    for sub in q.subqueries if isinstance(q, And) else [q]:
        if isinstance(sub, And):
            inner = _term_groups(sub)
            if inner is None:
                return None
            groups += inner
        elif isinstance(sub, Term):
            groups.append([(sub.fieldname, sub.text)])
        elif isinstance(sub, Or) and len(sub.subqueries) <= 64 and all(
                isinstance(x, Term) for x in sub.subqueries):
            groups.append([(x.fieldname, x.text) for x in sub.subqueries])
        else:
            return None
    return groups


def _longest(reader: Any, groups: list[list[tuple[str, str]]]) -> int:
    return max(sum(reader.doc_frequency(f, t) for f, t in g) for g in groups)


def _expected(reader: Any, groups: list[list[tuple[str, str]]]) -> float:
    """Matches expected for an AND of term groups if the terms were independent."""
    n = max(reader.doc_count_all(), 1)
    out = float(n)
    for g in groups:
        out *= min(sum(reader.doc_frequency(f, t) for f, t in g), n) / n
    return out


def _postings(leaf: Any, field: str, text: str) -> list[int]:
    """All live document numbers of a term in one segment, read a block at a time.

    whoosh's matcher decodes ids one Python call at a time; reading each block's delta
    array and summing it with itertools is ~20x faster for long lists. Falls back to the
    public API when the matcher is not whoosh 3's block matcher.
    """
    if (field, text) not in leaf:
        return []
    m = leaf.postings(field, text)
    out: list[int] = []
    if all(hasattr(m, a) for a in ("_read_data", "_next_block", "_byteids", "_lastblock")):
        while True:
            if m._data is None:
                m._read_data()
            ids = m._data[0]
            out.extend(ids if m._byteids else accumulate(ids))
            if m._lastblock:
                break
            m._next_block()
    else:
        out = list(m.all_ids())
    if leaf.has_deletions():
        out = [d for d in out if not leaf.is_deleted(d)]
    return out


class _Pool:
    """The candidates of a ranked AND in one index segment, bucketed by length code."""

    def __init__(self, leaf: Any, base: int, head: list[tuple[str, str]],
                 filters: list[list[tuple[str, str]]], idf: float) -> None:
        self.leaf, self.base = leaf, base
        docs = {d for f, t in head for d in _postings(leaf, f, t)}
        for g in filters:  # always applied: locate() takes filters as known
            if docs:
                docs = _probe(leaf, g, docs)
        self.docs = docs
        codes = _length_codes(leaf)
        get = codes.__getitem__ if codes is not None else \
            lambda d: length_code(leaf.doc_field_length(d, "text"))
        self._buckets: dict[int, list[int]] = {}
        for d in docs:
            self._buckets.setdefault(get(d), []).append(d)
        avg = max(leaf.field_length("text") / max(leaf.doc_count_all(), 1), 1.0)
        from whoosh.util.numeric import byte_to_length
        self._idf, self._avg, self._len = idf, avg, byte_to_length

    def scores(self) -> list[tuple[int, float]]:
        """(length code, score) of every bucket."""
        return [(c, self._idf * 2.2 / (1 + 1.2 * (0.25 + 0.75 * self._len(c) / self._avg)))
                for c in self._buckets]

    def bucket(self, code: int) -> list[int]:
        """The documents of one length code, in index order."""
        return sorted(self._buckets[code])

    def probe_cost(self, group: list[tuple[str, str]]) -> float:
        """Estimated seconds to intersect the remaining candidates with a group."""
        return _probe_cost([self.leaf.doc_frequency(f, t) for f, t in group], len(self.docs))


def length_code(n: int) -> int:
    """whoosh's one-byte code of a field length."""
    from whoosh.util.numeric import length_to_byte
    return length_to_byte(n)


def _length_codes(leaf: Any) -> bytes | None:
    """The one-byte length code of every segment's text, read whole once per reader
    (whoosh reads it a value a call); None when the codec is not whoosh 3's."""
    codes = getattr(leaf, "_archive_lengths", None)
    if codes is None:
        try:
            from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
            col = leaf._perdoc._cached_reader(_lenfield("text"), LENGTHS_COLUMN)
            codes = bytes(col._dbfile.get(col._basepos, col._count))
            codes += bytes(max(0, leaf.doc_count_all() - len(codes)))
        except Exception:  # another codec or whoosh version: use the public API
            codes = b""
        leaf._archive_lengths = codes
    return codes or None


#: Postings per block. whoosh's default, 128, makes the Python per-block work (a pickled
#: header, a zlib call, an unpickle) dominate the reading of long lists: 1024 halves the
#: time to decode a list of 176k postings.
BLOCK = 1024
#: Rough costs on the reference machine, seconds: walking past one posting block, decoding
#: one posting, and checking one candidate's stored words (:meth:`Index._hit`).
_BLOCK_WALK, _POSTING, _CHECK = 3e-6, 60e-9, 30e-6


def _codec() -> Any:
    from whoosh.codec.whoosh3 import W3Codec
    return W3Codec(blocklimit=BLOCK)


def _probe_cost(dfs: Sequence[int], candidates: int) -> float:
    """Estimated seconds to intersect ``candidates`` documents with lists of these lengths
    (every block is walked; those holding a candidate are decoded)."""
    blocks = [-(-df // BLOCK) for df in dfs]
    return sum(b * _BLOCK_WALK + min(candidates, b) * min(df, BLOCK) * _POSTING
               for b, df in zip(blocks, dfs))


def _intersect(leaf: Any, groups: list[list[tuple[str, str]]],
               dfs: list[int] | None = None) -> set[int]:
    """Documents of one segment in every group (word groups in most documents are skipped:
    locate() checks the words anyway)."""
    dfs = dfs or [sum(leaf.doc_frequency(f, t) for f, t in g) for g in groups]
    docs: set[int] | None = None
    for df, g in sorted(zip(dfs, groups)):
        if docs is None:
            docs = {d for f, t in g for d in _postings(leaf, f, t)}
        elif df > 0.3 * leaf.doc_count_all() and g[0][0] in ("text", "bi"):
            continue  # would remove few candidates, at the cost of reading a long list
        else:
            docs = _probe(leaf, g, docs)
        if not docs:
            break
    return docs or set()


def _matching(s: Any, q: Any) -> Iterable[int]:
    """Every document matching a query (a superset for phrases), in any order."""
    groups = _term_groups(q)
    if not groups:
        return s.docs_for_query(q)
    return [base + d for leaf, base in s.reader().leaf_readers()
            for d in _intersect(leaf, groups)]


def _key_of(s: Any) -> Callable[[int], int]:
    keys = _time_keys(s)
    bases = [base for _, base in s.reader().leaf_readers()]
    if len(keys) == 1:
        return keys[0].__getitem__
    return lambda d: keys[bisect_right(bases, d) - 1][d - bases[bisect_right(bases, d) - 1]]


def _time_keys(searcher: Any) -> list[Any]:
    """The ``tk`` column of every segment, read whole (whoosh reads it a value a call)."""
    out = []
    for leaf, _ in searcher.reader().leaf_readers():
        col = leaf.column_reader("tk", translate=False)
        try:
            a = array("Q")
            a.frombytes(col._dbfile.get(col._basepos, col._count * 8))
            if sys.byteorder == "little":
                a.byteswap()
            a.extend([0] * max(0, leaf.doc_count_all() - len(a)))
        except AttributeError:
            a = [col[i] for i in range(leaf.doc_count_all())]
        out.append(a)
    return out


def _probe(leaf: Any, group: list[tuple[str, str]], docs: set[int]) -> set[int]:
    """The documents of ``docs`` that hold a term of ``group``.

    Walks the posting blocks and decodes only those that can hold a candidate (whoosh's
    own skip_to steps through a block one posting per Python call).
    """
    keep: set[int] = set()
    order = sorted(docs)
    for f, t in group:
        if (f, t) not in leaf:
            continue
        m = leaf.postings(f, t)
        if not all(hasattr(m, a) for a in ("_read_data", "_next_block", "_maxid", "_lastblock")):
            keep |= docs & set(m.all_ids())
            continue
        i, n = 0, len(order)
        while i < n:
            j = bisect_right(order, m._maxid, i)
            if j > i:  # candidates fall in this block: decode it
                if m._data is None:
                    m._read_data()
                ids = m._data[0]
                keep.update(set(ids if m._byteids else accumulate(ids)).intersection(
                    order[i:j]))
                i = j
            if m._lastblock:
                break
            m._next_block()
    if leaf.has_deletions():
        keep = {d for d in keep if not leaf.is_deleted(d)}
    return keep


def _restrict(q: Any, translation: bool | None) -> Any:
    """Translations only: AND the (few) translation documents; originals: see _hit()."""
    from whoosh.query import And, Term
    return And([q, Term("kind", "t")]) if translation else q


class _Plan:
    """A query tree compiled to a whoosh query matching a superset of its true matches."""

    def __init__(self, node: Q.Node, reader: Any, limit: int = 20) -> None:
        self.reader, self.limit = reader, limit
        self.expand: dict[Q.Term, frozenset[str]] = {}
        self.known: dict[int, bool] = {}
        self.exact = True
        self.scored = any(isinstance(x, (Q.Term, Q.Phrase))
                          for x in Q.leaves(node, negated=False))
        for f in Q.top_filters(node):
            self.known[id(f)] = True
        self.dropped: set[int] = set()
        if isinstance(node, Q.And):
            self._drop_loose_filters(node)
        q, exact = self.comp(node)
        self.exact = exact
        from whoosh.query import Every
        self.query = q if q is not None else Every()

    def _drop_loose_filters(self, node: Q.And) -> None:
        """Leave filters to locate() (checked on the recording's metadata, which is cached,
        or the segment's stored speaker) when intersecting their long posting lists would
        cost more than checking the extra candidates: a filter passing a tenth of 1M
        segments has ~800 posting blocks, while ``limit`` hits take ~10 checks per hit."""
        n_docs = max(self.reader.doc_count(), 1)
        df = self.reader.doc_frequency
        # candidates the other items leave: a plain word's list bounds them
        words = [df("text", x.text) for x in node.items
                 if isinstance(x, Q.Term) and not (x.fuzzy or x.wildcard)]
        cands = min(words, default=n_docs)

        def loose(f: Q.Filter | Q.DateRange) -> bool:
            q = self.filt(f)
            size = q.estimate_size(self.reader)
            if size > 0.2 * n_docs:
                return True
            lists = _term_groups(q) or [[("", "")]]
            probe = _probe_cost([df(*t) if t[0] else size for g in lists for t in g], cands)
            # checks cost more than their estimate: the candidate lists are re-read as
            # the search widens, so a filter is dropped only when it is clearly cheaper
            return 3 * _CHECK * min(cands, self.limit * n_docs / max(size, 1)) < probe

        loose = [x for x in node.items if isinstance(x, (Q.Filter, Q.DateRange)) and loose(x)]
        if any(not isinstance(x, Q.Not) and id(x) not in {id(y) for y in loose}
               for x in node.items):
            for x in loose:
                self.dropped.add(id(x))
                self.known.pop(id(x), None)

    def restrict(self, translation: bool | None) -> Any:
        return _restrict(self.query, translation)

    @staticmethod
    def first_ids(searcher: Any, q: Any, n: int, scored: bool) -> list[tuple[float, int]]:
        """(score, docnum) of the first ``n`` matching documents in index order."""
        out: list[tuple[float, int]] = []
        for sub, offset in searcher.leaf_searchers():
            m = q.matcher(sub, sub.context(weighting=searcher.weighting if scored else None))
            deleted = sub.reader().is_deleted
            while m.is_active() and len(out) < n:
                if not deleted(m.id()):
                    out.append((m.score() if scored else 0.0, offset + m.id()))
                m.next()
        return out

    def words(self, t: Q.Term) -> list[str]:
        """The indexed words a term stands for."""
        if t.fuzzy:
            self.expand[t] = frozenset(_fuzzy(self.reader, t.text, t.fuzzy) | {t.text})
        elif t.wildcard:
            pat = re.compile(re.escape(t.text).replace(r"\*", ".*").replace(r"\?", ".") + "$")
            lit = re.split(r"[*?]", t.text)[0]
            found = [w for w in (b.decode() for b in self.reader.expand_prefix("text", lit))
                     if pat.match(w)]
            if len(found) > 5000:
                raise QueryError(f"wildcard {t.text!r} matches too many words; be more specific")
            self.expand[t] = frozenset(found)
        else:
            return [t.text]
        return sorted(self.expand[t])

    def term(self, t: Q.Term) -> Any:
        from whoosh.query import NullQuery, Or, Term
        ws = self.words(t)
        if len(ws) == 1:
            return Term("text", ws[0])
        return Or([Term("text", w, boost=1.0 if w == t.text else 0.8) for w in ws]) \
            if ws else NullQuery

    def phrase(self, ph: Q.Phrase) -> Any:
        from whoosh.query import And, Or, Term
        plain = [not (t.fuzzy or t.wildcard) for t in ph.terms]
        pairs = [(i, ph.terms[i].text, ph.terms[i + 1].text)
                 for i in range(len(ph.terms) - 1) if plain[i] and plain[i + 1]]
        if not pairs:
            return And([self.term(t) for t in ph.terms])
        df = self.reader.doc_frequency

        def cost(item: tuple[int, str, str]) -> int:
            i, x, y = item
            return df("bi", _bigram(x, y)) + (df("bi", _bigram(x, y, True)) if i else 0)

        first = [pairs[0]] if pairs[0][0] == 0 else []
        chosen = first + sorted([p for p in pairs if p not in first], key=cost)[:3]
        for t in ph.terms:
            if t.fuzzy or t.wildcard:
                self.words(t)
        qs = [Term("bi", _bigram(x, y)) if i == 0 else
              Or([Term("bi", _bigram(x, y)), Term("bi", _bigram(x, y, True))])
              for i, x, y in chosen]
        head = ph.terms[0]
        if plain[0] and df("text", head.text) < min(cost(p) for p in chosen):
            qs.append(Term("text", head.text))  # the first word is in the segment itself
        return And(qs) if len(qs) > 1 else qs[0]

    def filt(self, f: Q.Filter | Q.DateRange) -> Any:
        from whoosh.query import And, NullQuery, Or, Prefix, Term, Wildcard
        if isinstance(f, Q.DateRange):
            terms = _date_terms(self.reader, f.lo, f.hi)
            return Or([Term("rec", t) for t in terms]) if terms else NullQuery
        if f.field == "recording":
            return Prefix("rid", f.values[0])
        field = {"speaker": "spk", "title": "title", "source": "src", "tag": "tag",
                 "lang": "lang"}[f.field]
        qs = [Wildcard(field, v) if ("*" in v or "?" in v) else Term(field, v)
              for v in f.values]
        return qs[0] if len(qs) == 1 else And(qs)

    def comp(self, n: Q.Node) -> tuple[Any, bool]:
        """(whoosh query or None for "anything", whether it is exact)."""
        from whoosh.query import And, Or
        if isinstance(n, Q.Term):
            return self.term(n), True
        if isinstance(n, Q.Phrase):
            return self.phrase(n), False
        if isinstance(n, (Q.Filter, Q.DateRange)):
            return self.filt(n), True
        if isinstance(n, Q.Not):  # left to locate(): whoosh's AndNot misses documents
            return None, False
        parts = [(x, *self.comp(x)) for x in n.items if id(x) not in self.dropped]
        exact = all(e for _, _, e in parts) and not any(id(x) in self.dropped
                                                        for x in n.items)
        if isinstance(n, Q.Or):
            if any(q is None for _, q, _ in parts):
                return None, False
            return Or([q for _, q, _ in parts]), exact
        # Filters are plain AND members: unscorable fields add the same weight to every
        # match (whoosh's Require trips an assertion with block-quality skipping).
        qs = [q for _, q, _ in parts if q is not None]
        q = And(qs) if len(qs) > 1 else qs[0] if qs else None
        return q, exact
