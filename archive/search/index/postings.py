"""Reading posting lists fast: whole blocks at a time, and intersections priced first.

whoosh walks postings one Python call at a time, which costs seconds on the long lists of
common words at 1M segments. So the search reads them here, below whoosh's matcher API:

* :func:`_postings` decodes a term's list a block at a time (~20x faster on long lists);
  :func:`_probe` intersects candidates with a list, decoding only the blocks that can hold
  one; :func:`_intersect` does an AND of term groups with both.
* A list is intersected only when that costs less than the checks it saves: the rough
  costs below (:data:`_CHECK` and :func:`_probe_cost`) price both sides. A word group in
  most documents is not intersected at all: the stored words are checked anyway.
* :class:`_Pool` holds the candidates of a ranked AND (:func:`_ranked_and`)
  in one index segment with whoosh's one-byte length code of each, so that they are checked
  best (shortest) first.
* Sorting by time reads each segment's ``tk`` column (recording date, recording, segment)
  whole.

Every shortcut into whoosh's private structures falls back to the public API when the
codec is not whoosh 3's.
"""

from __future__ import annotations

import heapq
import sys
from array import array
from bisect import bisect_right
from itertools import accumulate
from typing import Any, Callable, Iterable, Iterator, Sequence

from ...models import Hit
from .writing import BLOCK

#: Rough costs on the reference machine, seconds: walking past one posting block, decoding
#: one posting, and checking one candidate's stored words (:meth:`Index._hit`). Read as
#: ``postings._CHECK`` elsewhere, so that patching it here reaches every reader.
_BLOCK_WALK, _POSTING, _CHECK = 3e-6, 60e-9, 30e-6
#: Weight, in checks, of the independence estimate of the hit rate (see _ranked_and).
_PRIOR = 20


def _term_groups(q: Any) -> list[list[tuple[str, str]]] | None:
    """The query as an AND of OR-groups of terms, or None if it has another shape."""
    from ._whoosh import And, Or, Term
    groups: list[list[tuple[str, str]]] = []
    for sub in q.subqueries if isinstance(q, And) else [q]:
        if isinstance(sub, And):
            inner = _term_groups(sub)
            if inner is None:
                return None
            groups += inner
        elif isinstance(sub, Term):
            groups.append([(sub.fieldname, sub.text)])
        elif isinstance(sub, Or) and len(sub.subqueries) <= 64 and all(
                isinstance(x, Term) for x in sub.subqueries):
            groups.append([(x.fieldname, x.text) for x in sub.subqueries])
        else:
            return None
    return groups


def _longest(reader: Any, groups: list[list[tuple[str, str]]]) -> int:
    return max(sum(reader.doc_frequency(f, t) for f, t in g) for g in groups)


def _expected(reader: Any, groups: list[list[tuple[str, str]]]) -> float:
    """Matches expected for an AND of term groups if the terms were independent."""
    n = max(reader.doc_count_all(), 1)
    out = float(n)
    for g in groups:
        out *= min(sum(reader.doc_frequency(f, t) for f, t in g), n) / n
    return out


def _postings(leaf: Any, field: str, text: str) -> list[int]:
    """All live document numbers of a term in one segment, read a block at a time.

    whoosh's matcher decodes ids one Python call at a time; reading each block's delta
    array and summing it with itertools is ~20x faster for long lists. Falls back to the
    public API when the matcher is not whoosh 3's block matcher.
    """
    if (field, text) not in leaf:
        return []
    m = leaf.postings(field, text)
    out: list[int] = []
    if all(hasattr(m, a) for a in ("_read_data", "_next_block", "_byteids", "_lastblock")):
        while True:
            if m._data is None:
                m._read_data()
            ids = m._data[0]
            out.extend(ids if m._byteids else accumulate(ids))
            if m._lastblock:
                break
            m._next_block()
    else:
        out = list(m.all_ids())
    if leaf.has_deletions():
        out = [d for d in out if not leaf.is_deleted(d)]
    return out


def _probe_cost(dfs: Sequence[int], candidates: int) -> float:
    """Estimated seconds to intersect ``candidates`` documents with lists of these lengths
    (every block is walked; those holding a candidate are decoded)."""
    blocks = [-(-df // BLOCK) for df in dfs]
    return sum(b * _BLOCK_WALK + min(candidates, b) * min(df, BLOCK) * _POSTING
               for b, df in zip(blocks, dfs))


def _probe(leaf: Any, group: list[tuple[str, str]], docs: set[int] | list[int]) -> set[int]:
    """The documents of ``docs`` (a set, or a sorted list) that hold a term of ``group``.

    Walks the posting blocks and decodes only those that can hold a candidate (whoosh's
    own skip_to steps through a block one posting per Python call).
    """
    keep: set[int] = set()
    order = docs if isinstance(docs, list) else sorted(docs)
    for f, t in group:
        if (f, t) not in leaf:
            continue
        m = leaf.postings(f, t)
        if not all(hasattr(m, a) for a in ("_read_data", "_next_block", "_maxid", "_lastblock")):
            keep.update(set(order).intersection(m.all_ids()))
            continue
        i, n = 0, len(order)
        while i < n:
            j = bisect_right(order, m._maxid, i)
            if j > i:  # candidates fall in this block: decode it
                if m._data is None:
                    m._read_data()
                ids = m._data[0]
                keep.update(set(ids if m._byteids else accumulate(ids)).intersection(
                    order[i:j]))
                i = j
            if m._lastblock:
                break
            m._next_block()
    if leaf.has_deletions():
        keep = {d for d in keep if not leaf.is_deleted(d)}
    return keep


def _intersect(leaf: Any, groups: list[list[tuple[str, str]]],
               dfs: list[int] | None = None) -> set[int]:
    """Documents of one segment in every group (word groups in most documents are skipped:
    locate() checks the words anyway)."""
    dfs = dfs or [sum(leaf.doc_frequency(f, t) for f, t in g) for g in groups]
    docs: set[int] | None = None
    for df, g in sorted(zip(dfs, groups)):
        if docs is None:
            docs = {d for f, t in g for d in _postings(leaf, f, t)}
        elif df > 0.3 * leaf.doc_count_all() and g[0][0] in ("text", "bi"):
            continue  # would remove few candidates, at the cost of reading a long list
        else:
            docs = _probe(leaf, g, docs)
        if not docs:
            break
    return docs or set()


def _matching(s: Any, q: Any) -> Iterable[int]:
    """Every document matching a query (a superset for phrases), in any order."""
    groups = _term_groups(q)
    if not groups:
        return s.docs_for_query(q)
    out: list[int] = []
    for leaf, base in s.reader().leaf_readers():
        if len(groups) == 1 and len(groups[0]) == 1:  # one list: no set to build
            docs: Iterable[int] = _postings(leaf, *groups[0][0])
        else:
            docs = _intersect(leaf, groups)
        out.extend(docs if not base else (base + d for d in docs))
    return out


def _ranked_and(s: Any, groups: list[list[tuple[str, str]]], limit: int,
                check: Callable[[int, float], Hit | None], *, budget: int = 0) -> list[Hit]:
    """The best hits of an AND of term groups, found by checking candidates best first.

    Segments are short, so BM25 with tf = 1 is used: every match then gets the same
    idf, and matches rank by segment length alone. Candidates (the rarest group's
    documents, with filters applied) are checked on their stored words in that order,
    so the hits equal those of ranking the whole intersection. Each other word group
    is intersected only when that costs less than checking the candidates it would
    remove, judged by the share of checks that found a hit so far (a common word in
    a sixth of all segments has over a thousand posting blocks; a phrase's bigrams may
    prune almost nothing, or almost everything).

    Args:
        s: The searcher.
        groups: The AND's term groups (words, bigrams and filters), each an OR of terms.
        limit: Most hits returned.
        check: Judges one candidate (document number, score) on its stored words: the
            hit, or None.
        budget: When more than 0, the most candidates ``check`` will judge (it stops the
            search after that): no intersection is worth more than the checks left.
    """
    from math import log
    r = s.reader()
    n_all = max(r.doc_count_all(), 1)
    ranked = sorted(((sum(r.doc_frequency(f, t) for f, t in g), g) for g in groups),
                    key=lambda x: x[0])
    idf = sum(log(1 + (n_all - df + 0.5) / (df + 0.5))
              for df, g in ranked if g[0][0] in ("text", "bi"))
    head = ranked[0][1]
    later = [g for _, g in ranked[1:] if g[0][0] in ("text", "bi")]
    density = {id(g): min(1.0, df / n_all) for df, g in ranked}
    # one average length for all index segments, as whoosh's own BM25 uses: scores (and so
    # which candidates a budgeted search reaches) do not depend on how the index is split
    avg = max(r.field_length("text") / n_all, 1.0)
    pools = [_Pool(leaf, base, head, [g for _, g in ranked[1:] if g not in later], idf, avg)
             for leaf, base in r.leaf_readers()]
    # best first across index segments
    order: Iterable[tuple[int, int]] = ((0, d) for d in pools[0].order()) if len(pools) == 1 \
        else ((i, d) for _, i, d in heapq.merge(*[_by_score(i, p) for i, p in enumerate(pools)]))
    hits: list[Hit] = []
    checked, step = 0, min(max(limit, 10), 50)
    for i, d in order:
        pool = pools[i]
        if d not in pool.docs:
            continue  # removed by a group intersected meanwhile
        pool.docs.discard(d)
        checked += 1
        hit = check(pool.base + d, pool.score(d))
        if hit is not None:
            hits.append(hit)
            if len(hits) >= limit:
                return hits
        if later and checked % step == 0:
            # The first checks are of the shortest segments, which hold fewer words and
            # so match less often: they are weighed against the rate independent words
            # would give, as if that had been seen over _PRIOR checks.
            prior = 1.0
            for g in later:
                prior *= density[id(g)]
            rate = (len(hits) + _PRIOR * prior + 1e-3) / (checked + _PRIOR)
            left = sum(len(x.docs) for x in pools)
            if budget:
                left = min(left, max(budget - checked, 0))
            cost = _CHECK * min(left, (limit - len(hits)) / rate)
            if sum(x.probe_cost(later[0]) for x in pools) < cost:
                g = later.pop(0)
                for x in pools:
                    x.narrow(g)
    return hits


def _by_score(i: int, pool: "_Pool") -> Iterator[tuple[float, int, int]]:
    """(-score, pool number, document) of a pool's candidates, best first."""
    # a function, not a generator expression in the caller's loop: that one would read the
    # loop's last pool and number for every candidate (late binding)
    return ((-pool.score(d), i, d) for d in pool.order())


class _Pool:
    """The candidates of a ranked AND in one index segment, with their length codes."""

    def __init__(self, leaf: Any, base: int, head: list[tuple[str, str]],
                 filters: list[list[tuple[str, str]]], idf: float, avg: float) -> None:
        self.leaf, self.base = leaf, base
        lists = [_postings(leaf, f, t) for f, t in head]
        # index order throughout: a term's list already is, and _probe takes it as it is
        docs = lists[0] if len(lists) == 1 else sorted(set().union(*lists))
        for g in filters:  # always applied: locate() takes filters as known
            if docs:
                docs = sorted(_probe(leaf, g, docs))
        codes = _length_codes(leaf)
        self._code: Callable[[int], int] = codes.__getitem__ if codes is not None else \
            lambda d: length_code(leaf.doc_field_length(d, "text"))
        self._keep(docs)
        from ._whoosh import byte_to_length
        table = [idf * 2.2 / (1 + 1.2 * (0.25 + 0.75 * byte_to_length(c) / avg))
                 for c in range(256)]
        self.score: Callable[[int], float] = lambda d: table[self._code(d)]

    def _keep(self, docs: list[int]) -> None:
        self.docs, self._sorted = set(docs), docs
        # one byte per candidate, built by map() rather than a Python loop (60k candidates
        # of a common word cost ~30 ms bucketed one by one)
        self._codes = bytes(map(self._code, docs))

    def narrow(self, group: list[tuple[str, str]]) -> None:
        """Keep only the candidates holding a term of ``group``; :meth:`order` goes on
        over those alone (walking past the removed ones cost more than the intersection)."""
        if self.docs:
            self._keep(sorted(_probe(self.leaf, group, self.docs)))

    def order(self) -> Iterator[int]:
        """The candidates by length code (shortest first), ties in index order. After
        :meth:`narrow` it starts again on what is left, which holds no candidate before the
        one last given (those were taken out as they were checked)."""
        while True:
            docs = self._sorted
            for d in _by_code(docs, self._codes):
                yield d
                if self._sorted is not docs:
                    break  # narrowed meanwhile
            else:
                return

    def probe_cost(self, group: list[tuple[str, str]]) -> float:
        """Estimated seconds to intersect the remaining candidates with a group."""
        return _probe_cost([self.leaf.doc_frequency(f, t) for f, t in group], len(self.docs))


def _by_code(docs: list[int], codes: bytes) -> Iterator[int]:
    """``docs`` by their byte in ``codes`` (lowest first), ties in list order; each code's
    documents are found only when reached."""
    for c in sorted(set(codes)):
        key = bytes((c,))
        i = codes.find(key)
        while i >= 0:
            yield docs[i]
            i = codes.find(key, i + 1)


def length_code(n: int) -> int:
    """whoosh's one-byte code of a field length."""
    from ._whoosh import length_to_byte
    return length_to_byte(n)


def _length_codes(leaf: Any) -> bytes | None:
    """The one-byte length code of every segment's text, read whole once per reader
    (whoosh reads it a value a call); None when the codec is not whoosh 3's."""
    codes = getattr(leaf, "_archive_lengths", None)
    if codes is None:
        try:
            from ._whoosh import LENGTHS_COLUMN, _lenfield
            col = leaf._perdoc._cached_reader(_lenfield("text"), LENGTHS_COLUMN)
            codes = bytes(col._dbfile.get(col._basepos, col._count))
            codes += bytes(max(0, leaf.doc_count_all() - len(codes)))
        except Exception:  # another codec or whoosh version: use the public API
            codes = b""
        leaf._archive_lengths = codes
    return codes or None


def _key_of(s: Any) -> Callable[[int], int]:
    keys = _time_keys(s)
    bases = [base for _, base in s.reader().leaf_readers()]
    if len(keys) == 1:
        return keys[0].__getitem__
    return lambda d: keys[bisect_right(bases, d) - 1][d - bases[bisect_right(bases, d) - 1]]


def _time_keys(searcher: Any) -> list[Any]:
    """The ``tk`` column of every segment, read whole (whoosh reads it a value a call)."""
    out = []
    for leaf, _ in searcher.reader().leaf_readers():
        col = leaf.column_reader("tk", translate=False)
        try:
            a = array("Q")
            a.frombytes(col._dbfile.get(col._basepos, col._count * 8))
            if sys.byteorder == "little":
                a.byteswap()
            a.extend([0] * max(0, leaf.doc_count_all() - len(a)))
        except AttributeError:
            a = [col[i] for i in range(leaf.doc_count_all())]
        out.append(a)
    return out
