"""The catalog: ``catalog.sqlite`` in an archive folder, in WAL mode.

It holds one row per recording (its :class:`~archive.models.Recording` as JSON plus the
current transcript revision), the speakers of each recording with their voiceprints, and the
passages a journalist marked as verified. Transcripts themselves live in files (see
:mod:`archive.evidence.store`); the catalog is what lists, resolves and looks recordings up.

:class:`Catalog` is the base class of :class:`archive.evidence.store.Store`, so its methods are
called on the store (``store.get(rid)``, ``with store.transaction() as db``).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import (AmbiguousId, ArchiveCorrupt, ArchiveError, ArchiveReadOnly, DiskFull,
                     LockTimeout, RecordingNotFound, UsageError)
from ..models import Recording, Transcript
from ..validation import BadValue, loads_strict

_SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    id TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    title TEXT NOT NULL,
    added TEXT NOT NULL,
    recorded TEXT,
    duration REAL NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS speakers (
    recording_id TEXT NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    name TEXT,
    voiceprint TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (recording_id, label)
);
CREATE TABLE IF NOT EXISTS verified (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recording_id TEXT NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    start REAL NOT NULL,
    end REAL NOT NULL,
    revision INTEGER NOT NULL,
    note TEXT,
    by TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


def sqlite_error(e: sqlite3.Error) -> ArchiveError:
    """The ArchiveError for a failed catalog operation."""
    name = getattr(e, "sqlite_errorname", "") or ""
    msg = str(e)
    if name == "SQLITE_FULL" or "disk is full" in msg:
        return DiskFull("disk full while writing catalog.sqlite (no space left on the "
                        "archive's disk); free some space and run the command again")
    if name.startswith("SQLITE_READONLY") or "readonly" in msg:
        return ArchiveReadOnly(f"catalog.sqlite cannot be written ({msg})")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in msg:
        return LockTimeout("catalog.sqlite stayed locked by another archive process; "
                           "try again later")
    return ArchiveCorrupt(f"catalog.sqlite: {msg} (run `archive verify`)")


def _recording(rid: Any, data: Any) -> Recording:
    """A catalog row's recording, checked.

    Raises:
        ArchiveCorrupt: If the row's JSON is damaged, a field is invalid, or it holds
            another id than its key.
    """
    try:
        rec = Recording.from_json(loads_strict(data))
    except (ValueError, TypeError, KeyError) as e:
        why = str(e) if isinstance(e, BadValue) else type(e).__name__
        raise ArchiveCorrupt(f"catalog.sqlite: the row of {str(rid)[:10]} is damaged "
                             f"({why[:100]}); run `archive verify`") from None
    if rec.id != rid:
        raise ArchiveCorrupt(f"catalog.sqlite: the row of {str(rid)[:10]} holds another "
                             f"recording ({rec.id[:10]})")
    return rec


class Catalog:
    """The catalog of the archive folder ``root``, opened on first use.

    Args:
        root: The archive folder (absolute).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._db: sqlite3.Connection | None = None

    @property
    def writable(self) -> bool:
        """True if this process may write the archive folder."""
        return os.access(self.root, os.W_OK)

    def connect(self) -> sqlite3.Connection:
        """The catalog connection (WAL mode, waits up to 30 s for a busy database).

        On a read-only archive the catalog is opened read-only (see :meth:`_connect_ro`).

        Raises:
            ArchiveCorrupt: If the catalog cannot be opened.
        """
        if self._db is None:
            path = self.root / "catalog.sqlite"
            try:
                if self.writable:
                    db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
                    db.execute("PRAGMA busy_timeout=30000")
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute("PRAGMA synchronous=FULL")
                    db.executescript(_SCHEMA)
                else:
                    db = self._connect_ro(path)
                db.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as e:
                raise sqlite_error(e) from None
            self._db = db
        return self._db

    def _connect_ro(self, path: Path) -> sqlite3.Connection:
        """Open the catalog of an archive this process cannot write.

        A WAL database normally needs its ``-shm`` file to be writable. Without a ``-wal``
        file the database file alone is complete and is opened as immutable; with one, it is
        opened read-only if possible, else a private copy is read (so committed transactions
        still in the WAL are seen).
        """
        if not path.is_file():
            raise ArchiveCorrupt(f"{path} is missing")
        wal = path.with_name(path.name + "-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            return sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True,
                                   isolation_level=None)
        try:
            db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30.0,
                                 isolation_level=None)
            db.execute("SELECT count(*) FROM recordings").fetchone()
            return db
        except sqlite3.OperationalError:
            pass
        tmp = Path(tempfile.mkdtemp(prefix="archive-catalog-"))
        weakref.finalize(self, shutil.rmtree, tmp, True)
        for p in (path, wal):
            shutil.copyfile(p, tmp / p.name)
        return sqlite3.connect(tmp / path.name, isolation_level=None)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.connect().execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise sqlite_error(e) from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A catalog write transaction, committed on success and rolled back on error.

        Raises:
            DiskFull, ArchiveReadOnly, LockTimeout, ArchiveCorrupt: For catalog failures
                (nothing is then changed).
        """
        db = self.connect()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise sqlite_error(e) from None
        try:
            yield db
        except BaseException as e:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # sqlite rolled back by itself (e.g. after SQLITE_FULL)
            if isinstance(e, sqlite3.Error):
                raise sqlite_error(e) from None
            raise
        else:
            try:
                db.execute("COMMIT")
            except sqlite3.Error as e:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise sqlite_error(e) from None

    # ----------------------------------------------------------------- writing rows
    def put_recording(self, db: sqlite3.Connection, rec: Recording, revision: int) -> None:
        """Insert or replace a recording row (inside a transaction)."""
        db.execute(
            "INSERT OR REPLACE INTO recordings (id, filename, title, added, recorded, duration,"
            " revision, data) VALUES (?,?,?,?,?,?,?,?)",
            (rec.id, rec.filename, rec.title, rec.added, rec.recorded, rec.duration, revision,
             json.dumps(rec.to_json(), ensure_ascii=False)))

    def put_speakers(self, db: sqlite3.Connection, t: Transcript) -> None:
        """Replace a recording's speaker rows from its transcript (inside a transaction)."""
        db.execute("DELETE FROM speakers WHERE recording_id=?", (t.recording.id,))
        db.executemany(
            "INSERT INTO speakers (recording_id, label, name, voiceprint) VALUES (?,?,?,?)",
            [(t.recording.id, s.label, s.name, json.dumps(list(s.voiceprint)))
             for s in t.speakers])

    def delete_recording(self, db: sqlite3.Connection, rid: str) -> None:
        """Delete a recording row, and by cascade its speakers and verified passages (inside
        a transaction)."""
        db.execute("DELETE FROM recordings WHERE id=?", (rid,))

    # ----------------------------------------------------------------- reading rows
    def has(self, rid: str) -> bool:
        """Whether the catalog has a recording with this full id."""
        return bool(self._rows("SELECT 1 FROM recordings WHERE id=?", (rid,)))

    def get(self, rid: str) -> Recording:
        """The catalog's record for a full id.

        Raises:
            RecordingNotFound: If there is none.
        """
        rows = self._rows("SELECT data FROM recordings WHERE id=?", (rid,))
        row = rows[0] if rows else None
        if row is None:
            raise RecordingNotFound(f"no recording {rid[:10]} in the archive")
        return _recording(rid, row[0])

    def revision(self, rid: str) -> int:
        """The current transcript revision of a recording (0 if it is not catalogued)."""
        rows = self._rows("SELECT revision FROM recordings WHERE id=?", (rid,))
        return int(rows[0][0]) if rows else 0

    def recordings(self) -> list[Recording]:
        """All recordings, oldest added first."""
        rows = self._rows("SELECT id, data FROM recordings ORDER BY added, id")
        return [_recording(r[0], r[1]) for r in rows]

    def recordings_checked(self) -> tuple[list[Recording], list[str]]:
        """All readable recordings, oldest first, and one line per damaged catalog row (for
        ``verify``, which must report them rather than stop at the first)."""
        recs, bad = [], []
        for rid, data in self._rows("SELECT id, data FROM recordings ORDER BY added, id"):
            try:
                recs.append(_recording(rid, data))
            except ArchiveCorrupt as e:
                bad.append(str(e))
        return recs, bad

    def ids(self) -> set[str]:
        """The full ids of all catalogued recordings."""
        return {r[0] for r in self._rows("SELECT id FROM recordings")}

    def resolve(self, prefix: str) -> str:
        """Full id for an id or unique prefix (at least 4 hex digits), as git does.

        Raises:
            UsageError: If the prefix is not hex or too short.
            RecordingNotFound: If nothing matches.
            AmbiguousId: If several recordings match.
        """
        p = prefix.strip().lower()
        if len(p) < 4 or any(c not in "0123456789abcdef" for c in p):
            raise UsageError(f"not a recording id: {prefix!r} (give at least 4 hex digits)")
        rows = self._rows("SELECT id FROM recordings WHERE id >= ? AND id < ? LIMIT 3",
                          (p, p + "g"))
        if not rows:
            raise RecordingNotFound(f"no recording matches {prefix!r}")
        if len(rows) > 1:
            raise AmbiguousId(f"{prefix!r} is ambiguous: " +
                              ", ".join(r[0][:12] for r in rows) + "; give more digits")
        return rows[0][0]

    def voiceprints(self) -> list[tuple[str, str, str | None, list[float]]]:
        """(recording id, label, name, voiceprint) for every speaker in the archive."""
        out = []
        for rid, label, name, vp in self._rows(
                "SELECT recording_id, label, name, voiceprint FROM speakers"):
            try:
                v = loads_strict(vp)
                if not (isinstance(v, list) and all(
                        isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)):
                    raise ValueError("not a list of numbers")
                if not isinstance(label, str) or not isinstance(name, (str, type(None))):
                    raise ValueError("label or name is not text")
            except (ValueError, TypeError):
                raise ArchiveCorrupt(f"catalog.sqlite: the voiceprint of speaker {label!s:.20} "
                                     f"of {str(rid)[:10]} is damaged (run `archive verify "
                                     "--repair`)") from None
            out.append((rid, label, name, [float(x) for x in v]))
        return out
