"""Writing the index: its schema, the stored form of a segment, and :class:`IndexWriter`.

The index is derived data: one whoosh document per segment, plus one per recording holding
its metadata. It can always be rebuilt from the transcripts (:func:`rebuild_at`). Layout,
and why:

* Searched fields are few and hold pre-normalised tokens (:func:`archive.search.query.normalize`):
  ``text`` (the segment's own words, scored), ``bi`` (word bigrams) and filter fields.
  No positions are indexed, nor a count with each posting (word fields use
  :class:`._whoosh.Counted`: a block of ids alone decodes ~3x faster): each segment stores
  one compact tuple (words, millisecond offsets as a uint16 array, speaker, title), so a
  hit costs one stored-field read.
* Phrases use bigram shingles, so that a phrase of common words becomes an AND of a few
  much rarer terms. A bigram starting in the segment's own words and one lying wholly in
  the *tail* (the next :data:`TAIL` words after the segment) are distinct terms, so a
  phrase that runs into the next segment is found, once, in the segment where it starts.
  Bigram terms are CRC32 hash buckets (:data:`_BUCKETS`) to keep whoosh's term dictionary
  small; a collision only adds a candidate, which the stored words reject.
* Segments are written as separate files (not whoosh's compound file, which copies a
  whole sub-file into memory when first read: seconds for the stored fields of 1M), in
  posting blocks of :data:`BLOCK`.
"""

from __future__ import annotations

import os
import re
import shutil
import zlib
from array import array
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .. import query as Q
from . import forms
from .. import morph
from ..stopwords import guess_language
from ...errors import DiskFull
from ...evidence.fsutil import finish_swap
from ...models import Transcript, Word

#: Words of the following segments indexed with each segment, so phrases cross boundaries.
TAIL = 10
#: Words of context on each side of a hit.
CONTEXT = 6
#: Version of the index layout; an index of another (not readable) version must be rebuilt.
FORMAT = "archive-index 4"
#: Earlier formats this version reads and adds to as they are. 3 differs only in storing a
#: count with each word posting, so that a word said twice in a segment ranks it higher.
READABLE_FORMATS = ("archive-index 3",)
#: Formats an index may have been written in by earlier versions (told apart from damage).
OLD_FORMATS = ("archive-index 1", "archive-index 2")
_VERSION_FILE = "ARCHIVE_INDEX"
_SEP = "\x1f"
#: Hash buckets for word bigrams.
_BUCKETS = 1 << 18
_EXTRA_KEYS = {"title", "source", "recorded", "tags", "language", "speakers"}
#: Postings per block. whoosh's default, 128, makes the Python per-block work (a pickled
#: header, a zlib call, an unpickle) dominate the reading of long lists: 1024 halves the
#: time to decode a list of 176k postings.
BLOCK = 1024


def _schema() -> Any:
    from ._whoosh import Counted, analysis, columns, fields
    ws = analysis.SpaceSeparatedTokenizer()

    def words() -> Any:  # scored by length, without per-posting counts (see Counted)
        f = fields.TEXT(analyzer=ws, phrase=False)
        f.format = Counted(field_boost=f.format.field_boost)
        return f

    return fields.Schema(
        text=words(), bi=words(),
        spk=fields.KEYWORD(commas=True, scorable=False), rid=fields.ID(),
        title=fields.KEYWORD(scorable=False), src=fields.KEYWORD(scorable=False),
        tag=fields.KEYWORD(commas=True, scorable=False), lang=fields.ID(), kind=fields.ID(),
        rec=fields.KEYWORD(scorable=False),
        tk=fields.COLUMN(columns.NumericColumn("Q")), d=fields.STORED(),
        lem=words(), lx=fields.KEYWORD(scorable=False))


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
        self._lexicon = forms.Lexicon(None if fresh else w.reader)
        self._seen: set[tuple[str, str]] = set()
        self._recs: set[str] = set()
        #: Segments added so far.
        self.segments = 0

    def remove(self, recording_id: str) -> None:
        """Remove a recording: its transcript, its translation and its metadata.

        Only what was committed before this writer is removed (call it before ``add``).
        """
        from ._whoosh import Or, Term
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
        from ._whoosh import And, Term
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
        # each word's keys in its own segment's language (a recording may switch language)
        keys: list[tuple[str, ...]] = []
        langs = [(seg.language or guess_language([n for n in norms[a:b] if n], morph.base(lang))
                  if kind == "o" else lang).lower() for seg, (a, b) in zip(transcript.segments,
                                                                          bounds)]
        for (a, b), slang in zip(bounds, langs):
            for n in norms[a:b]:
                k = forms.word_keys(slang, n)
                keys.append(k)
                if n:
                    self._lexicon.note(slang, n, k)
        for seg, (a, b), slang in zip(transcript.segments, bounds, langs):
            if a == b:
                continue
            lem = sorted({morph.tagged(slang, k) for i in range(a, b) for k in keys[i]
                          if k != norms[i]})
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
            stored = (kind, stored_rid, seg.id, transcript.revision, slang or None, b - a,
                      _SEP.join(w.text for w in win), base, raw,
                      names.get(label, label) if label else None, per_word, before, title,
                      label, forms.encode_keys(norms[a:b + TAIL], keys[a:b + TAIL]))
            self.segments += 1
            doc = dict(common, lang=sorted({lang.lower(), slang})) if slang != lang.lower() \
                else common
            self._w.add_document(text=own_t, bi=bi, spk=[t for t in set(spk_tokens) if t],
                                 lem=lem, tk=_time_key(rkey, rid, seg.id), d=stored, **doc)

    def finish(self) -> None:
        """Add the lexicon entries of this batch (call once, before the commit)."""
        for chunk in self._lexicon.documents():
            self._w.add_document(kind="x", lx=chunk, d=("x",))
        self._lexicon.entries = []


def _synth_words(text: str, start: float, end: float) -> tuple[Word, ...]:
    """Words for a segment that has none (timing spread evenly; approximate)."""
    parts = text.split()
    step = (end - start) / max(len(parts), 1)
    return tuple(Word(start + i * step, start + (i + 1) * step, p) for i, p in enumerate(parts))


def _codec() -> Any:
    from ._whoosh import W3Codec
    return W3Codec(blocklimit=BLOCK)


def _create(path: Path) -> Any:
    """A new empty index in a folder, marked with this layout's :data:`FORMAT`."""
    from ._whoosh import wi
    path.mkdir(parents=True, exist_ok=True)
    ix = wi.create_in(str(path), _schema())
    (path / _VERSION_FILE).write_text(FORMAT + "\n")
    return ix


#: Finish or undo a rebuild that stopped half-way (call with the write lock).
_recover = finish_swap


def rebuild_at(path: Path | str, transcripts: Iterable[Transcript], *,
               total: int | None = None,
               progress: Callable[[float, float], None] | None = None,
               extras: Mapping[str, Mapping[str, Any]] | None = None,
               limitmb: int = 256, procs: int = 1, multisegment: bool = False) -> int:
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
        multisegment: With ``procs > 1``, keep one segment per process instead of
            merging them in this one (the merge is serial; searches read all segments).

    Returns:
        The number of segments indexed.
    """
    path = Path(path)
    if total is None:
        total = len(transcripts) if hasattr(transcripts, "__len__") else 0
    new, old = path.with_name(path.name + ".new"), path.with_name(path.name + ".old")
    _recover(path)
    ix = _create(new)
    more = {"multisegment": True} if procs > 1 and multisegment else {}
    w = IndexWriter(ix.writer(limitmb=limitmb, procs=procs, compound=False,
                              codec=_codec(), **more), fresh=True)
    try:
        for i, t in enumerate(transcripts):
            w.add(t, extra=(extras or {}).get(t.recording.id))
            if progress:
                progress(float(i + 1), float(total))
        w.finish()
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

