"""The search query language, parsed into a small tree of frozen node classes.

Nothing here needs whoosh. :func:`parse` turns a query string into a tree of :class:`Term`,
:class:`Phrase`, :class:`Filter`, :class:`DateRange`, :class:`And`, :class:`Or` and
:class:`Not`; :mod:`archive.search.query` decides on a segment's words whether such a tree matches.
:func:`normalize` folds the words of a query and of a transcript alike, so they compare equal.

Syntax::

    cowards                      a word in any of its forms (coward, cowards), and a name in
                                 any alphabet (Navalny: Навальный); case and edge
                                 punctuation ignored
    =трусы  ="трусы и предатели" exactly this form (no other forms, no transliteration)
    "cowards and traitors"       a phrase, word by word in any form (may run on into the
                                 following segment)
    coward* / c?wards            wildcards (at least two letters before the first one)
    traitor~ / traitor~2         fuzzy: within 1 (or 2) edits, first letter fixed
    a AND b, a b                 both (AND is implied between items)
    a OR b, NOT a, ( ... )       NOT binds tighter than AND, AND tighter than OR
    -a  -"a phrase"              the same as NOT a, NOT "a phrase"
    speaker:Commander  speaker:S1  speaker:"Colonel Smith"
    recording:3fa9c2             recording id prefix (hex)
    title:budget  source:telegram  lang:de  tag:ukraine  tag:"human rights"
    recorded:2022-04-01  recorded:2022-03..2022-04  recorded:2022-03..  recorded:..2021

``title:``/``source:`` values are folded word by word like the text; a ``tag:`` value and a
quoted ``speaker:`` value are folded into one token (:func:`normalize_tag`). Malformed
queries raise :class:`QueryError` with a one-line message.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from typing import Union

from ..errors import QueryError
from ..text import normalize

#: Field names accepted before a colon, with their aliases.
FIELDS = {"speaker": "speaker", "recording": "recording", "title": "title", "lang": "lang",
          "language": "lang", "tag": "tag", "tags": "tag", "source": "source",
          "recorded": "recorded"}
_FIELD_LIST = "speaker:, recording:, title:, lang:, tag:, source:, recorded:"

#: Open bounds of a date range, as yyyymmdd integers.
DATE_MIN, DATE_MAX = 0, 99999999


@dataclass(frozen=True)
class Term:
    """A word of the text: in any form, a wildcard pattern (``*``/``?``), fuzzy (``fuzzy``
    edits), or ``exact`` (this form only, written ``=word``)."""

    text: str
    fuzzy: int = 0
    exact: bool = False

    @property
    def wildcard(self) -> bool:
        """Whether the text is a ``*``/``?`` pattern rather than one word."""
        return "*" in self.text or "?" in self.text


@dataclass(frozen=True)
class Phrase:
    """Consecutive words (punctuation-only words of the transcript are skipped)."""

    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Filter:
    """A metadata condition; every value must match one token of the field."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class DateRange:
    """Recording date between ``lo`` and ``hi`` (yyyymmdd integers, inclusive)."""

    lo: int
    hi: int


@dataclass(frozen=True)
class And:
    """Every item matches."""

    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    """At least one item matches."""

    items: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    """The item does not match."""

    item: "Node"


Node = Union[Term, Phrase, Filter, DateRange, And, Or, Not]

def normalize_tag(text: str) -> str:
    """Fold a tag (or a whole speaker name) into one token: case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().replace(",", " ").split())


def _date_bound(text: str, high: bool) -> int:
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text)
    if not m:
        raise QueryError(f"not a date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    y = int(m.group(1))
    mo = int(m.group(2)) if m.group(2) else None
    d = int(m.group(3)) if m.group(3) else None
    if mo is not None and not 1 <= mo <= 12:
        raise QueryError(f"not a date: {text!r} (month {mo})")
    if d is not None and not 1 <= d <= calendar.monthrange(y, mo or 1)[1]:
        raise QueryError(f"not a date: {text!r} (day {d})")
    if mo is None:
        return y * 10000 + (9999 if high else 0)
    if d is None:
        return y * 10000 + mo * 100 + (99 if high else 0)
    return y * 10000 + mo * 100 + d


def parse_dates(text: str) -> DateRange:
    """Parse ``2022-04-01``, ``2022-03..2022-04``, ``2022-03..`` or ``..2022-04``."""
    if ".." in text:
        a, b = text.split("..", 1)
        if not a and not b:
            raise QueryError("recorded: needs a date or a range such as 2022-03..2022-04")
        lo = _date_bound(a, False) if a else DATE_MIN
        hi = _date_bound(b, True) if b else DATE_MAX
        if lo > hi:
            raise QueryError(f"date range ends before it starts: {text!r}")
        return DateRange(lo, hi)
    return DateRange(_date_bound(text, False), _date_bound(text, True))


# --- parsing ---------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)("?)(~\S*)?|([^\s()"]+))')


def _lex(text: str) -> list[tuple[str, str]]:
    toks: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:  # only trailing blanks can fail to match
            break
        pos = m.end()
        if m.group(1):
            toks.append(("(", "("))
        elif m.group(2):
            toks.append((")", ")"))
        elif m.group(6) is not None:
            word = m.group(6)
            if word.startswith("-") and (len(word) > 1 or text.startswith('"', pos)):
                # -word, -"a phrase", -speaker:S1: as NOT (what web search taught users)
                toks.append(("NOT", "NOT"))
                word = word[1:]
                if not word:
                    continue
            if word in ("AND", "OR", "NOT"):
                toks.append((word, word))
            elif ":" in word:
                name, value = word.split(":", 1)
                if not value and pos < len(text) and text[pos] == '"':
                    m2 = re.compile(r'"([^"]*)"').match(text, pos)
                    if not m2:
                        raise QueryError(f"unclosed quote after {word}")
                    pos = m2.end()
                    toks.append(("FIELD", name))
                    toks.append(("QVALUE", m2.group(1)))
                else:
                    toks.append(("FIELD", name))
                    toks.append(("VALUE", value))
            elif word == "=" and text.startswith('"', pos):
                toks.append(("EXACT", word))  # ="...": the phrase that follows, as written
            else:
                toks.append(("WORD", word))
        else:
            if not m.group(4):
                raise QueryError("unclosed quote in query")
            if m.group(5):
                raise QueryError(f"phrase proximity {m.group(5)!r} is not supported")
            toks.append(("PHRASE", m.group(3)))
    return toks


def _term(word: str, exact: bool = False) -> Term | None:
    if word.startswith("="):
        word, exact = word[1:], True
    m = re.fullmatch(r"(.*?)~(\d*)", word)
    fuzzy = 0
    if m:
        word = m.group(1)
        if m.group(2) not in ("", "1", "2"):
            raise QueryError(f"fuzzy distance must be 1 or 2: {word}~{m.group(2)}")
        fuzzy = int(m.group(2) or 1)
    text = normalize(word, wild=True)
    if not text:
        return None
    if "*" in text or "?" in text:
        if fuzzy:
            raise QueryError(f"a word cannot be both fuzzy and a wildcard: {word}")
        first = min(i for i in (text.find("*"), text.find("?")) if i >= 0)
        if first < 2:
            raise QueryError(f"put at least two letters before a wildcard: {word!r}")
    elif fuzzy and len(text) < 3:
        raise QueryError(f"fuzzy words need at least three letters: {word!r}")
    return Term(text, fuzzy, exact and not fuzzy and "*" not in text and "?" not in text)


def _field(name: str, value: str, quoted: bool) -> Node:
    field = FIELDS.get(name.lower())
    if field is None:
        raise QueryError(f"unknown field {name + ':'!r} (use {_FIELD_LIST})")
    if not value.strip():
        raise QueryError(f"missing value after {name}:")
    if field == "recorded":
        return parse_dates(value.strip())
    if field == "recording":
        v = value.strip().lower()
        if not re.fullmatch(r"[0-9a-f]+", v):
            raise QueryError(f"recording: needs a hex id prefix, not {value!r}")
        return Filter(field, (v,))
    if field == "lang":
        v = value.strip().lower()
        if not re.fullmatch(r"[a-z]{2,3}(?:[-_][a-z0-9]+)?", v):
            raise QueryError(f"lang: needs a language code such as en or de, not {value!r}")
        return Filter(field, (v,))
    if field == "tag" or (field == "speaker" and quoted):
        v = normalize_tag(value)
        return Filter(field, (v,))
    words = [normalize(w, wild=True) for w in value.split()]
    words = [w for w in words if w]
    if not words:
        raise QueryError(f"missing value after {name}:")
    for w in words:
        if ("*" in w or "?" in w) and min(i for i in (w.find("*"), w.find("?")) if i >= 0) < 1:
            raise QueryError(f"put a letter before a wildcard: {name}:{value}")
    return Filter(field, tuple(words))


#: Deepest nesting of parentheses and NOTs a query may have; the parser and every walk of
#: the tree recurse once per level, so hundreds of levels would exhaust Python's stack.
MAX_DEPTH = 32

#: Most tokens (words, operators, parentheses, filters) in one query.
MAX_TOKENS = 512


class _Parser:
    def __init__(self, toks: list[tuple[str, str]]) -> None:
        self.toks, self.i = toks, 0
        self.depth = 0

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"query nested too deeply (more than {MAX_DEPTH} levels of "
                             "parentheses and NOT)")

    def peek(self) -> str:
        return self.toks[self.i][0] if self.i < len(self.toks) else "EOF"

    def take(self) -> tuple[str, str]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def operand(self, after: str) -> Node | None:
        if self.peek() in ("EOF", ")", "AND", "OR"):
            raise QueryError(f"{after} needs something after it")
        return self.not_()

    def or_(self) -> Node | None:
        items = [self.and_()]
        while self.peek() == "OR":
            self.take()
            if self.peek() in ("EOF", ")", "OR", "AND"):
                raise QueryError("OR needs something after it")
            items.append(self.and_())
        items = [x for x in items if x is not None]
        return None if not items else items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node | None:
        if self.peek() in ("AND", "OR"):
            raise QueryError(f"{self.peek()} needs something before it")
        items = [self.not_()]
        while self.peek() not in ("EOF", ")", "OR"):
            if self.peek() == "AND":
                self.take()
                items.append(self.operand("AND"))
            else:
                items.append(self.not_())
        items = [x for x in items if x is not None]
        return None if not items else items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Node | None:
        if self.peek() == "NOT":
            self.take()
            self.deeper()
            item = self.operand("NOT")
            self.depth -= 1
            return None if item is None else Not(item)
        return self.atom()

    def atom(self) -> Node | None:
        kind, text = self.take() if self.peek() != "EOF" else ("EOF", "")
        if kind == "(":
            if self.peek() == ")":
                raise QueryError("empty parentheses in query")
            self.deeper()
            node = self.or_()
            self.depth -= 1
            if self.peek() != ")":
                raise QueryError("unclosed '(' in query")
            self.take()
            return node
        if kind == ")":
            raise QueryError("unmatched ')' in query")
        if kind == "WORD":
            return _term(text)
        exact = kind == "EXACT"
        if exact:
            if self.peek() != "PHRASE":
                raise QueryError("= needs a word or a \"phrase\" right after it")
            kind, text = self.take()
        if kind == "PHRASE":
            terms = [t for t in (_term(w, exact) for w in text.split()) if t is not None]
            if not terms:
                return None
            return terms[0] if len(terms) == 1 else Phrase(tuple(terms))
        if kind == "FIELD":
            vkind, value = self.take()
            return _field(text, value, vkind == "QVALUE")
        raise QueryError("query ends too early")


def _positive(node: Node) -> bool:
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(x) for x in node.items)
    if isinstance(node, Or):
        return all(_positive(x) for x in node.items)
    return True


def parse(text: str) -> Node:
    """Parse a query string into a tree.

    Raises:
        QueryError: If the query is empty, malformed, uses an unknown field, or has
            nothing to find besides NOT.
    """
    toks = _lex(text)
    if len(toks) > MAX_TOKENS:
        raise QueryError(f"query too long ({len(toks)} words and operators; at most "
                         f"{MAX_TOKENS})")
    parser = _Parser(toks)
    if not parser.toks:
        raise QueryError("empty query: give words, a \"phrase\" or a field filter")
    node = parser.or_()
    if parser.peek() == ")":
        raise QueryError("unmatched ')' in query")
    if node is None:
        raise QueryError("empty query: give words, a \"phrase\" or a field filter")
    if not _positive(node):
        raise QueryError("a query needs something to find besides NOT")
    return node


__all__ = ["DATE_MAX", "DATE_MIN", "FIELDS", "And", "DateRange", "Filter", "Node", "Not", "Or",
           "Phrase", "Term", "normalize", "normalize_tag", "parse", "parse_dates"]
