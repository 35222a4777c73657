"""Quote alignment speed: a 15-word quote with two misheard words, found in transcripts of
10,000 and 100,000 words (synthetic Zipf-distributed words), raw and prepared.

Prints the best of five runs of :func:`archive.search.quote.align` for each size, and the
ratio of the prepared transcript's time to the raw one's. The first round's target: under
100 ms for 15 words in 10,000.

    python bench/quote.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive.models import Word  # noqa: E402
from archive.search.quote import align, prepare  # noqa: E402


def transcript(n: int, seed: int = 7) -> list[Word]:
    """``n`` words from a 4,000-word made-up vocabulary with Zipf frequencies."""
    rng = random.Random(seed)
    syll = ["ka", "lo", "mi", "ne", "ra", "tu", "shi", "po", "ven", "dar", "gul", "tes", "bro",
            "an", "el", "or", "us", "fi", "ze", "qua"]
    vocab = sorted({"".join(rng.choice(syll) for _ in range(rng.randint(1, 4)))
                    for _ in range(4000)})
    weights = [1.0 / (r + 1) for r in range(len(vocab))]
    return [Word(i * 0.35, i * 0.35 + 0.3, w) for i, w in enumerate(rng.choices(vocab, weights, k=n))]


def best_of(runs: int, fn) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    for n in (10_000, 100_000):
        words = transcript(n)
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
