"""Who spoke when: speaker diarization from GE2E d-vectors, and word-to-speaker assignment.

:func:`diarize`: 1 s windows every 0.25 s over the speech regions are embedded
(:mod:`archive.speakers.voice`) and clustered spectrally (pruned cosine-affinity graph; the number of
speakers is read from the largest normalised eigengap). Then, in turn: every 50 ms frame is
scored against the speaker centroids (mean similarity of the windows covering it) and decoded
by a Viterbi pass that charges for each change of speaker (no flicker, yet quick turn-taking
inside one speech region is found); centroids are re-estimated from the most typical windows
lying wholly inside one speaker's turns; a speaker with under ``min_cluster`` seconds is
dissolved and two speakers closer than ``merge_threshold`` are merged. Pauses up to ``max_gap``
between turns of one speaker are bridged: the reference counts short pauses as speech. The
maths of each step lives in :mod:`archive.speakers.clustering`; this module drives them and names
the speakers.

Calls with one party per channel are diarized by channel (:func:`diarize_channels`).

The transcript side: :func:`assign_speakers` labels words and splits segments at changes of
speaker, :func:`speaker_table` summarises the speakers, :func:`match` ranks voiceprints.

:class:`Options` and :data:`SPEECH_OPTIONS` were tuned on development material only:
``meeting_sample``, the two AMI excerpts, synthetic calls from seeds 100-131, and
single-speaker checks (jfk, LibriSpeech concatenations). See bench/diarization.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Hashable, Iterable, Mapping, Sequence, TypeVar

import numpy as np

from . import clustering as cl
from . import voice
from ..errors import DiarizationError
from ..models import Segment, Speaker, Word

K = TypeVar("K", bound=Hashable)
Progress = Callable[[float, float], None]


@dataclass(frozen=True)
class Turn:
    """A stretch of time attributed to one speaker."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Diarization:
    """Result of diarization.

    Attributes:
        turns: Turns in time order (they may overlap only for per-channel recordings).
        voiceprints: Speaker label -> L2-normalised mean embedding.
        method: How the turns were found: ``ge2e-spectral`` or ``channels``.
    """

    turns: tuple[Turn, ...]
    voiceprints: Mapping[str, tuple[float, ...]]
    method: str

    @property
    def speakers(self) -> tuple[str, ...]:
        """Speaker labels in order of first appearance."""
        return tuple(dict.fromkeys(t.speaker for t in self.turns))


@dataclass(frozen=True)
class Options:
    """Tunable settings of :func:`diarize` (defaults tuned on dev data; see module docstring)."""

    window: float = 1.0          # embedding window, s
    step: float = 0.25           # hop between windows, s
    min_window: float = 0.6      # shorter windows are not clustered, only scored
    merge_threshold: float = 0.85  # speakers whose core centroids are closer are merged
    min_cluster: float = 4.0     # seconds of speech a speaker must have
    frame: float = 0.05          # resegmentation frame, s
    switch_penalty: float = 0.5  # Viterbi cost of a speaker change (similarity units)
    temperature: float = 0.05    # similarity -> log-likelihood scale
    core: float = 0.7            # fraction of most typical windows that make a centroid
    max_gap: float = 0.8         # same-speaker pauses bridged, s
    max_units: int = 600         # cap on clustered units (long recordings are pooled)


DEFAULT = Options()
METHOD = "ge2e-spectral"

#: Keyword options for :func:`archive.speech.transcribe.speech_regions` that suit diarization: a
#: lower speech threshold and wider padding keep quiet word edges inside the turns (the
#: reference counts speech up to its edges), shorter pauses split regions at quick turn-taking.
SPEECH_OPTIONS: Mapping[str, float] = {"threshold": 0.35, "min_silence": 0.2, "pad": 0.15}


# --- pipeline -----------------------------------------------------------------------------

def _clean_regions(speech: Sequence[tuple[float, float]],
                   duration: float) -> list[tuple[float, float]]:
    """Speech regions clipped to the recording, sorted, merged where they touch, and without
    slivers of 20 ms or less."""
    regions = sorted((max(0.0, float(a)), min(duration, float(b))) for a, b in speech)
    out: list[tuple[float, float]] = []
    for a, b in regions:
        if b - a <= 0.02:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _resegment(regions: Sequence[tuple[float, float]], windows: Sequence[tuple[float, float]],
               emb: np.ndarray, cent: np.ndarray, opt: Options) -> list[cl.RawTurn]:
    """:func:`archive.speakers.clustering.resegment` with the settings of ``opt``."""
    return cl.resegment(regions, windows, emb, cent, frame=opt.frame,
                        temperature=opt.temperature, switch_penalty=opt.switch_penalty)


# --- public API -----------------------------------------------------------------------------

def diarize(audio: np.ndarray, speech: Sequence[tuple[float, float]], *,
            num_speakers: int | None = None, min_speakers: int = 1, max_speakers: int = 6,
            progress: Progress | None = None, options: Options = DEFAULT) -> Diarization:
    """Find who spoke when in a mono recording.

    Args:
        audio: 16 kHz mono float32 samples.
        speech: Speech regions (start, end) in seconds, e.g. from
            :func:`archive.speech.transcribe.speech_regions`.
        num_speakers: The number of speakers when known.
        min_speakers: Fewest speakers to find.
        max_speakers: Most speakers to find.
        progress: Called with (done, total) while windows are embedded.
        options: Tunable settings.

    Returns:
        Turns labelled ``S1``, ``S2``... in order of first appearance, with voiceprints.

    Raises:
        DiarizationError: If the speaker encoder cannot be loaded or the bounds are invalid.
    """
    if num_speakers is not None and num_speakers < 1 or min_speakers < 1 \
            or max_speakers < min_speakers:
        raise DiarizationError("invalid speaker-count bounds")
    audio = np.asarray(audio, dtype=np.float32)
    regions = _clean_regions(speech, len(audio) / voice.SAMPLE_RATE)
    if not regions:
        return Diarization((), {}, METHOD)
    windows = voice.sliding_windows(regions, window=options.window, step=options.step)
    emb = voice.embed_windows(audio, windows, progress=progress)
    units = cl.units(emb, windows, regions, min_window=options.min_window,
                     max_units=options.max_units)
    k_fixed = min(num_speakers, len(units)) if num_speakers else None
    if len(units) < 4 or max_speakers == 1 or k_fixed == 1:
        labels = np.zeros(len(units), dtype=int)
    else:
        labels = cl.spectral(units, min_speakers, max_speakers, k_fixed)
    cent = cl.centroids(units, labels)
    floor = k_fixed or min_speakers
    for _ in range(2 * len(cent) + 1):
        turns = _resegment(regions, windows, emb, cent, options)
        # Centroids from windows lying wholly inside one speaker's turn: windows across a
        # change of speaker blur them and make two voices look alike.
        owner = cl.window_owner(windows, turns, whole=True)
        cent = cl.core_centroids(emb, owner, cent, options.core)
        talk = np.array([sum(b - a for a, b, j in turns if j == k) for k in range(len(cent))])
        if len(cent) > floor and talk.min() < options.min_cluster:
            cent = np.delete(cent, int(np.argmin(talk)), axis=0)
            continue
        if len(cent) > floor and not k_fixed:
            sim = cent @ cent.T
            np.fill_diagonal(sim, -1)
            i, j = np.unravel_index(np.argmax(sim), sim.shape)
            if sim[i, j] > options.merge_threshold:
                w = np.array([talk[i], talk[j]])[:, None]
                cent[i] = cl.normalise((cent[i] * w[0] + cent[j] * w[1]) / w.sum())
                cent = np.delete(cent, j, axis=0)
                continue
        break
    turns = _resegment(regions, windows, emb, cent, options)
    turns = cl.bridge(turns, options.max_gap)
    owner = cl.window_owner(windows, turns)
    order = list(dict.fromkeys(t[2] for t in turns))
    names = {k: f"S{i + 1}" for i, k in enumerate(order)}
    prints: dict[str, tuple[float, ...]] = {}
    for k in order:
        vec = emb[owner == k].mean(axis=0) if np.any(owner == k) else cent[k]
        prints[names[k]] = tuple(float(v) for v in cl.normalise(vec))
    out = tuple(Turn(round(a, 3), round(b, 3), names[k]) for a, b, k in turns)
    return Diarization(out, prints, METHOD)


def _channel_turns(stereo: np.ndarray,
                   speech_per_channel: Sequence[Sequence[tuple[float, float]]],
                   crosstalk_db: float) -> list[list[tuple[float, float]]]:
    """Per-channel regions, without those that are only the other party leaking in."""
    sr = voice.SAMPLE_RATE
    out: list[list[tuple[float, float]]] = []
    for ch in range(2):
        keep = []
        for a, b in _clean_regions(speech_per_channel[ch], stereo.shape[1] / sr):
            seg = stereo[:, int(a * sr):int(b * sr)].astype(np.float64)
            own, other = np.sqrt(np.mean(seg[ch] ** 2)), np.sqrt(np.mean(seg[1 - ch] ** 2))
            if own > 0 and 20 * np.log10(own / max(other, 1e-10)) < -crosstalk_db:
                continue
            keep.append((a, b))
        out.append(keep)
    return out


def diarize_channels(stereo: np.ndarray, speech_per_channel: Sequence[Sequence[tuple[float, float]]],
                     *, max_gap: float = DEFAULT.max_gap, crosstalk_db: float = 15.0,
                     progress: Progress | None = None) -> Diarization:
    """Diarize a call recorded with one party per channel: channel 0 is S1, channel 1 is S2.

    Args:
        stereo: Samples, shape (2, n), 16 kHz.
        speech_per_channel: Speech regions of channel 0 and of channel 1.
        max_gap: Pauses up to this long inside one party's speech are bridged, s.
        crosstalk_db: A region is dropped as leakage when its channel is this many dB quieter
            than the other channel over the same span.
        progress: Called with (done, total) while the voiceprints are computed.

    Returns:
        Turns (the parties may overlap) and a voiceprint per party that speaks.

    Raises:
        DiarizationError: If the input is not two channels.
    """
    stereo = np.asarray(stereo, dtype=np.float32)
    if stereo.ndim != 2 or stereo.shape[0] != 2 or len(speech_per_channel) != 2:
        raise DiarizationError("per-channel diarization needs exactly two channels")
    regions = _channel_turns(stereo, speech_per_channel, crosstalk_db)
    turns: list[Turn] = []
    prints: dict[str, tuple[float, ...]] = {}
    for ch, regs in enumerate(regions):
        label = f"S{ch + 1}"
        for a, b, _ in cl.bridge([(a, b, ch) for a, b in regs], max_gap):
            turns.append(Turn(round(a, 3), round(b, 3), label))
        if regs:
            wins = voice.sliding_windows(regs, window=DEFAULT.window, step=0.5)
            emb = voice.embed_windows(stereo[ch], wins)
            prints[label] = tuple(float(v) for v in cl.normalise(emb.mean(axis=0)))
        if progress is not None:
            progress(float(ch + 1), 2.0)
    turns.sort(key=lambda t: (t.start, t.speaker))
    return Diarization(tuple(turns), prints, "channels")


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


def assign_speakers(segments: Sequence[Segment], diar: Diarization) -> tuple[Segment, ...]:
    """Label every word with a speaker and split segments where the speaker changes.

    Each word takes the speaker of the turn it overlaps most (else the nearest turn); a
    segment of a per-channel transcript takes its channel's party. A segment whose words
    change speaker is split there; the pieces get start, end and text from their words, and
    keep the other fields. Segments are renumbered from 0.
    """
    speaker_at = _Lookup(diar.turns)
    out: list[Segment] = []
    for seg in segments:
        if diar.method == "channels" and seg.channel is not None:
            label = f"S{seg.channel + 1}"
            out.append(replace(seg, speaker=label,
                               words=tuple(replace(w, speaker=label) for w in seg.words)))
            continue
        if not seg.words:
            out.append(replace(seg, speaker=speaker_at(seg.start, seg.end)))
            continue
        words = [replace(w, speaker=speaker_at(w.start, w.end)) for w in seg.words]
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
