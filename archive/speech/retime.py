"""Re-timing the words of an edited segment: unchanged words keep their times, changed ones
are placed by forced alignment or in proportion to their length.

Pure functions on :class:`~archive.models.Segment` and :class:`~archive.models.Word`; the
aligner and refiner that listen to the audio are passed in (see :mod:`archive.editing.revisions`).
:mod:`archive.editing.corrections` applies an edited text segment by segment with these.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import Callable, Sequence

from ..models import Segment, Word

#: aligner(segment, new words) -> aligned words with absolute times, or None when impossible.
Aligner = Callable[[Segment, Sequence[str]], Sequence[Word] | None]
#: refiner(segment, new words) -> the words snapped to the speech they cover.
Refiner = Callable[[Segment, list[Word]], list[Word]]


def word_key(token: str) -> str:
    """A word as compared across revisions: case-folded, without punctuation."""
    k = re.sub(r"[\W_]+", "", token.casefold())
    return k or token


def _char_times(aligned: Sequence[Word],
                tokens: Sequence[str]) -> list[tuple[float, float]] | None:
    """Times of each token from alignment words that may split or join tokens differently."""
    if "".join(w.text for w in aligned).replace(" ", "") != "".join(tokens):
        return None
    per_char: list[tuple[float, float]] = []
    for w in aligned:
        chars = w.text.replace(" ", "")
        step = (w.end - w.start) / max(len(chars), 1)
        per_char += [(w.start + k * step, w.start + (k + 1) * step) for k in range(len(chars))]
    out, pos = [], 0
    for tok in tokens:
        out.append((per_char[pos][0], per_char[pos + len(tok) - 1][1]))
        pos += len(tok)
    return out


def _spread(tokens: Sequence[str], lo: float, hi: float) -> list[tuple[float, float]]:
    """Time spans for tokens spread over [lo, hi] in proportion to their length."""
    import numpy as np  # lazily: reading transcripts (search, serve) must not load numpy
    weights = np.array([len(word_key(x)) + 1 for x in tokens], dtype=float)
    edges = lo + (hi - lo) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    return [(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:])]


def retime_segment(seg: Segment, tokens: Sequence[str], speaker: str | None, *,
                   aligned: Sequence[Word] | None = None,
                   refine: Refiner | None = None,
                   bounds: tuple[float, float] | None = None
                   ) -> tuple[Segment, str, list[tuple[float, float]]]:
    """The segment with its words replaced by ``tokens``.

    Words whose letters are unchanged (case and punctuation aside) keep their timings and
    probability exactly. A run of new or changed words goes between the unchanged words
    around it: at the times forced alignment gave (``aligned``, for the whole new text),
    clipped to that gap, or else spread over the replaced words' span in proportion to length.
    New words get probability 1.0 (a human typed them).

    Args:
        bounds: How far words put before the first or after the last word may reach (the
            pause up to the neighbouring segments); the segment's own span by default.

    Returns:
        (segment, timing used or "", time spans of the changed words, old and new).
    """
    first, last = bounds or (seg.start, seg.end)
    old = list(seg.words) or [Word(a, b, x) for (a, b), x in zip(
        _spread(seg.text.split(), seg.start, seg.end), seg.text.split())]
    times = _char_times(aligned, tokens) if aligned else None
    ops = difflib.SequenceMatcher(None, [word_key(w.text) for w in old],
                                  [word_key(x) for x in tokens], autojunk=False).get_opcodes()
    words: list[Word] = []
    used, spans = set(), []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            words += [dataclasses.replace(w, text=x, speaker=w.speaker if speaker is None
                                          else speaker) for w, x in zip(old[i1:i2], tokens[j1:j2])]
            continue
        if i2 > i1:
            spans.append((old[i1].start, old[i2 - 1].end))
        if tag == "delete":
            continue
        lo = old[i1 - 1].end if i1 > 0 else min(first, seg.start)
        hi = max(lo, old[i2].start if i2 < len(old) else max(last, seg.end))
        placed = None
        if times is not None:
            placed, prev = [], lo
            for a, b in times[j1:j2]:
                a = min(max(a, prev), hi)
                b = min(max(b, a), hi)
                placed.append((a, b))
                prev = b
            raw = times[j2 - 1][1] - times[j1][0]
            if raw <= 0 or (hi - lo > 0.05 and placed[-1][1] - placed[0][0] < 0.5 * raw):
                placed = None  # mostly outside the gap: the alignment disagrees, don't use it
        used.add("aligned" if placed else "proportional")
        if placed is None:
            a, b = (old[i1].start, old[i2 - 1].end) if i2 > i1 else (lo, hi)
            placed = _spread(tokens[j1:j2], max(a, lo), min(b, hi))
        run = [Word(round(a, 3), round(b, 3), x, 1.0, speaker)
               for (a, b), x in zip(placed, tokens[j1:j2])]
        if refine is not None:
            run, prev = refine(seg, run), lo
            for k, w in enumerate(run):  # refinement may reach outwards: stay in the gap
                a = min(max(w.start, prev), hi)
                run[k] = dataclasses.replace(w, start=a, end=min(max(w.end, a), hi))
                prev = run[k].end
        spans.append((run[0].start, run[-1].end))
        words += run
    timing = "mixed" if len(used) > 1 else next(iter(used), "")
    if not words:
        return dataclasses.replace(seg, text="", words=()), timing, spans
    # The segment follows its first and last words where those changed.
    start = seg.start if ops[0][0] == "equal" else words[0].start
    end = seg.end if ops[-1][0] == "equal" else max(words[-1].end, start)
    return (dataclasses.replace(seg, text=" ".join(tokens), words=tuple(words), speaker=speaker,
                                start=start, end=end), timing, spans)


#: Furthest words added at a segment's edge may reach into the pause around it, seconds.
EDGE_REACH = 1.0


def edge_bounds(segments: Sequence[Segment], k: int, duration: float) -> tuple[float, float]:
    """(earliest start, latest end) for words added at the edges of segment ``k``: into the
    pause around it, up to the neighbouring segments of the same channel."""
    seg = segments[k]
    prev = [s.end for s in segments[:k] if s.channel == seg.channel]
    nxt = [s.start for s in segments[k + 1:] if s.channel == seg.channel]
    lo = max([seg.start - EDGE_REACH, 0.0, *prev[-1:]])
    hi = min([seg.end + EDGE_REACH, duration, *nxt[:1]])
    return min(lo, seg.start), max(hi, seg.end)
