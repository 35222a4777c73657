"""Word times checked against the audio: each word's edges moved to the speech it covers.

Whisper's cross-attention (DTW) timing hands the silence before a word to that word, so after a
pause a word "starts" up to a second early (base) or, with small models, a sentence's first
word starts late; a quote clip cut there begins in silence or clips the first syllable, and
its cited time is wrong. :func:`refine_words` moves word edges to where speech energy actually
rises and falls (:mod:`archive.speech.energy`), keeping words in order and never overlapping.

The checks of recognised text against the audio (text written over silence, speech that got
no words) live in :mod:`archive.speech.screen`; they are re-exported here, as are the energy envelope
functions, so ``from archive.speech.refine import screen_segments, frame_levels`` keeps working.
numpy only.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from .energy import FRAME, MIN_FLOOR_DB, SAMPLE_RATE, frame_levels, noise_floor
from ..models import Segment
from .screen import clip_segment, screen_segments, uncovered_speech

#: Public names, with those re-exported from :mod:`archive.speech.energy` and :mod:`archive.speech.screen`.
__all__ = ["FRAME", "MIN_FLOOR_DB", "SAMPLE_RATE", "clip_segment", "frame_levels",
           "noise_floor", "refine_words", "screen_segments", "uncovered_speech"]

#: A frame is speech when it is this many dB above the local noise floor...
RISE_DB = 9.0
#: ...and the edge is then walked outwards while the level stays this far above it.
EDGE_DB = 4.0
#: Furthest the edge walk may go, seconds (soft consonants, not breaths).
MAX_WALK = 0.08
#: A pause is at least this long, seconds...
MIN_PAUSE = 0.1
#: ...and mostly less than this many dB above the noise floor.
PAUSE_DB = 6.0
#: Sounds shorter than this (clicks, lip smacks) are not speech, seconds.
MIN_SOUND = 0.05
#: Activity this short at the very start (end) of a window is a neighbour's tail (head).
MAX_SPILL = 0.15
#: Longest stretch running on from a neighbouring word that may be handed back to it, seconds.
MAX_RUN_ON = 0.3
#: Furthest an edge sitting in speech is moved out to where that speech began, seconds.
MAX_REACH = 0.5
#: A word lying wholly in a pause at least this long may be moved out of it, seconds.
MIN_GAP = 0.3
#: Shortest word kept after refinement, seconds.
MIN_WORD = 0.03


def refine_words(audio: np.ndarray, segments: Sequence[Segment], *,
                 levels: np.ndarray | None = None) -> tuple[Segment, ...]:
    """Move each word's edges to the speech it covers.

    First every word shrinks to the speech inside its window: an onset that sits in a pause
    moves forward to where speech rises, an offset in a pause moves back to where it falls.
    An edge already in speech stays, unless that speech is only a short spill of the
    neighbouring word followed by a pause. Then an onset that sits in speech which began,
    after a pause, up to :data:`MAX_REACH` seconds earlier and after the previous word ended
    moves back to where that speech began (small models put the first word of a sentence
    late); offsets likewise forward. A word with no speech in its window at all, that sits in
    a pause of :data:`MIN_GAP` seconds or more, is moved to the speech after it (the first
    word of a sentence, put in the silence before) or before it, whichever is nearer and at
    most :data:`MAX_REACH` away; other words without speech are left as they are. Segment
    start and end then follow their first and last words.

    Args:
        audio: 16 kHz mono samples the segments were transcribed from.
        segments: Segments in time order, with words.
        levels: Precomputed :func:`frame_levels` of ``audio``, to save recomputing them.

    Returns:
        The segments with refined word times; words stay in order, non-overlapping and inside
        the audio.
    """
    if levels is None:
        levels = frame_levels(audio)
    duration = len(audio) / SAMPLE_RATE
    smooth = _smooth(levels)
    floor = np.maximum(noise_floor(smooth), MIN_FLOOR_DB)
    active = _drop_blips(smooth > floor + RISE_DB, int(round(MIN_SOUND / FRAME)))
    edge = smooth > floor + EDGE_DB
    # Stretches of speech: active frames, joined across dips that are short or not quiet
    # (a weak consonant is not a pause).
    speech = _fill_gaps(active, smooth < floor + PAUSE_DB, int(round(MIN_PAUSE / FRAME)))
    flat = [w for seg in segments for w in seg.words]
    # A word after a sentence end that spans a pause belongs to the speech after the pause:
    # Whisper puts such onsets early, and the stretch before is the last word's tail.
    late = [i > 0 and flat[i - 1].text.rstrip("\"'”»)").endswith((".", "?", "!", "…"))
            for i in range(len(flat))]
    spans = [_shrink(w.start, w.end, speech, edge, late=late[i]) for i, w in enumerate(flat)]
    spans = _relocate(spans, speech, edge)
    spans = _reach(spans, speech, edge)
    out: list[Segment] = []
    k = 0
    prev_end = 0.0
    for seg in segments:
        words = []
        for w in seg.words:
            start = min(max(spans[k][0], prev_end, 0.0), duration)
            end = min(max(spans[k][1], start), duration)
            words.append(dataclasses.replace(w, start=round(start, 3), end=round(end, 3)))
            prev_end, k = end, k + 1
        if words:
            seg = dataclasses.replace(seg, words=tuple(words), start=words[0].start,
                                      end=max(words[-1].end, words[0].start))
        out.append(seg)
    return tuple(out)


def _smooth(levels: np.ndarray, k: int = 3) -> np.ndarray:
    """Levels averaged (in power) over ``k`` frames: noise flickers less, onsets stay sharp."""
    if len(levels) < k:
        return levels.copy()
    power = np.convolve(10 ** (levels / 10), np.ones(k) / k, mode="same")
    return 10 * np.log10(np.maximum(power, 1e-12))


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) frame indices of the True runs of a mask."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]


def _drop_blips(mask: np.ndarray, shortest: int) -> np.ndarray:
    """The mask without True runs shorter than ``shortest`` frames (clicks, noise spikes)."""
    out = mask.copy()
    for s, e in zip(*_runs(mask)):
        if e - s < shortest:
            out[s:e] = False
    return out


def _fill_gaps(mask: np.ndarray, quiet: np.ndarray, shortest: int) -> np.ndarray:
    """The mask with the False runs between True runs filled, unless they are pauses: at
    least ``shortest`` frames long and mostly ``quiet``."""
    out = mask.copy()
    starts, ends = _runs(mask)
    for e, s in zip(ends[:-1], starts[1:]):
        if s - e < shortest or np.mean(quiet[e:s]) < 0.5:
            out[e:s] = True
    return out


def _walk(j: int, step: int, limit: int, edge: np.ndarray) -> int:
    """Move frame boundary ``j`` outwards (step -1 or +1) while the level stays above noise."""
    probe = j - 1 if step < 0 else j
    while j != limit and 0 <= probe < len(edge) and edge[probe]:
        j += step
        probe += step
    return j


def _shrink(start: float, end: float, speech: np.ndarray,
            edge: np.ndarray, *, late: bool = False) -> tuple[float, float]:
    a = max(0, int(round(start / FRAME)))
    b = min(len(speech), int(round(end / FRAME)))
    if b - a < 2:
        return start, end
    starts, ends = _runs(speech[a:b])
    if len(starts) == 0:
        return start, end  # nothing audible: keep Whisper's guess rather than invent one
    groups = [[int(s), int(e)] for s, e in zip(starts, ends)]
    # A short stretch at the window's very start followed by a pause is the previous word's
    # tail; one at its very end preceded by a pause is the next word's head. So is a longer
    # one that runs on from outside the window, if it holds a minor part of the window.
    span = b - a
    # After a sentence end, any pause will do: the stretch before it (a breath, a released
    # consonant) runs on from the last word.
    if late and len(groups) > 1 and groups[0][0] == 0 and \
            groups[-1][0] - groups[-2][1] >= MIN_PAUSE / FRAME:
        groups = groups[-1:]
    if len(groups) > 1 and groups[0][0] == 0 and _spill(
            groups[0][1], span, a > 0 and speech[a - 1]):
        groups.pop(0)
    if len(groups) > 1 and groups[-1][1] == span and _spill(
            span - groups[-1][0], span, b < len(speech) and speech[b]):
        groups.pop()
    i0, i1 = a + groups[0][0], a + groups[-1][1]
    walk = int(round(MAX_WALK / FRAME))
    new_start = _walk(i0, -1, max(a, i0 - walk), edge) * FRAME if i0 > a else start
    new_end = _walk(i1, 1, min(b, i1 + walk), edge) * FRAME if i1 < b else end
    if new_end - new_start < MIN_WORD:
        return start, end
    return max(start, new_start), min(end, new_end)


def _spill(length: int, span: int, runs_on: bool) -> bool:
    """Whether a stretch of ``length`` frames at the edge of a word window is a neighbour's."""
    if length <= MAX_SPILL / FRAME:
        return True
    return bool(runs_on) and length <= min(MAX_RUN_ON / FRAME, 0.4 * span)


def _relocate(spans: list[tuple[float, float]], speech: np.ndarray,
              edge: np.ndarray) -> list[tuple[float, float]]:
    """Move words lying wholly in a pause to the nearer speech (see :func:`refine_words`)."""
    n = len(speech)
    reach = int(round(MAX_REACH / FRAME))
    out = list(spans)
    for i, (start, end) in enumerate(spans):
        a, b = max(0, int(round(start / FRAME))), min(n, int(round(end / FRAME)))
        if b - a < 1 or speech[a:b].any():
            continue
        before = np.nonzero(speech[max(0, a - reach):a])[0]
        after = np.nonzero(speech[b:b + reach])[0]
        p = max(0, a - reach) + int(before[-1]) + 1 if len(before) else None  # speech ends
        q = b + int(after[0]) if len(after) else None  # speech starts
        pause = (q if q is not None else n) - (p if p is not None else 0)
        if pause < MIN_GAP / FRAME or (p is None and q is None):
            continue
        dur = end - start
        if q is not None and (p is None or q - b <= a - p):
            new_start = _walk(q, -1, max(b, q - int(MAX_WALK / FRAME)), edge) * FRAME
            limit = out[i + 1][1] - MIN_WORD if i + 1 < len(out) else n * FRAME
            new_end = min(new_start + dur, limit)
            if new_end - new_start >= MIN_WORD:
                out[i] = (new_start, new_end)
        elif p is not None:
            new_end = _walk(p, 1, min(a, p + int(MAX_WALK / FRAME)), edge) * FRAME
            floor = out[i - 1][1] if i else 0.0
            new_start = max(new_end - dur, floor)
            if new_end - new_start >= MIN_WORD:
                out[i] = (new_start, new_end)
    return out


def _reach(spans: list[tuple[float, float]], speech: np.ndarray,
           edge: np.ndarray) -> list[tuple[float, float]]:
    """Extend edges into speech that no word claims (see :func:`refine_words`)."""
    n = len(speech)
    reach = int(round(MAX_REACH / FRAME))
    walk = int(round(MAX_WALK / FRAME))
    out = list(spans)
    for i, (start, end) in enumerate(spans):
        a = int(round(start / FRAME))
        lo = int(np.ceil(out[i - 1][1] / FRAME)) if i else 0
        if 0 < a < n and speech[a] and speech[a - 1]:
            j = a
            while j > max(lo, a - reach) and speech[j - 1]:
                j -= 1
            if j > lo and not speech[j - 1]:
                start = min(start, _walk(j, -1, max(lo, j - walk), edge) * FRAME)
        b = int(round(end / FRAME))
        hi = int(spans[i + 1][0] / FRAME) if i + 1 < len(spans) else n
        if 0 < b < n and speech[b - 1] and speech[b]:
            j = b
            while j < min(hi, b + reach) and speech[j]:
                j += 1
            if j < hi and not speech[j]:
                end = max(end, _walk(j, 1, min(hi, j + walk), edge) * FRAME)
        out[i] = (start, end)
    return out
