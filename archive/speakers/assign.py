"""Laying diarization on a transcript: each word's speaker, its confidence and overlap marks.

:func:`assign_speakers` labels words (speaker, confidence, overlap) and splits segments at
changes of speaker; :func:`speaker_table` summarises the speakers; :func:`word_turns` gives
speaker turns from word times (turns follow the speech, never a segment's span);
:func:`match` ranks voiceprints.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Hashable, Iterable, Sequence, TypeVar

import numpy as np

from . import voice
from ..models import Segment, Speaker, Word, speaker_turns
from .result import Diarization, Turn

K = TypeVar("K", bound=Hashable)

#: A word counts as overlapped when this share of it (or 0.1 s) lies in an overlap region.
OVERLAP_SHARE = 0.3


class _Lookup:
    """Finds the turn a time span overlaps most (else the nearest) without a full scan."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.turns = sorted(turns, key=lambda t: t.start)
        self.starts = np.array([t.start for t in self.turns])
        self.longest = max((t.end - t.start for t in self.turns), default=0.0)

    def __call__(self, start: float, end: float) -> str | None:
        if not self.turns:
            return None
        lo = int(np.searchsorted(self.starts, start - self.longest, side="left"))
        hi = int(np.searchsorted(self.starts, end, side="right"))
        near = self.turns[max(0, lo - 1):min(len(self.turns), hi + 1)]
        overlap = [(min(end, t.end) - max(start, t.start), t.speaker) for t in near]
        best = max(overlap, key=lambda o: o[0])
        if best[0] > 0:
            return best[1]
        return min(near, key=lambda t: max(t.start - end, start - t.end)).speaker


class _Overlaps:
    """Tells whether a word lies in an overlap region."""

    def __init__(self, regions: Sequence[Turn]) -> None:
        self.regions = sorted((t.start, t.end) for t in regions)
        self.ends = np.array([b for _, b in self.regions])

    def __call__(self, start: float, end: float) -> bool:
        i = int(np.searchsorted(self.ends, start, side="right"))
        inside = 0.0
        while i < len(self.regions) and self.regions[i][0] < end:
            a, b = self.regions[i]
            inside += max(0.0, min(b, end) - max(a, start))
            i += 1
        return inside > 0 and (inside >= 0.1 or inside >= OVERLAP_SHARE * (end - start))


def _label(w: Word, speaker: str | None, diar: Diarization, overlapped: _Overlaps) -> Word:
    conf = None
    if speaker is not None:
        if diar.frames is None:
            conf = 1.0 if len(diar.speakers) <= 1 or diar.method == "channels" else None
        else:
            conf = diar.frames.confidence(w.start, w.end, speaker)
            # A word outside every speech frame got the nearest turn's speaker: a guess.
            conf = 0.5 if conf is None else round(conf, 3)
    return replace(w, speaker=speaker, speaker_confidence=conf,
                   overlap=overlapped(w.start, w.end))


def assign_speakers(segments: Sequence[Segment], diar: Diarization) -> tuple[Segment, ...]:
    """Label every word with a speaker and split segments where the speaker changes.

    Each word takes the speaker of the turn it overlaps most (else the nearest turn), with
    a confidence (the mean frame posterior of that speaker over the word) and an overlap
    mark when another voice was heard at the same time; a segment of a per-channel
    transcript takes its channel's party (confidence 1). A segment whose words
    change speaker is split there; the pieces get start, end and text from their words, and
    keep the other fields. Segments are renumbered from 0.
    """
    speaker_at = _Lookup(diar.turns)
    overlapped = _Overlaps(diar.overlaps)
    out: list[Segment] = []
    for seg in segments:
        if diar.method == "channels" and seg.channel is not None:
            label = f"S{seg.channel + 1}"
            out.append(replace(seg, speaker=label, words=tuple(
                replace(w, speaker=label, speaker_confidence=1.0) for w in seg.words)))
            continue
        if not seg.words:
            out.append(replace(seg, speaker=speaker_at(seg.start, seg.end)))
            continue
        words = [_label(w, speaker_at(w.start, w.end), diar, overlapped) for w in seg.words]
        runs: list[list[Word]] = []
        for w in words:
            if runs and runs[-1][-1].speaker == w.speaker:
                runs[-1].append(w)
            else:
                runs.append([w])
        if len(runs) == 1:
            out.append(replace(seg, speaker=words[0].speaker, words=tuple(words)))
            continue
        for run in runs:
            out.append(replace(seg, start=run[0].start, end=run[-1].end,
                               text=" ".join(w.text.strip() for w in run),
                               words=tuple(run), speaker=run[0].speaker))
    return tuple(replace(s, id=i) for i, s in enumerate(out))


def speaker_table(segments: Sequence[Segment], diar: Diarization) -> tuple[Speaker, ...]:
    """One :class:`Speaker` per label: talk time (from the turns), number of turns (maximal
    runs of consecutive segments by the speaker) and voiceprint, in order of first appearance."""
    labels = list(diar.speakers)
    labels += [s.speaker for s in segments if s.speaker and s.speaker not in labels]
    runs: dict[str, int] = {}
    prev = None
    for s in segments:
        if s.speaker and s.speaker != prev:
            runs[s.speaker] = runs.get(s.speaker, 0) + 1
        prev = s.speaker
    out = []
    for label in dict.fromkeys(labels):
        talk = sum(t.end - t.start for t in diar.turns if t.speaker == label)
        channel = int(label[1:]) - 1 if diar.method == "channels" else None
        out.append(Speaker(label=label, talk_time=round(talk, 3), turns=runs.get(label, 0),
                           voiceprint=tuple(diar.voiceprints.get(label, ())), channel=channel))
    return tuple(out)


def match(voiceprint: Sequence[float], candidates: Iterable[tuple[K, Sequence[float]]]
          ) -> list[tuple[K, float]]:
    """Rank candidate voiceprints by cosine similarity to ``voiceprint``, best first.

    Candidates with an empty voiceprint are skipped.
    """
    scored = [(key, voice.similarity(voiceprint, vp)) for key, vp in candidates if len(vp)]
    return sorted(scored, key=lambda kv: -kv[1])



def word_turns(segments: Sequence[Segment], gap: float = 0.5) -> list[Turn]:
    """Speaker turns from word times (:func:`archive.models.speaker_turns`) as :class:`Turn`."""
    return [Turn(a, b, who) for a, b, who in speaker_turns(segments, gap)]
