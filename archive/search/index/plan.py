"""Query compilation: a query tree (:mod:`archive.search.query`) to a whoosh query, and back.

* The query tree compiles (:class:`_Plan`) to a whoosh query matching a superset of the
  true matches; :func:`archive.search.query.locate` on the stored words is the judge and gives
  the exact span. NOT is applied there too (whoosh's AndNot skips documents). Phrases
  become an AND of their rarest bigram terms (:func:`~archive.search.index.writing._bigram`).
* Filters whose posting lists cost more to intersect than checking the extra candidates
  (on the recording's cached metadata, :func:`_meta_match`) are left to that check.
* Fuzzy terms expand to the indexed words within an edit distance (:func:`_fuzzy`),
  wildcards to the words they match, date ranges to year, month and day terms.
"""

from __future__ import annotations

import re
from typing import Any

from .. import query as Q
from ...errors import QueryError
from . import forms as F
from . import postings
from .postings import _probe_cost, _term_groups
from .writing import _bigram, _words_of


def _restrict(q: Any, translation: bool | None) -> Any:
    """Translations only: AND the (few) translation documents; originals: see Index._hit()."""
    from ._whoosh import And, Term
    return And([q, Term("kind", "t")]) if translation else q


#: Most words the wildcard and fuzzy terms of one AND may expand to in the whoosh query.
MAX_UNION_WORDS = 256


class _Plan:
    """A query tree compiled to a whoosh query matching a superset of its true matches."""

    def __init__(self, node: Q.Node, reader: Any, limit: int = 20, *,
                 forms: bool = True) -> None:
        self.reader, self.limit = reader, limit
        self.forms = forms
        self.expand: dict[Q.Term, frozenset[str]] = {}
        #: Per plain word: its other forms and its spellings in other alphabets.
        self.exp: dict[Q.Term, F.Expansion] = {}
        #: Whether some word stands for more than its exact form.
        self.expanded = False
        self.known: dict[int, bool] = {}
        self.exact = True
        self.scored = any(isinstance(x, (Q.Term, Q.Phrase))
                          for x in Q.leaves(node, negated=False))
        for f in Q.top_filters(node):
            self.known[id(f)] = True
        self.dropped: set[int] = set()
        if isinstance(node, Q.And):
            self._drop_loose_filters(node)
        q, exact = self.comp(node)
        self.exact = exact
        from ._whoosh import Every
        self.query = q if q is not None else Every()

    def _drop_loose_filters(self, node: Q.And) -> None:
        """Leave filters to locate() (checked on the recording's metadata, which is cached,
        or the segment's stored speaker) when intersecting their long posting lists would
        cost more than checking the extra candidates: a filter passing a tenth of 1M
        segments has ~800 posting blocks, while ``limit`` hits take ~10 checks per hit."""
        n_docs = max(self.reader.doc_count(), 1)
        df = self.reader.doc_frequency
        # candidates the other items leave: a plain word's list bounds them
        words = [df("text", x.text) for x in node.items
                 if isinstance(x, Q.Term) and not (x.fuzzy or x.wildcard)]
        cands = min(words, default=n_docs)

        def loose(f: Q.Filter | Q.DateRange) -> bool:
            q = self.filt(f)
            size = q.estimate_size(self.reader)
            if size > 0.2 * n_docs:
                return True
            lists = _term_groups(q) or [[("", "")]]
            probe = _probe_cost([df(*t) if t[0] else size for g in lists for t in g], cands)
            # checks cost more than their estimate: the candidate lists are re-read as
            # the search widens, so a filter is dropped only when it is clearly cheaper
            return 3 * postings._CHECK * min(cands, self.limit * n_docs / max(size, 1)) < probe

        loose = [x for x in node.items if isinstance(x, (Q.Filter, Q.DateRange)) and loose(x)]
        if any(not isinstance(x, Q.Not) and id(x) not in {id(y) for y in loose}
               for x in node.items):
            for x in loose:
                self.dropped.add(id(x))
                self.known.pop(id(x), None)

    def _wide(self, items: tuple[Q.Node, ...]) -> set[int]:
        """Ids of the wildcard and fuzzy terms of an AND (or a phrase) to leave to locate().

        whoosh intersects unions of hundreds of words by stepping every word's list at each
        skip, so an AND of several wide wildcards costs about the product of their sizes
        (``ta* tr* an* in* on* er*`` took two minutes on 400 recordings). The expansions are
        kept cheapest first (fewest postings) up to :data:`MAX_UNION_WORDS` words in all;
        the rest are checked on each candidate's words, which gives the same hits.
        """
        wide = [x for x in items if isinstance(x, Q.Term) and (x.fuzzy or x.wildcard)]
        if len(wide) < 2:
            return set()
        df = self.reader.doc_frequency
        sized = []
        for t in wide:
            ws = self.words(t)
            sized.append((sum(df("text", w) for w in ws), len(ws), id(t)))
        sized.sort()
        drop, total = set(), 0
        for i, (_, n, tid) in enumerate(sized):
            total += n
            if i and total > MAX_UNION_WORDS:
                drop.add(tid)
        return drop

    def restrict(self, translation: bool | None) -> Any:
        return _restrict(self.query, translation)

    @staticmethod
    def first_ids(searcher: Any, q: Any, n: int, scored: bool) -> list[tuple[float, int]]:
        """(score, docnum) of the first ``n`` matching documents in index order."""
        out: list[tuple[float, int]] = []
        for sub, offset in searcher.leaf_searchers():
            m = q.matcher(sub, sub.context(weighting=searcher.weighting if scored else None))
            deleted = sub.reader().is_deleted
            while m.is_active() and len(out) < n:
                if not deleted(m.id()):
                    out.append((m.score() if scored else 0.0, offset + m.id()))
                m.next()
        return out

    def expansion(self, t: Q.Term) -> F.Expansion | None:
        """The forms and spellings of a plain word (None: the exact form only)."""
        if not self.forms or t.exact or t.fuzzy or t.wildcard:
            return None
        if t not in self.exp:
            e = F.expand(self.reader, t.text)
            self.exp[t] = e
            if len(e.text) > 1 or e.lem:
                self.expand[t] = e.matches
                self.expanded = True
        e = self.exp[t]
        return e if t in self.expand else None

    def words(self, t: Q.Term) -> list[str]:
        """The indexed words a term stands for."""
        e = self.expansion(t)
        if e is not None:
            return list(e.text)
        if t.fuzzy:
            self.expand[t] = frozenset(_fuzzy(self.reader, t.text, t.fuzzy) | {t.text})
        elif t.wildcard:
            pat = re.compile(re.escape(t.text).replace(r"\*", ".*").replace(r"\?", ".") + "$")
            lit = re.split(r"[*?]", t.text)[0]
            found = [w for w in (b.decode() for b in self.reader.expand_prefix("text", lit))
                     if pat.match(w)]
            if len(found) > 5000:
                raise QueryError(f"wildcard {t.text!r} matches too many words; be more specific")
            self.expand[t] = frozenset(found)
        else:
            return [t.text]
        return sorted(self.expand[t])

    def term(self, t: Q.Term) -> Any:
        from ._whoosh import NullQuery, Or, Term
        ws = self.words(t)
        e = self.expansion(t)
        lem = [Term("lem", k, boost=0.8) for k in e.lem] if e is not None else []
        if len(ws) == 1 and not lem:
            return Term("text", ws[0])
        return Or([Term("text", w, boost=1.0 if w == t.text else 0.8) for w in ws] + lem) \
            if ws else NullQuery

    def phrase(self, ph: Q.Phrase) -> Any:
        from ._whoosh import And, Or, Term
        if any(self.expansion(t) is not None for t in ph.terms):
            return self._form_phrase(ph)
        plain = [not (t.fuzzy or t.wildcard) for t in ph.terms]
        pairs = [(i, ph.terms[i].text, ph.terms[i + 1].text)
                 for i in range(len(ph.terms) - 1) if plain[i] and plain[i + 1]]
        if not pairs:
            wide = self._wide(ph.terms)  # a phrase is never exact: locate() checks it
            qs = [self.term(t) for t in ph.terms if id(t) not in wide]
            return And(qs) if len(qs) > 1 else qs[0]
        df = self.reader.doc_frequency

        def cost(item: tuple[int, str, str]) -> int:
            i, x, y = item
            return df("bi", _bigram(x, y)) + (df("bi", _bigram(x, y, True)) if i else 0)

        first = [pairs[0]] if pairs[0][0] == 0 else []
        chosen = first + sorted([p for p in pairs if p not in first], key=cost)[:3]
        for t in ph.terms:
            if t.fuzzy or t.wildcard:
                self.words(t)
        qs = [Term("bi", _bigram(x, y)) if i == 0 else
              Or([Term("bi", _bigram(x, y)), Term("bi", _bigram(x, y, True))])
              for i, x, y in chosen]
        head = ph.terms[0]
        if plain[0] and df("text", head.text) < min(cost(p) for p in chosen):
            qs.append(Term("text", head.text))  # the first word is in the segment itself
        return And(qs) if len(qs) > 1 else qs[0]

    def _form_phrase(self, ph: Q.Phrase) -> Any:
        """A phrase matched word by word in any form: an AND of each varied word's forms,
        and of the bigrams of neighbours that have one form only (a superset; locate()
        checks the order)."""
        from ._whoosh import And, Or, Term
        varied = [self.expansion(t) is not None or t.fuzzy or t.wildcard for t in ph.terms]
        df = self.reader.doc_frequency

        def size(q: Any) -> int:
            subs = q.subqueries if isinstance(q, Or) else [q]
            return sum(df(x.fieldname, x.text) for x in subs)

        # the rarest few conditions are enough for candidates: a common word's forms (the
        # stem "go" of "going") would cost more to intersect than checking the candidates
        words = sorted((self.term(t) for t, v in zip(ph.terms, varied) if v), key=size)[:2]
        pairs = []
        for i in range(len(ph.terms) - 1):
            if not (varied[i] or varied[i + 1]):
                x, y = ph.terms[i].text, ph.terms[i + 1].text
                pairs.append(Term("bi", _bigram(x, y)) if i == 0 else
                             Or([Term("bi", _bigram(x, y)), Term("bi", _bigram(x, y, True))]))
        qs = words + sorted(pairs, key=size)[:2]
        return And(qs) if len(qs) > 1 else qs[0]

    def filt(self, f: Q.Filter | Q.DateRange) -> Any:
        from ._whoosh import And, NullQuery, Or, Prefix, Term, Wildcard
        if isinstance(f, Q.DateRange):
            terms = _date_terms(self.reader, f.lo, f.hi)
            return Or([Term("rec", t) for t in terms]) if terms else NullQuery
        if f.field == "recording":
            return Prefix("rid", f.values[0])
        field = {"speaker": "spk", "title": "title", "source": "src", "tag": "tag",
                 "lang": "lang"}[f.field]
        qs = [Wildcard(field, v) if ("*" in v or "?" in v) else Term(field, v)
              for v in f.values]
        return qs[0] if len(qs) == 1 else And(qs)

    def comp(self, n: Q.Node) -> tuple[Any, bool]:
        """(whoosh query or None for "anything", whether it is exact)."""
        from ._whoosh import And, Or
        if isinstance(n, Q.Term):
            return self.term(n), True
        if isinstance(n, Q.Phrase):
            return self.phrase(n), False
        if isinstance(n, (Q.Filter, Q.DateRange)):
            return self.filt(n), True
        if isinstance(n, Q.Not):  # left to locate(): whoosh's AndNot misses documents
            return None, False
        if isinstance(n, Q.And):
            self.dropped |= self._wide(n.items)
        parts = [(x, *self.comp(x)) for x in n.items if id(x) not in self.dropped]
        exact = all(e for _, _, e in parts) and not any(id(x) in self.dropped
                                                        for x in n.items)
        if isinstance(n, Q.Or):
            if any(q is None for _, q, _ in parts):
                return None, False
            return Or([q for _, q, _ in parts]), exact
        # Filters are plain AND members: unscorable fields add the same weight to every
        # match (whoosh's Require trips an assertion with block-quality skipping).
        qs = [q for _, q, _ in parts if q is not None]
        q = And(qs) if len(qs) > 1 else qs[0] if qs else None
        return q, exact


def _meta_match(f: Q.Filter | Q.DateRange, meta: tuple,
                speaker: tuple[str | None, str | None], lang: str | None) -> bool:
    """Evaluate a filter in Python, for filters the index could not apply by itself."""
    from fnmatch import fnmatchcase
    _, rid, title, source, tags, recorded, _lang = meta
    if isinstance(f, Q.DateRange):
        return Q.date_in(Q.date_key(recorded), f)
    if f.field == "recording":
        return rid.startswith(f.values[0])
    tokens = {"title": _words_of(title), "source": _words_of(source or ""),
              "tag": [Q.normalize_tag(t) for t in tags], "lang": [(lang or "").lower()],
              "speaker": [Q.normalize_tag(x or "") for x in speaker]
              + _words_of(" ".join(x or "" for x in speaker))}[f.field]
    return all(any(fnmatchcase(t, v) for t in tokens) for v in f.values)


def _fuzzy(reader: Any, word: str, dist: int) -> set[str]:
    """Indexed words within ``dist`` edits (transpositions count one) sharing the first letter.

    A plain scan of the words under the first letter with a cut-off edit distance is ~4x
    faster than whoosh's Python automaton (``terms_within``), with the same result.
    """
    out = set()
    for b in reader.expand_prefix("text", word[:1]):
        w = b.decode()
        if abs(len(w) - len(word)) <= dist and _within(word, w, dist):
            out.add(w)
    return out


def _within(a: str, b: str, k: int) -> bool:
    """Whether the (restricted Damerau-Levenshtein) distance of a and b is at most k."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > k:
            return False
        prev2, prev = prev, cur
    return prev[-1] <= k


def _date_terms(reader: Any, lo: int, hi: int) -> list[str]:
    """Year, month and day terms covering recording dates lo..hi (yyyymmdd, 00 = unknown)."""
    out = []
    for year in sorted(int(t[1:]) for t in (b.decode() for b in reader.expand_prefix("rec", "y"))):
        y = year * 10000
        if lo <= y and y + 9999 <= hi:
            out.append(f"y{year}")
            continue
        for m in range(1, 13):
            ym = y + m * 100
            if lo <= ym and ym + 99 <= hi:
                out.append(f"m{ym // 100}")
            elif lo <= ym + 31 and ym + 1 <= hi:
                out += [f"d{ym + d}" for d in range(1, 32) if lo <= ym + d <= hi]
    return [t for t in out if reader.doc_frequency("rec", t)]
