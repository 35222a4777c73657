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
