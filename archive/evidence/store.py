"""The archive folder: originals, transcripts, catalog, custody log, and the write lock.

Layout::

    <archive>/
      archive.json              format marker
      catalog.sqlite            recordings, speakers' voiceprints, verified passages (WAL)
      originals/ab/<sha256>.ogg originals named by SHA-256, read-only, never modified
      transcripts/<sha256>.json current transcript revision: the source of truth
      history/<sha256>/r0001.json every revision ever written, the machine's first
      translations/<sha256>.json English translation, when made
      custody.log               append-only, hash-chained JSON lines
      index/                    whoosh index, derived (see archive.search.index)
      clips/                    exported clips and their manifests
      quarantine/               removed originals until purged
      staging/                  per-process work folders; a dead process's are swept
      journal/                  intent records of unfinished multi-step writes

The catalog side of a :class:`Store` (connection, transactions, recording and speaker rows)
is its base class :class:`archive.evidence.catalog.Catalog`; this module has the files.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import __version__
from .catalog import Catalog
from .custody import CustodyLog, now_iso, os_user
from ..errors import (ArchiveCorrupt, ArchiveNotFound, ArchiveReadOnly, RecordingNotFound,
                     TranscriptCorrupt, UsageError)
from .fsutil import (FileLock, atomic_write_text, fsync_dir, sha256_path, sweep_staging,
                     sweep_temp_files, translate_os_error)
from ..models import Recording, Transcript
from ..validation import BadValue, check_transcript_json, loads_strict

FORMAT = 1
MARKER = "archive.json"


def dumps_pretty(obj: Any, indent: int = 0) -> str:
    """JSON with one key per line but each word (and each voiceprint) on a single line, so a
    transcript stays readable and diffs well."""
    pad, pad1 = "  " * indent, "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        if "word" in obj or all(not isinstance(v, (dict, list)) for v in obj.values()) \
                and len(obj) <= 6:
            return json.dumps(obj, ensure_ascii=False)
        items = [f"{pad1}{json.dumps(k, ensure_ascii=False)}: {dumps_pretty(v, indent + 1)}"
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if not obj:
            return "[]"
        if all(not isinstance(v, (dict, list)) for v in obj):
            return json.dumps(obj, ensure_ascii=False)
        items = [f"{pad1}{dumps_pretty(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False)


def _hashes_to(path: Path, sha256: str) -> bool:
    """Whether a file's bytes hash to ``sha256`` (False if it cannot be read)."""
    try:
        return sha256_path(path) == sha256
    except OSError:
        return False


def parse_transcript(text: str | bytes, name: str = "transcript") -> Transcript:
    """A transcript (or translation) from the text of its file, every field checked.

    Raises:
        TranscriptCorrupt: If the text is not valid JSON, holds NaN or Infinity, or any
            field has the wrong type or an impossible value (negative or backwards times).
    """
    try:
        return Transcript.from_json(loads_strict(text))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        why = str(e) if isinstance(e, BadValue) else f"{type(e).__name__}: {e}"
        raise TranscriptCorrupt(
            f"{name} is corrupt ({why[:100]}); restore it from history/ or run "
            "`archive verify --repair`") from None


def _check_marker(marker: Path) -> str | None:
    """What is wrong with an archive.json, or None.

    Raises:
        ArchiveCorrupt: If it was written by a newer version (never to be "repaired").
    """
    try:
        info = loads_strict(marker.read_bytes())
    except (OSError, ValueError) as e:
        return f"{marker}: unreadable archive marker ({str(e)[:80]})"
    if not isinstance(info, dict):
        return f"{marker}: the archive marker is not a JSON object"
    fmt = info.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt < 1:
        return f"{marker}: the archive marker has no valid format number"
    if fmt > FORMAT:
        raise ArchiveCorrupt(f"{marker.parent} was written by a newer archive version")
    return None


def _check_journal(d: Any) -> None:
    """Raise ValueError unless ``d`` has the shape :meth:`Store.journal_begin` writes (a
    hand-edited ``"revision": "two"`` must read as damaged, not crash recovery)."""
    if not isinstance(d, dict) or not isinstance(d.get("op"), str) or \
            not isinstance(d.get("id"), str):
        raise ValueError("not a journal record")
    for k in ("pid", "custody_seq", "revision"):
        if k in d and (isinstance(d[k], bool) or not isinstance(d[k], int)):
            raise ValueError(f"journal {k} is not an integer")
    ids = d.get("ids", [])
    if not isinstance(ids, list) or any(isinstance(x, bool) or not isinstance(x, int)
                                        for x in ids):
        raise ValueError("journal ids are not integers")
    if not isinstance(d.get("event", {}), dict):
        raise ValueError("journal event is not an object")


def write_marker(root: Path, created: str | None = None) -> None:
    """Write archive.json (atomically)."""
    atomic_write_text(root / MARKER, json.dumps(
        {"format": FORMAT, "created": created or now_iso(), "tool": f"archive {__version__}"},
        indent=2) + "\n")


class Store(Catalog):
    """An archive folder on disk: its files here, its catalog from :class:`Catalog`.

    Args:
        root: The archive folder.
        create: Create and initialise the folder if needed.

    Raises:
        ArchiveNotFound: If the folder is not an archive and ``create`` is False.
    """

    def __init__(self, root: Path, *, create: bool = False, lenient: bool = False) -> None:
        super().__init__(Path(root).expanduser().absolute())
        #: What is wrong with archive.json (None when it is sound); with ``lenient`` the
        #: store opens anyway, so that verify can report it and repair rewrite it.
        self.marker_problem: str | None = None
        marker = self.root / MARKER
        if not marker.exists():
            if not create:
                raise ArchiveNotFound(
                    f"no archive at {self.root} (run `archive init` or pass --archive)")
            self._init()
        else:
            self.marker_problem = _check_marker(marker)
            if self.marker_problem and not lenient:
                raise ArchiveCorrupt(f"{self.marker_problem}; `archive verify --repair` "
                                     "rewrites it")

    # ----------------------------------------------------------------- layout
    def _init(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for d in ("originals", "transcripts", "history", "translations", "index",
                      "clips", "quarantine", "staging", "journal"):
                (self.root / d).mkdir(exist_ok=True)
            self.connect().close()
            self._db = None
            write_marker(self.root)
        except PermissionError as e:
            raise ArchiveReadOnly(f"cannot create an archive at {self.root}: {e.strerror}") \
                from None

    @property
    def index_dir(self) -> Path:
        """The search index folder (derived; can be rebuilt from the transcripts)."""
        return self.root / "index"

    @property
    def staging_root(self) -> Path:
        """The folder holding each process's staging folder."""
        return self.root / "staging"

    @property
    def clips_dir(self) -> Path:
        """Where exported clips and their manifests go."""
        return self.root / "clips"

    def original_path(self, rec: Recording) -> Path:
        """Where the original of ``rec`` is stored."""
        return self.root / "originals" / rec.id[:2] / f"{rec.id}{rec.ext}"

    def transcript_path(self, rid: str) -> Path:
        """The current transcript of recording ``rid``."""
        return self.root / "transcripts" / f"{rid}.json"

    def translation_path(self, rid: str) -> Path:
        """The English translation of recording ``rid``."""
        return self.root / "translations" / f"{rid}.json"

    def history_dir(self, rid: str) -> Path:
        """The folder of every transcript revision of recording ``rid``."""
        return self.root / "history" / rid

    # ----------------------------------------------------------------- transcripts
    def read_transcript(self, rid: str, revision: int | None = None) -> Transcript:
        """The current transcript, or a given revision.

        Raises:
            TranscriptCorrupt: If the file cannot be parsed.
            RecordingNotFound: If there is no such transcript or revision.
        """
        path = (self.transcript_path(rid) if revision is None
                else self.history_dir(rid) / f"r{revision:04d}.json")
        return self._read_transcript_file(path, rid, revision)

    def read_translation(self, rid: str) -> Transcript | None:
        """The English translation, or None if none was made."""
        path = self.translation_path(rid)
        if not path.exists():
            return None
        return self._read_transcript_file(path, rid, None)

    def _read_transcript_file(self, path: Path, rid: str, revision: int | None) -> Transcript:
        name = str(path.relative_to(self.root))
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            what = f"revision {revision} of " if revision else "a transcript for "
            raise RecordingNotFound(f"no {what}{rid[:10]}") from None
        except OSError as e:
            raise TranscriptCorrupt(f"{name} cannot be read ({e.strerror})") from None
        t = parse_transcript(text, name)
        if t.recording.id != rid:  # a file copied over another recording's
            raise TranscriptCorrupt(f"{name} holds the transcript of another recording "
                                    f"({t.recording.id[:10]}); run `archive verify --repair`")
        if revision is not None and t.revision != revision:
            raise TranscriptCorrupt(f"{name} says it is revision {t.revision}")
        return t

    def revisions(self, rid: str) -> list[int]:
        """The revision numbers in a recording's history, ascending."""
        d = self.history_dir(rid)
        if not d.exists():
            return []
        return sorted(int(p.stem[1:]) for p in d.glob("r[0-9][0-9][0-9][0-9].json"))

    @staticmethod
    def transcript_text(t: Transcript) -> str:
        """A transcript (or translation) exactly as it is written to disk.

        Raises:
            TranscriptCorrupt: If the text would not read back (NaN, Infinity, a backwards
                time...): nothing is written that the readers would refuse.
        """
        text = dumps_pretty(t.to_json()) + "\n"
        try:
            check_transcript_json(loads_strict(text))
        except ValueError as e:
            raise TranscriptCorrupt(f"refusing to write the transcript of "
                                    f"{t.recording.short_id}: it would not read back "
                                    f"({str(e)[:100]})") from None
        return text

    def write_transcript(self, t: Transcript, text: str | None = None) -> None:
        """Write a revision to history and make it current, both atomically.

        Args:
            t: The revision.
            text: ``transcript_text(t)``, when the caller already made it.
        """
        rid = t.recording.id
        text = self.transcript_text(t) if text is None else text
        hd = self.history_dir(rid)
        try:
            hd.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise translate_os_error(e, hd) from None
        atomic_write_text(hd / f"r{t.revision:04d}.json", text)
        atomic_write_text(self.transcript_path(rid), text)

    def write_translation(self, t: Transcript, text: str | None = None) -> None:
        """Write the English translation of a recording atomically."""
        atomic_write_text(self.translation_path(t.recording.id),
                          self.transcript_text(t) if text is None else text)

    def transcript_ids(self) -> set[str]:
        """Ids of the recordings that have a current transcript file."""
        return {p.stem for p in (self.root / "transcripts").glob("*.json")}

    # ----------------------------------------------------------------- originals
    def store_original(self, staged: Path, rec: Recording) -> Path:
        """Move a staged, already-hashed file into originals/ and make it read-only.

        A file already at the destination is kept only if its bytes hash to the recording's
        id; anything else there (a damaged or foreign copy, a symbolic link) is replaced,
        in one rename, by the staged copy.

        Raises:
            ArchiveCorrupt: If a folder sits where the original belongs.
        """
        dest = self.original_path(rec)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(staged, 0o444)
            if dest.is_dir() and not dest.is_symlink():
                raise ArchiveCorrupt(f"{dest.relative_to(self.root)} is a folder where the "
                                     "original belongs; move it away and add the file again")
            if not dest.is_symlink() and dest.is_file() and _hashes_to(dest, rec.id):
                os.chmod(dest, 0o444)
                staged.unlink()
            else:
                os.replace(staged, dest)
                fsync_dir(dest.parent)
        except OSError as e:
            raise translate_os_error(e, dest) from None
        return dest

    def quarantine(self, rec: Recording) -> Path | None:
        """Move an original into quarantine/; returns its new path (None if it is in neither
        place)."""
        src = self.original_path(rec)
        dest = self.root / "quarantine" / f"{rec.id}{rec.ext}"
        if not src.exists():
            return dest if dest.exists() else None
        try:
            dest.parent.mkdir(exist_ok=True)
            os.replace(src, dest)
        except OSError as e:
            raise translate_os_error(e, dest) from None
        fsync_dir(src.parent)
        fsync_dir(dest.parent)
        return dest

    def remove_derived(self, rid: str) -> None:
        """Remove a recording's transcript, history and translation (not the original)."""
        for p in (self.transcript_path(rid), self.translation_path(rid)):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        shutil.rmtree(self.history_dir(rid), ignore_errors=True)

    # ----------------------------------------------------------------- locking
    def write_lock(self, *, timeout: float | None = None,
                   on_wait: Callable[[str], None] | None = None) -> FileLock:
        """The archive-wide writer lock. Readers never take it.

        Args:
            timeout: Seconds to wait for another writer before LockTimeout; by default
                ``$ARCHIVE_LOCK_TIMEOUT`` or 600.
            on_wait: Called once if the lock is busy, with the holder's description.

        Raises:
            ArchiveReadOnly: If the archive folder cannot be written.
        """
        if not self.writable:
            raise ArchiveReadOnly(f"the archive at {self.root} is read-only (reading, searching "
                                  "and citing work; changing it does not)")
        if timeout is None:
            raw = os.environ.get("ARCHIVE_LOCK_TIMEOUT") or "600"
            try:
                timeout = float(raw)
            except ValueError:
                timeout = math.nan
            # nan would never expire (every comparison with it is false): wait forever
            # silently; inf likewise. A timeout is a finite, non-negative number.
            if not (math.isfinite(timeout) and 0 <= timeout <= 1e7):
                raise UsageError(f"ARCHIVE_LOCK_TIMEOUT must be a number of seconds from 0 to "
                                 f"10000000, not {raw[:40]!r}") from None
        return FileLock(self.root / "lock", timeout=timeout, on_wait=on_wait)

    def sweep(self, rids: Iterable[str] = ()) -> list[Path]:
        """Remove staging folders of dead processes, and temporary files of interrupted
        atomic writes (in history/ only for ``rids``: the recordings with unfinished writes).
        Call with the write lock held."""
        removed = sweep_staging(self.staging_root)
        folders = [self.root, self.root / "transcripts", self.root / "translations",
                   self.root / "journal", *(self.history_dir(r) for r in rids)]
        return removed + sweep_temp_files(folders)

    # ----------------------------------------------------------------- journal
    def journal_begin(self, op: str, rid: str, **data: Any) -> Path:
        """Record the intent of a multi-step write before its first step.

        The record also holds the custody log's last sequence number, so that recovery can
        tell whether the operation's own custody event was written.
        """
        jd = self.root / "journal"
        try:
            jd.mkdir(exist_ok=True)
        except OSError as e:
            raise translate_os_error(e, jd) from None
        path = jd / f"{op}-{rid}.json"
        seq = CustodyLog(self.root / "custody.log").last_seq()
        atomic_write_text(path, json.dumps({"op": op, "id": rid, "at": now_iso(),
                                            "pid": os.getpid(), "custody_seq": seq, **data},
                                           ensure_ascii=False))
        return path

    def journal_end(self, path: Path) -> None:
        """Mark a journalled write as complete."""
        try:
            path.unlink()
            fsync_dir(path.parent)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise translate_os_error(e, path) from None

    def journal(self) -> list[dict[str, Any]]:
        """Unfinished intents left by interrupted writers."""
        out = []
        jd = self.root / "journal"
        if jd.exists():
            for p in sorted(jd.glob("*.json")):
                try:
                    d = loads_strict(p.read_bytes())
                    _check_journal(d)
                except (OSError, ValueError):
                    d = {"op": "unknown", "id": ""}
                d["_path"] = str(p)
                out.append(d)
        return out


__all__ = ["FORMAT", "MARKER", "CustodyLog", "Store", "dumps_pretty", "now_iso", "os_user"]
