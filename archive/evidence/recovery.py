"""Recovery of writes that a crash (or a kill) interrupted.

Every multi-step write records its intent in ``journal/<op>-<id>.json`` before its first step
and deletes the record after its last (see :meth:`archive.evidence.store.Store.journal_begin`). The next
process that takes the write lock (``add``, ``rm``, ``edit``, ``verify``...) calls
:func:`recover`, which finishes or undoes each one and says what it did. The rules:

* ``add``: the catalog row is the point of no return. With the row and a readable transcript
  the add is *finished* (index entry, custody event); without, it is *undone* (the stored copy
  of the original is deleted unless it was there before the add began, then transcript,
  history, translation and any index entry). The user's own file is never touched.
* ``rm``: always *finished* (the user asked for it, with a reason).
* ``edit``: *finished* if the current transcript is the journalled revision (catalog
  revision and speakers, index, custody event); else *undone* (the unfinished revision's
  history file is deleted; the transcript stays at the revision before the edit).
* ``translate``: *finished*: the index follows ``translations/``, and a custody event is
  written if the translation on disk is not the one last logged.
* ``mark`` / ``unmark`` (passages verified by ear): *finished* (the custody event) if the
  catalog change was committed; otherwise nothing happened, and the user is told so.

Every step is idempotent, so a crash during recovery is recovered in turn. A custody event is
recognised as the operation's own when its sequence number is above the one the journal
record noted when the operation began.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable

from ..errors import ArchiveError
from .fsutil import finish_swap, pid_alive, remove_tree, sha256_path
from ..models import Recording
from .store import CustodyLog, Store

IndexFactory = Callable[[], Any]
_SHA = re.compile(r"[0-9a-f]{64}")


def interrupted(store: Store) -> list[str]:
    """Writes that a process began and did not finish because it died (not those of a
    process still running), e.g. ``["add of 3fa4c1d2e0"]``."""
    out = []
    for j in store.journal():
        pid = j.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and pid_alive(pid):
            continue
        out.append(f"{j.get('op')} of {str(j.get('id'))[:10]}")
    return out


def recover(store: Store, index_factory: IndexFactory, custody: CustodyLog) -> list[str]:
    """Finish or roll back writes interrupted by a crash. Call with the write lock held.

    Returns:
        One line per action taken, for the user to see (empty when there was nothing to do).
    """
    actions: list[str] = []
    for p in store.sweep(str(j.get("id")) for j in store.journal() if _valid(j.get("id"))):
        what = "staging folder" if p.parent == store.staging_root else "temporary file"
        actions.append(f"removed {what} {p.name} left by an interrupted process")
    if custody.repair_tail():
        actions.append("dropped a half-written last line of custody.log")
    idx = store.index_dir
    if any(idx.with_name(idx.name + s).exists() for s in (".new", ".old")):
        finish_swap(idx)
        actions.append("finished an interrupted rebuild of the search index")
    for j in store.journal():
        op, rid = j.get("op"), str(j.get("id", ""))
        handler = _HANDLERS.get(str(op))
        if handler is None or not _valid(rid):
            actions.append(f"unreadable journal record {Path(j['_path']).name} left in place; "
                           "run `archive verify --repair`")
            continue
        try:
            actions.append(handler(store, index_factory, custody, j))
        except (ValueError, TypeError, KeyError, AttributeError):
            # a hand-edited record ("revision": "two"): never let it wedge every writer
            actions.append(f"unreadable journal record {Path(j['_path']).name} left in place; "
                           "run `archive verify --repair`")
            continue
        except ArchiveError as e:
            actions.append(f"could not finish the interrupted {op} of {rid[:10]} ({e}); it "
                           "will be tried again by the next command that writes")
            continue
        store.journal_end(Path(j["_path"]))
    return actions


def _valid(rid: Any) -> bool:
    """A recording id as the archive makes them (a whole SHA-256): a damaged journal record
    must never widen what recovery deletes."""
    return isinstance(rid, str) and _SHA.fullmatch(rid) is not None


def _logged(custody: CustodyLog, rid: str, event: str, after: int) -> dict[str, Any] | None:
    """The event of this kind for ``rid`` logged after sequence number ``after``, if any."""
    for e in reversed(custody.events(rid)):
        if e.get("event") == event and int(e.get("seq", 0)) > after:
            return e
    return None


def _reindex(store: Store, index_factory: IndexFactory, rid: str) -> None:
    """Make the index hold exactly the current transcript and translation of ``rid``."""
    t = store.read_transcript(rid)
    tr = store.read_translation(rid)
    with index_factory().writer() as w:
        w.remove(rid)
        w.add(t)
        if tr is not None:
            w.add(tr)


def _unindex(index_factory: IndexFactory, rid: str) -> bool:
    """Remove ``rid`` from the index; False if the index could not be written."""
    try:
        with index_factory().writer() as w:
            w.remove(rid)
    except ArchiveError:
        return False
    return True


# ------------------------------------------------------------------ add
def rollback_add(store: Store, index_factory: IndexFactory, j: dict[str, Any]) -> str:
    """Undo an add: catalog row, derived files, the stored copy (if the add made it), index."""
    rid = j["id"]
    with store.transaction() as db:
        store.delete_recording(db, rid)
    store.remove_derived(rid)
    if not j.get("original_existed"):
        folder = store.root / "originals" / rid[:2]
        for p in folder.glob(f"{rid}*"):
            p.chmod(0o644)
            p.unlink()
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty: other recordings share the prefix
    note = "" if _unindex(index_factory, rid) else \
        "; the search index could not be updated: run `archive reindex`"
    return (f"rolled back the interrupted add of {rid[:10]} ({j.get('filename', '?')}): "
            f"nothing of it was kept; add the file again{note}")


def _add(store: Store, index_factory: IndexFactory, custody: CustodyLog,
         j: dict[str, Any]) -> str:
    rid = j["id"]
    if not (store.has(rid) and store.transcript_path(rid).exists()):
        return rollback_add(store, index_factory, j)
    _reindex(store, index_factory, rid)
    if _logged(custody, rid, "add", int(j.get("custody_seq", 0))) is None:
        rec = store.get(rid)
        custody.append("add", rid, filename=rec.filename, size=rec.size, sha256=rid,
                       stored_as=str(store.original_path(rec).relative_to(store.root)),
                       model=rec.model, model_sha256=rec.model_sha256,
                       revision=store.revision(rid), recovered=True,
                       **_digests_on_disk(store, rec))
    return f"finished the interrupted add of {rid[:10]} ({j.get('filename', '?')})"


def _digests_on_disk(store: Store, rec: Recording) -> dict[str, str]:
    """The add event's digests, of the files an interrupted add left (it wrote them all
    before the catalog row, the point of no return)."""
    from .digests import add_digests
    first = store.history_dir(rec.id) / "r0001.json"
    tr = store.translation_path(rec.id)
    try:
        return add_digests(rec, first.read_text("utf-8"),
                           tr.read_text("utf-8") if tr.exists() else None)
    except (OSError, ValueError):
        return {}


# ------------------------------------------------------------------ rm
def finish_rm(store: Store, index_factory: IndexFactory, custody: CustodyLog,
              j: dict[str, Any], *, recovered: bool = False) -> Path | None:
    """Carry out (or finish) a journalled removal. Every step may be repeated.

    Returns:
        The quarantined original, or None if purged (or absent).
    """
    rid = j["id"]
    ext = str(j.get("ext", ""))
    rec = Recording(id=rid, filename=str(j.get("filename") or rid),
                    ext=ext if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", ext) else "",
                    size=0, duration=0.0)
    with index_factory().writer() as w:
        w.remove(rid)
    with store.transaction() as db:
        store.delete_recording(db, rid)
    store.remove_derived(rid)
    q = store.quarantine(rec)
    if j.get("purge") and q is not None:
        q.chmod(0o644)
        q.unlink()
        q = None
    if _logged(custody, rid, "rm", int(j.get("custody_seq", 0))) is None:
        custody.append("rm", rid, reason=j.get("reason"), purged=bool(j.get("purge")),
                       filename=rec.filename,
                       quarantined_as=str(q.relative_to(store.root)) if q else None,
                       **({"recovered": True} if recovered else {}))
    return q


def _rm(store: Store, index_factory: IndexFactory, custody: CustodyLog,
        j: dict[str, Any]) -> str:
    finish_rm(store, index_factory, custody, j, recovered=True)
    return f"finished the interrupted removal of {j['id'][:10]} ({j.get('filename', '?')})"


# ------------------------------------------------------------------ edit
def _edit(store: Store, index_factory: IndexFactory, custody: CustodyLog,
          j: dict[str, Any]) -> str:
    rid, rev = j["id"], int(j.get("revision", 0))
    if not store.has(rid):
        return f"dropped the interrupted edit of {rid[:10]}: the recording is gone"
    cur = store.read_transcript(rid)
    if cur.revision != rev:
        stray = store.history_dir(rid) / f"r{rev:04d}.json"
        if rev > cur.revision and stray.exists():
            stray.unlink()
        with store.transaction() as db:
            db.execute("UPDATE recordings SET revision=? WHERE id=?", (cur.revision, rid))
            store.put_speakers(db, cur)
        _reindex(store, index_factory, rid)
        return (f"undid the interrupted edit of {rid[:10]}: it stays at revision "
                f"{cur.revision}; make the edit again")
    with store.transaction() as db:
        db.execute("UPDATE recordings SET revision=? WHERE id=?", (rev, rid))
        store.put_speakers(db, cur)
    _reindex(store, index_factory, rid)
    if _logged(custody, rid, "edit", int(j.get("custody_seq", 0))) is None:
        custody.append("edit", rid, revision=rev, author=cur.author, note=cur.note,
                       sha256=sha256_path(store.transcript_path(rid)), recovered=True)
    return f"finished the interrupted edit of {rid[:10]} (revision {rev})"


# ------------------------------------------------------------------ translate
def _translate(store: Store, index_factory: IndexFactory, custody: CustodyLog,
               j: dict[str, Any]) -> str:
    rid = j["id"]
    if not store.has(rid):
        return f"dropped the interrupted translation of {rid[:10]}: the recording is gone"
    _reindex(store, index_factory, rid)
    path = store.translation_path(rid)
    if path.exists() and _logged(custody, rid, "translate", int(j.get("custody_seq", 0))) is None:
        sha = sha256_path(path)
        last = _logged(custody, rid, "translate", 0)
        if last is None or (last.get("details") or {}).get("sha256") != sha:
            tr = store.read_translation(rid)
            custody.append("translate", rid, model=tr.model if tr else None, sha256=sha,
                           segments=len(tr.segments) if tr else 0, recovered=True)
    return f"finished the interrupted translation of {rid[:10]}"


# ------------------------------------------------------------------ mark, unmark
def _mark(store: Store, index_factory: IndexFactory, custody: CustodyLog,
          j: dict[str, Any]) -> str:
    rid, ev = j["id"], dict(j.get("event") or {})
    row = store.connect().execute(
        "SELECT id FROM verified WHERE recording_id=? AND start=? AND end=? AND at=?",
        (rid, ev.get("start"), ev.get("end"), j.get("at_"))).fetchone()
    if row is None:
        return (f"the interrupted verification mark on {rid[:10]} was not recorded; "
                "mark the passage again")
    if _logged(custody, rid, "verify-passage", int(j.get("custody_seq", 0))) is None:
        custody.append("verify-passage", rid, **ev, recovered=True)
    return f"finished the interrupted verification mark on {rid[:10]}"


def _unmark(store: Store, index_factory: IndexFactory, custody: CustodyLog,
            j: dict[str, Any]) -> str:
    rid, ids = j["id"], [int(x) for x in j.get("ids") or []]
    db = store.connect()
    if any(db.execute("SELECT 1 FROM verified WHERE id=?", (i,)).fetchone() for i in ids):
        return (f"the interrupted withdrawal of a verification on {rid[:10]} was not "
                "recorded; the passage is still marked verified")
    if _logged(custody, rid, "unverify-passage", int(j.get("custody_seq", 0))) is None:
        custody.append("unverify-passage", rid, **dict(j.get("event") or {}), recovered=True)
    return f"finished the interrupted withdrawal of a verification on {rid[:10]}"


_HANDLERS: dict[str, Callable[..., str]] = {
    "add": _add, "rm": _rm, "edit": _edit, "translate": _translate, "mark": _mark,
    "unmark": _unmark}

__all__ = ["recover", "rollback_add", "finish_rm", "remove_tree"]
