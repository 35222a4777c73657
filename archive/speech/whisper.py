"""faster-whisper and CTranslate2 behind one door (the only module importing them, lazily):
GPUs, loading, VAD, decoding, alignment. It turns 16 kHz samples into Segments.

Decoding is deterministic. faster-whisper retries a window that fails its checks (too
repetitive, or too unsure) by *sampling*, and CTranslate2 samples from a per-thread generator
seeded once per process that cannot be reset: the same recording gave different words from
run to run. Here the retries are beam searches (:mod:`archive.speech.fallback`).

:func:`decode_window` runs faster-whisper's sequential loop (30 s windows, seeking after
each); :func:`decode_batch` runs independent chunks of at most 30 s at once, as its
``BatchedInferencePipeline`` does, but with a language per chunk, the fallback above, the
text of an unclosed last segment kept, and word times independent of the rest of the batch.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import fallback
from .timestamps import APPEND_PUNCTUATIONS, PREPEND_PUNCTUATIONS, split_tokens, word_times
from ..errors import ModelError, UsageError
from ..models import Segment, Word

SAMPLE_RATE = 16000
BEAM_SIZE = 5
#: Longest chunk the model takes at once, seconds.
CHUNK = 30.0
#: Windows the sequential loop retried, per thread (faster-whisper cannot report it back).
_counts = threading.local()


def _offline_env() -> None:
    # huggingface_hub reads these at import time; set them before faster_whisper loads it so
    # that no model name can trigger a network call.
    # Forced, not defaulted: a user's HF_HUB_OFFLINE=0 must not re-enable downloads.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


def _first_line(e: BaseException) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0][:160]


# --- devices ----------------------------------------------------------------------------------

def cuda_device_count() -> int:
    """How many CUDA GPUs CTranslate2 can use (0 without a GPU, a driver or CUDA support)."""
    try:  # a broken CUDA install must not break the CPU path
        import ctranslate2
        return int(ctranslate2.get_cuda_device_count())
    except Exception:
        return 0


def compute_types(device: str) -> set[str]:
    """Compute types CTranslate2 supports on ``device`` here (empty if it cannot tell)."""
    try:
        import ctranslate2
        return set(ctranslate2.get_supported_compute_types(device))
    except Exception:
        return set()


# --- models -----------------------------------------------------------------------------------

def hub_model_dir(name: str) -> Path | None:
    """The local Hugging Face cache folder of a faster-whisper size name or hub id, or None
    when it is not cached (no network access is attempted)."""
    _offline_env()
    from faster_whisper.utils import download_model

    try:
        folder = Path(download_model(name, local_files_only=True))
    except Exception:  # ValueError for unknown sizes, huggingface_hub errors when not cached
        return None
    return folder if (folder / "model.bin").is_file() else None


def open_model(path: Path, *, name: str, device: str, compute_type: str, threads: int) -> Any:
    """Load a CTranslate2 Whisper model folder into faster-whisper.

    Raises:
        ModelError: If CTranslate2 cannot load it on that device with that compute type.
    """
    _offline_env()
    from faster_whisper import WhisperModel

    class _Deterministic(WhisperModel):
        def generate_with_fallback(self, encoder_output, prompt, tokenizer, options):
            return _with_fallback(self, encoder_output, prompt, tokenizer, options)

    try:
        return _Deterministic(str(path), device=device, compute_type=compute_type,
                              cpu_threads=threads, local_files_only=True)
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelError(f"cannot load model {name} on {device} ({compute_type}): "
                         f"{_first_line(e)}") from None


def language_codes() -> frozenset[str]:
    """The language codes Whisper knows."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES)


def versions() -> dict[str, str]:
    """Versions of the libraries that shape the output, for a transcript's options."""
    import ctranslate2
    import faster_whisper

    return {"faster_whisper": faster_whisper.__version__, "ctranslate2": ctranslate2.__version__}


# --- voice activity ---------------------------------------------------------------------------

def vad(audio: np.ndarray, *, threshold: float, min_silence_ms: int, pad_ms: int
        ) -> list[tuple[int, int]]:
    """(start, end) sample pairs of speech found by the silero VAD faster-whisper ships."""
    _offline_env()
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    opts = VadOptions(threshold=threshold, min_silence_duration_ms=min_silence_ms,
                      speech_pad_ms=pad_ms)
    return [(s["start"], s["end"])
            for s in get_speech_timestamps(audio, opts, sampling_rate=SAMPLE_RATE)]


# --- the deterministic fallback ---------------------------------------------------------------

def _generate(model: Any, encoder_output: Any, prompts: list[list[int]],
              suppress: list[int] | None, **kw: Any) -> list[tuple[Any, float]]:
    results = model.model.generate(
        encoder_output, prompts, length_penalty=1.0, max_length=model.max_length,
        return_scores=True, return_no_speech_prob=True, suppress_blank=True,
        suppress_tokens=suppress, max_initial_timestamp_index=50, **kw)
    out = []
    for r in results:
        n = len(r.sequences_ids[0])
        out.append((r, r.scores[0] * n / (n + 1)))  # average log-probability, as Whisper's
    return out


def _try(tokenizer: Any, result: Any, avg_logprob: float) -> fallback.Try:
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    return fallback.Try(result, avg_logprob,
                        fallback.compression_ratio(tokenizer.decode(tokens).strip()),
                        float(result.no_speech_prob), fallback.looping(tokens))


def _checked(model: Any, encoder_output: Any, prompt: list[int], tokenizer: Any,
             suppress: list[int] | None, t: fallback.Try) -> tuple[fallback.Try, int]:
    """The try kept for one window (:mod:`archive.speech.fallback`), and 1 if it was retried."""
    if not fallback.needs_retry(t):
        return t, 0

    def again(kw: dict[str, Any]) -> fallback.Try:
        return _try(tokenizer, *_generate(model, encoder_output, [prompt], suppress, **kw)[0])
    return fallback.choose(t, again), 1


def _with_fallback(model: Any, encoder_output: Any, prompt: list[int], tokenizer: Any,
                   options: Any) -> tuple[Any, float, float, float]:
    # Replaces WhisperModel.generate_with_fallback in faster-whisper's sequential loop.
    first = _generate(model, encoder_output, [prompt], options.suppress_tokens,
                      beam_size=options.beam_size, patience=options.patience)[0]
    t, retried = _checked(model, encoder_output, prompt, tokenizer, options.suppress_tokens,
                          _try(tokenizer, *first))
    _counts.retries = getattr(_counts, "retries", 0) + retried
    if options.multilingual:  # the window's language, as faster-whisper's loop detected it
        lang, first = tokenizer.language_code, getattr(_counts, "first", None)
        p = first[1] if first and first[0] == lang else next(
            (float(q) for t, q in model.model.detect_language(encoder_output)[0]
             if t[2:-2] == lang), 0.0)
        _counts.language = (lang, p)
    # faster-whisper reads the third item as the temperature: always 0, nothing was sampled.
    return t.result, t.avg_logprob, 0.0, t.compression


# --- sequential decoding ----------------------------------------------------------------------

@dataclass(frozen=True)
class Decoded:
    """What one stretch or chunk of audio gave.

    Attributes:
        segments: Segments with times in seconds from the start of the decoded audio.
        language: Language detected (or given) for it.
        language_probability: Its probability (1.0 when given).
        retries: Windows that failed the checks and were decoded again (see fallback).
        compression: Compression ratio of the whole text of a chunk (0 for a stretch).
        heard: For a stretch decoded with a language per window: each language's highest
            probability (its segments carry their window's language).
    """

    segments: tuple[Segment, ...]
    language: str
    language_probability: float
    retries: int = 0
    compression: float = 0.0
    heard: dict[str, float] | None = None


def decode_window(model: Any, samples: np.ndarray, *, language: str | None, task: str,
                  hotwords: str | None, initial_prompt: str | None, multilingual: bool,
                  on_segment: Callable[[Segment], None] | None = None) -> Decoded:
    """Decode a stretch of audio with faster-whisper's sequential loop and its VAD filter.

    Raises:
        ModelError: If the model fails while decoding.
    """
    _counts.retries, _counts.language = 0, None
    try:
        stream, info = model.transcribe(
            samples, language=language, task=task, hotwords=hotwords,
            initial_prompt=initial_prompt, multilingual=multilingual, beam_size=BEAM_SIZE,
            word_timestamps=True, vad_filter=True, condition_on_previous_text=False,
            temperature=[0.0])
        _counts.first = (str(info.language), float(info.language_probability))
        out = []
        heard: dict[str, float] = {}
        for s in stream:
            words = [(w.start, w.end, w.word, w.probability) for w in s.words or ()]
            seg = _segment(s.start, s.end, s.text, words, s.avg_logprob, s.no_speech_prob,
                           s.compression_ratio)
            if multilingual and _counts.language is not None:
                # faster-whisper yields a window's segments before it decodes the next
                lang, p = _counts.language
                seg = replace(seg, language=lang)
                heard[lang] = max(heard.get(lang, 0.0), p)
            out.append(seg)
            if on_segment is not None:
                on_segment(out[-1])
    except (RuntimeError, ValueError) as e:
        raise ModelError(f"transcription failed: {_first_line(e)}") from None
    return Decoded(tuple(out), str(info.language), float(info.language_probability),
                   _counts.retries, heard=heard)


def _segment(start: float, end: float, text: str, words: Sequence[tuple[float, float, str, float]],
             avg_logprob: float, no_speech: float, compression: float) -> Segment:
    ws = tuple(Word(float(a), float(b), w.strip(), float(p)) for a, b, w, p in words if w.strip())
    return Segment(id=0, start=float(start), end=float(end), text=text.strip(), words=ws,
                   avg_logprob=float(avg_logprob), no_speech_prob=float(no_speech),
                   compression_ratio=float(compression))


# --- batched decoding -------------------------------------------------------------------------

def decode_batch(model: Any, chunks: Sequence[np.ndarray], *, language: str | None, task: str,
                 hotwords: str | None, initial_prompt: str | None) -> list[Decoded]:
    """Decode chunks of at most 30 s in one batch, each on its own.

    Each chunk is decoded from its start in one pass (no seeking), with its own language
    when ``language`` is None; a chunk that fails the checks is decoded again alone
    (:mod:`archive.speech.fallback`); a chunk the model calls silence gives no segments, as in the
    sequential loop. Word times come from the cross-attention alignment, and do not depend
    on the other chunks of the batch.

    Args:
        model: From :func:`open_model`.
        chunks: 16 kHz mono float32 arrays, each at most :data:`CHUNK` seconds.
        language: Language of every chunk, or None to detect it per chunk.
        task: ``transcribe`` or ``translate``.
        hotwords: Words to favour; initial_prompt: preceding text (both for every chunk).

    Returns:
        One :class:`Decoded` per chunk, in order, with times from the chunk's start.

    Raises:
        ModelError: If the model fails while decoding.
    """
    if not chunks:
        return []
    try:
        return _decode_batch(model, chunks, language, task, hotwords, initial_prompt)
    except (RuntimeError, ValueError) as e:
        raise ModelError(f"transcription failed: {_first_line(e)}") from None


def _decode_batch(model: Any, chunks: Sequence[np.ndarray], language: str | None, task: str,
                  hotwords: str | None, initial_prompt: str | None) -> list[Decoded]:
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    batch, frames, encoded = _encode(model, chunks)
    multi = bool(model.model.is_multilingual)
    if language is None and multi:
        found = _languages(model, encoded)
    else:
        found = [(language if multi and language else "en", 1.0)] * len(chunks)
    tokenizers: dict[str, Any] = {}

    def tok(lang: str) -> Any:
        if lang not in tokenizers:
            tokenizers[lang] = Tokenizer(model.hf_tokenizer, multi, task=task, language=lang)
        return tokenizers[lang]

    first = tok(found[0][0])
    suppress = get_suppressed_tokens(first, [-1])
    previous = first.encode(" " + initial_prompt.strip()) if initial_prompt else []
    prompts = [model.get_prompt(tok(lang), previous, without_timestamps=False,
                                hotwords=hotwords) for lang, _ in found]
    first = _generate(model, encoded, prompts, suppress, beam_size=BEAM_SIZE, patience=1.0)
    kept: list[fallback.Try] = []
    retries = []
    for i, (r, lp) in enumerate(first):
        t, n = _try(tok(found[i][0]), r, lp), 0
        if fallback.needs_retry(t):  # decoded again alone
            t, n = _checked(model, _subset(model, encoded, batch, [i]), prompts[i],
                            tok(found[i][0]), suppress, t)
        kept.append(t)
        retries.append(n)
    pieces = [[] if fallback.silent(t) else
              split_tokens(tok(found[i][0]), t.result.sequences_ids[0], frames[i], model)
              for i, t in enumerate(kept)]
    # One alignment per language in the batch: the language token is part of its prompt.
    for lang in dict.fromkeys(g for g, _ in found):
        idx = [i for i, (g, _) in enumerate(found) if g == lang and pieces[i]]
        if idx:
            enc = encoded if len(idx) == len(chunks) else _subset(model, encoded, batch, idx)
            word_times(model, [pieces[i] for i in idx], tok(lang), enc,
                        [frames[i] for i in idx])
    out = []
    for i, segs in enumerate(pieces):
        t, k = tok(found[i][0]), kept[i]
        conv = tuple(_segment(s["start"], s["end"], text, s.get("words", ()), k.avg_logprob,
                              k.no_speech, fallback.compression_ratio(text.strip()))
                     for s in segs if s["end"] > s["start"]
                     and (text := t.decode(s["tokens"])).strip())
        out.append(Decoded(conv, found[i][0], found[i][1], retries[i],
                           0.0 if fallback.silent(k) else k.compression))
    return out


def features(model: Any, clips: Sequence[np.ndarray], frames: int | None = None
             ) -> tuple[np.ndarray, list[int]]:
    """(log-mel features of clips, each cut or zero-padded to ``frames``, frames each clip
    fills); ``frames`` defaults to a full 30 s window."""
    n = frames or model.feature_extractor.nb_max_frames
    feats = [model.feature_extractor(c)[..., :-1] for c in clips]
    stack = np.zeros((len(feats), feats[0].shape[0], n), feats[0].dtype)
    for k, f in enumerate(feats):
        stack[k, :, :min(n, f.shape[-1])] = f[:, :n]
    return stack, [min(f.shape[-1], n) for f in feats]


def _encode(model: Any, clips: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int], Any]:
    """(features, frames of each clip, encoder output) of clips of at most 30 s."""
    batch, frames = features(model, clips)
    return batch, frames, model.encode(batch)


def _languages(model: Any, encoded: Any) -> list[tuple[str, float]]:
    return [(tok[2:-2], float(p)) for tok, p in
            (d[0] for d in model.model.detect_language(encoded))]


def _subset(model: Any, encoded: Any, batch: np.ndarray, idx: list[int]) -> Any:
    """The encoder output of some chunks of a batch."""
    import ctranslate2

    if model.model.device == "cpu":
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.asarray(encoded)[idx]))
    return model.encode(batch[idx])  # on a GPU, encoding again is cheaper than a round trip


# --- forced alignment of known text -----------------------------------------------------------

def align(model: Any, samples: np.ndarray, text: str, language: str | None
          ) -> list[tuple[float, float, str, float]]:
    """(start, end, word, probability) of known text force-aligned to at most 30 s of audio
    (word-timestamp machinery fed with the text), times from the start of ``samples``.

    Raises:
        UsageError: If the text is too long for one window. ModelError: if the model fails.
    """
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.tokenizer import _LANGUAGE_CODES, Tokenizer
    from faster_whisper.transcribe import merge_punctuations

    lang = language if language in _LANGUAGE_CODES else "en"
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                          task="transcribe", language=lang)
    tokens = tokenizer.encode(" " + " ".join(text.split()))
    if len(tokens) > 400:  # the decoder's context is 448 tokens, prompt included
        raise UsageError(f"text too long to align in one piece ({len(tokens)} tokens)")
    try:
        features = model.feature_extractor(samples)
        frames = min(features.shape[-1] - 1, 3000)
        encoded = model.encode(pad_or_trim(features))
        alignment = model.find_alignment(tokenizer, [tokens], encoded, frames)[0]
    except (RuntimeError, ValueError, IndexError) as e:
        raise ModelError(f"alignment failed: {_first_line(e)}") from None
    merge_punctuations(alignment, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS)
    return [(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
            for w in alignment]
