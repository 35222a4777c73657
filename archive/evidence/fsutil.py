"""Crash-safe file primitives: atomic writes, directory fsync, and the archive write lock."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

from ..errors import ArchiveReadOnly, DiskFull, LockTimeout


def fsync_dir(path: Path) -> None:
    """Flush a directory entry so a rename inside it survives a power cut."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def translate_os_error(e: OSError, path: Path) -> Exception:
    """The ArchiveError for a failed write (disk full, read-only), else ``e`` itself."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"disk full while writing {path.name} (no space left on the archive's "
                        "disk); free some space and run the command again")
    if e.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return ArchiveReadOnly(f"cannot write {path.parent}: {e.strerror}")
    return e


_translate = translate_os_error


#: Temporary files of :func:`atomic_write_bytes`: ``.<name>.<pid>.<ns>.tmp``.
_TMP = re.compile(r"^\..+\.(\d+)\.\d+\.tmp$")


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    A crash leaves at most a hidden ``.<name>.<pid>.<ns>.tmp`` beside it, which
    :func:`sweep_temp_files` removes.

    Raises:
        DiskFull: When the disk fills up (the old file is left untouched).
        ArchiveReadOnly: When the folder cannot be written.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise _translate(e, path) from None


def atomic_write_text(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Atomically write UTF-8 text. See :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def copy_hashing(src: BinaryIO, dest: Path, *, chunk: int = 1 << 20,
                 progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    """Copy a stream into ``dest`` (fsynced) while hashing it.

    Returns:
        (sha256 hex, size in bytes) of exactly the bytes written.
    """
    h = hashlib.sha256()
    size = 0
    try:
        with open(dest, "xb") as out:
            while block := src.read(chunk):
                h.update(block)
                out.write(block)
                size += len(block)
                if progress:
                    progress(size)
            out.flush()
            os.fsync(out.fileno())
    except OSError as e:
        try:
            dest.unlink()
        except OSError:
            pass
        raise _translate(e, dest) from None
    return h.hexdigest(), size


def sha256_path(path: Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file, hex (4 MB reads: 2.6x faster than 1 MB on the 145 MB model)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def remove_tree(path: Path) -> None:
    """Remove a folder, making read-only files writable first."""
    def onerror(func, p, _exc):  # read-only originals in quarantine or staging
        try:
            os.chmod(p, 0o644)
            func(p)
        except OSError:
            pass
    if path.exists():
        shutil.rmtree(path, onerror=onerror)


class FileLock:
    """An exclusive advisory lock on a file (flock), released when the process dies.

    Args:
        path: The lock file.
        timeout: Seconds to wait before raising LockTimeout; None waits forever.
        on_wait: Called once, with the holder's description, if the lock is busy.
    """

    def __init__(self, path: Path, *, timeout: float | None = 600.0,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.on_wait = on_wait
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise _translate(e, self.path) from None
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                try:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                except OSError:
                    holder = ""
                holder = holder or "another archive process"
                if not waited and self.on_wait:
                    self.on_wait(holder)
                waited = True
                if deadline is not None and time.monotonic() > deadline:
                    os.close(fd)
                    raise LockTimeout(
                        f"the archive is busy: another archive process ({holder}) has been "
                        f"writing to it for more than {self.timeout:g} s; try again later "
                        "(ARCHIVE_LOCK_TIMEOUT sets how long to wait)") from None
                time.sleep(0.1)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        except OSError:
            pass
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def try_acquire(self) -> bool:
        """Take the lock without waiting; True on success."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextmanager
def staging_dir(root: Path) -> Iterator[Path]:
    """A private staging folder under ``root``, locked while in use and removed after.

    A folder whose lock is free belongs to a dead process and may be swept by
    :func:`sweep_staging`.
    """
    root.mkdir(parents=True, exist_ok=True)
    name = f"{os.getpid()}-{time.monotonic_ns()}"
    # Lock before the folder gets its sweepable name, so a sweeper never sees it unlocked.
    new = root / f".new-{name}"
    new.mkdir()
    lock = FileLock(new / ".lock")
    if not lock.try_acquire():  # pragma: no cover - a fresh folder is never locked
        raise LockTimeout("cannot lock a fresh staging folder")
    d = root / name
    os.rename(new, d)
    try:
        yield d
    finally:
        lock.release()
        remove_tree(d)


def sweep_staging(root: Path) -> list[Path]:
    """Remove staging folders left by processes that died. Returns what was removed."""
    removed: list[Path] = []
    if not root.exists():
        return removed
    for d in root.iterdir():
        if not d.is_dir():
            continue
        if d.name.startswith(".new-"):
            # Between mkdir and lock: young ones may belong to a live process.
            pid = d.name[5:].split("-")[0]
            alive = not pid.isdigit() or pid_alive(int(pid))
            try:
                young = time.time() - d.stat().st_mtime < 3600
            except OSError:
                continue
            if alive and young:
                continue
        lock = FileLock(d / ".lock")
        if lock.try_acquire():
            lock.release()
            remove_tree(d)
            removed.append(d)
    return removed


def pid_alive(pid: int) -> bool:
    """True if a process with this id exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temp_files(folders: Iterable[Path]) -> list[Path]:
    """Remove temporary files of atomic writes whose writing process is gone.

    Only the given folders are searched (not recursively). Returns what was removed.
    """
    removed: list[Path] = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            m = _TMP.match(e.name)
            if not m or not e.is_file(follow_symlinks=False):
                continue
            pid = int(m.group(1))
            if pid == os.getpid() or pid_alive(pid):
                continue  # still being written
            try:
                os.unlink(e.path)
                removed.append(Path(e.path))
            except OSError:
                pass
    return removed


def finish_swap(path: Path) -> None:
    """Finish or undo a folder swap (``path.new`` -> ``path`` -> ``path.old``) that stopped
    half-way, as a rebuilt index is swapped in; call with the archive's write lock held."""
    old, new = path.with_name(path.name + ".old"), path.with_name(path.name + ".new")
    if not path.exists() and old.is_dir():
        os.rename(old, path)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(new, ignore_errors=True)
