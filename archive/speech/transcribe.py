"""Speech recognition for evidence: transcription with every check, and forced alignment.

Models are found, verified and loaded (on the CPU or a GPU) by :mod:`archive.speech.model`
(its names are re-exported here); their weights are hashed again before the first load in a
process. The model runs
through :mod:`archive.speech.whisper`, the one module that imports faster-whisper and
CTranslate2. Transcription adds what plain faster-whisper lacks for evidence work: speech is
decoded in batches of chunks cut at pauses (or, with a batch size of 1, by faster-whisper's
sequential loop), the language is detected per chunk, sentences Whisper skipped are decoded
again, text over silence is dropped, likely hallucinations are flagged, hotwords the model
recited are removed, word times are refined (:mod:`archive.speech.refine`), and the same
input always gives the same words (no random sampling; see :mod:`archive.speech.whisper`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from . import fallback, longform, whisper
from .chunks import Packing, Run
from .echo import remove_echoes
from ..errors import InputError, UsageError
from ..models import Segment, Word
from .model import (BASE_SHA256, DEFAULT_MODEL, TINY_EN_SHA256, Engine, ResolvedModel,
                    choose_device, default_cache_dir, load_engine, load_model, resolve_model)

SAMPLE_RATE = 16000
BEAM_SIZE = whisper.BEAM_SIZE
#: faster-whisper options used for every decode (condition_on_previous_text=False: fewer loops).
DECODING = {"beam_size": BEAM_SIZE, "word_timestamps": True, "vad_filter": True,
            "condition_on_previous_text": False}
#: Voice-activity options of :func:`speech_regions` as transcription uses them.
VAD = {"threshold": 0.5, "min_silence": 0.3, "pad": 0.05}
#: Chunks decoded at once by default; 1 runs faster-whisper's sequential loop. On 2 CPU
#: cores (base, int8) batches of 8 gained nothing: a 205 s note took 31 s batched and 25 s
#: sequentially (profiled; the beam search costs the same per token, batched or not, and
#: chunks cut at a language switch add encodes). Utterance onsets are as good batched (34 of
#: 36 within 0.2 s, sequential 33; tests/search/test_search_offsets.py). A GPU gains.
BATCH_SIZE = {"cpu": 1, "cuda": 16}
#: Silence kept around the speech of a chunk, and the longest pause kept inside one, seconds.
CHUNK_PAD = 0.2
MAX_PAUSE = 1.0
#: Audio added on each side of a re-decoded gap, seconds (context for the first word).
GAP_PAD = 0.2
#: Longest stretch given to faster-whisper's sequential loop at once, seconds: it computes
#: the features of its whole input in one go (about 55 bytes a sample), so longer recordings
#: are decoded in windows cut at pauses (:func:`archive.speech.longform.windows`).
WINDOW = 300.0
#: Highest no-speech probability accepted for text found in a re-decoded gap.
NO_SPEECH_GAP = 0.5

def speech_regions(audio: np.ndarray, *, min_silence: float = 0.3,
                   pad: float = 0.05, threshold: float = 0.5) -> list[tuple[float, float]]:
    """Speech regions found by the silero VAD that faster-whisper ships.

    Args:
        audio: 16 kHz mono float32 samples.
        min_silence: Shortest pause, in seconds, that separates two regions.
        pad: Padding added to each side of a region, in seconds.
        threshold: Speech probability above which a frame is speech (silero's default 0.5;
            diarization uses a lower one to keep quiet word edges).

    Returns:
        (start, end) pairs in seconds, in time order.
    """
    def detect(a: int, b: int) -> list[tuple[int, int]]:
        return whisper.vad(audio[a:b], threshold=threshold,
                           min_silence_ms=int(min_silence * 1000), pad_ms=int(pad * 1000))

    # In chunks: silero pads and re-batches its whole input (1 GB for two hours).
    return [(a / SAMPLE_RATE, b / SAMPLE_RATE)
            for a, b in longform.chunked_regions(len(audio), detect)]


# --- transcription ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TranscriptionResult:
    """What :func:`transcribe` found.

    Attributes:
        segments: Segments in time order, renumbered from 0, flagged where suspect.
        language: Language code spoken (detected unless given; for a recording that switches
            language, the one spoken longest), or None when no speech was found.
        language_probability: Probability of the detected language (1.0 when given, 0.0
            when no speech was found).
        duration: Duration of the audio, seconds.
        options: Everything that shapes the output, to reproduce the run (model and hash,
            device, compute type, batch size, decoding and VAD settings, library versions).
    """

    segments: tuple[Segment, ...]
    language: str | None
    language_probability: float
    duration: float
    options: dict[str, Any]

    @property
    def text(self) -> str:
        """The whole text, segments joined by spaces."""
        return " ".join(s.text for s in self.segments if s.text)


def transcribe(audio: np.ndarray, model: ResolvedModel, *, language: str | None = None,
               task: str = "transcribe", hotwords: str | None = None,
               initial_prompt: str | None = None,
               progress: Callable[[float, float], None] | None = None,
               refine: bool = True, threads: int | None = None, device: str | None = None,
               compute_type: str | None = None, batch_size: int | None = None
               ) -> TranscriptionResult:
    """Transcribe (or translate to English) 16 kHz mono audio.

    Decoding uses beam search 5, word timestamps, the silero VAD and no conditioning on
    previous text (fewer repetition loops). The speech is cut at pauses into chunks of at
    most 30 s, decoded ``batch_size`` at a time, each with its own language (a chunk across
    a switch of language is cut there, see :mod:`archive.speech.chunks`); a chunk that
    fails Whisper's checks is decoded again by beam searches (never by sampling, so the same
    input gives the same words). Whisper sometimes skips a sentence; stretches the VAD calls
    speech but that got no word are decoded again on their own. Segments over silence are
    dropped; other likely hallucinations are kept but flagged (see
    :data:`archive.models.HALLUCINATION_FLAGS`). Hotwords the model recited rather than
    heard are removed and listed in ``options`` (:mod:`archive.speech.echo`).

    Args:
        audio: 16 kHz mono float32 samples.
        model: From :func:`resolve_model`.
        language: Language code of the whole recording; when None, detected per chunk
            (a recording switching language is written down as spoken).
        task: ``transcribe``, or ``translate`` for English text.
        hotwords: Words to favour, e.g. the names expected in the recording.
        initial_prompt: Text given to the model as preceding context (of every chunk).
        progress: Called with (seconds done, seconds total) as the decoding goes.
        refine: Snap word times to the speech onsets and offsets (:mod:`archive.speech.refine`).
        threads: CPU threads; the core count by default.
        device: ``auto`` (default, or ``$ARCHIVE_DEVICE``), ``cpu`` or ``cuda``.
        compute_type: CTranslate2 compute type (default: float16 on a GPU, int8 on the CPU).
        batch_size: Chunks decoded at once (default :data:`BATCH_SIZE` for the device); 1
            runs faster-whisper's sequential loop instead.

    Returns:
        The segments, renumbered from 0, and the language.

    Raises:
        UsageError: For an unknown task, language code, device or compute type, or a batch
            size below 1.
        DeviceUnavailable: For ``cuda`` without a GPU.
        InputError: If the audio is not a 1-D array.
        ModelError: If the model cannot be loaded or fails while decoding.
    """
    from .refine import (clip_segment, frame_levels, refine_words, screen_segments,
                         uncovered_speech)

    if task not in ("transcribe", "translate"):
        raise UsageError(f"unknown task {task!r}; use transcribe or translate")
    if batch_size is not None and batch_size < 1:
        raise UsageError(f"batch size must be at least 1, not {batch_size}")
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise InputError(f"expected mono audio, got an array of shape {samples.shape}")
    engine = load_engine(model, threads=threads, device=device, compute_type=compute_type)
    if language is not None and language not in whisper.language_codes():
        raise UsageError(f"unknown language code {language!r}")
    batch = batch_size or BATCH_SIZE.get(engine.device, 1)
    total = len(samples) / SAMPLE_RATE
    multi = language is None and bool(engine.model.model.is_multilingual)
    regions = speech_regions(samples, **VAD)
    levels = frame_levels(samples)
    cut = _quietest(levels)
    run = Run(engine.model, samples, total, task, hotwords or None, initial_prompt or None,
              multi, batch, progress, regions, Packing(CHUNK_PAD, MAX_PAUSE, cut))
    if batch > 1:
        chunks = longform.pack(regions, total, length=whisper.CHUNK, pad=CHUNK_PAD,
                               max_pause=MAX_PAUSE, cut=cut)
        raw = [s for segs in run.chunks(chunks, language) for s in segs]
    else:
        raw = run.windows(longform.windows(regions, total, length=WINDOW), language)
    # A long recording's language is the one spoken longest.
    best = max(run.heard, key=lambda k: run.heard[k][0]) if run.heard else "en"
    found, probability = language or best, run.heard.get(best, (0.0, 0.0))[1]
    # Text without a letter or digit ("― ― ―", "...") is no reading of the speech under
    # it: that speech counts as uncovered and is decoded again.
    raw = [s for s in raw if _has_text(s)]
    # A window in another language keeps its own (search finds its words' forms in it).
    raw = [s if s.language is None else
           replace(s, language=None if language or s.language == found else s.language)
           for s in raw]
    gaps = uncovered_speech(regions, raw)
    again = None if multi else found
    if batch > 1:  # each gap on its own, in chunks of at most 30 s, batched together
        parts = [(g, c) for g in gaps for c in longform.pack(
            [g], total, length=whisper.CHUNK, pad=GAP_PAD, max_pause=0.0, cut=cut)]
        found_again = run.chunks([c for _, c in parts], again, count=False)
        per_gap = [(g, segs) for (g, _), segs in zip(parts, found_again)]
    else:
        per_gap = [((a, b), run.window(max(0.0, a - GAP_PAD), min(total, b + GAP_PAD), again,
                                       count=False)) for a, b in gaps]
    for (a, b), segs in per_gap:
        raw.extend(clip_segment(s, a, b) for s in segs if _trustworthy(s))
    raw = sorted((s for s in raw if _has_text(s)), key=lambda s: (s.start, s.end))
    raw, echoes = remove_echoes(raw, hotwords)
    if progress is not None:
        progress(total, total)

    kept, dropped = screen_segments(raw, samples, levels=levels)
    if refine and kept:
        kept = list(refine_words(samples, kept, levels=levels))
    options = {
        "model": model.name, "model_sha256": model.sha256, "device": engine.device,
        "compute_type": engine.compute_type, "batch_size": batch, **whisper.versions(),
        "task": task, "language": language, "hotwords": hotwords,
        "initial_prompt": initial_prompt, "multilingual": multi, **DECODING,
        "temperature": [0.0], "sampling": False,
        "fallback": [dict(f) for f in fallback.FALLBACK],
        "thresholds": {"compression_ratio": fallback.COMPRESSION_RATIO_THRESHOLD,
                       "log_prob": fallback.LOG_PROB_THRESHOLD,
                       "no_speech": fallback.NO_SPEECH_THRESHOLD, "gap_no_speech": NO_SPEECH_GAP},
        "vad": dict(VAD),
        "chunking": ({"chunk": whisper.CHUNK, "pad": CHUNK_PAD, "max_pause": MAX_PAUSE}
                     if batch > 1 else {"window": WINDOW}),
        "gap_pad": GAP_PAD, "gaps_redecoded": len(gaps), "windows_retried": run.retries,
        "repetitive_chunks": run.repetitive, "language_switches_cut": run.switches,
        "refined": bool(refine), "dropped_silent_segments": len(dropped),
        "hotword_echoes_removed": echoes,
    }
    segments = tuple(dataclasses.replace(s, id=i) for i, s in enumerate(kept))
    spoken = bool(segments) or language is not None
    return TranscriptionResult(segments, found if spoken else None,
                               probability if spoken else 0.0, total, options)


def _quietest(levels: np.ndarray) -> Callable[[float, float], float]:
    """Where to cut speech that runs on for too long: the quietest 50 ms in a stretch."""
    from .energy import FRAME

    def cut(lo: float, hi: float) -> float:
        a, b = int(lo / FRAME), min(len(levels), int(hi / FRAME))
        if b - a < 5:
            return hi
        smooth = np.convolve(levels[a:b], np.ones(5) / 5, mode="valid")
        return (a + int(np.argmin(smooth)) + 2.5) * FRAME
    return cut


def _has_text(seg: Segment) -> bool:
    return any(c.isalnum() for c in seg.text)


def _trustworthy(seg: Segment) -> bool:
    # A short clip decoded without context invents text more readily: be stricter.
    return seg.avg_logprob >= -1.0 and seg.no_speech_prob <= NO_SPEECH_GAP


# --- forced alignment of known text (for human corrections; see corrections.py) ----------------

#: Longest stretch of audio :func:`align_text` takes in one piece: one Whisper window.
ALIGN_WINDOW = 30.0


def align_text(audio: np.ndarray, model: ResolvedModel, text: str, *, start: float, end: float,
               language: str | None = None, threads: int | None = None) -> tuple[Word, ...]:
    """Force-align known text to a stretch of audio.

    Uses the machinery faster-whisper uses for word timestamps (dynamic time warping over the
    alignment heads' cross-attention), fed with the given text instead of decoded text, so
    words typed by a human get times from the audio. The first word starts near ``start`` and
    the last ends near ``end``: give a tight stretch.

    Args:
        audio: 16 kHz mono float32 samples of the whole recording.
        model: From :func:`resolve_model`.
        text: The words spoken in the stretch.
        start: Start of the stretch, seconds.
        end: End of the stretch, seconds; at most :data:`ALIGN_WINDOW` after ``start``.
        language: Language code of the text; English when None or unknown.
        threads: CPU threads; the core count by default.

    Returns:
        The words (punctuation merged into them as Whisper does) with absolute times and the
        model's probability of each; empty for empty text.

    Raises:
        InputError: If the audio is not a 1-D array.
        UsageError: If the stretch is empty or too long, or the text too long for one window.
        ModelError: If the model cannot be loaded or fails.
    """
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise InputError(f"expected mono audio, got an array of shape {samples.shape}")
    if not text.strip():
        return ()
    a = max(0, int(round(start * SAMPLE_RATE)))
    b = min(len(samples), int(round(end * SAMPLE_RATE)))
    if b - a < SAMPLE_RATE // 20 or b - a > ALIGN_WINDOW * SAMPLE_RATE:
        raise UsageError(f"cannot align a stretch of {(b - a) / SAMPLE_RATE:.2f} s "
                         f"(0.05 to {ALIGN_WINDOW:.0f} s)")
    engine = load_engine(model, threads=threads)
    offset = a / SAMPLE_RATE
    return tuple(Word(round(offset + s, 3), round(offset + e, 3), w.strip(), p)
                 for s, e, w, p in whisper.align(engine.model, samples[a:b], text, language)
                 if w.strip())


__all__ = ["ALIGN_WINDOW", "BASE_SHA256", "BATCH_SIZE", "BEAM_SIZE", "DECODING", "choose_device",
           "DEFAULT_MODEL", "Engine", "GAP_PAD", "NO_SPEECH_GAP", "SAMPLE_RATE",
           "TINY_EN_SHA256", "WINDOW", "ResolvedModel", "TranscriptionResult",
           "align_text", "default_cache_dir", "load_engine", "load_model", "resolve_model",
           "speech_regions", "transcribe"]
