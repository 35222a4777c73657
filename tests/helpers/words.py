"""Made-up transcripts for tests and benches: Zipf-distributed words (alignment,
bench/quote.py) and lines read out at an even pace (word forms, bench/language.py)."""

from __future__ import annotations

import random

from archive.models import Recording, Segment, Transcript, Word


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


def evenly_timed(rid: str, lang: str, lines: list[str], *, filename: str, ext: str, size: int,
                 word: float, step: float) -> Transcript:
    """A transcript of ``lines``, one segment each, every word ``word`` seconds long and
    ``step`` seconds after the last, with a second of pause between lines."""
    segs, t = [], 0.0
    for i, line in enumerate(lines):
        ws = []
        for w in line.split():
            ws.append(Word(round(t, 3), round(t + word, 3), w))
            t += step
        segs.append(Segment(i, ws[0].start, ws[-1].end, line, tuple(ws)))
        t += 1.0
    rec = Recording(id=rid, filename=filename, ext=ext, size=size, duration=t, language=lang)
    return Transcript(rec, 1, tuple(segs), (), lang)
