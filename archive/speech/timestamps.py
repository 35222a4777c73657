"""Whisper's output tokens as segments, and word times for a batch of chunks.

Model-free helpers of :mod:`archive.speech.whisper` (the model object is passed in; nothing
here imports faster-whisper).
"""

from __future__ import annotations

from typing import Any

PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
#: Added to the word times of the k-th chunk of a batch while they are computed (seconds):
#: faster-whisper carries the end of the previous chunk's speech into the next chunk's word
#: timing; this makes every chunk start "after a long pause", whatever precedes it in its batch.
_APART = 10000.0


def split_tokens(tokenizer: Any, tokens: list[int], frames: int, model: Any
                 ) -> list[dict[str, Any]]:
    """Segments of one chunk's tokens, cut at the timestamps Whisper emits.

    Unlike faster-whisper, the text after the last timestamp (a segment the model did not
    close) is kept and ends where the chunk's audio ends: nothing follows to decode it again.
    """
    begin, eot = tokenizer.timestamp_begin, tokenizer.eot
    out: list[dict[str, Any]] = []
    cur: list[int] = []
    start, last = None, 0.0
    for t in tokens:
        if t >= begin:
            at = (t - begin) * model.time_precision
            if cur:  # closes the open segment
                s0 = last if start is None else start
                out.append({"seek": 0, "start": s0, "end": max(at, s0), "tokens": cur})
                cur, start, last = [], None, at
            else:  # opens the next one
                start = at
        elif t < eot:
            cur.append(t)
    if cur:
        s0 = last if start is None else start
        out.append({"seek": 0, "start": s0, "end": max(frames / model.frames_per_second, s0),
                    "tokens": cur})
    return out


def word_times(model: Any, group: list[list[dict[str, Any]]], tokenizer: Any, encoded: Any,
                frames: list[int]) -> None:
    """Add ``words`` to each segment dict of each chunk of ``group``, in place.

    faster-whisper carries the end of one chunk's speech into the next chunk's word timing;
    set apart by :data:`_APART`, every chunk starts after "a long pause", as a recording does.
    """
    for k, segs in enumerate(group):
        for s in segs:
            s["seek"] = round(k * _APART * model.frames_per_second)
            s["start"] += k * _APART
            s["end"] += k * _APART
    model.add_word_timestamps(group, tokenizer, encoded, frames, PREPEND_PUNCTUATIONS,
                              APPEND_PUNCTUATIONS, -_APART)
    for k, segs in enumerate(group):
        for s in segs:
            s["start"] -= k * _APART
            s["end"] -= k * _APART
            s["words"] = [(round(w["start"] - k * _APART, 3), round(w["end"] - k * _APART, 3),
                           w["word"], w["probability"]) for w in s.get("words") or ()]
