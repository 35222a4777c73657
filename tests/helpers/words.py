"""Made-up transcripts for alignment tests and bench/quote.py: words with Zipf frequencies."""

from __future__ import annotations

import random

from archive.models import Word


def zipf_transcript(n: int, seed: int = 7) -> list[Word]:
    """``n`` words, 0.35 s apart, from a 4,000-word made-up vocabulary with Zipf frequencies."""
    rng = random.Random(seed)
    syll = ["ka", "lo", "mi", "ne", "ra", "tu", "shi", "po", "ven", "dar", "gul", "tes", "bro",
            "an", "el", "or", "us", "fi", "ze", "qua"]
    vocab = sorted({"".join(rng.choice(syll) for _ in range(rng.randint(1, 4)))
                    for _ in range(4000)})
    weights = [1.0 / (r + 1) for r in range(len(vocab))]
    return [Word(i * 0.35, i * 0.35 + 0.3, w)
            for i, w in enumerate(rng.choices(vocab, weights, k=n))]
