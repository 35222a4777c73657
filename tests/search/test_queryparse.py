"""Query language parsing: word folding, the query tree, dates and one-line errors."""

from __future__ import annotations

import pytest

from archive.errors import QueryError
from archive.search.queryparse import (And, DateRange, Filter, Not, Or, Phrase, Term, normalize, parse,
                                parse_dates)


def test_normalize_folds_case_and_edge_punctuation():
    assert normalize("Traitors,") == "traitors"
    assert normalize("\u201cDon\u2019t!\u201d") == "don't"
    assert normalize("well-known.") == "well-known"
    assert normalize("\u2014") == ""
    assert normalize("Verr\u00e4ter") == "verr\u00e4ter"
    assert normalize("coward*", wild=True) == "coward*"
    assert normalize("minister's") == normalize("Minister\u2019s") == "minister"
    assert normalize("'s") == "s"


def test_words_phrases_and_implicit_and():
    assert parse("traitors") == Term("traitors")
    assert parse('"Cowards and Traitors"') == Phrase(
        (Term("cowards"), Term("and"), Term("traitors")))
    assert parse("cowards traitors") == And((Term("cowards"), Term("traitors")))
    assert parse('"traitors"') == Term("traitors")


def test_precedence_not_and_or():
    assert parse("a b OR c NOT d") == Or((And((Term("a"), Term("b"))),
                                          And((Term("c"), Not(Term("d"))))))
    assert parse("(a OR b) AND c") == And((Or((Term("a"), Term("b"))), Term("c")))
    # lower-case operators are ordinary words
    assert parse("a and b") == And((Term("a"), Term("and"), Term("b")))


def test_a_leading_minus_is_not():
    assert parse("country -americans") == parse("country NOT americans")
    assert parse('трусы -"слабаки и предатели"') == parse('трусы NOT "слабаки и предатели"')
    assert parse("bridge -speaker:S1") == parse("bridge NOT speaker:S1")
    # inside a word a hyphen stays part of it
    assert parse("Ростов-на-Дону") == parse("Ростов-на-Дону -x").items[0]
    with pytest.raises(QueryError, match="besides NOT"):
        parse("-americans")


def test_wildcards_and_fuzzy():
    assert parse("coward*") == Term("coward*")
    assert parse("traitor~") == Term("traitor", 1)
    assert parse("traitor~2") == Term("traitor", 2)
    assert parse("Traitor~1").fuzzy == 1


@pytest.mark.parametrize("query, field, values", [
    ("speaker:Commander", "speaker", ("commander",)),
    ("speaker:S1", "speaker", ("s1",)),
    ('speaker:"Colonel  Smith"', "speaker", ("colonel smith",)),
    ("recording:3FA9c2", "recording", ("3fa9c2",)),
    ('title:"Budget meeting"', "title", ("budget", "meeting")),
    ("lang:DE", "lang", ("de",)),
    ('tag:"Human Rights"', "tag", ("human rights",)),
    ("source:telegram", "source", ("telegram",)),
    ("Language:en", "lang", ("en",)),
])
def test_field_filters(query, field, values):
    assert parse(query) == Filter(field, values)


@pytest.mark.parametrize("text, lo, hi", [
    ("2022-04-01", 20220401, 20220401),
    ("2022-03..2022-04", 20220300, 20220499),
    ("2022-03..", 20220300, 99999999),
    ("..2021", 0, 20219999),
    ("2022", 20220000, 20229999),
])
def test_date_ranges(text, lo, hi):
    assert parse_dates(text) == DateRange(lo, hi)
    assert parse(f"traitors recorded:{text}") == And((Term("traitors"), DateRange(lo, hi)))


@pytest.mark.parametrize("query, fragment", [
    ("", "empty"),
    ("   ", "empty"),
    ("foo:bar", "unknown field"),
    ("speaker:", "missing value"),
    ('"cowards and', "unclosed quote"),
    ("(cowards OR traitors", "unclosed"),
    ("cowards)", "unmatched"),
    ("()", "empty parentheses"),
    ("cowards AND", "AND needs"),
    ("OR traitors", "OR needs"),
    ("cowards OR", "OR needs"),
    ("NOT", "NOT needs"),
    ("NOT traitors", "besides NOT"),
    ("traitor~3", "1 or 2"),
    ("t*", "two letters"),
    ("*tor", "two letters"),
    ("tra*tor~", "both fuzzy and a wildcard"),
    ("recorded:2022-13", "month"),
    ("recorded:2022-02-30", "day"),
    ("recorded:2022-05..2022-04", "ends before"),
    ("recorded:yesterday", "not a date"),
    ("recorded:..", "needs a date"),
    ("recording:xyz", "hex"),
    ("lang:english!", "language code"),
    ('"cowards and traitors"~3', "proximity"),
])
def test_malformed_queries_raise_one_line_errors(query, fragment):
    with pytest.raises(QueryError) as e:
        parse(query)
    msg = str(e.value)
    assert fragment in msg and "\n" not in msg
