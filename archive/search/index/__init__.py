"""Full-text index of transcripts (whoosh), and search that returns exact word spans.

Public API: :class:`Index` (open or create, :meth:`~Index.writer` batches, :meth:`~Index.add`,
:meth:`~Index.remove`, :meth:`~Index.search`, :meth:`~Index.candidates`,
:meth:`~Index.recording_ids`, :meth:`~Index.doc_count`, :meth:`~Index.rebuild` and
:meth:`~Index.rebuild_at`), :class:`IndexWriter` and :class:`Candidate`.

The index is derived data: one whoosh document per segment, plus one per recording holding
its metadata. It can always be rebuilt from the transcripts. The package:

* :mod:`.writing`: the schema, the stored form of a segment (words, times, speaker) and
  word-bigram terms for phrases, :class:`IndexWriter`, and :func:`~.writing.rebuild_at`;
* :mod:`.plan`: a query tree compiled to a whoosh query matching a superset of the true
  matches; :func:`archive.search.query.locate` on the stored words is the judge and gives the
  exact span (NOT is applied there too: whoosh's AndNot skips documents);
* :mod:`.postings`: posting lists read whole blocks at a time, and intersections priced;
* :mod:`._whoosh`: the one module that imports whoosh (lazily, on first use).

Execution, by shape (whoosh walks postings one Python call at a time, which costs seconds
on the long lists of common words at 1M segments):

* short lists (at most :data:`EXACT_RANK` candidates): whoosh's exact BM25 top-k;
* an AND of long lists or of unions (a phrase's bigrams) expected to match fewer than
  :data:`BULK_MAX`: ranked by BM25 with tf = 1, which orders matches by segment length,
  so candidates from the rarest list are checked on their stored words shortest first.
  Each other list is intersected (whole posting blocks decoded, set operations) only
  when that costs less than the checks it saves, as measured while checking;
* denser queries (very common words): the first matches in index order are ranked.
  Such queries have no meaningful best hits anyway; filters or a phrase narrow them.
"""

from __future__ import annotations

import heapq
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence

from .. import query as Q
from ...errors import (ArchiveError, DiskFull, IndexCorrupt, IndexOutdated, LockTimeout,
                      QueryError)
from ...models import Hit, Transcript, Word
from .. import morph
from .forms import expand, languages, prune_stop_words
from .hits import hit as _stored_hit
from .plan import _fuzzy, _meta_match, _Plan, _restrict, _within
from .postings import (_expected, _key_of, _longest, _matching, _ranked_and,
                       _term_groups)
from .writing import (_SEP, _VERSION_FILE, BLOCK, CONTEXT, FORMAT, OLD_FORMATS,
                      READABLE_FORMATS, TAIL, IndexWriter, _bigram, _codec, _create, _recover,
                      _schema, _unpack_times, rebuild_at)

#: Queries matching more documents than this are ranked among their first matches only
#: (scoring every posting of a very frequent word costs seconds in pure Python).
EXACT_RANK = 2000
#: An AND of long lists expected to match fewer documents than this is ranked in full
#: (:func:`.postings._ranked_and`); denser ones rank their first matches.
BULK_MAX = 2000
#: Candidates checked, at most, for hits in other forms or alphabets once the exact forms
#: are in (a phrase of common words in other forms would otherwise check every segment
#: holding those words: ~30 us each).
FORMS_CHECKS = 200
_CORRUPT_HINT = "search index is damaged or outdated ({}); run `archive reindex`"


class _Spent(Exception):
    """The check budget of a search for other forms ran out."""


def _kept(hit: Hit | None, hits: list[Hit]) -> Hit | None:
    """Keep a ranked-AND hit in ``hits`` as it is found (so a spent budget loses none)."""
    if hit is not None:
        hits.append(hit)
    return hit


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
        from ._whoosh import wi
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
            found = (where / _VERSION_FILE).read_text().strip()
            if found in OLD_FORMATS:
                raise IndexOutdated(
                    f"the search index was written by an older version of archive ({found}; "
                    f"this one reads {FORMAT}): run `archive reindex` to rebuild it from the "
                    f"transcripts")
            if found != FORMAT and found not in READABLE_FORMATS:
                raise IndexCorrupt(_CORRUPT_HINT.format("unknown format"))
            self._ix = wi.open_dir(str(where))
            if set(self._ix.schema.names()) != set(_schema().names()):
                raise IndexCorrupt(_CORRUPT_HINT.format("unexpected fields"))
            self._open()
        except IndexCorrupt:
            raise
        except Exception as e:  # whoosh raises many types on damaged files
            raise IndexCorrupt(_CORRUPT_HINT.format(type(e).__name__)) from e

    #: A new empty index in a folder (:func:`.writing._create`).
    _create = staticmethod(_create)
    #: Finish or undo a rebuild that stopped half-way (:func:`.writing._recover`).
    _recover = staticmethod(_recover)

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
        from ._whoosh import LockError
        self._recover(self.path)
        try:
            w = self._ix.writer(limitmb=limitmb, procs=procs, timeout=timeout,
                                compound=False, codec=_codec())
        except LockError as e:
            raise LockTimeout("the search index is locked by another process") from e
        try:
            iw = IndexWriter(w)
            yield iw
            iw.finish()
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
        from ._whoosh import wi
        self._ix = wi.open_dir(str(self.path))
        return n

    #: Build a fresh index beside a folder, then swap it in (:func:`.writing.rebuild_at`).
    rebuild_at = staticmethod(rebuild_at)

    # --- reading ---

    @_guarded
    def doc_count(self) -> int:
        """Number of indexed segments (originals and translations)."""
        r = self._open().reader()
        return r.doc_count() - len(self._live(r, "kind", "r")) - len(self._live(r, "kind", "x"))

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
        """Find exact word spans matching a query (syntax in :mod:`archive.search.query`).

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
        """Exact forms first: the words as typed, then (if hits are missing) other forms and
        other alphabets, so that exact-form hits rank above the others."""
        s = self._open()
        r = s.reader()
        node = prune_stop_words(node, r)
        full = _Plan(node, r, limit)
        if not full.expanded or sort == "time":
            return self._run(s, node, full, limit, sort, translation, set())
        found: set[int] = set()
        hits = self._run(s, node, _Plan(node, r, limit, forms=False), limit, sort,
                         translation, found)
        if len(hits) < limit:
            more: list[Hit] = []
            try:
                self._run(s, node, full, limit - len(hits), sort, translation, found,
                          budget=FORMS_CHECKS, out=more)
            except _Spent:
                pass
            hits += more
        return hits

    def _run(self, s: Any, node: Q.Node, p: "_Plan", limit: int, sort: str,
             translation: bool | None, found: set[int], *, budget: int = 0,
             out: list[Hit] | None = None) -> list[Hit]:
        """Hits of one plan, skipping the documents in ``found`` (and adding its own); with a
        ``budget``, at most that many candidates are checked (then :class:`_Spent` is raised,
        the hits so far being in ``out``)."""
        r = s.reader()
        q = p.restrict(translation)
        checked = [0]
        hits: list[Hit] = out if out is not None else []

        def check(docnum: int, score: float) -> Hit | None:
            if docnum in found:
                return None
            checked[0] += 1
            if budget and checked[0] > budget:
                raise _Spent
            h = self._hit(node, p, s.stored_fields(docnum)["d"], score, translation)
            if h is not None:
                found.add(docnum)
            return h

        groups = _term_groups(q) if p.scored and sort == "score" else None
        # whoosh's own intersection steps through a long list one posting per Python call
        if groups and len(groups) > 1 and _longest(r, groups) > EXACT_RANK and \
                _expected(r, groups) < BULK_MAX:
            _ranked_and(s, groups, limit, lambda d, sc: _kept(check(d, sc), hits),
                        budget=budget)
            return hits
        seen: set[int] = set()
        for docs in self._batches(s, p, q, sort, limit, translation):
            for score, docnum in docs:
                if docnum in seen:
                    continue
                seen.add(docnum)
                hit = check(docnum, score)
                if hit is not None:
                    hits.append(hit)
                    if len(hits) >= limit:
                        return hits
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
        return _stored_hit(d, node, p, score, lambda f, rid, sp, lang: _meta_match(
            f, self._meta(rid), sp, lang), translation)

    def exact_only_languages(self) -> list[str]:
        """Languages in the index whose words are searched by exact forms only (no word
        forms are known for them)."""
        return sorted(x for x in languages(self._open().reader()) if not morph.supported(x))

    @_guarded
    def candidates(self, words: Sequence[str], *, limit: int = 50,
                   translation: bool | None = None) -> list[Candidate]:
        """Segments sharing the rarer words of a quote (fuzzily), best first.

        For quote search: the caller aligns the quote word by word against each
        candidate's words. Adjacent quote words also count as bigrams, which ranks the
        segment holding the quote's wording first.
        """
        from ._whoosh import Or, Term
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
            e = expand(r, t)  # the quote's word in another form, or another alphabet
            terms |= set(e.text)
            parts += [Term("text", x, boost=2.0 if x == t else 1.0) for x in terms]
            parts += [Term("lem", k) for k in e.lem]
        for x, y in zip(norms, norms[1:]):
            parts += [Term("bi", _bigram(x, y), boost=2.0),
                      Term("bi", _bigram(x, y, True), boost=2.0)]
        q = _restrict(Or(parts), translation)
        out = []
        for score, docnum in s.search(q, limit=limit * (2 if translation is False else 1)).top_n:
            kind, rid, seg, rev, lang, own, text, base, raw, spk, per_word, _, _, _, _ = \
                s.stored_fields(docnum)["d"]
            if (kind == "t" and translation is False) or len(out) >= limit:
                continue
            rid = rid.hex() if isinstance(rid, bytes) else rid
            ws = text.split(_SEP)
            times = _unpack_times(base, raw, len(ws))
            out.append(Candidate(rid, seg, rev, lang, kind == "t", float(score), tuple(
                Word(times[2 * i], times[2 * i + 1], w) for i, w in enumerate(ws)), own))
        return out


#: The names others import from here (cost constants live in :mod:`.postings`: patch them there).
__all__ = ["BLOCK", "BULK_MAX", "CONTEXT", "Candidate", "EXACT_RANK", "FORMAT", "Index",
           "IndexWriter", "TAIL", "_within"]
