"""Quote alignment speed: a 15-word quote with two misheard words, found in transcripts of
10,000 and 100,000 words (synthetic Zipf-distributed words), raw and prepared.

Prints the best of five runs of :func:`archive.search.quote.align` for each size, and the
ratio of the prepared transcript's time to the raw one's. The first round's target: under
100 ms for 15 words in 10,000.

    python bench/quote.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive.search.quote import align, prepare  # noqa: E402
from tests.helpers.words import zipf_transcript  # noqa: E402


def best_of(runs: int, fn) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    for n in (10_000, 100_000):
        words = zipf_transcript(n)
        at = int(n * 0.6)
        target = [w.text for w in words[at:at + 15]]
        target[4] = target[4][:-1] + "x"
        target[9] += "s"
        quote = " ".join(target)
        a = align(quote, words)
        assert a is not None and a.start_index == at, "wrong passage"
        prepared = prepare(words)
        raw = best_of(5, lambda: align(quote, words))
        prep = best_of(5, lambda: align(quote, prepared))
        print(f"{n:>7,} words: raw {raw * 1000:7.1f} ms, prepared {prep * 1000:7.1f} ms "
              f"(prepared/raw {prep / raw:.2f})")


if __name__ == "__main__":
    main()
