"""Ogg page scanning: where the links of a chained Ogg file begin.

Two voice notes joined with ``cat`` make a *chained* Ogg file: the second stream starts (with
its own begin-of-stream pages) where the first ends, and it may have another sample rate or
channel count. FFmpeg's demuxer cannot change stream parameters mid-file and stops there, so
:mod:`archive.speech.audio` decodes each link on its own; this module finds them. It reads
page headers only (no checksum: a damaged page is the decoder's business), resyncing on the
next ``OggS`` capture pattern after damage.
"""

from __future__ import annotations

import io
import mmap
import os
from pathlib import Path
from typing import BinaryIO

#: First bytes of the identification packet of the codecs a link may start with.
_CODEC_MAGIC = (b"OpusHead", b"\x01vorbis", b"\x7fFLAC", b"Speex   ", b"\x80theora")


def links(path: str | os.PathLike[str]) -> list[tuple[int, int]]:
    """Byte ranges ``(start, end)`` of the links of an Ogg file, in file order.

    An ordinary file is one link covering the whole file. A new link begins at a
    begin-of-stream page that carries a codec header and follows a page of ordinary data.
    Bytes before the first page belong to the first link.
    """
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        return [(0, 0)]
    with open(p, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        starts = [0]
        seen_data = False
        pos = m.find(b"OggS")
        while 0 <= pos and pos + 27 <= size:
            nseg = m[pos + 26]
            end = pos + 27 + nseg + sum(m[pos + 27:pos + 27 + nseg])
            if m[pos + 4] != 0 or end > size or (end < size and m[end:end + 4] != b"OggS"
                                                 and m.find(b"OggS", pos + 4, end) >= 0):
                # Not a page header (or a damaged one): look for the next capture pattern.
                pos = m.find(b"OggS", pos + 4)
                continue
            body = pos + 27 + nseg
            if m[pos + 5] & 2 and m[body:body + 8].startswith(_CODEC_MAGIC):
                if seen_data:
                    starts.append(pos)
                    seen_data = False
            else:
                seen_data = True
            pos = end if m[end:end + 4] == b"OggS" else m.find(b"OggS", end)
    return [(a, b) for a, b in zip(starts, [*starts[1:], size])]


class Window(io.RawIOBase):
    """A read-only, seekable view of bytes ``start..end`` of a file, as a file object
    (what PyAV is given to open one link of a chained file)."""

    def __init__(self, f: BinaryIO, start: int, end: int) -> None:
        super().__init__()
        self._f, self._start, self._end, self._pos = f, start, end, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        n = max(0, min(len(b), self._end - self._start - self._pos))
        if n == 0:
            return 0
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        b[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos,
                io.SEEK_END: self._end - self._start}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos
