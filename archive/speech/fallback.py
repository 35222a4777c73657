"""Whisper's checks of a decoded window, and deterministic retries of a window that fails them.

Whisper (and faster-whisper) decode a window again by *sampling* at rising temperatures when
its text is too repetitive or the model too unsure of it. CTranslate2 samples from a
per-thread generator seeded once per process, which cannot be reset: the same recording gave
different words from run to run. Here:

* a window passes when its text is not too repetitive (gzip compression ratio at most 2.4)
  and the model is sure enough of it (average log-probability at least -1), or when the
  model calls it silence (no-speech probability over 0.6 with a low log-probability);
* a window that fails by compression only, with no phrase looping back to back, is speech
  that repeats itself (a slogan, a message played twice) and is kept as it is;
* any other failing window is decoded again by beam searches that penalise repetition
  (:data:`FALLBACK`); the first try that passes with no loop is kept, else, as in Whisper,
  the likeliest try that is not too repetitive, else the likeliest.

Nothing is random: the same window always gives the same text. numpy-free, model-free: the
caller decodes (see :mod:`archive.speech.whisper`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

COMPRESSION_RATIO_THRESHOLD = 2.4
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
#: The retries, in order. On 27 noisy real recordings (FLEURS de/es, VoxPopuli, the Russian
#: clips and jfk with white noise at 0 and 5 dB SNR) and a LibriSpeech utterance on which beam
#: search loops, these gave a lower WER than faster-whisper's sampling (0.695 and 0.505
#: against 0.714 and 0.521; the loop fixed by both); a wider beam (10, patience 2) did worse
#: (0.737, 0.562) and kept the loop.
FALLBACK: tuple[dict[str, Any], ...] = (
    {"beam_size": 5, "repetition_penalty": 1.2},
    {"beam_size": 5, "no_repeat_ngram_size": 3},
)


@dataclass(frozen=True)
class Try:
    """One decode of a window and what the checks need of it.

    Attributes:
        result: The model's result (opaque here).
        avg_logprob: Average log-probability of its tokens.
        compression: gzip compression ratio of its text.
        no_speech: The model's no-speech probability.
        looping: Some phrase repeats back to back (:func:`looping`).
    """

    result: Any
    avg_logprob: float
    compression: float
    no_speech: float
    looping: bool


def compression_ratio(text: str) -> float:
    """Length of ``text`` in UTF-8 over its zlib-compressed length (Whisper's check)."""
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw))


def repeats_back_to_back(seq: Sequence[Any], longest: int, times: Callable[[int], int]) -> bool:
    """True when some run of 1 to ``longest`` items occurs ``times(length)`` times in a row."""
    size = len(seq)
    for n in range(1, longest + 1):
        need = times(n)
        for i in range(0, size - n * need + 1):
            gram = seq[i:i + n]
            k = 1
            while seq[i + k * n:i + (k + 1) * n] == gram:
                k += 1
            if k >= need:
                return True
    return False


def looping(tokens: Sequence[int]) -> bool:
    """True when a run of 1 to 12 tokens repeats back to back (4 times for one or two
    tokens, 3 times for longer runs): a decoder stuck in a loop, not a repeated sentence."""
    return repeats_back_to_back(tokens, 12, lambda n: 4 if n <= 2 else 3)


def silent(t: Try) -> bool:
    """The model calls the window silence (faster-whisper then skips it)."""
    return t.no_speech > NO_SPEECH_THRESHOLD and t.avg_logprob < LOG_PROB_THRESHOLD


def passes(t: Try) -> bool:
    """Whisper's checks: silence, or text neither too repetitive nor too unsure."""
    return silent(t) or (t.compression <= COMPRESSION_RATIO_THRESHOLD
                         and t.avg_logprob >= LOG_PROB_THRESHOLD)


def needs_retry(t: Try) -> bool:
    """The window fails the checks and is not merely speech that repeats itself."""
    if passes(t):
        return False
    return t.looping or t.avg_logprob < LOG_PROB_THRESHOLD


def choose(first: Try, decode: Callable[[dict[str, Any]], Try]) -> Try:
    """The try to keep for a window whose first decode needs a retry.

    Args:
        first: The first decode (beam search 5).
        decode: Decodes the window again with the given generation options.
    """
    tries = [first]
    for kw in FALLBACK:
        t = decode(kw)
        if passes(t) and not t.looping:
            return t
        tries.append(t)
    calm = [t for t in tries if t.compression <= COMPRESSION_RATIO_THRESHOLD]
    pool = [t for t in calm if not t.looping] or calm or tries
    return max(pool, key=lambda t: t.avg_logprob)
