"""The decoding state of one transcription: chunks in batches or windows one after another.

A chunk packs the speech between pauses into at most 30 s, and the model detects one
language for it. Where a recording switches language at a pause, the chunk that straddles
the switch would be written in one language, the other half garbled or translated
(measured: an English passage followed by German came out as "Der Riskt, der Ivery exported
from Europe …"). So a chunk of several speech regions whose neighbour chunk is in another
language has the language of each region detected; where they differ, it is cut at the
switch and each side decoded in its own language (:func:`language_runs`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from . import fallback, longform, whisper
from ..errors import ModelError
from ..models import Segment

SAMPLE_RATE = 16000
#: Shortest speech region whose detected language may cut a chunk, seconds: the model tells
#: languages apart poorly on less.
MIN_DETECT = 1.5
#: Lowest probability of a region's detected language for it to cut a chunk.
MIN_DETECT_PROBABILITY = 0.3
#: Audio a region's language is detected from, seconds (see :func:`detect_languages`).
DETECT = 10.0


@dataclass(frozen=True)
class Packing:
    """How speech is packed into chunks (see :func:`longform.pack`)."""

    pad: float
    max_pause: float
    cut: Callable[[float, float], float]


@dataclass(frozen=True)
class _Done:
    """One decoded chunk: its segments (recording times), language and span."""

    segments: list[Segment]
    language: str
    probability: float
    span: tuple[float, float]


class Run:
    """The decoding state of one :func:`archive.speech.transcribe.transcribe` call."""

    def __init__(self, model: Any, samples: np.ndarray, total: float, task: str,
                 hotwords: str | None, initial_prompt: str | None, multi: bool, batch: int,
                 progress: Callable[[float, float], None] | None,
                 regions: Sequence[tuple[float, float]] = (), packing: Packing | None = None
                 ) -> None:
        self.model, self.samples, self.total, self.batch = model, samples, total, batch
        self.args = {"task": task, "hotwords": hotwords, "initial_prompt": initial_prompt}
        self.multi, self.progress = multi, progress
        self.regions, self.packing = list(regions), packing
        #: language: (seconds of speech, highest probability)
        self.heard: dict[str, tuple[float, float]] = {}
        self.retries = 0
        #: batched chunks too repetitive for one pass, halved and decoded again
        self.repetitive = 0
        #: chunks cut where the language changes
        self.switches = 0

    def _hear(self, language: str, probability: float, segs: Sequence[Segment]
              ) -> list[Segment]:
        """Count a decoded part's speech for its language; its segments, tagged with it."""
        secs, prob = self.heard.get(language, (0.0, 0.0))
        self.heard[language] = (secs + sum(s.end - s.start for s in segs),
                                max(prob, probability))
        return [replace(s, language=language) for s in segs]

    def _clip(self, pieces: Sequence[longform.Piece]) -> np.ndarray:
        return np.concatenate([self.samples[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)]
                               for a, b in pieces])

    def chunks(self, chunks: Sequence[tuple[longform.Piece, ...]], language: str | None,
               *, count: bool = True) -> list[list[Segment]]:
        """Decode chunks from :func:`longform.pack`, ``batch`` at a time; the segments of
        each chunk, with the recording's times. With ``count``, progress is reported, the
        speech is counted for its language, and chunks straddling a language switch are cut
        (so the result may hold more lists than ``chunks``)."""
        done = self._decode(chunks, language, report=count)
        if count and language is None and self.multi and self.packing is not None:
            done = self._unmix(done)
        return [self._hear(d.language, d.probability, d.segments) if count else d.segments
                for d in done]

    def _decode(self, chunks: Sequence[tuple[longform.Piece, ...]], language: str | None,
                *, report: bool) -> list[_Done]:
        out: list[_Done] = []
        for i in range(0, len(chunks), self.batch):
            group = chunks[i:i + self.batch]
            decoded = whisper.decode_batch(self.model, [self._clip(p) for p in group],
                                           language=language, **self.args)
            for pieces, d in zip(group, decoded):
                span = (pieces[0][0], pieces[-1][1])
                if d.compression > fallback.COMPRESSION_RATIO_THRESHOLD and len(pieces) > 1:
                    # Speech that repeats itself (a slogan, a message played twice): in one
                    # pass the model skips or invents repeats. Halves, cut at a pause, hold
                    # fewer repeats each.
                    self.repetitive += 1
                    halves = self._decode(_halve(pieces), d.language, report=False)
                    out.append(_Done([s for h in halves for s in h.segments], d.language,
                                     d.language_probability, span))
                    continue
                out.append(_Done([_to_source(s, pieces) for s in d.segments], d.language,
                                 d.language_probability, span))
                self.retries += d.retries
            if report and self.progress is not None:
                self.progress(min(group[-1][-1][1], self.total), self.total)
        return out

    def _unmix(self, done: list[_Done]) -> list[_Done]:
        """Cut the chunks that straddle a switch of language; see the module's docstring."""
        assert self.packing is not None
        out: list[_Done] = []
        for i, d in enumerate(done):
            near = {done[k].language for k in (i - 1, i + 1) if 0 <= k < len(done)} - {
                d.language}
            inside = [(max(a, d.span[0]), min(b, d.span[1])) for a, b in self.regions
                      if a < d.span[1] and b > d.span[0]]
            if not near or len(inside) < 2:
                out.append(d)
                continue
            found = detect_languages(self.model, [self._clip([r]) for r in inside],
                                     batch=self.batch)
            runs = language_runs(inside, found, {d.language} | near)
            if len(runs) < 2:
                out.append(d)
                continue
            self.switches += 1
            for lang, prob, regions in runs:
                sub = longform.pack(regions, self.total, length=whisper.CHUNK,
                                    pad=self.packing.pad, max_pause=self.packing.max_pause,
                                    cut=self.packing.cut)
                out += [dataclasses.replace(x, probability=prob)
                        for x in self._decode(sub, lang, report=False)]
        return out

    def windows(self, windows: Sequence[tuple[float, float]], language: str | None
                ) -> list[Segment]:
        """Decode windows with faster-whisper's sequential loop."""
        out: list[Segment] = []
        for a, b in windows:
            out.extend(self.window(a, b, language))
        return out

    def window(self, a: float, b: float, language: str | None, *, count: bool = True
               ) -> list[Segment]:
        """Decode ``a..b`` seconds with faster-whisper's sequential loop."""
        def shown(s: Segment) -> None:
            if count and self.progress is not None:
                self.progress(min(a + s.end, self.total), self.total)

        d = whisper.decode_window(
            self.model, self.samples[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)],
            language=language, multilingual=self.multi, on_segment=shown, **self.args)
        segs = [_shift(s, a) for s in d.segments]
        self.retries += d.retries
        if count:
            heard = d.heard or {}
            segs = [x for s in segs for x in self._hear(
                s.language or d.language, heard.get(s.language or "", d.language_probability),
                [s])]
        return segs


def detect_languages(model: Any, clips: Sequence[np.ndarray], *, batch: int = 8
                     ) -> list[dict[str, float]]:
    """The language probabilities of each clip, from its first :data:`DETECT` seconds.

    The encoder takes :data:`DETECT` s instead of 30 s: a seventh of the cost (base, CPU),
    and on real speech regions of 1.5 s and more it named the language a full window names
    (tried in English, German and Spanish; on 0.8 s it did not). A model that knows only
    English says English.

    Raises:
        ModelError: If the model fails.
    """
    if not bool(model.model.is_multilingual):
        return [{"en": 1.0} for _ in clips]
    n = int(DETECT * SAMPLE_RATE) // model.feature_extractor.hop_length  # mel frames
    out: list[dict[str, float]] = []
    try:
        for i in range(0, len(clips), batch):
            stack, _ = whisper.features(
                model, [c[:int(DETECT * SAMPLE_RATE)] for c in clips[i:i + batch]], n)
            out += [{tok[2:-2]: float(p) for tok, p in d}
                    for d in model.model.detect_language(model.encode(stack))]
    except (RuntimeError, ValueError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise ModelError(f"language detection failed: {first}") from None
    return out


def language_runs(regions: Sequence[tuple[float, float]],
                  found: Sequence[dict[str, float]], allowed: set[str]
                  ) -> list[tuple[str, float, list[tuple[float, float]]]]:
    """Consecutive speech regions grouped by language.

    A region votes for the likeliest of the ``allowed`` languages (the chunk's own and its
    neighbours') if it lasts :data:`MIN_DETECT` seconds and that language has at least
    :data:`MIN_DETECT_PROBABILITY` and twice the probability of the next allowed one; any other
    region joins the run before it (or, at the start, the first run).

    Args:
        regions: (start, end) seconds, in time order.
        found: The language probabilities of each region.
        allowed: Languages a region may vote for.

    Returns:
        (language, highest probability, regions) per run, in time order.
    """
    votes: list[tuple[str, float] | None] = []
    for (a, b), probs in zip(regions, found):
        ranked = sorted(((probs.get(lang, 0.0), lang) for lang in allowed), reverse=True)
        p, lang = ranked[0]
        second = ranked[1][0] if len(ranked) > 1 else 0.0
        votes.append((lang, p) if b - a >= MIN_DETECT and p >= MIN_DETECT_PROBABILITY
                     and p >= 2 * second else None)
    known = [v for v in votes if v is not None]
    if not known:
        return []
    runs: list[tuple[str, float, list[tuple[float, float]]]] = []
    current = known[0][0]
    for r, v in zip(regions, votes):
        current = v[0] if v else current
        p = v[1] if v else 0.0
        if runs and runs[-1][0] == current:
            lang, prob, rs = runs[-1]
            runs[-1] = (lang, max(prob, p), rs + [r])
        else:
            runs.append((current, p, [r]))
    return runs


def _halve(pieces: Sequence[longform.Piece]) -> list[tuple[longform.Piece, ...]]:
    """Two chunks from one, cut at the pause between pieces nearest its middle."""
    speech = np.cumsum([b - a for a, b in pieces])
    k = int(np.argmin(np.abs(speech[:-1] - speech[-1] / 2))) + 1
    return [tuple(pieces[:k]), tuple(pieces[k:])]


def _shift(s: Segment, offset: float) -> Segment:
    return dataclasses.replace(
        s, start=s.start + offset, end=s.end + offset,
        words=tuple(dataclasses.replace(w, start=w.start + offset, end=w.end + offset)
                    for w in s.words))


def _to_source(s: Segment, pieces: Sequence[longform.Piece]) -> Segment:
    """A segment decoded from a chunk, with the times of the recording."""
    words = tuple(dataclasses.replace(
        w, start=round(longform.to_source(pieces, w.start, (w.start + w.end) / 2), 3),
        end=round(longform.to_source(pieces, w.end, (w.start + w.end) / 2), 3))
        for w in s.words)
    if words:
        return dataclasses.replace(s, start=words[0].start, end=max(w.end for w in words),
                                   words=words)
    return dataclasses.replace(s, start=round(longform.to_source(pieces, s.start), 3),
                               end=round(longform.to_source(pieces, s.end), 3))
