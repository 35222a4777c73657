"""Whisper's checks and the deterministic retries: which windows are kept, which are decoded
again, and which try wins (the decisions; tests/speech/test_whisper.py and test_longform.py
run them with the real model on real audio)."""

from __future__ import annotations

from archive.speech import fallback
from archive.speech.fallback import Try


def _try(name: str, lp: float = -0.3, cr: float = 1.5, ns: float = 0.01, loop: bool = False
         ) -> Try:
    return Try(name, lp, cr, ns, loop)


def test_a_loop_is_a_short_run_repeating_back_to_back():
    assert fallback.looping([5, 5, 5, 5]) and not fallback.looping([5, 5, 5])
    assert fallback.looping([1, 2, 3] * 3) and not fallback.looping([1, 2, 3] * 2)
    # a sentence of 13 tokens said three times is a repeated sentence, not a loop
    assert not fallback.looping(list(range(13)) * 3)


def test_compression_ratio_is_whispers():
    assert fallback.compression_ratio("abc") < 1.0
    assert fallback.compression_ratio("слабаки, трусы и предатели! " * 6) > 2.4


def test_repeated_speech_is_kept_but_loops_and_unsure_text_are_retried():
    assert not fallback.needs_retry(_try("fine"))
    assert not fallback.needs_retry(_try("slogan twice", cr=3.0))
    assert fallback.needs_retry(_try("loop", cr=3.0, loop=True))
    assert fallback.needs_retry(_try("unsure", lp=-1.4))
    assert not fallback.needs_retry(_try("silence", lp=-1.4, ns=0.9))


def test_the_first_try_that_passes_wins_and_nothing_is_random():
    asked = []

    def decode(kw):
        asked.append(kw)
        return _try("second", lp=-1.2) if len(asked) == 1 else _try("third", lp=-0.5)

    first = _try("first", lp=-1.5)
    assert fallback.choose(first, decode).result == "third"
    assert asked == list(fallback.FALLBACK)
    assert all("temperature" not in kw for kw in asked)


def test_when_every_try_fails_the_likeliest_calm_try_is_kept():
    tries = iter([_try("loop", lp=-0.2, cr=3.1, loop=True), _try("calm", lp=-1.3, cr=1.8)])
    assert fallback.choose(_try("first", lp=-1.6, cr=1.9), lambda kw: next(tries)).result == "calm"
