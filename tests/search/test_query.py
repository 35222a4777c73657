"""Query language evaluation: recording dates and locating matches in a window of words."""

from __future__ import annotations

import pytest

from archive.search.query import (DateRange, date_in, date_key, locate, normalize, parse,
                                  parse_dates, quote_words)


def test_date_key_of_recording_dates():
    assert date_key("2022-03-14T10:00:00+00:00") == 20220314
    assert date_key("2022-03") == 20220300
    assert date_key(None) is None
    assert date_key("unknown") is None


@pytest.mark.parametrize("recorded, query, inside", [
    ("2022-03-14", "2022-03", True), ("2022-03-14", "2022-03-15..", False),
    ("2022-03", "2022-03..2022-04", True), ("2022-03", "..2022-03-15", False),
    ("2022", "2022", True), ("2022", "2022-01..2022-11", False), (None, "..", False),
])
def test_date_in_range(recorded, query, inside):
    r = parse_dates(query) if query != ".." else DateRange(0, 99999999)
    assert date_in(date_key(recorded), r) is inside


def _locate(query, own, tail=(), expand=None, meta=lambda f: True):
    toks = [normalize(w) for w in (*own, *tail)]
    return locate(parse(query), toks, len(own), expand or {}, meta)


def test_locate_phrase_and_terms():
    own = "we will not forgive the cowards and traitors".split()
    assert _locate('"cowards and traitors"', own) == (5, 7)
    assert _locate("traitors", own) == (7, 7)
    assert _locate("forgive traitors", own) == (3, 7)
    assert _locate('"traitors and cowards"', own) is None
    assert _locate("traitors NOT forgive", own) is None
    assert _locate("cowards OR missing", own) == (5, 5)


def test_locate_tightest_window_for_and():
    own = "the plan the money the plan".split()
    assert _locate("money plan", own) in ((1, 3), (3, 5))
    assert _locate("money plan", own)[1] - _locate("money plan", own)[0] == 2


def test_locate_phrase_runs_into_tail_but_must_start_in_segment():
    own = "the report goes to the minister".split()
    tail = "tomorrow morning at nine".split()
    assert _locate('"the minister tomorrow morning"', own, tail) == (4, 7)
    # wholly inside the tail: the next segment reports it, not this one
    assert _locate('"tomorrow morning"', own, tail) is None
    # single words count only in the segment's own words
    assert _locate("nine", own, tail) is None


def test_locate_filters_only_and_untrusted_filters():
    own = "we will not forgive".split()
    assert _locate("speaker:S1", own) == ()
    assert _locate("speaker:S1", own, meta=lambda f: False) is None
    assert _locate("forgive OR speaker:S1", own, meta=lambda f: False) == (3, 3)


def test_locate_uses_expansions_for_fuzzy_and_wildcards():
    own = "the traitors fled".split()
    q = parse("traitor~")
    assert locate(q, own, 3, {q: frozenset({"traitor", "traitors"})}, lambda f: True) == (1, 1)
    assert locate(q, own, 3, {q: frozenset({"traitor"})}, lambda f: True) is None


@pytest.mark.parametrize("query,words", [
    ('"трусы и предатели"', "трусы и предатели"),
    ("ask not what your county", "ask not what your county"),
    ('"weaklings, cowards" traitors', "weaklings cowards traitors"),
    ('Давайте "называть вещи"', "давайте называть вещи"),
    ("трусы AND предатели", "трусы предатели"),  # the same query as without AND
])
def test_quote_words_of_plain_words_and_phrases(query, words):
    assert quote_words(query) == words


@pytest.mark.parametrize("query", [
    "предатели", '"предатели"', "трусы OR предатели", "трусы -предатели",
    "=трусы предатели", '="трусы и предатели"', "трус* предатели", "трусы~ предатели",
    "speaker:Commander трусы", "трусы recorded:2022-03..2022-04", '"unclosed', "",
])
def test_no_quote_words_for_one_word_operators_fields_or_bad_queries(query):
    assert quote_words(query) is None
