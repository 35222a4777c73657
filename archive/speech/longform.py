"""Long recordings in bounded memory: work in chunks cut at pauses, then stitch.

faster-whisper computes the log-mel features of its whole input at once, and its VAD pads
and re-batches the whole input too: for a two-hour voice note that is about 7 GB. Both are
run here on stretches of at most a few minutes, cut where nobody speaks, so memory no
longer grows with the recording's length. Cutting at a pause changes nothing that matters:
decoding is not conditioned on previous text, and language is detected per 30 s anyway.

Plain arithmetic on sample counts and seconds: the caller supplies the detector and decoder.
"""

from __future__ import annotations

from typing import Callable, Sequence

#: Samples of audio given to the VAD at once (10 minutes at 16 kHz).
VAD_CHUNK = 600 * 16000
#: A chunk's regions that start this close to its end are detected again in the next chunk,
#: where they are not cut short (samples).
VAD_MARGIN = 30 * 16000
#: Regions this close to a forced cut (samples, 0.1 s) are one region cut in two.
_JOIN = 1600


def chunked_regions(n: int, detect: Callable[[int, int], list[tuple[int, int]]], *,
                    chunk: int | None = None, margin: int | None = None, join: int = _JOIN
                    ) -> list[tuple[int, int]]:
    """Speech regions of a long signal, detected a chunk at a time.

    Each chunk after the first starts in a pause the previous chunk found, so the detector
    starts every chunk in the state it starts a recording in. A chunk without a usable pause
    is cut at its end, and the region that straddles the cut is joined again.

    Args:
        n: Length of the signal, samples.
        detect: ``detect(a, b)`` returns the (start, end) sample pairs of speech within
            samples ``a..b``, relative to ``a``.
        chunk: Samples per call (default :data:`VAD_CHUNK`).
        margin: See :data:`VAD_MARGIN` (the default).
        join: Regions ending and starting this close to a forced cut are joined (samples).

    Returns:
        (start, end) sample pairs in time order.
    """
    chunk = chunk or VAD_CHUNK
    margin = min(margin or VAD_MARGIN, chunk // 2)  # every chunk must move forward
    out: list[tuple[int, int]] = []
    start, joined = 0, None
    while start < n:
        end = min(n, start + chunk)
        regs = [(start + a, start + b) for a, b in detect(start, end)]
        keep, nxt = regs, end
        limit = end - margin
        if end == n:
            nxt = n
        elif not regs or regs[-1][1] < limit:
            nxt = limit  # silence from here on: the next chunk overlaps this one's tail
            keep = [r for r in regs if r[0] < limit]
        else:  # cut in the last pause that leaves the next region whole
            half = start + (end - start) // 2
            for i in range(len(regs) - 1, 0, -1):
                cut = (regs[i - 1][1] + regs[i][0]) // 2
                if cut <= half:
                    break
                if regs[i][0] <= limit and regs[i][0] > regs[i - 1][1]:
                    keep, nxt = regs[:i], cut
                    break
        if joined is not None and keep and out and keep[0][0] <= joined + join \
                and out[-1][1] >= joined - join:
            out[-1] = (out[-1][0], keep[0][1])
            keep = keep[1:]
        out.extend(keep)
        joined = nxt if nxt == end and end < n else None
        start = nxt
    return out


def windows(regions: Sequence[tuple[float, float]], total: float, *, length: float,
            search: float = 60.0) -> list[tuple[float, float]]:
    """Split ``0..total`` seconds into windows of at most ``length``, cut in pauses.

    Each cut is made in the middle of the longest pause between speech regions in the last
    ``search`` seconds of a window (at most its second half); when there is none, at the
    window's end.

    Args:
        regions: Speech regions (start, end) in seconds, in time order.
        total: Duration, seconds.
        length: Longest window, seconds.
        search: How far back from a window's end to look for a pause, seconds.

    Returns:
        (start, end) pairs covering ``0..total`` without overlap.
    """
    out: list[tuple[float, float]] = []
    pos = 0.0
    while total - pos > length:
        hi, lo = pos + length, pos + length - min(search, length / 2)
        best, cut = 0.0, hi
        prev_end = pos
        for a, b in regions:
            if b <= pos:
                continue
            gap_a, gap_b = max(prev_end, lo), min(a, hi)
            if gap_b - gap_a > best:
                best, cut = gap_b - gap_a, (gap_a + gap_b) / 2
            prev_end = max(prev_end, b)
            if a >= hi:
                break
        else:
            if hi - max(prev_end, lo) > best:  # silence after the last region
                cut = (max(prev_end, lo) + hi) / 2
        out.append((pos, cut))
        pos = cut
    out.append((pos, total))
    return out


Piece = tuple[float, float]


def pack(regions: Sequence[tuple[float, float]], total: float, *, length: float = 30.0,
         pad: float = 0.2, max_pause: float = 1.0,
         cut: Callable[[float, float], float] | None = None) -> list[tuple[Piece, ...]]:
    """Group speech regions into chunks of at most ``length`` seconds of audio, for a model
    that takes one window at a time.

    Each region is padded into the silence around it (at most ``pad``, and never past the
    middle of a pause). Regions are then added to a chunk in order: a pause of at most
    ``max_pause`` is kept as it is, a longer one is left out (the chunk then holds several
    pieces of the recording, joined). A region longer than ``length`` is cut at ``cut(lo,
    hi)``, a moment between ``lo`` and ``hi`` chosen by the caller (the quietest, say), else
    at ``hi``.

    Args:
        regions: Speech (start, end) in seconds, in time order.
        total: Duration of the recording, seconds.
        length: Most audio in one chunk, seconds.
        pad: Silence kept on each side of a region, seconds.
        max_pause: Longest pause kept inside a chunk, seconds.
        cut: Where to cut a region that is too long.

    Returns:
        Chunks in time order, each a tuple of (start, end) pieces of the recording, seconds.
    """
    split: list[tuple[float, float]] = []
    for a, b in regions:
        a, b = max(0.0, a), min(total, b)
        while b - a > length - 2 * pad:
            lo, hi = a + length / 2, a + length - 2 * pad
            at = min(max(cut(lo, hi) if cut else hi, lo), hi)
            split.append((a, at))
            a = at
        if b > a:
            split.append((a, b))
    padded = []
    for i, (a, b) in enumerate(split):
        before = (split[i - 1][1] + a) / 2 if i else 0.0
        after = (b + split[i + 1][0]) / 2 if i + 1 < len(split) else total
        padded.append((max(0.0, a - pad, min(a, before)), min(total, b + pad, max(b, after))))
    chunks: list[tuple[Piece, ...]] = []
    cur: list[Piece] = []
    size = 0.0
    for lo, hi in padded:
        if cur and lo - cur[-1][1] <= max_pause and size + hi - cur[-1][1] <= length:
            size += hi - cur[-1][1]
            cur[-1] = (cur[-1][0], hi)
        elif cur and lo - cur[-1][1] > max_pause and size + hi - lo <= length:
            size += hi - lo
            cur.append((lo, hi))
        else:
            if cur:
                chunks.append(tuple(cur))
            cur, size = [(lo, hi)], hi - lo
    if cur:
        chunks.append(tuple(cur))
    return chunks


def to_source(pieces: Sequence[Piece], t: float, at: float | None = None) -> float:
    """A time in a chunk made of ``pieces`` laid end to end, as a time in the recording.

    Args:
        pieces: The chunk's pieces, from :func:`pack`.
        t: Seconds from the chunk's start.
        at: Where to look up the piece (default ``t``): give a word's middle to map both of
            its ends through the piece that holds it.

    Returns:
        Seconds from the recording's start, inside the chosen piece.
    """
    at = t if at is None else at
    offset = 0.0
    for k, (a, b) in enumerate(pieces):
        if at < offset + (b - a) or k == len(pieces) - 1:
            return min(max(a + t - offset, a), b)
        offset += b - a
    return t  # no pieces: nothing to map
