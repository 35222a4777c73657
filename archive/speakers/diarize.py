"""Who spoke when: speaker diarization from GE2E d-vectors.

:func:`diarize`: 1 s windows every 0.25 s over the speech regions are embedded
(:mod:`archive.speakers.voice`) and clustered spectrally (pruned cosine-affinity graph; the
number of speakers is read from the largest normalised eigengap). Then, in turn (``_settle``):
every 50 ms frame is scored against the speaker centroids (mean similarity of the windows
covering it) and decoded by a Viterbi pass that charges for each change of speaker;
centroids are re-estimated from the most typical windows lying wholly inside one speaker's
turns; a speaker heard under ``min_talk`` is dissolved; two speakers are merged unless they
are clearly different voices; and a run of speech that is clearly none of the known voices
gets a speaker of its own (a one-sentence speaker that the eigengap folded into another).
"Clearly different" is judged against the recording's own yardstick
(:func:`archive.speakers.clustering.separation`): how well pieces of the same length of the
other speaker's turns match the rest of that speaker, so that the run's duration, the
consistency of the windows and the distance to the other voices all count; two voices
heard ``established`` seconds each are kept apart unless their centroids are closer than
``merge_threshold``. Pauses up to ``max_gap`` between turns of one speaker are bridged.
The frame posteriors give each word's speaker confidence, and frames where a second voice
holds ``overlap_p`` of the posterior are marked as overlapped speech.

Calls with one party per channel are diarized by channel (:func:`diarize_channels`). The
transcript side (re-exported here) is :mod:`archive.speakers.assign`; the result types are in
:mod:`archive.speakers.result`. Everything is deterministic: the only random step, k-means,
is seeded (``Options.seed``), and :func:`settings` lists what shaped the output.

:class:`Options` and :data:`SPEECH_OPTIONS` were tuned on development material only:
``meeting_sample``, the two AMI excerpts, ``real/leopard_diarization_test.wav``, jfk, the
single-voice recordings of ``real/`` and the TUNING seeds of bench/diarization.py (calls
100-131, one-sentence calls 200-219, 4-speaker calls 300-315, meetings 400-411); its
scoring seeds were not used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import clustering as cl
from . import voice
from ..errors import DiarizationError
from .assign import assign_speakers, match, speaker_table, word_turns
from .result import Diarization, Frames, Turn

__all__ = ["DEFAULT", "Diarization", "Frames", "METHOD", "Options", "SPEECH_OPTIONS", "Turn",
           "assign_speakers", "diarize", "diarize_channels", "match", "settings",
           "speaker_table", "word_turns"]

Progress = Callable[[float, float], None]


@dataclass(frozen=True)
class Options:
    """Tunable settings of :func:`diarize` (defaults tuned on dev data; see module docstring)."""

    window: float = 1.0          # embedding window, s
    step: float = 0.25           # hop between windows, s
    min_window: float = 0.6      # shorter windows are not clustered, only scored
    merge_threshold: float = 0.85  # speakers whose core centroids are closer are merged
    min_talk: float = 1.0        # a voice heard for less is not attested (seconds)
    min_new: float = 1.2         # shortest run of speech that can reveal a new voice (s)
    z: float = 5.0               # another voice: this many spreads below the own yardstick
    margin: float = 0.12         # ... and at least this far below it (cosine)
    floor: float = 0.66          # ... or, with too little speech for a yardstick, under this
    min_windows: int = 4         # whole windows a voice needs before it can count as new
    established: float = 4.0     # two speakers heard this long each: merge_threshold rules
    seed: int = 0                # of the k-means step of the spectral clustering
    overlap_p: float = 0.2       # a second voice this probable in a frame marks overlap
    min_overlap: float = 0.15    # shortest overlap region kept, s
    frame: float = 0.05          # resegmentation frame, s
    switch_penalty: float = 0.5  # Viterbi cost of a speaker change (similarity units)
    temperature: float = 0.05    # similarity -> log-likelihood scale
    core: float = 0.7            # fraction of most typical windows that make a centroid
    max_gap: float = 0.8         # same-speaker pauses bridged, s
    max_units: int = 600         # cap on clustered units (long recordings are pooled)


DEFAULT = Options()
METHOD = "ge2e-spectral"
#: The speaker encoder whose embeddings are clustered.
ENCODER = "ge2e-resemblyzer"

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


def _separation(a: np.ndarray, b: np.ndarray, b_runs: np.ndarray, opt: Options) -> float:
    return cl.separation(a, b, b_runs, z=opt.z, margin=opt.margin, floor=opt.floor)


def _candidates(turns: Sequence[cl.RawTurn], opt: Options) -> list[tuple[float, float, int]]:
    """Runs of speech that might be a voice of their own: each turn, and each run of turns of
    one speaker split only by short pauses (the VAD cuts a sentence at a breath)."""
    out: list[tuple[float, float, int]] = []
    run: list[cl.RawTurn] = []
    for t in list(turns) + [(float("inf"), float("inf"), -1)]:
        if run and (t[2] != run[-1][2] or t[0] - run[-1][1] > 0.3):
            if len(run) > 1:
                out.append((run[0][0], run[-1][1], run[0][2]))
            run = []
        if t[2] >= 0:
            run.append(t)
            out.append(t)
    return [c for c in out if c[1] - c[0] >= opt.min_new]


def _settle(regions: Sequence[tuple[float, float]], windows: Sequence[tuple[float, float]],
            emb: np.ndarray, cent: np.ndarray, opt: Options, k_min: int, k_max: int,
            fixed: bool) -> np.ndarray:
    """Centroids refined until every speaker is a voice of its own.

    In turn: resegment and re-estimate the centroids from the most typical whole windows;
    dissolve a speaker heard for under ``min_talk``; merge the two least separated speakers
    when they are not clearly different voices (:func:`archive.speakers.clustering.separation`,
    judged against the recording's own within-speaker yardstick, so duration and window
    consistency both count); else give a run of speech that is clearly none of the known
    voices a speaker of its own (a one-sentence speaker the clustering folded into another).
    """
    w = np.asarray(windows, dtype=float)
    tried: set[tuple[float, float]] = set()
    for _ in range(4 * k_max + 4):
        turns = _resegment(regions, windows, emb, cent, opt)
        owner = cl.window_owner(windows, turns, whole=True)
        cent = cl.core_centroids(emb, owner, cent, opt.core)
        talk = np.array([sum(b - a for a, b, j in turns if j == k) for k in range(len(cent))])
        if len(cent) > k_min and talk.min() < opt.min_talk:
            cent = np.delete(cent, int(np.argmin(talk)), axis=0)
            continue
        if fixed and len(cent) == k_min:
            break
        runs = cl.window_turn(windows, turns)
        own = [np.nonzero(owner == k)[0] for k in range(len(cent))]
        if len(cent) > k_min:
            sim = cent @ cent.T
            seps = []
            for i in range(len(cent)):
                for j in range(i + 1, len(cent)):
                    small, big = sorted((own[i], own[j]), key=len)
                    if min(talk[i], talk[j]) >= opt.established:
                        sep = opt.merge_threshold - sim[i, j]   # two well-heard voices
                    elif len(small) >= opt.min_windows:
                        sep = _separation(emb[small], emb[big], runs[big], opt)
                    else:
                        sep = -1.0
                    seps.append((sep, -sim[i, j], i, j))
            sep, _, i, j = min(seps)
            if sep <= 0:
                wt = np.array([talk[i], talk[j]])
                cent[i] = cl.normalise((cent[i] * wt[0] + cent[j] * wt[1]) / wt.sum())
                cent = np.delete(cent, j, axis=0)
                continue
        if len(cent) >= k_max:
            break
        best: tuple[float, tuple[float, float]] | None = None
        for a, b, k in _candidates(turns, opt):
            if (a, b) in tried:
                continue
            inside = (w[:, 0] >= a - 1e-6) & (w[:, 1] <= b + 1e-6) & (owner == k)
            rest = np.nonzero((owner == k) & ~inside)[0]
            inside = np.nonzero(inside)[0]
            if len(inside) < opt.min_windows or len(rest) < len(inside):
                continue
            sep = min([_separation(emb[inside], emb[rest], runs[rest], opt)] +
                      [_separation(emb[inside], emb[own[j]], runs[own[j]], opt)
                       for j in range(len(cent)) if j != k and len(own[j])])
            if sep > 0 and (best is None or sep > best[0]):
                best = (sep, (a, b))
        if best is None:
            break
        a, b = best[1]
        tried.add((a, b))
        inside = (w[:, 0] >= a - 1e-6) & (w[:, 1] <= b + 1e-6)
        cent = np.vstack([cent, cl.normalise(emb[inside].mean(axis=0))])
    return cent


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
        return Diarization((), {}, METHOD, settings=settings(options, num_speakers,
                                                             min_speakers, max_speakers))
    windows = voice.sliding_windows(regions, window=options.window, step=options.step)
    emb = voice.embed_windows(audio, windows, progress=progress)
    units = cl.units(emb, windows, regions, min_window=options.min_window,
                     max_units=options.max_units)
    k_fixed = min(num_speakers, len(units)) if num_speakers else None
    if len(units) < 4 or max_speakers == 1 or k_fixed == 1:
        labels = np.zeros(len(units), dtype=int)
    else:
        labels = cl.spectral(units, min_speakers, max_speakers, k_fixed, seed=options.seed)
    cent = cl.centroids(units, labels)
    cent = _settle(regions, windows, emb, cent, options, k_fixed or min_speakers,
                   k_fixed or max_speakers, fixed=k_fixed is not None)
    table: list = []
    turns = cl.resegment(regions, windows, emb, cent, frame=options.frame,
                         temperature=options.temperature,
                         switch_penalty=options.switch_penalty, frames=table)
    turns = cl.bridge(turns, options.max_gap)
    owner = cl.window_owner(windows, turns)
    order = list(dict.fromkeys(t[2] for t in turns))
    names = {k: f"S{i + 1}" for i, k in enumerate(order)}
    prints: dict[str, tuple[float, ...]] = {}
    for k in order:
        vec = emb[owner == k].mean(axis=0) if np.any(owner == k) else cent[k]
        prints[names[k]] = tuple(float(v) for v in cl.normalise(vec))
    out = tuple(Turn(round(a, 3), round(b, 3), names[k]) for a, b, k in turns)
    frames = _frames(table, order, names, options)
    return Diarization(out, prints, METHOD, overlaps=_overlaps(frames, options),
                       frames=frames, settings=settings(options, num_speakers, min_speakers,
                                                        max_speakers))


def _frames(table: list, order: list[int], names: Mapping[int, str], opt: Options) -> Frames:
    """Frame posteriors (softmax of the frame scores at the Viterbi temperature) over the
    speakers that have turns."""
    if not table:
        return Frames(np.zeros(0), np.zeros(0), (), np.zeros((0, 0)))
    starts = np.concatenate([e[:-1] for e, _, _ in table])
    ends = np.concatenate([e[1:] for e, _, _ in table])
    sc = np.concatenate([s for _, s, _ in table])[:, order] / opt.temperature
    post = np.exp(sc - sc.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    return Frames(starts, ends, tuple(names[k] for k in order), post)


def _overlaps(frames: Frames, opt: Options) -> tuple[Turn, ...]:
    """Runs of frames where a second voice holds at least ``overlap_p`` of the posterior
    (the windows there sound like a blend of two known voices), at least ``min_overlap``
    seconds long; each is labelled with that second voice."""
    if len(frames.labels) < 2 or not len(frames.starts):
        return ()
    ranked = np.argsort(-frames.posterior, axis=1, kind="stable")
    second = ranked[:, 1]
    p2 = np.take_along_axis(frames.posterior, second[:, None], axis=1)[:, 0]
    flag = p2 >= opt.overlap_p
    out: list[Turn] = []
    i, n = 0, len(flag)
    while i < n:
        if not flag[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and flag[j + 1] and frames.starts[j + 1] - frames.ends[j] < 1e-6:
            j += 1
        if frames.ends[j] - frames.starts[i] >= opt.min_overlap - 1e-9:
            who = np.bincount(second[i:j + 1]).argmax()
            out.append(Turn(round(float(frames.starts[i]), 3), round(float(frames.ends[j]), 3),
                            frames.labels[int(who)]))
        i = j + 1
    return tuple(out)


def settings(options: Options = None, num_speakers: int | None = None,  # type: ignore[assignment]
             min_speakers: int = 1, max_speakers: int = 6) -> dict[str, Any]:
    """Everything that shapes :func:`diarize`'s output, for the transcript's ``options``:
    the method, the speaker-count bounds, the VAD settings and every option (seed included).
    """
    opt = options or DEFAULT
    return {"method": METHOD, "encoder": ENCODER, "num_speakers": num_speakers,
            "min_speakers": min_speakers, "max_speakers": max_speakers,
            "speech": dict(SPEECH_OPTIONS), **asdict(opt)}


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
    return Diarization(tuple(turns), prints, "channels",
                       settings={"method": "channels", "encoder": ENCODER, "max_gap": max_gap,
                                 "crosstalk_db": crosstalk_db, "speech": dict(SPEECH_OPTIONS),
                                 "voiceprint_window": DEFAULT.window, "voiceprint_step": 0.5})
