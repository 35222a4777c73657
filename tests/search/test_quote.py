"""Quote alignment: exact and misheard quotes, scripts, ranking (its speed: bench/quote.py;
tokens: test_wording)."""

from __future__ import annotations

import pytest

from archive.models import Word
from archive.search.quote import Alignment, align, best_passages, normalize, prepare
from tests.helpers.words import zipf_transcript


def words_of(text: str, t0: float = 0.0, step: float = 0.4) -> list[Word]:
    """Words of a transcript, one every ``step`` seconds, punctuation attached as Whisper does."""
    return [Word(t0 + i * step, t0 + i * step + step * 0.8, w) for i, w in enumerate(text.split())]


JFK = ("And so, my fellow Americans, ask not what your country can do for you, "
       "ask what you can do for your country.")
MISHEARD = ("Thank you all for coming. Frankly, let's call a spade state weaklings card and "
            "traders, that is what they are. Next question please.")
QUOTE = "Let's call a spade a spade: weaklings, cowards and traitors"


def test_exact_quote_found_at_exact_indices():
    words = words_of("Good evening. " + JFK + " Thank you and good night.")
    a = align("ask not what your country can do for you", words)
    assert isinstance(a, Alignment)
    assert (a.start_index, a.end_index) == (7, 16)
    assert [w.text for w in words[a.start_index:a.end_index]][0] == "ask"
    assert a.similarity == 1.0 and a.differences == ()
    assert a.start == words[7].start and a.end == words[15].end
    assert all(op.kind == "match" for op in a.ops)


def test_case_and_punctuation_do_not_matter():
    words = words_of(JFK)
    a = align("“ASK WHAT YOU CAN DO — for your country!”", words)
    assert a is not None and a.similarity == 1.0
    assert " ".join(w.text for w in words[a.start_index:a.end_index]) == (
        "ask what you can do for your country.")


def test_misheard_quote_found_with_differences():
    words = words_of(MISHEARD)
    a = align(QUOTE, words)
    assert a is not None
    span = [w.text for w in words[a.start_index:a.end_index]]
    assert span[0] == "let's" and span[-1] == "traders,"
    assert 0.6 < a.similarity < 0.95
    assert ("cowards", "card") in a.differences
    assert ("traitors", "traders") in a.differences
    assert any(t == "state" for _, t in a.differences)
    # Only misheard words are listed; the words heard right are not.
    listed = " ".join(q + " " + t for q, t in a.differences).split()
    assert "weaklings" not in listed and "call" not in listed


def test_absent_quote_scores_below_threshold():
    words = words_of(JFK + " " + MISHEARD)
    a = align("The government will never negotiate with these criminals", words)
    assert a is None or a.similarity < 0.5
    assert best_passages("The government will never negotiate with these criminals",
                         [("jfk", words)]) == []


def test_quote_with_only_punctuation_or_no_words():
    assert align("— ... !", words_of(JFK)) is None
    assert align("ask not", []) is None


def test_cyrillic_quote_with_misheard_words():
    words = words_of("и тогда он сказал: мы никогда не сдадимся этем придателям. конец")
    a = align("«Мы никогда не сдадимся этим предателям!»", words)
    assert a is not None and (a.start_index, a.end_index) == (4, 10)
    assert 0.8 < a.similarity < 1.0
    assert ("этим", "этем") in a.differences
    assert ("предателям", "придателям") in a.differences


def test_ukrainian_and_german_quotes():
    uk = words_of("він сказав ми ніколи не здамося цим зрадникам пʼять років тому")
    a = align("Ми ніколи не здамося цим зрадникам, п’ять років", uk)
    assert a is not None and (a.start_index, a.end_index) == (2, 10) and a.similarity == 1.0
    de = words_of("und dann sagte er die Strasse gehört uns und ging")
    a = align("„Die Straße gehört uns“", de)
    assert a is not None and (a.start_index, a.end_index) == (4, 8) and a.similarity == 1.0


def test_number_words_match_digits_and_splits_merge():
    words = words_of("he said we lost 25 people in nineteen sixty one, and that was all")
    a = align("We lost twenty-five people in 1961", words)
    assert a is not None and (a.start_index, a.end_index) == (2, 10)
    assert a.similarity > 0.95 and a.differences == ()
    assert any(op.kind == "split" for op in a.ops)  # "1961" heard as "19" "61"


def test_ellipsis_skips_an_elided_stretch():
    words = words_of("ask not what your country can do for you, uh, well, I mean, "
                     "ask what you can do for your country.")
    a = align("ask not what your country can do for you … ask what you can do", words)
    assert a is not None and (a.start_index, a.end_index) == (0, 18)
    assert a.similarity > 0.95 and a.differences == ()
    assert [op.kind for op in a.ops].count("gap") == 4
    # Without the ellipsis the same extra words count as differences.
    b = align("ask not what your country can do for you ask what you can do", words)
    assert b is not None and b.similarity < a.similarity
    assert ("", "uh well I mean") in b.differences  # one difference per run of extra words


def test_a_word_is_not_split_onto_its_neighbour():
    words = words_of("Let's call a stave a stave. You are weaklings, coward and traitors.")
    a = align("Let's call a spade a spade: weaklings, cowards and traitors", words)
    assert a is not None and (a.start_index, a.end_index) == (0, 12)
    # "You are" is extra in the transcript; "weaklings" matches itself, not "are weaklings"
    assert a.differences == (("spade", "stave"), ("spade", "stave"), ("", "You are"),
                             ("cowards", "coward"))
    assert [op.kind for op in a.ops if op.quote == "weaklings"] == ["match"]


def test_best_passages_ranks_and_finds_repeats():
    exact = words_of("Intro. " + QUOTE.replace(":", "") + ". Outro. Again: " + QUOTE + ".")
    misheard = words_of(MISHEARD)
    other = words_of(JFK)
    ranked = best_passages(QUOTE, [("misheard", misheard), ("other", other), ("exact", exact)])
    keys = [k for k, _ in ranked]
    assert keys == ["exact", "exact", "misheard"]
    assert ranked[0][1].similarity == ranked[1][1].similarity == 1.0
    assert ranked[0][1].start_index == 1 and ranked[1][1].start_index == 13
    assert ranked[2][1].similarity < 1.0
    assert best_passages(QUOTE, [("exact", exact), ("misheard", misheard)], limit=1)[0][0] == (
        "exact")
    assert len(best_passages(QUOTE, [("m", misheard)], min_similarity=0.99)) == 0


def test_a_quote_with_two_misheard_words_is_found_in_10000():
    """The right 15 words of a 10,000-word transcript, raw or prepared (the time this takes is
    printed by bench/quote.py, not asserted here)."""
    words = zipf_transcript(10_000)
    target = [w.text for w in words[6000:6015]]
    target[4] = target[4][:-1] + "x"  # two misheard words
    target[9] = target[9] + "s"
    quote = " ".join(target)
    a = align(quote, words)
    assert a is not None and (a.start_index, a.end_index) == (6000, 6015)
    assert len(a.differences) == 2
    assert align(quote, prepare(words)) == a


COMMANDER = "audio_2022-03-14_21-07-33.ogg"


@pytest.fixture(scope="module")
def commander_words(built_archive):
    """The real model's words for the project's commander voice note (espeak-ng speech)."""
    from tests.conftest import SAMPLES, sha

    return built_archive.transcript(sha(SAMPLES / COMMANDER)).words


def _span(words, a):
    return [normalize(w.text) for w in words[a.start_index:a.end_index]]


def check_published_quotes(words) -> None:
    quote = "Let's call a spade a spade. You are weaklings, cowards and traitors."
    a = align(quote, words)
    assert a is not None and a.similarity >= 0.7
    span = _span(words, a)
    assert span[0] == ["let's"] and span[-1] == ["traitors"]
    assert 0 < a.end - a.start < 8.0
    # Every quote word the model did not hear is listed as a difference; nothing heard right is.
    heard = {t for ts in span for t in ts}
    for q, t in a.differences:
        assert normalize(q) != normalize(t)
    for missing in set(normalize(quote)) - heard:
        assert any(missing in normalize(q) for q, _ in a.differences), missing
    b = align("Anyone who retreats again will answer to me personally.", words)
    assert b is not None and b.similarity >= 0.7
    assert _span(words, b)[-1] == ["personally"] and ["retreats"] in _span(words, b)
    assert b.start >= a.end
    c = align("Die Lieferung kommt am Dienstag nach Hamburg.", words)
    assert c is None or c.similarity < 0.5


@pytest.mark.slow
def test_published_quotes_in_a_real_transcript(commander_words):
    check_published_quotes(commander_words)


@pytest.mark.parametrize("quote, first, last, missing", [
    ("his father dying in miserable circumstances", "father", "circumstances.", ("his", "")),
    ("said the investigation father dying his", "said", "dying", ("his", "")),
    ("Слабаки, трусы и предатели нас", "слабаки,", "предатели.", ("нас", "")),
])
def test_an_end_word_the_transcript_lacks_does_not_stretch_the_passage(quote, first, last,
                                                                       missing):
    # Whisper dropped "his" (or the outlet added "нас"); the unrelated word beside the passage
    # is not a misheard version of it, so the passage starts (ends) where the match does.
    words = words_of("So he said the investigation. Father dying in miserable circumstances. "
                     "Слабаки, трусы и предатели. Конец.")
    a = align(quote, words)
    assert a is not None
    span = [w.text for w in words[a.start_index:a.end_index]]
    assert (span[0].lower(), span[-1].lower()) == (first, last), span
    assert missing in a.differences
    assert a.start == words[a.start_index].start


def test_a_misheard_end_word_still_belongs_to_the_passage():
    words = words_of("Well, Hiss father dying in miserable circumstances.")
    a = align("his father dying in miserable circumstances", words)
    assert a is not None and words[a.start_index].text == "Hiss"
    assert ("his", "Hiss") in a.differences
