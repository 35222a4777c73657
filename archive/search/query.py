"""The search query language: locating a parsed query's matches in a segment's words.

Nothing here needs whoosh. :mod:`archive.search.queryparse` parses a query string into a tree
(its names are re-exported here, so ``from archive import query as Q`` has the whole
language); the index compiles that tree into a whoosh query that finds *candidate*
segments, and :func:`locate` then decides, on the stored words of each candidate, whether
it really matches and which words matched. See :mod:`archive.search.queryparse` for the syntax.

Semantics: each segment is one searchable unit. Words (and AND/OR/NOT) match the segment's
own words; a phrase must start in the segment and may run on into the following words, so
a quote split across two segments is still found (once). ``title:``/``source:`` with
several words need all of them; a quoted ``speaker:`` or ``tag:`` value must equal the
whole name or tag. A recording date known only to the month (or year) matches ranges that
contain that whole month (or year).
"""

from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

from ..errors import QueryError
from .queryparse import (DATE_MAX, DATE_MIN, FIELDS, And, DateRange, Filter, Node, Not, Or,
                         Phrase, Term, normalize, normalize_tag, parse, parse_dates)


def quote_words(query: str) -> str | None:
    """The words of a query made only of plain words and phrases, at least two of them, for
    retrying it as a quote search when it finds nothing (a phrase misses a word the model
    misheard; a quote search tolerates that). None for one word, a malformed query, or any
    operator, field, wildcard, fuzzy or exact form.
    """
    try:
        node = parse(query)
    except QueryError:
        return None
    words: list[str] = []
    for n in node.items if isinstance(node, And) else (node,):
        terms = n.terms if isinstance(n, Phrase) else (n,) if isinstance(n, Term) else None
        if terms is None or any(t.exact or t.fuzzy or t.wildcard for t in terms):
            return None
        words += [t.text for t in terms]
    return " ".join(words) if len(words) >= 2 else None


def date_key(iso: str | None) -> int | None:
    """``2022-03-14T10:00`` -> 20220314; a missing month or day counts as 00; None if no date."""
    m = re.match(r"\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", iso or "")
    if not m:
        return None
    y, mo, d = m.group(1), m.group(2) or 0, m.group(3) or 0
    return int(y) * 10000 + int(mo) * 100 + int(d)


def date_in(key: int | None, r: DateRange) -> bool:
    """Whether a recording date (from :func:`date_key`) lies wholly inside a range.

    A date known only to the month (or year) must have that whole month (or year) inside.
    """
    if key is None:
        return False
    hi = key + 99 if key % 10000 and not key % 100 else key + 9999 if not key % 10000 else key
    return r.lo <= key and hi <= r.hi


def leaves(node: Node, *, negated: bool = True) -> list[Term | Phrase | Filter | DateRange]:
    """All leaves of the tree, left to right (without those under NOT if not ``negated``)."""
    if isinstance(node, (And, Or)):
        return [x for item in node.items for x in leaves(item, negated=negated)]
    if isinstance(node, Not):
        return leaves(node.item) if negated else []
    return [node]


# --- locating matches in stored words ----------------------------------------------------

Span = tuple[int, int]
Reqs = list[list[Span]]


def _cover(reqs: Reqs) -> Span | None:
    """The shortest token window holding one span of every requirement."""
    best: Span | None = None
    for s0 in sorted({s for r in reqs for s, _ in r}):
        end = s0
        for r in reqs:
            ends = [e for s, e in r if s >= s0]
            if not ends:
                return best
            end = max(end, min(ends))
        if best is None or end - s0 < best[1] - best[0]:
            best = (s0, end)
    return best


def locate(node: Node, tokens: Sequence[str], n_own: int,
           expand: Mapping[Term, frozenset[str]],
           meta: Callable[[Filter | DateRange], bool],
           known: Mapping[int, bool] | None = None,
           keys: Sequence[frozenset[str]] | None = None) -> Span | None | tuple[()]:
    """Decide whether a window of words matches, and where.

    Args:
        node: The parsed query.
        tokens: Normalised words of the window: the segment's own words, then the words
            that follow it (the tail), so phrases can run across a segment boundary.
        n_own: How many of ``tokens`` belong to the segment. Words must match there, and
            phrases must start there; the tail only continues phrases.
        expand: For each wildcard or fuzzy term, the set of indexed words it stands for.
        meta: Evaluates a filter on the segment's recording and speaker.
        known: Truth of filters the index has already enforced, by ``id()`` of the filter
            node (these are not evaluated again).
        keys: Per token, its word-form keys tagged with the language (``ru:трус``); a token
            matches a term when its form or one of its keys is in the term's expansion.

    Returns:
        None if the window does not match; ``()`` if it matches without matching words
        (filters only); else the (first, last) token indices of a tight matched span.
    """

    known = known or {}

    def words_of(t: Term) -> frozenset[str]:
        return expand.get(t) or frozenset((t.text,))

    def hit(i: int, ws: frozenset[str]) -> bool:
        return tokens[i] in ws or (keys is not None and not ws.isdisjoint(keys[i]))

    def ev(n: Node) -> Reqs | None:
        if isinstance(n, Term):
            ws = words_of(n)
            occ = [(i, i) for i in range(n_own) if hit(i, ws)]
            return [occ] if occ else None
        if isinstance(n, Phrase):
            sets = [words_of(t) for t in n.terms]
            k = len(sets)
            occ = [(i, i + k - 1) for i in range(min(n_own, len(tokens) - k + 1))
                   if all(hit(i + j, sets[j]) for j in range(k))]
            return [occ] if occ else None
        if isinstance(n, (Filter, DateRange)):
            ok = known[id(n)] if id(n) in known else meta(n)
            return [] if ok else None
        if isinstance(n, Not):
            return [] if ev(n.item) is None else None
        if isinstance(n, And):
            out: Reqs = []
            for item in n.items:
                r = ev(item)
                if r is None:
                    return None
                out.extend(r)
            return out
        best: tuple[Span, Reqs] | None = None
        plain = None
        for item in n.items:  # Or: the alternative whose match starts first, tightest
            r = ev(item)
            if r is None:
                continue
            span = _cover(r) if r else None
            if span is None:
                plain = plain if plain is not None else r
            elif best is None or (span[0], span[1] - span[0]) < (best[0][0],
                                                                  best[0][1] - best[0][0]):
                best = (span, r)
        return best[1] if best else plain

    reqs = ev(node)
    if reqs is None:
        return None
    if not reqs:
        return ()
    return _cover(reqs)


def top_filters(node: Node) -> list[Filter | DateRange]:
    """Filters every match must satisfy (under a top-level AND, not negated)."""
    if isinstance(node, (Filter, DateRange)):
        return [node]
    if isinstance(node, And):
        return [x for item in node.items for x in top_filters(item)]
    return []


__all__ = ["DATE_MAX", "DATE_MIN", "FIELDS", "And", "DateRange", "Filter", "Node", "Not", "Or",
           "Phrase", "Reqs", "Span", "Term", "date_in", "date_key", "leaves", "locate",
           "normalize", "normalize_tag", "parse", "parse_dates", "quote_words", "top_filters"]
