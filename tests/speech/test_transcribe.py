"""Transcription with the real embedded models and real audio (model resolution: test_speechmodel)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import jiwer
import numpy as np
import pytest

from archive.speech import transcribe as tr
from archive.speech.audio import decode
from archive.errors import InputError, UsageError
from archive.models import HALLUCINATION_FLAGS

AUDIO = Path(os.environ.get("ARCHIVE_SHARED_AUDIO", "/work/shared/audio"))
JFK_TEXT = ("And so, my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")


def _audio(name: str, **kw) -> np.ndarray:
    path = AUDIO / name
    if not path.is_file():
        pytest.skip(f"shared reference audio {path} is absent")
    return decode(path, **kw)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def _check_words(result: tr.TranscriptionResult) -> None:
    words = [w for s in result.segments for w in s.words]
    assert words
    for w in words:
        assert 0.0 <= w.start <= w.end <= result.duration + 1e-6
        assert w.text == w.text.strip() and w.text
        assert 0.0 <= w.probability <= 1.0
    for a, b in zip(words, words[1:]):
        assert b.start >= a.end - 1e-6, (a, b)
    for s in result.segments:
        assert s.words and s.start == s.words[0].start and s.end >= s.words[-1].end - 1e-6
        assert set(s.flags) <= set(HALLUCINATION_FLAGS)


@pytest.fixture(scope="session")
def base() -> tr.ResolvedModel:
    return tr.resolve_model(None)


@pytest.fixture(scope="session")
def jfk() -> np.ndarray:
    return _audio("jfk.flac")


@pytest.fixture(scope="session")
def jfk_result(base, jfk) -> tr.TranscriptionResult:
    return tr.transcribe(jfk, base)


# --- model resolution -------------------------------------------------------------------------

def test_jfk_text_words_and_language(jfk_result, jfk):
    r = jfk_result
    assert jiwer.wer(_norm(JFK_TEXT), _norm(r.text)) <= 0.10, r.text
    assert r.language == "en" and 0.5 < r.language_probability <= 1.0
    assert r.duration == pytest.approx(len(jfk) / 16000)
    _check_words(r)
    assert not any(s.flags for s in r.segments)
    assert r.options["model_sha256"] == tr.BASE_SHA256 and r.options["refined"] is True
    assert r.options["word_timestamps"] and r.options["vad_filter"]


def test_jfk_ask_onset_is_refined(jfk_result):
    asks = [w for s in jfk_result.segments for w in s.words if _norm(w.text) == "ask"]
    assert len(asks) == 2
    assert abs(asks[0].start - 3.25) <= 0.15, asks[0]


def test_jfk_tiny_en(jfk):
    r = tr.transcribe(jfk, tr.resolve_model("tiny.en"))
    assert jiwer.wer(_norm(JFK_TEXT), _norm(r.text)) <= 0.15, r.text
    _check_words(r)
    ask = next(w for s in r.segments for w in s.words if _norm(w.text) == "ask")
    assert abs(ask.start - 3.25) <= 0.15, ask


@pytest.mark.slow
def test_multilingual_is_written_as_spoken_with_progress(base):
    audio = _audio("multilingual.mp3")
    calls: list[tuple[float, float]] = []
    r = tr.transcribe(audio, base, progress=lambda d, t: calls.append((d, t)))
    assert _norm(r.text).startswith("permission is hereby granted"), r.text[:80]
    assert r.language in ("en", "de")  # the one spoken longest: about 25 s and 28 s here
    _check_words(r)
    german = _norm(" ".join(s.text for s in r.segments if s.start > 30))
    assert len(set(german.split()) & {"der", "die", "und", "zu", "das", "mit"}) >= 3, german
    assert calls and calls[-1][0] == calls[-1][1] == pytest.approx(r.duration)
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:]))


def test_translate_gives_english(base):
    german = _audio("multilingual.mp3")[31 * 16000:41 * 16000]
    r = tr.transcribe(german, base, task="translate")
    text = _norm(r.text)
    assert "software" in text, text
    assert not set(text.split()) & {"der", "die", "und", "zu", "mit"}, text
    assert r.options["task"] == "translate"


@pytest.mark.parametrize("kind", ["zeros", "noise"])
def test_silence_yields_no_text(base, kind):
    rng = np.random.default_rng(7)
    n = 60 * 16000
    audio = (np.zeros(n) if kind == "zeros"
             else rng.normal(0, 10 ** (-55 / 20), n)).astype(np.float32)
    r = tr.transcribe(audio, base)
    assert r.segments == () and r.text == ""
    assert r.language is None


def test_bad_arguments(base, jfk):
    with pytest.raises(UsageError):
        tr.transcribe(jfk, base, task="summarise")
    with pytest.raises(UsageError):
        tr.transcribe(jfk, base, language="xx")
    with pytest.raises(InputError):
        tr.transcribe(np.stack([jfk, jfk]), base)
    with pytest.raises(UsageError):
        tr.transcribe(jfk, base, batch_size=0)


def test_batched_and_sequential_give_the_same_words_on_jfk(base, jfk, jfk_result):
    """Chunks decoded in a batch (the GPU default) and faster-whisper's sequential loop (the
    CPU default) agree word for word, and on word times within 0.1 s."""
    batched = tr.transcribe(jfk, base, batch_size=8)
    assert batched.options["batch_size"] == 8 and jfk_result.options["batch_size"] == 1
    assert batched.options["chunking"]["chunk"] == 30.0
    a = [w for s in batched.segments for w in s.words]
    b = [w for s in jfk_result.segments for w in s.words]
    assert [_norm(w.text) for w in a] == [_norm(w.text) for w in b]
    assert max(abs(x.start - y.start) + abs(x.end - y.end) for x, y in zip(a, b)) <= 0.1
    assert jiwer.wer(_norm(JFK_TEXT), _norm(batched.text)) <= 0.10


def test_options_record_what_shapes_the_output(jfk_result):
    o = jfk_result.options
    assert o["device"] in ("cpu", "cuda") and o["compute_type"] and o["batch_size"] >= 1
    assert o["sampling"] is False and o["temperature"] == [0.0] and o["fallback"]
    assert o["faster_whisper"] and o["ctranslate2"] and o["vad"]["threshold"] == 0.5
    assert o["windows_retried"] == 0 and o["repetitive_chunks"] == 0


def test_hotwords_and_language_are_passed_and_recorded(base, jfk):
    r = tr.transcribe(jfk[:int(4.5 * 16000)], base, language="en", hotwords="Americans")
    assert r.language == "en" and r.language_probability == 1.0
    assert r.options["hotwords"] == "Americans" and r.options["multilingual"] is False
    assert "americans" in _norm(r.text)
