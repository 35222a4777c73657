"""Prompt echo: recited hotwords are taken out, spoken names stay."""

from __future__ import annotations

from archive.speech.echo import remove_echoes
from archive.models import Segment, Word

HOT = "Khakassia, Navalny, Chernihiv, Prigozhin, Shoigu"


def _seg(spec: list[tuple[str, float]], start: float = 0.0) -> Segment:
    words = tuple(Word(start + i * 0.4, start + i * 0.4 + 0.3, w, p)
                  for i, (w, p) in enumerate(spec))
    return Segment(0, words[0].start, words[-1].end, " ".join(w for w, _ in spec), words)


def test_recited_list_at_the_end_is_removed_and_reported():
    seg = _seg([("Prigozhin", 0.9), ("called", 0.95), ("Shoigu", 0.8), ("a", 0.99),
                ("coward.", 0.9), ("Khakassia,", 0.01), ("Navalny,", 0.0), ("Chernihiv", 0.02)])
    out, echoes = remove_echoes([seg], HOT)
    assert [w.text for w in out[0].words] == ["Prigozhin", "called", "Shoigu", "a", "coward."]
    assert out[0].text == "Prigozhin called Shoigu a coward."
    assert out[0].end == seg.words[4].end
    assert echoes == [{"start": seg.words[5].start, "end": seg.words[7].end,
                       "text": "Khakassia, Navalny, Chernihiv"}]


def test_spoken_names_and_lone_improbable_names_stay():
    spoken = _seg([("Khakassia,", 0.7), ("Navalny,", 0.6), ("Chernihiv", 0.9)])
    lone = _seg([("near", 0.9), ("Chernihiv", 0.05), ("today", 0.9)])
    out_of_order = _seg([("Shoigu", 0.05), ("Navalny", 0.05)])
    segs = [spoken, lone, out_of_order]
    out, echoes = remove_echoes(segs, HOT)
    assert out == segs and echoes == []
    assert remove_echoes(segs, None) == (segs, [])


def test_a_segment_that_is_all_echo_is_dropped():
    seg = _seg([("Navalny,", 0.01), ("Prigozhin,", 0.0), ("Shoigu.", 0.03)], start=5.0)
    keep = _seg([("hello", 0.9)])
    out, echoes = remove_echoes([keep, seg], HOT)
    assert out == [keep] and len(echoes) == 1 and echoes[0]["start"] == 5.0
