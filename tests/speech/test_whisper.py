"""The faster-whisper door: device choice, deterministic decoding (no sampling), and batched
chunks decoded each on its own, with the real model and real audio."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from archive.speech import audio, transcribe, whisper

AUDIO = Path(os.environ.get("ARCHIVE_SHARED_AUDIO", "/work/shared/audio"))
SR = audio.SAMPLE_RATE
#: A LibriSpeech test-other utterance on which beam search fails Whisper's log-probability
#: check, so faster-whisper falls back to sampling: three runs gave three different texts.
FALLBACK_FILE = "librispeech/2033-164914-0001.flac"


def _audio(name: str) -> np.ndarray:
    path = AUDIO / name
    if not path.is_file():
        pytest.skip(f"shared reference audio {path} is absent")
    return audio.decode(path)


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w' ]+", " ", text.lower()).split()


@pytest.fixture(scope="module")
def engine() -> transcribe.Engine:
    return transcribe.load_engine(transcribe.resolve_model(None), device="cpu")


# --- deterministic decoding -------------------------------------------------------------------

def test_fallback_window_is_retried_by_beam_search_and_repeats(engine):
    """faster-whisper would sample here (log-probability below -1); the beam-search ladder
    gives the same text every time, in one process and (see tests/ingest) across processes."""
    x = _audio(FALLBACK_FILE)
    runs = [whisper.decode_window(engine.model, x, language=None, task="transcribe",
                                  hotwords=None, initial_prompt=None, multilingual=True)
            for _ in range(2)]
    assert runs[0].retries >= 1
    assert runs[0] == runs[1]
    words = _words(" ".join(s.text for s in runs[0].segments))
    assert {"she", "said", "he", "is", "the"} <= set(words), words


def test_batched_chunks_are_decoded_each_on_its_own(engine):
    """jfk gives the same words and times alone and in a batch beside German speech, and each
    chunk gets its own language."""
    jfk = _audio("jfk.flac")
    german = _audio("real/fleurs-de-000.ogg")
    kw = dict(language=None, task="transcribe", hotwords=None, initial_prompt=None)
    alone = whisper.decode_batch(engine.model, [jfk], **kw)[0]
    both = whisper.decode_batch(engine.model, [german, jfk], **kw)
    assert both[1].language == alone.language == "en"
    assert both[0].language == "de"
    assert set(_words(" ".join(s.text for s in both[0].segments))) & {"die", "und", "sie"}
    a = [(w.text, w.start, w.end) for s in alone.segments for w in s.words]
    b = [(w.text, w.start, w.end) for s in both[1].segments for w in s.words]
    assert [t for t, _, _ in a] == [t for t, _, _ in b]
    assert max(abs(x[1] - y[1]) + abs(x[2] - y[2]) for x, y in zip(a, b)) <= 0.02, (a, b)
    assert _words(" ".join(s.text for s in alone.segments))[:4] == ["and", "so", "my", "fellow"]
    for s in alone.segments:
        assert 0.0 <= s.start <= s.end <= len(jfk) / SR + 0.02
        assert s.words and all(s.start - 1e-6 <= w.start <= w.end <= s.end + 1e-6
                               for w in s.words)


def test_a_chunk_the_model_calls_silence_gives_no_segments(engine):
    """Faint hiss: no-speech probability high and log-probability low, so the chunk is
    skipped, as faster-whisper's sequential loop skips such a window (text the model writes
    over digital silence is screened later, by :mod:`archive.speech.screen`)."""
    rng = np.random.default_rng(3)
    hiss = rng.normal(0, 10 ** (-60 / 20), 10 * SR).astype(np.float32)
    out = whisper.decode_batch(engine.model, [hiss], language="en", task="transcribe",
                               hotwords=None, initial_prompt=None)
    assert [d.segments for d in out] == [()]
    assert whisper.decode_batch(engine.model, [], language=None, task="transcribe",
                                hotwords=None, initial_prompt=None) == []
