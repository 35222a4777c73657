"""Checks of recognised text against the audio: speech left without words, text over silence.

Whisper now and then skips a whole sentence inside its 30 s window (:func:`uncovered_speech`
finds the speech that got no words, to decode again; :func:`clip_segment` trims what the
second pass returns to the gap), and writes text over silence ("Thank you.", "Subtitles by…").
:func:`screen_segments` tells such text from text over speech by the energy envelope of
:mod:`archive.speech.energy`, and flags other likely hallucinations. numpy only.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Sequence

import numpy as np

from .fallback import repeats_back_to_back
from .energy import FRAME, MIN_FLOOR_DB, frame_levels
from ..models import Segment


# --- gaps in the recognised text --------------------------------------------------------------

def uncovered_speech(regions: Sequence[tuple[float, float]], segments: Sequence[Segment], *,
                     shortest: float = 1.0) -> list[tuple[float, float]]:
    """Parts of the speech regions that no word covers.

    Whisper now and then skips a whole sentence inside its 30 s window; these are the
    stretches to decode again.

    Args:
        regions: (start, end) speech regions from a VAD, seconds.
        segments: Recognised segments (their words, or the segment itself when it has none).
        shortest: Ignore uncovered parts shorter than this, seconds.

    Returns:
        (start, end) pairs in time order.
    """
    spans = sorted((w.start, w.end) for s in segments for w in (s.words or (s,)))
    gaps = []
    for a, b in regions:
        t = a
        for ws, we in spans:
            if we <= t or ws >= b:
                continue
            if ws - t >= shortest:
                gaps.append((t, ws))
            t = max(t, we)
        if b - t >= shortest:
            gaps.append((t, b))
    return gaps


def clip_segment(seg: Segment, a: float, b: float) -> Segment:
    """The segment cut to the words whose middle lies in [a, b], their edges kept inside it.

    Used for text decoded from a padded gap: the padding is context, and words known to lie in
    the gap must not reach into the neighbours' words. A segment without words is returned as
    it is; one left without words gets empty text.
    """
    words = tuple(w for w in seg.words if a <= (w.start + w.end) / 2 <= b)
    if not seg.words or not words:
        return dataclasses.replace(seg, text="", words=()) if seg.words else seg
    words = tuple(dataclasses.replace(w, start=min(max(w.start, a), w.end),
                                      end=max(min(w.end, b), w.start)) for w in words)
    if len(words) == len(seg.words):
        return dataclasses.replace(seg, start=words[0].start, end=words[-1].end, words=words)
    return dataclasses.replace(seg, start=words[0].start, end=words[-1].end, words=words,
                               text=" ".join(w.text for w in words))


# --- hallucination screening ------------------------------------------------------------------

#: Level (dBFS above 150 Hz, 90th percentile of 10 ms frames) below which nothing is audible.
SILENT_DB = -65.0
#: Spread (90th minus 10th percentile of frame levels, dB) below which a stretch holds no
#: syllabic modulation at all: steady hiss or hum, not speech.
FLAT_DB = 4.0
#: Speech must rise this far (dB) above the recording's noise floor to count as clearly there.
CLEAR_DB = 10.0
#: Whisper's own thresholds, as in its decoding fallback and no-speech skip.
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -0.5
LOW_LOGPROB = -1.0
MAX_COMPRESSION = 2.4

#: What Whisper writes on silence and noise (subtitle credits, sign-offs), after normalising.
_STOCK = re.compile(
    r"^(?:(?:thank you|thanks)(?: (?:very|so) much)?(?: for (?:watching|listening))?"
    r"|you|bye(?: bye)?|please subscribe.*|(?:subtitles?|captions?|transcription|transcribed)"
    r" by.*|.*amara org.*|untertitel.*|vielen dank(?: f[uü]rs zuschauen)?|sous titr.*"
    r"|sottotitoli.*|subt[ií]tulos.*|продолжение следует.*|ご視聴ありがとうございました)$")


def _norm_words(text: str) -> list[str]:
    return re.sub(r"[^\w' ]+", " ", text.lower().replace("-", " ")).split()


def _has_loop(words: list[str]) -> bool:
    """True when some n-gram repeats back to back: 5 times for one word, 3 for longer ones."""
    return repeats_back_to_back(words, 8, lambda n: 5 if n == 1 else 3)


def screen_segments(segments: Sequence[Segment], audio: np.ndarray, *,
                    levels: np.ndarray | None = None) -> tuple[list[Segment], list[Segment]]:
    """Drop text written over silence and flag likely hallucinations.

    A segment is dropped when the audio under it is inaudible, or when it is one of
    Whisper's stock silence phrases ("Thank you.", "Subtitles by…") and the audio under it
    is flat (no speech modulation) or barely rises above the noise floor. Other text is never
    dropped: kept segments get ``flags`` from :data:`archive.models.HALLUCINATION_FLAGS`,
    ``no_speech`` also when the audio under them is flat.

    Args:
        segments: Segments in time order, as the model gave them.
        audio: 16 kHz mono samples they were transcribed from.
        levels: Precomputed :func:`frame_levels` of ``audio``.

    Returns:
        (kept, dropped).
    """
    if levels is None:
        levels = frame_levels(audio)
    floor = max(float(np.percentile(levels, 10)), MIN_FLOOR_DB) if len(levels) else 0.0
    kept: list[Segment] = []
    dropped: list[Segment] = []
    prev: list[str] = []
    for seg in segments:
        a = max(0, int(seg.start / FRAME))
        lv = levels[a:max(a + 1, int(np.ceil(seg.end / FRAME)))]
        high = float(np.percentile(lv, 90)) if len(lv) else -120.0
        spread = high - float(np.percentile(lv, 10)) if len(lv) else 0.0
        words = _norm_words(seg.text)
        stock = bool(_STOCK.match(" ".join(words)))
        flat = spread < FLAT_DB
        if high < SILENT_DB or (stock and (flat or high - floor < CLEAR_DB)):
            dropped.append(seg)
            continue
        flags = []
        if flat or (seg.no_speech_prob > NO_SPEECH_PROB
                    and seg.avg_logprob < NO_SPEECH_LOGPROB):
            flags.append("no_speech")
        if seg.compression_ratio > MAX_COMPRESSION:
            flags.append("compression")
        if _has_loop(words) or (len(words) >= 3 and words == prev):
            flags.append("repetition")
        if seg.avg_logprob < LOW_LOGPROB:
            flags.append("low_logprob")
        kept.append(dataclasses.replace(seg, flags=tuple(flags)) if flags else seg)
        prev = words
    return kept, dropped
