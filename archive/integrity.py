"""Integrity: verify, repair, recovery of interrupted writes, and explicit removal."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import ArchiveError
from .fsutil import remove_tree, sha256_path
from .models import Recording
from .store import CustodyLog, Store


@dataclass
class Report:
    """What :func:`verify` found.

    Attributes:
        checked: Number of originals re-hashed.
        problems: One line per problem found.
        repaired: One line per problem fixed (with ``repair=True``).
    """

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def recover(store: Store, index_factory: Callable[[], Any], custody: CustodyLog) -> list[str]:
    """Finish or roll back writes interrupted by a crash. Call with the write lock held.

    Returns:
        One line per action taken, for the user to see.
    """
    actions: list[str] = []
    for d in store.sweep():
        actions.append(f"removed staging folder {d.name} of an interrupted process")
    if custody.repair_tail():
        actions.append("dropped a half-written last line of custody.log")
    for j in store.journal():
        rid, op = j.get("id", ""), j.get("op")
        path = Path(j["_path"])
        if op == "add" and rid:
            if store.has(rid) and store.transcript_path(rid).exists():
                t = store.read_transcript(rid)
                index = index_factory()
                with index.writer() as w:
                    w.remove(rid)
                    w.add(t)
                    tr = store.read_translation(rid)
                    if tr is not None:
                        w.add(tr)
                if not any(e.get("event") == "add" for e in custody.events(rid)):
                    custody.append("add", rid, filename=j.get("filename"), recovered=True)
                actions.append(f"finished the interrupted add of {rid[:10]}")
            else:
                _rollback_add(store, index_factory, rid)
                actions.append(f"rolled back the interrupted add of {rid[:10]} "
                               f"({j.get('filename', '?')}); add it again")
        store.journal_end(path)
    return actions


def _rollback_add(store: Store, index_factory: Callable[[], Any], rid: str) -> None:
    with store.transaction() as db:
        store.delete_recording(db, rid)
    store.remove_derived(rid)
    for p in (store.root / "originals" / rid[:2]).glob(f"{rid}*"):
        p.chmod(0o644)
        p.unlink()
    try:
        with index_factory().writer() as w:
            w.remove(rid)
    except ArchiveError:
        pass


def verify(store: Store, index_factory: Callable[[], Any], custody: CustodyLog, *,
           repair: bool = False,
           progress: Callable[[float, float], None] | None = None) -> Report:
    """Re-hash originals and check that catalog, transcripts, index and log agree."""
    rep = Report()
    recs = store.recordings()
    by_id = {r.id: r for r in recs}
    total = sum(r.size for r in recs) or 1
    done = 0
    for r in recs:
        p = store.original_path(r)
        if not p.exists():
            rep.problems.append(f"{r.short_id}: original missing ({p.name})")
        else:
            h = sha256_path(p)
            if h != r.id:
                rep.problems.append(f"{r.short_id}: original CHANGED (sha256 now {h[:12]}…)")
        rep.checked += 1
        done += r.size
        if progress:
            progress(done, total)
    stored = {}
    for p in (store.root / "originals").glob("*/*"):
        stored[p.name.split(".")[0]] = p
    for sid, p in stored.items():
        if sid not in by_id:
            rep.problems.append(f"orphan original {p.relative_to(store.root)} (not in catalog)")
    t_ids = store.transcript_ids()
    for r in recs:
        if r.id not in t_ids:
            rep.problems.append(f"{r.short_id}: transcript missing")
        else:
            try:
                store.read_transcript(r.id)
            except ArchiveError as e:
                rep.problems.append(str(e))
    for tid in t_ids - set(by_id):
        rep.problems.append(f"orphan transcript {tid[:10]} (not in catalog)")
    try:
        idx_ids = index_factory().recording_ids()
    except ArchiveError as e:
        rep.problems.append(str(e))
        idx_ids = None
    if idx_ids is not None:
        for r in recs:
            if r.id not in idx_ids:
                rep.problems.append(f"{r.short_id}: not in the search index")
        for iid in idx_ids - set(by_id):
            rep.problems.append(f"stale index entries for {iid[:10]} (not in catalog)")
    rep.problems.extend(custody.check())
    for j in store.journal():
        rep.problems.append(f"unfinished {j.get('op')} of {str(j.get('id'))[:10]} "
                            "(interrupted; the next write finishes or rolls it back)")
    return rep


def remove(store: Store, index_factory: Callable[[], Any], custody: CustodyLog,
           rec: Recording, *, reason: str, purge: bool = False) -> Path | None:
    """Take a recording out of catalog, transcripts and index; quarantine (or purge) the
    original; log the removal. Call with the write lock held."""
    journal = store.journal_begin("rm", rec.id, reason=reason)
    with index_factory().writer() as w:
        w.remove(rec.id)
    with store.transaction() as db:
        store.delete_recording(db, rec.id)
    store.remove_derived(rec.id)
    q = store.quarantine(rec)
    if purge and q is not None:
        q.chmod(0o644)
        q.unlink()
        q = None
    custody.append("rm", rec.id, reason=reason, purged=purge, filename=rec.filename,
                   quarantined_as=str(q.relative_to(store.root)) if q else None)
    store.journal_end(journal)
    return q


__all__ = ["Report", "recover", "verify", "remove", "remove_tree"]


def repair(store: Store, index_factory: Callable[[], Any], custody: CustodyLog) -> list[str]:
    """Fix what the transcripts can fix: catalog rows and the index. Never touches originals.

    Call with the write lock held. Returns one line per fix.
    """
    from .index import Index

    fixed: list[str] = []
    cat = store.ids()
    for tid in sorted(store.transcript_ids() - cat):
        try:
            t = store.read_transcript(tid)
        except ArchiveError:
            continue
        if store.original_path(t.recording).exists():
            with store.transaction() as db:
                store.put_recording(db, t.recording, t.revision)
                store.put_speakers(db, t)
            fixed.append(f"{tid[:10]}: catalog row restored from its transcript")
    try:
        idx_ids = index_factory().recording_ids()
        stale = idx_ids != store.ids()
    except ArchiveError:
        stale = True
    if stale:
        def transcripts():
            for rid in sorted(store.ids()):
                try:
                    yield store.read_transcript(rid)
                except ArchiveError:
                    continue
                tr = store.read_translation(rid)
                if tr is not None:
                    yield tr
        Index.rebuild_at(store.index_dir, transcripts(), total=len(store.ids()))
        fixed.append("search index rebuilt from the transcripts")
    if fixed:
        custody.append("repair", None, fixes=fixed)
    return fixed
