"""Files the user asks for (``export -o``, ``cite --clip -o``): where they may go and how
they are written, so that no output can land on the evidence.

Rules:

* A path inside an archive folder is refused, except under its ``clips/`` folder. "Inside"
  is decided on real paths (symbolic links and ``..`` resolved) and, for bind mounts and
  case-insensitive disks, on the identity (device, inode) of every existing folder above
  the target, compared with the archive folder's.
* An existing target that is not a regular file (``/dev/null``, ``/dev/stdout``, a FIFO, a
  terminal) is written *into*; it is never renamed over.
* A symbolic link is never replaced: its target is written (and checked) instead.
* Anything else is written atomically (temporary file beside it, then rename), keeping the
  mode of a file it replaces.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputRefused
from .fsutil import atomic_write_bytes, translate_os_error

#: The only folder of an archive that outputs may be written into.
CLIPS = "clips"


@dataclass(frozen=True)
class Target:
    """Where an output will really be written.

    Attributes:
        path: The real path (symbolic links resolved).
        special: True when it is an existing non-regular file (device, FIFO), written into.
        mode: Permission bits of a regular file it replaces, else None.
    """

    path: Path
    special: bool = False
    mode: int | None = None


def _real(path: Path) -> Path:
    """The real path of ``path``, which may not exist yet (its nearest existing folder is
    resolved and the rest appended)."""
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def _ids_above(path: Path) -> list[tuple[int, int]]:
    """(device, inode) of every existing folder from ``path``'s parent up to ``/``."""
    out = []
    p = path.parent
    while True:
        try:
            st = os.stat(p)
            out.append((st.st_dev, st.st_ino))
        except OSError:
            pass
        if p.parent == p:
            return out
        p = p.parent


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (a real path) lies inside the folder ``root`` (or is ``root``)."""
    rroot = _real(root)
    if path == rroot or rroot in path.parents:
        return True
    try:
        st = os.stat(rroot)
    except OSError:
        return False
    me = (st.st_dev, st.st_ino)
    try:
        own = os.stat(path)
        if (own.st_dev, own.st_ino) == me:
            return True
    except OSError:
        pass
    return me in _ids_above(path)


def check_output(path: Path | str, archive_root: Path | None) -> Target:
    """Where an output asked for at ``path`` will be written, once it is known to be safe.

    Args:
        path: The path the user gave.
        archive_root: The archive folder, whose files must never be overwritten (None: no
            archive to protect).

    Raises:
        OutputRefused: If the real target lies inside the archive outside ``clips/``, or
            is a folder.
    """
    given = Path(path)
    real = _real(given)
    if archive_root is not None and inside(real, archive_root):
        clips = _real(Path(archive_root) / CLIPS)
        ok = clips in real.parents and not os.path.islink(Path(archive_root) / CLIPS)
        if not ok:
            plain = Path(os.path.normpath(os.path.abspath(os.fspath(given))))
            where = "" if real == plain else f" (it leads to {real})"
            raise OutputRefused(f"refusing to write {given}{where}: it is inside the archive "
                                f"at {_real(archive_root)}, where only {CLIPS}/ takes "
                                "outputs; choose a path outside the archive")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return Target(real)
    except OSError as e:
        raise OutputRefused(f"cannot write {given}: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputRefused(f"cannot write {given}: it is a folder")
    if not stat.S_ISREG(st.st_mode):
        return Target(real, special=True)
    return Target(real, mode=stat.S_IMODE(st.st_mode))


def write_into(path: Path, data: bytes) -> None:
    """Write ``data`` into an existing non-regular file (device, FIFO), without creating,
    truncating or renaming anything."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    except OSError as e:
        if e.errno == errno.ENXIO:  # a socket, or a FIFO with no reader
            raise OutputRefused(f"cannot write {path}: nothing reads from it") from None
        raise translate_os_error(e, path) from None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        raise translate_os_error(e, path) from None
    finally:
        os.close(fd)


def write_output(path: Path | str, data: bytes, archive_root: Path | None) -> Path:
    """Write an output file by the rules above; returns the path really written.

    Raises:
        OutputRefused: If the path is inside the archive (outside ``clips/``) or a folder.
        DiskFull, ArchiveReadOnly: If the write fails (a regular file is left as it was).
    """
    t = check_output(path, archive_root)
    if t.special:
        write_into(t.path, data)
    else:
        atomic_write_bytes(t.path, data, mode=0o644 if t.mode is None else t.mode)
    return t.path


__all__ = ["CLIPS", "Target", "check_output", "inside", "write_into", "write_output"]
