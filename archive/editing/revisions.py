"""Changes made to an archive after a recording was added: edits written as new revisions,
passages verified by ear, and the archive-wide names vocabulary.

Each function takes the archive's parts (store, index factory, custody log) and does its
expensive work (decoding, alignment) before taking the write lock, like ``add``.
:class:`archive.library.Archive` exposes them; the pure text and timing logic is in
:mod:`archive.editing.corrections`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from . import corrections as C
from ..errors import ArchiveError, EditConflict, EditError, ModelError, UsageError
from ..evidence.fsutil import atomic_write_text
from ..models import Segment, Speaker, Transcript, Word
from ..evidence.store import CustodyLog, Store, now_iso, os_user
from ..timecode import mss

if TYPE_CHECKING:  # numpy is loaded only by an edit that re-times words on the audio
    import numpy as np

Recover = Callable[[], list[str]] | None
OnWait = Callable[[str], None] | None

#: The archive-wide names vocabulary, passed to Whisper as hotwords by ``archive add``.
VOCABULARY = "vocabulary.txt"
_VOCAB_HEADER = ("# Names and terms favoured by speech recognition (Whisper hotwords) in\n"
                 "# every `archive add`. One per line (or comma-separated). Keep the list\n"
                 "# short: Whisper reads at most about 220 tokens of it (roughly 60 names).\n")


# ------------------------------------------------------------------ audio for re-timing
class _Audio:
    """The original's samples and the speech model, loaded only if an edit needs them."""

    def __init__(self, store: Store, t: Transcript) -> None:
        self.store, self.t = store, t
        self._pcm: np.ndarray | None | bool = False
        self._levels: dict[int, np.ndarray] = {}
        self._model: Any = False

    def samples(self, channel: int | None) -> np.ndarray | None:
        from ..speech import audio
        if self._pcm is False:
            try:
                stereo = any(s.channel is not None for s in self.t.segments)
                self._pcm = audio.decode_original(
                    self.store.original_path(self.t.recording), self.t.recording,
                    stereo=stereo)
            except (ArchiveError, OSError):
                self._pcm = None  # re-time by proportion only
        import numpy as np
        pcm = self._pcm
        if pcm is None or not isinstance(pcm, np.ndarray):
            return None
        if pcm.ndim == 2:
            return pcm[channel] if channel is not None and channel < len(pcm) else pcm.mean(0)
        return pcm

    def model(self) -> Any:
        from ..speech import transcribe
        if self._model is False:
            self._model = None
            for name in dict.fromkeys([self.t.model or None, None]):
                try:
                    self._model = transcribe.resolve_model(name)
                    break
                except ModelError:
                    continue
        return self._model

    def align(self, seg: Segment, tokens: Sequence[str]) -> Sequence[Word] | None:
        from ..speech import transcribe
        x = self.samples(seg.channel)
        if x is None or seg.end - seg.start + 2 * C.ALIGN_PAD > transcribe.ALIGN_WINDOW:
            return None
        model = self.model()
        if model is None:
            return None
        try:
            return transcribe.align_text(x, model, " ".join(tokens),
                                         start=max(0.0, seg.start - C.ALIGN_PAD),
                                         end=seg.end + C.ALIGN_PAD, language=self.t.language)
        except (ModelError, UsageError):
            return None

    def refine(self, seg: Segment, words: list[Word]) -> list[Word]:
        from ..speech.refine import frame_levels, refine_words
        channel = seg.channel
        x = self.samples(channel)
        if x is None or not words:
            return words
        key = -1 if channel is None else channel
        if key not in self._levels:
            self._levels[key] = frame_levels(x)
        run = Segment(0, words[0].start, words[-1].end, "", words=tuple(words))
        return list(refine_words(x, [run], levels=self._levels[key])[0].words)


# ------------------------------------------------------------------ edits
def edit(store: Store, index_factory: Callable[[], Any], custody: CustodyLog, rid: str,
         text: str, *, base_revision: int | None = None, note: str | None = None,
         align: bool = True, recover: Recover = None, on_wait: OnWait = None) -> C.EditResult:
    """Apply an edited text (see :func:`archive.editing.corrections.edit_text`) as a new revision.

    Raises:
        EditError: If the text cannot be applied, or the transcript changed meanwhile.
    """
    t = store.read_transcript(rid)
    if base_revision is not None and base_revision != t.revision:
        raise EditConflict(f"{rid[:10]} is at revision {t.revision}, not {base_revision}: it was "
                        "edited meanwhile; run the edit again")
    src = _Audio(store, t) if align else None
    res = C.apply_edit(t, text, aligner=src.align if src else None,
                       refine=src.refine if src else None)
    if res is None:
        return C.EditResult(rid, t.revision, t.revision, False)
    segs, speakers, stats = res
    note_text = C.summary(stats, note)
    stale = C.overlaps(marks(store, rid), stats["spans"])

    diffs: list[str] = []

    def details(new: Transcript) -> dict[str, Any]:
        diffs.append(C.diff(t, new))  # needs the new revision number, known under the lock
        return {"words_changed": stats["words_changed"],
                "speakers_changed": stats["speakers_changed"],
                "segments_removed": stats["segments_removed"], "timing": stats["timing"],
                "diff": diffs[-1]}

    new = write_revision(store, index_factory, custody, t, segs, speakers, event="edit",
                         note=note_text, details=details, recover=recover, on_wait=on_wait)
    rev, d = new.revision, diffs[-1]
    return C.EditResult(rid, t.revision, rev, True, stats["words_changed"],
                        stats["speakers_changed"], stats["segments_removed"], stats["timing"],
                        note_text, d, stale)


def reindex(store: Store, index_factory: Callable[[], Any], t: Transcript,
             translation: Transcript | None = None) -> None:
    tr = translation if translation is not None else store.read_translation(t.recording.id)
    with index_factory().writer() as w:
        w.remove(t.recording.id)
        w.add(t)
        if tr is not None:
            w.add(tr)


def history(store: Store, rid: str) -> list[C.RevisionInfo]:
    """Every revision of a recording's transcript, oldest first."""
    revs = store.revisions(rid)
    ts = ((store.read_transcript(rid, r) for r in revs) if revs
          else iter([store.read_transcript(rid)]))
    return C.history(ts, store.revision(rid))


def revision_diff(store: Store, rid: str, a: int, b: int) -> str:
    """Unified diff between two revisions of a transcript."""
    return C.diff(store.read_transcript(rid, a), store.read_transcript(rid, b))


# ------------------------------------------------------------------ verified passages
def marks(store: Store, rid: str) -> list[C.Mark]:
    """The passages of a recording verified by ear, in time order."""
    rows = store.connect().execute(
        "SELECT id, start, end, revision, note, by, at FROM verified WHERE recording_id=? "
        "ORDER BY start, id", (rid,)).fetchall()
    return [C.Mark(r[0], rid, r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]


def _span_words(t: Transcript, start: float, end: float) -> str:
    return " ".join(w.text for w in t.words if w.end > start + 0.02 and w.start < end - 0.02)


def mark(store: Store, custody: CustodyLog, rid: str, start: float, end: float, *,
         note: str | None = None, recover: Recover = None, on_wait: OnWait = None) -> C.Mark:
    """Record that [start, end] was checked by ear against the current revision.

    Raises:
        UsageError: If the span is outside the recording or holds no words.
    """
    t = store.read_transcript(rid)
    dur = t.recording.duration
    if start < 0 or start >= dur:
        raise UsageError(f"{mss(start)} is outside the recording ({mss(dur)} long)")
    end = min(end, dur)
    words = _span_words(t, start, end)
    if not words:
        raise UsageError(f"no words between {mss(start)} and {mss(end)}: nothing to verify")
    note = " ".join(note.split()) if note and note.strip() else None
    with store.write_lock(on_wait=on_wait):
        if recover is not None:
            recover()
        t = store.read_transcript(rid)
        by, at = os_user(), now_iso()
        event = {"start": round(start, 3), "end": round(end, 3), "revision": t.revision,
                 "words": _span_words(t, start, end), "note": note}
        journal = store.journal_begin("mark", rid, by=by, at_=at, event=event)
        with store.transaction() as db:
            cur = db.execute(
                "INSERT INTO verified (recording_id, start, end, revision, note, by, at) "
                "VALUES (?,?,?,?,?,?,?)", (rid, event["start"], event["end"], t.revision,
                                           note, by, at))
            mid = int(cur.lastrowid or 0)
        custody.append("verify-passage", rid, **event)
        store.journal_end(journal)
    return C.Mark(mid, rid, round(start, 3), round(end, 3), t.revision, note, by, at)


def unmark(store: Store, custody: CustodyLog, rid: str, start: float, end: float, *,
           recover: Recover = None, on_wait: OnWait = None) -> list[C.Mark]:
    """Withdraw verification of [start, end]; the parts of marks outside it stay verified.

    Returns:
        The marks that were withdrawn (wholly or in part).

    Raises:
        UsageError: If no verified passage overlaps the span.
    """
    with store.write_lock(on_wait=on_wait):
        if recover is not None:
            recover()
        hit = [m for m in marks(store, rid) if m.start < end and m.end > start]
        if not hit:
            raise UsageError(f"no verified passage overlaps {mss(start)}–{mss(end)}")
        kept = [[a, b] for m in hit
                for a, b in ((m.start, min(m.end, start)), (max(m.start, end), m.end))
                if b - a >= 0.1]
        event = {"start": round(start, 3), "end": round(end, 3),
                 "withdrawn": [[m.start, m.end, m.revision, m.by] for m in hit],
                 "still_verified": kept}
        journal = store.journal_begin("unmark", rid, ids=[m.id for m in hit], event=event)
        with store.transaction() as db:
            for m in hit:
                db.execute("DELETE FROM verified WHERE id=?", (m.id,))
                for a, b in ((m.start, min(m.end, start)), (max(m.start, end), m.end)):
                    if b - a >= 0.1:
                        db.execute("INSERT INTO verified (recording_id, start, end, revision, "
                                   "note, by, at) VALUES (?,?,?,?,?,?,?)",
                                   (rid, a, b, m.revision, m.note, m.by, m.at))
        custody.append("unverify-passage", rid, **event)
        store.journal_end(journal)
    return hit


# ------------------------------------------------------------------ names vocabulary
def vocabulary_path(store: Store) -> Path:
    return store.root / VOCABULARY


def _terms(line: str) -> list[str]:
    if line.lstrip().startswith("#"):
        return []
    return [" ".join(w.split()) for w in line.split(",") if w.strip()]


def read_vocabulary(store: Store) -> list[str]:
    """The archive's vocabulary terms, in file order."""
    try:
        text = vocabulary_path(store).read_text("utf-8")
    except FileNotFoundError:
        return []
    return [w for line in text.splitlines() for w in _terms(line)]


def _check_term(term: str) -> str:
    t = " ".join(term.split())
    if not t or "," in t or t.startswith("#") or len(t) > 80:
        raise UsageError(f"not a vocabulary term: {term!r} (a name or term, no commas, "
                         "up to 80 characters)")
    return t


def change_vocabulary(store: Store, *, add: Iterable[str] = (), remove: Iterable[str] = (),
                      on_wait: OnWait = None) -> tuple[list[str], list[str]]:
    """Add and remove vocabulary terms (case-insensitive; comments and order kept).

    Returns:
        (terms added, terms removed); terms already present or absent are left out.

    Raises:
        UsageError: For a malformed term.
    """
    add_t = list(dict.fromkeys(_check_term(x) for x in add))
    gone = {_check_term(x).casefold() for x in remove}
    path = vocabulary_path(store)
    with store.write_lock(on_wait=on_wait):
        try:
            lines = path.read_text("utf-8").splitlines()
        except FileNotFoundError:
            lines = _VOCAB_HEADER.splitlines()
        removed: list[str] = []
        out: list[str] = []
        for line in lines:
            terms = _terms(line)
            if terms and any(x.casefold() in gone for x in terms):
                removed += [x for x in terms if x.casefold() in gone]
                rest = [x for x in terms if x.casefold() not in gone]
                if rest:
                    out.append(", ".join(rest))
            else:
                out.append(line)
        have = {w.casefold() for line in out for w in _terms(line)}
        added = [x for x in add_t if x.casefold() not in have]
        out += added
        if added or removed:
            atomic_write_text(path, "\n".join(out) + "\n")
    return added, removed


# ------------------------------------------------------------------ generic revisions
def write_revision(store: Store, index_factory: Callable[[], Any], custody: CustodyLog,
                   base: Transcript, segments: Sequence[Segment], speakers: Sequence[Speaker],
                   *, event: str, note: str,
                   details: dict[str, Any] | Callable[[Transcript], dict[str, Any]],
                   recover: Recover = None, on_wait: OnWait = None) -> Transcript:
    """Write ``base`` changed to new segments/speakers as the next revision: transcript,
    catalog (revision and speaker rows), index and a custody event, journalled.
    ``details`` go into the custody event; a callable gets the new revision (e.g. for a diff).

    Raises:
        EditError: If the transcript changed since ``base`` was read.
    """
    rid = base.recording.id
    with store.write_lock(on_wait=on_wait):
        if recover is not None:
            recover()
        cur = store.read_transcript(rid)
        if cur.revision != base.revision:
            raise EditConflict(f"{rid[:10]} was changed by someone else meanwhile (now revision "
                            f"{cur.revision}); run the command again")
        rev = max([*store.revisions(rid), base.revision]) + 1
        new = base.with_segments(tuple(segments), revision=rev, speakers=tuple(speakers),
                                 created=now_iso(), author=os_user(), note=note)
        journal = store.journal_begin("edit", rid, revision=rev)
        store.write_transcript(new)
        with store.transaction() as db:
            db.execute("UPDATE recordings SET revision=? WHERE id=?", (rev, rid))
            store.put_speakers(db, new)
        reindex(store, index_factory, new)
        extra = details(new) if callable(details) else details
        custody.append(event, rid, revision=rev, base_revision=base.revision, note=note,
                       sha256=C.transcript_sha256(new), **extra)
        store.journal_end(journal)
    return new
