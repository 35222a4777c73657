"""Gap finding, segment clipping and silence screening, on real speech and real noise."""

from __future__ import annotations


import numpy as np
import pytest

from archive.models import Segment, Word
from archive.speech.screen import clip_segment, screen_segments, uncovered_speech
from tests.helpers import synth

SR = 16000


@pytest.fixture(scope="session")
def jfk(jfk_pcm) -> np.ndarray:
    return jfk_pcm


def _speech_after_pause(pause: float = 0.6):
    """Two real utterances with a pause between them, and faint noise throughout."""
    if not synth.available():
        pytest.skip(f"LibriSpeech folder {synth.LIBRISPEECH} is absent")
    return synth.speech_after_pause(pause)


def test_uncovered_speech_and_clip_segment():
    words = (Word(1.0, 1.5, "a"), Word(1.5, 2.0, "b"), Word(5.0, 5.5, "c"))
    segs = [Segment(0, 1.0, 2.0, "a b", words=words[:2]),
            Segment(1, 5.0, 5.5, "c", words=words[2:])]
    assert uncovered_speech([(0.9, 2.1), (2.5, 6.0), (7.0, 7.5)], segs) == [(2.5, 5.0)]
    assert uncovered_speech([(0.0, 8.0)], segs, shortest=0.5) == [(0.0, 1.0), (2.0, 5.0),
                                                                  (5.5, 8.0)]
    padded = Segment(0, 1.8, 4.0, "b. Serve it", words=(
        Word(1.8, 1.95, "b."), Word(1.9, 2.6, "Serve"), Word(2.6, 3.0, "it")))
    cut = clip_segment(padded, 2.0, 5.0)
    assert [w.text for w in cut.words] == ["Serve", "it"] and cut.text == "Serve it"
    assert cut.words[0].start == 2.0 and cut.start == 2.0 and cut.end == 3.0


def _seg(text: str, start: float, end: float, **kw) -> Segment:
    return Segment(0, start, end, text, words=(Word(start, end, text),), **kw)


def test_screen_drops_stock_text_over_silence_and_flags_the_suspect(jfk):
    rng = np.random.default_rng(3)
    quiet = rng.normal(0, 10 ** (-50 / 20), 20 * SR)
    # 14-20 s: noise swelling by 6 dB four times a second: not flat, but no clear speech.
    t = np.arange(6 * SR) / SR
    quiet[14 * SR:] *= 10 ** ((3 + 3 * np.sin(2 * np.pi * 4 * t)) / 20)
    audio = np.concatenate([quiet.astype(np.float32), jfk])
    speech = 20.0 + 0.3
    segs = [
        _seg("Thank you.", 2.0, 4.0),                       # stock, over flat noise: dropped
        _seg("Subtitles by the Amara.org community", 14.5, 17.0),  # stock, weak: dropped
        _seg("We shall fight on the beaches.", 5.0, 8.0),   # other text: kept, flagged
        _seg("And so my fellow Americans", speech, speech + 1.8),
        _seg("Thank you.", speech + 2.9, speech + 3.6),      # said over speech: kept
        _seg("ask not ask not ask not ask not", speech + 3.0, speech + 4.3,
             compression_ratio=2.6),
        _seg("what your country can do", speech + 5.4, speech + 7.0,
             no_speech_prob=0.8, avg_logprob=-0.9),
        _seg("what your country can do", speech + 7.0, speech + 7.3, avg_logprob=-1.3),
    ]
    kept, dropped = screen_segments(segs, audio)
    assert [s.text for s in dropped] == [s.text for s in segs[:2]]
    inaudible = np.zeros(3 * SR, np.float32)
    assert screen_segments([_seg("We shall never surrender.", 0.5, 2.5)], inaudible)[0] == []
    flags = {(s.start, s.text): s.flags for s in kept}
    assert flags[(5.0, "We shall fight on the beaches.")] == ("no_speech",)
    assert flags[(speech, "And so my fellow Americans")] == ()
    assert flags[(speech + 2.9, "Thank you.")] == ()
    assert flags[(speech + 3.0, "ask not ask not ask not ask not")] == (
        "compression", "repetition")
    assert flags[(speech + 5.4, "what your country can do")] == ("no_speech",)
    # The same text again right after: a repetition loop across segments.
    assert flags[(speech + 7.0, "what your country can do")] == ("repetition", "low_logprob")


def test_screen_keeps_ordinary_repeated_words():
    x, a0, a1, b0, b1 = _speech_after_pause()
    kept, dropped = screen_segments([_seg("no, no, no, I said no", a0, a1),
                                     _seg("yes", b0, b1)], x)
    assert not dropped and all(s.flags == () for s in kept)
