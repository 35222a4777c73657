"""Fuzzing the query parser (issue 11): any text gives a query tree or a QueryError, never
another exception, and a tree that every walk of it can handle (bounded depth).

Bounded in time: a fixed number of examples per property, no deadline (the machine is
shared); each test prints how many inputs it tried.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.errors import QueryError
from archive.search import queryparse as Q

SETTINGS = settings(max_examples=700, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

# Pieces that reach every branch of the lexer and parser, joined at random.
PIECES = st.sampled_from(['(', ')', '"', 'AND', 'OR', 'NOT', 'speaker:', 'tag:"x y"',
                          'recorded:2022-03..2022-04', 'recorded:..', 'recording:3fa4',
                          'lang:uk', 'title:', 'cow*', 'c?w', 'traitor~', 'traitor~2', 'x~9',
                          '*', '~', ':', 'Commander', '²', 'нет', '\u202e', '\x00', ' ', '  ',
                          '"a b"~2', 'source:"s k"', 'tags:', 'a' * 50])


def _depth(n: Q.Node) -> int:
    if isinstance(n, (Q.And, Q.Or)):
        return 1 + max(_depth(x) for x in n.items)
    if isinstance(n, Q.Not):
        return 1 + _depth(n.item)
    return 1


def _check(text: str, tried: list[int]) -> None:
    tried[0] += 1
    try:
        node = Q.parse(text)
    except QueryError as e:
        assert "\n" not in str(e)
        return
    assert _depth(node) <= 2 * Q.MAX_DEPTH + 2


def test_any_text(capsys):
    tried = [0]

    @SETTINGS
    @given(st.text(max_size=200))
    def prop(text: str) -> None:
        _check(text, tried)
    prop()
    with capsys.disabled():
        print(f"\nquery parser, random text: {tried[0]} inputs")
    assert tried[0] >= 600


def test_query_shaped_text(capsys):
    tried = [0]

    @SETTINGS
    @given(st.lists(PIECES, max_size=80).map(" ".join),
           st.lists(PIECES, max_size=40).map("".join))
    def prop(spaced: str, glued: str) -> None:
        _check(spaced, tried)
        _check(glued, tried)
    prop()
    with capsys.disabled():
        print(f"\nquery parser, query-shaped text: {tried[0]} inputs")
    assert tried[0] >= 1200


def test_nesting_never_overflows():
    for n in (Q.MAX_DEPTH, Q.MAX_DEPTH + 1, 200, 2000):
        for q in ("(" * n + "x" + ")" * n, "NOT " * n + "x", "(NOT " * n + "x" + ")" * n):
            try:
                Q.parse(q + " y")
            except QueryError:
                pass
