"""A candidate segment judged on its stored words, and turned into a :class:`~archive.models.Hit`.

:func:`hit` reads the stored tuple of a segment (:mod:`.writing`), lets
:func:`archive.search.query.locate` decide on its words and their word-form keys whether it
matches, and says how the matched words matched (:func:`how`): as typed (``exact``), in
another form of the same word (``form``) or spelled in another alphabet
(``transliteration``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .. import query as Q
from ...models import Hit
from .forms import decode_keys
from .writing import _SEP, CONTEXT, _unpack_times


def hit(d: tuple, node: Q.Node, p: Any, score: float,
        meta: Callable[[Q.Filter | Q.DateRange, str, tuple, str | None], bool],
        translation: bool | None = None) -> Hit | None:
    """The hit of a stored segment for a query, or None when it does not match.

    Args:
        d: The segment's stored tuple.
        node: The parsed query (stop words already pruned).
        p: The compiled plan (:class:`.plan._Plan`): expansions and known filters.
        score: The candidate's score.
        meta: Evaluates a filter for (filter, recording id, (label, speaker), language).
        translation: False to reject translations.
    """
    if d[0] in ("r", "x") or (d[0] == "t" and translation is False):
        return None
    kind, rid, seg, rev, lang, own, text, base, raw, spk, per_word, before, title, \
        label, stored_keys = d
    rid = rid.hex() if isinstance(rid, bytes) else rid
    words = text.split(_SEP)
    norms = [Q.normalize(w) for w in words]
    idx = [i for i, t in enumerate(norms) if t]
    toks = [norms[i] for i in idx]
    keys = None
    if p.expand:
        every = decode_keys(stored_keys, norms, lang)
        keys = [every[i] for i in idx]
    n_own = sum(1 for i in idx if i < own)
    span = Q.locate(node, toks, n_own, p.expand,
                    lambda f: meta(f, rid, (label, spk), lang), p.known, keys)
    if span is None:
        return None
    a, b = (idx[span[0]], idx[span[1]]) if span else (0, own - 1)
    times = _unpack_times(base, raw, len(words))
    ctx = (before.split() + words[:a])[-CONTEXT:]
    speaker = (per_word[a] if per_word else None) or spk
    return Hit(recording_id=rid, title=title, speaker=speaker, start=times[2 * a],
               end=times[2 * b + 1], text=" ".join(words[a:b + 1]), before=" ".join(ctx),
               after=" ".join(words[b + 1:b + 1 + CONTEXT]), score=float(score),
               segment_id=seg, revision=rev, language=lang, translation=kind == "t",
               match=how(node, p, toks, keys, span) if span else None)


def how(node: Q.Node, p: Any, toks: Sequence[str], keys: Sequence[frozenset[str]] | None,
        span: tuple[int, int]) -> str | None:
    """``exact``, ``form`` or ``transliteration``: the loosest way a matched word matched
    (None when no plain word of the query is in the span)."""
    terms = [t for x in Q.leaves(node, negated=False)
             for t in (x.terms if isinstance(x, Q.Phrase) else (x,) if isinstance(x, Q.Term)
                       else ())]
    found: set[str] = set()
    for i in range(span[0], span[1] + 1):
        for t in terms:
            if toks[i] == t.text:
                found.add("exact")
                continue
            e = p.exp.get(t) if t in p.expand else None
            if e is None:
                if toks[i] in p.expand.get(t, ()):
                    found.add("exact")  # a fuzzy or wildcard word, as written
                continue
            mine = keys[i] if keys is not None else frozenset()
            if not mine.isdisjoint(e.forms):
                found.add("form")
            elif toks[i] in e.translit or not mine.isdisjoint(e.translit):
                found.add("transliteration")
    for kind in ("transliteration", "form", "exact"):
        if kind in found:
            return kind
    return None
