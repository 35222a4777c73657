"""What ``add`` accepts: folders walked (never into an archive), each input checked, Ogg
files checked for a cut end, and the audio stream that holds the speech.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import AudioTooLong, InputError, InsideArchive
from ..speech import audio


def archive_root(path: Path) -> Path | None:
    """The archive folder that ``path`` is, or lies inside (symbolic links resolved): a
    folder holding the ``archive.json`` marker beside ``catalog.sqlite`` or ``originals/``.
    None if there is none."""
    from ..evidence.store import MARKER
    try:
        p = Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None
    for d in (p, *p.parents):
        try:
            if (d / MARKER).is_file() and ((d / "catalog.sqlite").is_file()
                                          or (d / "originals").is_dir()):
                return d
        except OSError:
            continue
    return None


def walk(paths: Iterable[Path]) -> Iterator[Path]:
    """Files to add: given files as they are, folders walked recursively (sorted, links to
    folders not followed, so symlink loops cannot trap the walk).

    An archive folder (this one or any other) is never walked into: it is yielded itself,
    once, for :func:`check_input` to refuse, and so is a given path inside one.
    """
    for p in paths:
        p = Path(p)
        if p.is_dir() and archive_root(p) is None:
            for dirpath, dirnames, filenames in os.walk(p, followlinks=False):
                dirnames.sort()
                inside = [d for d in dirnames if archive_root(Path(dirpath) / d) is not None]
                for d in inside:
                    dirnames.remove(d)
                    yield Path(dirpath) / d
                for f in sorted(filenames):
                    fp = Path(dirpath) / f
                    if f.startswith(".") or fp.suffix.lower() not in audio.AUDIO_EXTENSIONS:
                        continue
                    yield fp
        else:
            yield p


def check_input(path: Path) -> None:
    """Raise InputError unless ``path`` is a readable, non-empty audio file outside any
    archive."""
    root = archive_root(path)
    if root is not None:
        what = "is an archive folder" if Path(os.path.realpath(path)) == root else \
            f"is inside the archive at {root}"
        raise InsideArchive(f"{path}: {what}; an archive's own files (originals, quarantine, "
                            "clips) are never added as new evidence")
    if not path.exists():
        if path.is_symlink():
            raise InputError(f"{path}: broken or looping symbolic link")
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path.name}: permission denied")
    audio.check_extension(path)
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: file is empty")


def ogg_complete(path: Path) -> bool:
    """True if an Ogg file ends with a whole page carrying the end-of-stream mark.

    A cut Ogg file decodes as a shorter but valid stream (its length is read from the last
    page left), so the missing end-of-stream page is the only sign that it was cut short.
    """
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 70000))  # longer than the largest possible page
        tail = f.read()
    i = tail.rfind(b"OggS")
    while i >= 0:
        if i + 27 <= len(tail) and tail[i + 4] == 0:
            n = tail[i + 26]
            if i + 27 + n <= len(tail) and i + 27 + n + sum(tail[i + 27:i + 27 + n]) == len(tail):
                return bool(tail[i + 5] & 4)
        i = tail.rfind(b"OggS", 0, i)
    return False


def speech_seconds(path: Path, streams: int, name: str, limit: float) -> list[float]:
    """Seconds of speech the VAD finds in each audio stream (-1 for one that cannot be
    decoded), to transcribe the stream that holds the speech rather than the first."""
    from ..speech import transcribe
    out = []
    for k in range(streams):
        try:
            pcm = audio.decode(path, name=name, max_duration=limit, stream=k)
        except AudioTooLong:
            raise
        except InputError:
            out.append(-1.0)
            continue
        out.append(round(sum(b - a for a, b in transcribe.speech_regions(pcm)), 2))
        del pcm
    return out
