"""The custody log: an append-only, hash-chained record of everything done to the evidence.

Each line is one JSON object (keys sorted) whose ``hash`` is the SHA-256 of the line's other
content, which includes ``prev``, the previous line's hash; so an edited, removed or inserted
line breaks the chain that :meth:`CustodyLog.check` (and ``archive verify``) reports.
Appends happen under the archive's write lock; a crash can leave at most a torn last line,
which :meth:`CustodyLog.repair_tail` drops (recovery does so and says so).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ArchiveCorrupt
from .fsutil import translate_os_error


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def os_user() -> str:
    """The OS user running this process."""
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())



class CustodyLog:
    """Append-only, hash-chained log of everything done to the archive's evidence.

    Each line is a JSON object whose ``hash`` covers the line's content and the previous
    line's hash, so an edited or deleted line breaks the chain that ``verify`` checks.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _last_line(self) -> bytes | None:
        """The last complete, non-empty line, read from the end of the file."""
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return None
        with f:
            pos = f.seek(0, os.SEEK_END)
            buf = b""
            while pos > 0:
                step = min(1 << 16, pos)
                pos -= step
                f.seek(pos)
                buf = f.read(step) + buf
                lines = [x for x in buf.split(b"\n") if x.strip()]
                if len(lines) >= 2 or (pos == 0 and lines):
                    return lines[-1]
        return None

    def _last_hash(self) -> tuple[int, str]:
        last = self._last_line()
        if last is None:
            return 0, "0" * 64
        try:
            d = json.loads(last)
            return int(d["seq"]), str(d["hash"])
        except (ValueError, KeyError, TypeError):
            raise ArchiveCorrupt("custody.log: last line is damaged; run `archive verify`") \
                from None

    def last_seq(self) -> int:
        """Sequence number of the last event (0 for an empty log or a damaged last line)."""
        try:
            return self._last_hash()[0]
        except ArchiveCorrupt:
            return 0

    def repair_tail(self) -> bool:
        """Drop a torn (half-written) last line left by a crash. True if one was dropped.

        Call with the write lock held.
        """
        try:
            f = open(self.path, "r+b")
        except FileNotFoundError:
            return False
        except OSError as e:
            raise translate_os_error(e, self.path) from None
        with f:
            end = f.seek(0, os.SEEK_END)
            if end == 0:
                return False
            f.seek(end - 1)
            if f.read(1) == b"\n":
                return False
            pos, cut = end, 0
            while pos > 0:
                step = min(1 << 16, pos)
                pos -= step
                f.seek(pos)
                i = f.read(step).rfind(b"\n")
                if i >= 0:
                    cut = pos + i + 1
                    break
            try:
                f.truncate(cut)
                os.fsync(f.fileno())
            except OSError as e:
                raise translate_os_error(e, self.path) from None
        return True

    def append(self, event: str, recording_id: str | None, **details: Any) -> dict[str, Any]:
        """Append one event (call with the write lock held)."""
        self.repair_tail()
        seq, prev = self._last_hash()
        entry: dict[str, Any] = {"seq": seq + 1, "time": now_iso(), "user": os_user(),
                                 "tool": f"archive {__version__}", "event": event,
                                 "recording": recording_id, "details": details, "prev": prev}
        body = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        entry["hash"] = hashlib.sha256(body.encode("utf-8")).hexdigest()
        data = (json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise translate_os_error(e, self.path) from None
        try:
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                view = memoryview(data)
                while view:  # a short write (disk full) must not leave half a line
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError as e:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    pass
                raise translate_os_error(e, self.path) from None
        finally:
            os.close(fd)
        return entry

    def events(self, recording_id: str | None = None) -> list[dict[str, Any]]:
        """Events, oldest first, optionally only those about one recording."""
        out = []
        if not self.path.exists():
            return out
        with open(self.path, "rb") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                if recording_id is None or d.get("recording") == recording_id:
                    out.append(d)
        return out

    def check(self) -> list[str]:
        """Problems in the chain (empty when intact)."""
        problems = []
        prev, seq = "0" * 64, 0
        if not self.path.exists():
            return problems
        with open(self.path, "rb") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                    h = d.pop("hash")
                except (ValueError, KeyError):
                    problems.append(f"custody.log line {n}: unreadable")
                    continue
                body = json.dumps(d, ensure_ascii=False, sort_keys=True)
                if hashlib.sha256(body.encode("utf-8")).hexdigest() != h:
                    problems.append(f"custody.log line {n}: content does not match its hash")
                if d.get("prev") != prev:
                    problems.append(f"custody.log line {n}: chain broken (a line was removed "
                                    "or changed before it)")
                if d.get("seq") != seq + 1:
                    problems.append(f"custody.log line {n}: sequence {d.get('seq')} after {seq}")
                prev, seq = h, int(d.get("seq", seq + 1))
        return problems
