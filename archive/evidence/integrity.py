"""Integrity: verify, repair and explicit removal (recovery of interrupted writes is in
:mod:`archive.evidence.recovery`).

``verify`` takes the write lock (when the archive is writable) just long enough to finish
interrupted writes and to compare catalog, transcripts, index, custody log and the files on
disk; the originals are then re-hashed without the lock, so other processes can keep adding
while a large archive is checked.
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..errors import ArchiveError, BadReference
from .fsutil import atomic_write_text, fsync_dir, remove_tree, sha256_path
from ..models import Recording, Transcript
from . import digests
from .recovery import IndexFactory, finish_rm, recover, rollback_add
from .store import CustodyLog, Store

@dataclass
class Report:
    """What :func:`verify` found.

    Attributes:
        checked: Number of originals re-hashed.
        problems: One line per problem found.
        repaired: One line per problem fixed (with ``repair=True``).
        recovered: One line per interrupted write finished or undone before checking.
        unverifiable: One line per file with no digest in the custody log.
    """

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    #: Files that cannot be checked against tampering: the custody log holds no digest of
    #: them (archives made before it recorded digests). They are not reported as sound.
    unverifiable: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)

    #: rid -> digests an ``attest`` event would record (see :mod:`.digests`).
    missing_digests: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: Store, index_factory: IndexFactory, custody: CustodyLog, *,
           lock: AbstractContextManager | None = None,
           recover_fn: Callable[[], list[str]] | None = None,
           progress: Callable[[float, float], None] | None = None) -> Report:
    """Re-hash originals and check that catalog, transcripts, index and log agree.

    Args:
        store, index_factory, custody: The archive's parts.
        lock: The write lock, held while interrupted writes are recovered and the archive's
            parts are compared; None for a read-only archive (interrupted writes are then
            reported as problems).
        recover_fn: Recovery to run under the lock (default :func:`recover`).
        progress: Called with (bytes hashed, total bytes).
    """
    rep = Report()
    with lock if lock is not None else nullcontext():
        if lock is not None:
            rep.recovered = (recover_fn or (lambda: recover(store, index_factory, custody)))()
        recs = _check_parts(store, index_factory, custody, rep)
    total = sum(r.size for r in recs) or 1
    done = 0
    for r in recs:
        p = store.original_path(r)
        try:
            h = sha256_path(p)
        except FileNotFoundError:
            if store.has(r.id):  # else removed meanwhile by `archive rm`
                rep.problems.append(f"{r.short_id}: original missing ({p.name})")
            h = None
        except OSError as e:
            rep.problems.append(f"{r.short_id}: original unreadable ({e.strerror})")
            h = None
        if h is not None and h != r.id:
            rep.problems.append(f"{r.short_id}: original CHANGED (its SHA-256 is now "
                                f"{h[:12]}…, not its id)")
        rep.checked += 1
        done += r.size
        if progress:
            progress(done, total)
    return rep


def _check_parts(store: Store, index_factory: IndexFactory, custody: CustodyLog,
                 rep: Report) -> list[Recording]:
    """Every check but the re-hashing; returns the recordings whose originals to re-hash."""
    P = rep.problems
    if getattr(store, "marker_problem", None):
        P.append(store.marker_problem)
    recs, damaged = store.recordings_checked()
    P.extend(damaged)
    by_id = {r.id: r for r in recs}
    known = store.ids()  # damaged rows included: their files are not orphans
    events = custody.events()
    leds = digests.ledgers(events)
    found = digests.Findings()
    for p in sorted((store.root / "originals").glob("*/*")):
        sid = p.name.split(".")[0]
        if sid in known and sid not in by_id:
            continue
        if sid not in by_id or p != store.original_path(by_id[sid]):
            P.append(f"orphan original {p.relative_to(store.root)} (not in the catalog; add it "
                     "again with `archive add` to index it)")
    t_ids = store.transcript_ids()
    for r in recs:
        if r.id not in t_ids:
            P.append(f"{r.short_id}: transcript missing")
            digests.check(store, r, None, leds.get(r.id), found)
            continue
        try:
            t = store.read_transcript(r.id)
        except ArchiveError as e:
            P.append(str(e))
            digests.check(store, r, None, leds.get(r.id), found)
            continue
        digests.check(store, r, t, leds.get(r.id), found)
        P.extend(digests.check_speakers(store, t))
        P.extend(digests.check_marks(store, r.id, events))
        if t.recording.id != r.id:
            P.append(f"{r.short_id}: transcripts/{r.id[:10]}….json holds another recording")
        elif t.revision != store.revision(r.id):
            P.append(f"{r.short_id}: catalog says revision {store.revision(r.id)}, the "
                     f"transcript is revision {t.revision}")
        hist = store.history_dir(r.id) / f"r{t.revision:04d}.json"
        if not hist.exists() or hist.read_bytes() != store.transcript_path(r.id).read_bytes():
            P.append(f"{r.short_id}: history copy of revision {t.revision} missing or different")
        try:
            store.read_translation(r.id)
        except ArchiveError as e:
            P.append(str(e))
    for tid in sorted(t_ids - known):
        P.append(f"orphan transcript {tid[:10]} (not in the catalog)")
    try:
        idx_ids = index_factory().recording_ids()
    except ArchiveError as e:
        P.append(str(e))
        idx_ids = None
    if idx_ids is not None:
        for r in recs:
            if r.id not in idx_ids:
                P.append(f"{r.short_id}: not in the search index")
        for iid in sorted(idx_ids - known):
            P.append(f"stale index entries for {iid[:10]} (not in the catalog)")
    P.extend(found.problems)
    rep.unverifiable.extend(found.unverifiable)
    rep.missing_digests = found.missing
    P.extend(custody.check())
    added = {e.get("recording") for e in events if e.get("event") == "add"}
    for r in recs:
        if r.id not in added:
            P.append(f"{r.short_id}: the custody log has no record of its addition")
    for j in store.journal():
        if j.get("op") == "unknown":
            P.append(f"unreadable journal record journal/{Path(j['_path']).name} "
                     "(`archive verify --repair` moves it aside)")
            continue
        P.append(f"unfinished {j.get('op')} of {str(j.get('id'))[:10]} (interrupted; the next "
                 "command that writes to the archive finishes or undoes it)")
    return recs


def repair(store: Store, index_factory: IndexFactory, custody: CustodyLog,
           rebuild: Callable[[Iterable[Transcript], int], int]) -> list[str]:
    """Fix what the transcripts and history can fix: transcripts, catalog rows, the index.

    Never changes an original's bytes (an original found in quarantine while the catalog
    still lists it is moved back, after its hash is checked). Call with the write lock held.

    Args:
        store, index_factory, custody: The archive's parts.
        rebuild: Builds a fresh index from (transcripts, how many) and swaps it in.

    Returns:
        One line per fix.
    """
    fixed: list[str] = []
    fixed.extend(_repair_files(store, custody))
    for rid in sorted(store.ids()):
        fixed.extend(_repair_transcript(store, rid))
        fixed.extend(_repair_row(store, custody, rid))
        try:
            rec = store.get(rid)
        except ArchiveError:
            continue
        q = store.root / "quarantine" / f"{rid}{rec.ext}"
        dest = store.original_path(rec)
        if not dest.exists() and q.exists() and sha256_path(q) == rid:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(q, dest)
            fsync_dir(dest.parent)
            fixed.append(f"{rid[:10]}: original moved back from quarantine (SHA-256 checked)")
    cat = store.ids()
    for tid in sorted(store.transcript_ids() - cat):
        try:
            t = store.read_transcript(tid)
        except ArchiveError:
            continue
        if t.recording.id == tid and store.original_path(t.recording).exists():
            with store.transaction() as db:
                store.put_recording(db, t.recording, t.revision)
                store.put_speakers(db, t)
            fixed.append(f"{tid[:10]}: catalog row restored from its transcript")
    try:
        stale = index_factory().recording_ids() != store.ids()
    except ArchiveError:
        stale = True
    if stale:
        def transcripts():
            for rid in sorted(store.ids()):
                try:
                    yield store.read_transcript(rid)
                    tr = store.read_translation(rid)
                except ArchiveError:
                    continue
                if tr is not None:
                    yield tr
        rebuild(transcripts(), len(store.ids()))
        fixed.append("search index rebuilt from the transcripts")
    if fixed:
        custody.append("repair", None, fixes=fixed)
    fixed.extend(_attest(store, custody))
    return fixed


def _repair_files(store: Store, custody: CustodyLog) -> list[str]:
    """Rewrite a damaged archive.json; move unreadable journal records aside."""
    from .store import write_marker
    out = []
    if getattr(store, "marker_problem", None):
        write_marker(store.root)
        store.marker_problem = None
        out.append("archive.json rewritten")
    for j in store.journal():
        if j.get("op") == "unknown":
            p = Path(j["_path"])
            aside = p.parent / "damaged"
            aside.mkdir(exist_ok=True)
            os.replace(p, aside / p.name)
            fsync_dir(p.parent)
            out.append(f"unreadable journal record {p.name} moved to journal/damaged/")
    return out


def _repair_row(store: Store, custody: CustodyLog, rid: str) -> list[str]:
    """Restore a damaged or changed catalog row (and its speaker rows) from the transcript,
    when the transcript's copy of the row is the one the custody log recorded."""
    try:
        t = store.read_transcript(rid)
    except ArchiveError:
        return []
    led = digests.ledgers(custody.events(rid)).get(rid)
    out = []
    try:
        rec = store.get(rid)
        bad = led is not None and led.catalog is not None and \
            digests.record_digest(rec) != led.catalog
    except ArchiveError:
        rec, bad = None, True
    if bad and (led is None or led.catalog is None
                or digests.record_digest(t.recording) == led.catalog):
        with store.transaction() as db:
            store.put_recording(db, t.recording, t.revision)
            store.put_speakers(db, t)
        out.append(f"{rid[:10]}: catalog row restored from its transcript")
    elif digests.check_speakers(store, t):
        with store.transaction() as db:
            store.put_speakers(db, t)
        out.append(f"{rid[:10]}: speaker rows rewritten from the transcript")
    return out


def _attest(store: Store, custody: CustodyLog) -> list[str]:
    """Record the present digests of files the custody log has none for (one ``attest``
    event per recording, saying what it does and does not vouch for)."""
    recs, _ = store.recordings_checked()
    leds = digests.ledgers(custody.events())
    out = []
    for r in recs:
        found = digests.Findings()
        try:
            t = store.read_transcript(r.id)
        except ArchiveError:
            t = None
        digests.check(store, r, t, leds.get(r.id), found)
        miss = found.missing.get(r.id)
        if miss:
            custody.append(digests.ATTEST, r.id, note=digests.ATTEST_NOTE, **miss)
            n = len(miss.get("revisions", {})) + ("catalog_sha256" in miss) + \
                ("translation_sha256" in miss)
            out.append(f"{r.short_id}: recorded the digests of {n} file(s) made before the "
                       "custody log held digests (changes made before now cannot be seen)")
    return out


def _repair_transcript(store: Store, rid: str) -> list[str]:
    """Restore a missing or corrupt current transcript from history, and vice versa."""
    cur = store.transcript_path(rid)
    try:
        t = store.read_transcript(rid)
    except ArchiveError:
        t = None
    if t is None:
        for rev in sorted(store.revisions(rid), reverse=True):
            try:
                t = store.read_transcript(rid, rev)
            except ArchiveError:
                continue
            src = store.history_dir(rid) / f"r{rev:04d}.json"
            atomic_write_text(cur, src.read_text("utf-8"))
            with store.transaction() as db:
                db.execute("UPDATE recordings SET revision=? WHERE id=?", (rev, rid))
                store.put_speakers(db, t)
            return [f"{rid[:10]}: transcript restored from history (revision {rev})"]
        return []
    out = []
    if t.revision != store.revision(rid):
        with store.transaction() as db:
            db.execute("UPDATE recordings SET revision=? WHERE id=?", (t.revision, rid))
            store.put_speakers(db, t)
        out.append(f"{rid[:10]}: catalog revision set to the transcript's ({t.revision})")
    hist = store.history_dir(rid) / f"r{t.revision:04d}.json"
    if not hist.exists():
        hist.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(hist, cur.read_text("utf-8"))
        out.append(f"{rid[:10]}: history copy of revision {t.revision} restored")
    return out


def remove(store: Store, index_factory: IndexFactory, custody: CustodyLog,
           rec: Recording, *, reason: str, purge: bool = False) -> Path | None:
    """Take a recording out of catalog, transcripts and index; quarantine (or purge) the
    original; log the removal with its reason. Call with the write lock held.

    The removal is journalled: if it is interrupted, the next writer finishes it.

    Raises:
        BadReference: If no reason is given.
        IndexCorrupt: If the index cannot be opened (nothing is changed; run reindex).
    """
    if not reason or not reason.strip():
        raise BadReference("a removal needs a --reason")
    index_factory()  # fails before anything changes if the index is unreadable
    j = {"id": rec.id, "filename": rec.filename, "ext": rec.ext, "reason": reason,
         "purge": purge}
    path = store.journal_begin("rm", rec.id, filename=rec.filename, ext=rec.ext,
                               reason=reason, purge=purge)
    j["custody_seq"] = json.loads(path.read_text("utf-8"))["custody_seq"]
    q = finish_rm(store, index_factory, custody, j)
    store.journal_end(path)
    return q


__all__ = ["Report", "recover", "verify", "repair", "remove", "rollback_add", "remove_tree"]
