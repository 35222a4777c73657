"""Speech recognition with faster-whisper: loading, transcription, VAD, forced alignment.

Models are found and verified offline by :mod:`archive.speech.model` (its names are re-exported
here); their weights are hashed again before the first load in a process. Transcription adds
what plain faster-whisper lacks for evidence work: sentences Whisper skipped are decoded again,
text over silence is dropped, likely hallucinations are flagged, word times are refined
(:mod:`archive.speech.refine`).

faster_whisper and ctranslate2 are imported here only, and lazily, so that search and listing
never pay for them.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import longform
from .echo import remove_echoes
from ..errors import InputError, ModelError, UsageError
from ..models import Segment, Word
from .model import (BASE_SHA256, DEFAULT_MODEL, TINY_EN_SHA256, ResolvedModel,
                          default_cache_dir, hash_weights, resolve_model,
                          verify_weights)


def _offline_env() -> None:
    # huggingface_hub reads these at import time; set them before faster_whisper loads it so
    # that no model name can trigger a network call.
    # Forced, not defaulted: a user's HF_HUB_OFFLINE=0 must not re-enable downloads.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


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
    _offline_env()
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    opts = VadOptions(threshold=threshold, min_silence_duration_ms=int(min_silence * 1000),
                      speech_pad_ms=int(pad * 1000))

    def detect(a: int, b: int) -> list[tuple[int, int]]:
        return [(s["start"], s["end"])
                for s in get_speech_timestamps(audio[a:b], opts, sampling_rate=SAMPLE_RATE)]

    # In chunks: silero pads and re-batches its whole input (1 GB for two hours).
    return [(a / SAMPLE_RATE, b / SAMPLE_RATE)
            for a, b in longform.chunked_regions(len(audio), detect)]


# --- models from the Hugging Face cache -------------------------------------------------------

def cached_hub_model(name: str) -> ResolvedModel:
    """A faster-whisper size name or hub id, from the local Hugging Face cache only.

    Called by :func:`archive.speech.model.resolve_model` for names that are neither embedded
    models nor directories.

    Args:
        name: E.g. ``small`` or ``Systran/faster-whisper-small``.

    Returns:
        The cached model directory and the SHA-256 of its weights.

    Raises:
        ModelError: If the model is not in the local cache.
    """
    _offline_env()
    from faster_whisper.utils import download_model

    try:
        folder = Path(download_model(name, local_files_only=True))
    except Exception:  # ValueError for unknown sizes, huggingface_hub errors when not cached
        folder = None
    if folder is None or not (folder / "model.bin").is_file():
        raise ModelError(f"model {name} is not available offline; pass a local path")
    return ResolvedModel(name, folder, hash_weights(folder / "model.bin"))


# --- loading and transcription ----------------------------------------------------------------

#: CTranslate2 compute type. On this 2-core CPU int8 ran jfk in 1.7 s against 2.4 s for float32
#: with the same words (WER 0 on jfk and both stereo_call channels), so int8 it is.
COMPUTE_TYPE = "int8"
BEAM_SIZE = 5
SAMPLE_RATE = 16000
#: faster-whisper options used for every decode (condition_on_previous_text=False: fewer loops).
DECODING = {"beam_size": BEAM_SIZE, "word_timestamps": True, "vad_filter": True,
            "condition_on_previous_text": False}
#: Audio added on each side of a re-decoded gap, seconds (context for the first word).
GAP_PAD = 0.2
#: Longest stretch given to faster-whisper at once, seconds: it computes the features of its
#: whole input in one go (about 55 bytes a sample), so longer recordings are decoded in
#: windows cut at pauses (:func:`archive.speech.longform.windows`).
WINDOW = 300.0
#: Highest no-speech probability accepted for text found in a re-decoded gap.
NO_SPEECH_GAP = 0.5

_LOADED: dict[tuple[str, str, int, str], Any] = {}
_LOAD_LOCK = threading.Lock()


def load_model(resolved: ResolvedModel, *, threads: int | None = None) -> Any:
    """Load a resolved model into faster-whisper, once per process.

    The weights are hashed again before the first load in a process (about 0.1 s for base), so a
    file changed after :func:`resolve_model` is refused.

    Args:
        resolved: From :func:`resolve_model`.
        threads: CPU threads; the core count by default.

    Returns:
        A ``faster_whisper.WhisperModel`` on the CPU.

    Raises:
        ModelHashMismatch: If model.bin no longer has the resolved hash.
        ModelError: If CTranslate2 cannot load the model.
    """
    threads = threads or os.cpu_count() or 1
    key = (str(resolved.path), resolved.sha256, threads, COMPUTE_TYPE)
    with _LOAD_LOCK:
        model = _LOADED.get(key)
        if model is None:
            verify_weights(resolved.path / "model.bin", resolved.sha256)
            _offline_env()
            from faster_whisper import WhisperModel

            try:
                model = WhisperModel(str(resolved.path), device="cpu", compute_type=COMPUTE_TYPE,
                                     cpu_threads=threads, local_files_only=True)
            except (RuntimeError, ValueError, OSError) as e:
                first = (str(e).splitlines() or [type(e).__name__])[0][:160]
                raise ModelError(f"cannot load model {resolved.name}: {first}") from None
            _LOADED[key] = model
    return model


@dataclass(frozen=True)
class TranscriptionResult:
    """What :func:`transcribe` found.

    Attributes:
        segments: Segments in time order, renumbered from 0, flagged where suspect.
        language: Language code spoken (detected unless given; for a recording that switches
            language, the first one), or None when no speech was found.
        language_probability: Probability of the detected language (1.0 when given, 0.0
            when no speech was found).
        duration: Duration of the audio, seconds.
        options: Everything needed to reproduce the run (model, hash, decoding options).
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
               refine: bool = True, threads: int | None = None) -> TranscriptionResult:
    """Transcribe (or translate to English) 16 kHz mono audio.

    Decoding uses beam search 5, word timestamps, the silero VAD filter and no conditioning on
    previous text (fewer repetition loops). Whisper sometimes skips a whole sentence inside a
    30 s window; stretches the VAD calls speech but that got no word are decoded again on
    their own. Segments over silence are dropped; other likely hallucinations are kept but
    flagged (see :data:`archive.models.HALLUCINATION_FLAGS`). Hotwords the model recited
    rather than heard are removed and listed in ``options`` (:mod:`archive.speech.echo`).

    Args:
        audio: 16 kHz mono float32 samples.
        model: From :func:`resolve_model`.
        language: Language code of the whole recording; when None, detected per 30 s window
            (a recording switching language is written down as spoken).
        task: ``transcribe``, or ``translate`` for English text.
        hotwords: Words to favour, e.g. the names expected in the recording.
        initial_prompt: Text given to the model as preceding context.
        progress: Called with (seconds done, seconds total) as segments arrive.
        refine: Snap word times to the speech onsets and offsets (:mod:`archive.speech.refine`).
        threads: CPU threads; the core count by default.

    Returns:
        The segments, renumbered from 0, and the language.

    Raises:
        UsageError: For an unknown task or language code.
        InputError: If the audio is not a 1-D array.
        ModelError: If the model cannot be loaded or fails while decoding.
    """
    from .refine import (clip_segment, frame_levels, refine_words, screen_segments,
                         uncovered_speech)

    if task not in ("transcribe", "translate"):
        raise UsageError(f"unknown task {task!r}; use transcribe or translate")
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise InputError(f"expected mono audio, got an array of shape {samples.shape}")
    whisper = load_model(model, threads=threads)
    if language is not None:
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        if language not in _LANGUAGE_CODES:
            raise UsageError(f"unknown language code {language!r}")
    total = len(samples) / SAMPLE_RATE
    # Without a given language, detect it per 30 s window: a recording that switches language
    # is then written down as spoken (a single detected language makes Whisper skip or
    # translate the other one).
    multi = language is None and bool(whisper.model.is_multilingual)
    args = {"task": task, "hotwords": hotwords or None, "initial_prompt": initial_prompt or None,
            "multilingual": multi}
    regions = speech_regions(samples)
    raw: list[Segment] = []
    parts: list[tuple[list[Segment], str]] = []
    heard: dict[str, tuple[float, float]] = {}  # language: (seconds of speech, probability)
    for a, b in longform.windows(regions, total, length=WINDOW):
        lo, hi = int(a * SAMPLE_RATE), int(b * SAMPLE_RATE)
        part, info = _decode(whisper, samples[lo:hi], a, language, args, progress, total)
        parts.append((part, info.language))
        secs, prob = heard.get(info.language, (0.0, 0.0))
        heard[info.language] = (secs + sum(s.end - s.start for s in part),
                                max(prob, float(info.language_probability)))
    # A long recording's language is the one of the windows with the most speech.
    best = max(heard, key=lambda k: heard[k][0])
    found, probability = language or str(best), heard[best][1]
    # A window in another language keeps its own (search finds its words' forms in it).
    for part, lang in parts:
        raw.extend(s if language or lang == found else replace(s, language=lang) for s in part)
    gaps = uncovered_speech(regions, raw)
    for a, b in gaps:
        lo, hi = max(0.0, a - GAP_PAD), min(total, b + GAP_PAD)
        clip = samples[int(lo * SAMPLE_RATE):int(hi * SAMPLE_RATE)]
        extra, _ = _decode(whisper, clip, lo, None if multi else found, args, None, total)
        raw.extend(clip_segment(s, a, b) for s in extra if _trustworthy(s))
    raw = sorted((s for s in raw if s.text), key=lambda s: (s.start, s.end))
    raw, echoes = remove_echoes(raw, hotwords)
    if progress is not None:
        progress(total, total)

    levels = frame_levels(samples)
    kept, dropped = screen_segments(raw, samples, levels=levels)
    if refine and kept:
        kept = list(refine_words(samples, kept, levels=levels))
    import faster_whisper

    options = {
        "model": model.name, "model_sha256": model.sha256, "compute_type": COMPUTE_TYPE,
        "faster_whisper": faster_whisper.__version__, "task": task, "language": language,
        "hotwords": hotwords, "initial_prompt": initial_prompt, "multilingual": multi,
        **DECODING, "gaps_redecoded": len(gaps), "refined": bool(refine),
        "dropped_silent_segments": len(dropped), "hotword_echoes_removed": echoes,
    }
    segments = tuple(dataclasses.replace(s, id=i) for i, s in enumerate(kept))
    spoken = bool(segments) or language is not None
    return TranscriptionResult(segments, found if spoken else None,
                               probability if spoken else 0.0, total, options)


def _decode(whisper: Any, samples: np.ndarray, offset: float, language: str | None,
            args: dict[str, Any], progress: Callable[[float, float], None] | None,
            total: float) -> tuple[list[Segment], Any]:
    try:
        stream, info = whisper.transcribe(samples, language=language, **args, **DECODING)
        out = []
        for s in stream:
            out.append(_convert(s, offset))
            if progress is not None:
                progress(min(out[-1].end, total), total)
    except (RuntimeError, ValueError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise ModelError(f"transcription failed: {first}") from None
    return out, info


def _trustworthy(seg: Segment) -> bool:
    # A short clip decoded without context invents text more readily: be stricter.
    return seg.avg_logprob >= -1.0 and seg.no_speech_prob <= NO_SPEECH_GAP



def _convert(s: Any, offset: float = 0.0) -> Segment:
    words = tuple(Word(float(w.start) + offset, float(w.end) + offset, w.word.strip(),
                       float(w.probability)) for w in (s.words or ()) if w.word.strip())
    return Segment(id=int(s.id), start=float(s.start) + offset, end=float(s.end) + offset,
                   text=s.text.strip(),
                   words=words, avg_logprob=float(s.avg_logprob),
                   no_speech_prob=float(s.no_speech_prob),
                   compression_ratio=float(s.compression_ratio))


# --- forced alignment of known text (for human corrections; see corrections.py) ----------------

#: Longest stretch of audio :func:`align_text` takes in one piece: one Whisper window.
ALIGN_WINDOW = 30.0
_ALIGN_PREPEND = "\"'“¿([{-"
_ALIGN_APPEND = "\"'.。,，!！?？:：”)]}、"


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
    whisper = load_model(model, threads=threads)
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.tokenizer import _LANGUAGE_CODES, Tokenizer
    from faster_whisper.transcribe import merge_punctuations

    lang = language if language in _LANGUAGE_CODES else "en"
    tokenizer = Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual,
                          task="transcribe", language=lang)
    tokens = tokenizer.encode(" " + " ".join(text.split()))
    if len(tokens) > 400:  # the decoder's context is 448 tokens, prompt included
        raise UsageError(f"text too long to align in one piece ({len(tokens)} tokens)")
    try:
        features = whisper.feature_extractor(samples[a:b])
        frames = min(features.shape[-1] - 1, 3000)
        encoded = whisper.encode(pad_or_trim(features))
        alignment = whisper.find_alignment(tokenizer, [tokens], encoded, frames)[0]
    except (RuntimeError, ValueError, IndexError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise ModelError(f"alignment failed: {first}") from None
    merge_punctuations(alignment, _ALIGN_PREPEND, _ALIGN_APPEND)
    offset = a / SAMPLE_RATE
    return tuple(Word(round(offset + float(w["start"]), 3), round(offset + float(w["end"]), 3),
                      w["word"].strip(), float(w["probability"]))
                 for w in alignment if w["word"].strip())


# Model resolution moved to archive.speech.model; callers still import it from here.
__all__ = ["ALIGN_WINDOW", "BASE_SHA256", "BEAM_SIZE", "COMPUTE_TYPE", "DECODING", "DEFAULT_MODEL",
           "GAP_PAD", "NO_SPEECH_GAP", "SAMPLE_RATE", "TINY_EN_SHA256", "WINDOW",
           "ResolvedModel", "TranscriptionResult", "align_text", "cached_hub_model",
           "default_cache_dir", "load_model", "resolve_model", "speech_regions",
           "transcribe"]
