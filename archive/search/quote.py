"""Align a quote, as published, against the recognised words of transcripts.

A published quote and the speech recogniser rarely agree word for word: the recogniser mishears
("spade a spade" -> "spade state", "cowards and traitors" -> "card and traders"), the outlet
fixes grammar or drops a filler, and the quote may elide a stretch with "...". The quote is
therefore aligned word by word (semi-global edit distance: the whole quote against any span of
the transcript) with a substitution cost taken from a per-word similarity that blends character
edit distance with a crude, language-agnostic phonetic key (tokens and keys come from
:mod:`archive.search.wording`). Two quote words may be matched to one transcript word (a merge) and one
quote word to two transcript words (a split).

The dynamic programme runs one numpy row per quote word: the in-row insertion recurrence is a
running minimum, so a 15-word quote against 10,000 words costs a few milliseconds. Word
similarities come from ``rapidfuzz`` (imported here only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

import numpy as np

from ..models import Word
from .wording import (FILLER_COST, FORM_SIM, INS_COST, PreparedQuote, PreparedWords,
                      _same_word, normalize,
                      phonetic_key, prepare, prepare_quote)

#: Cost of a quote word that has no counterpart in the transcript.
DEL_COST = 1.0
#: Cost per transcript word skipped where the quote has an ellipsis ("...", "[…]").
GAP_COST = 0.05
#: Weights of the character and the phonetic similarity in the per-word similarity.
CHAR_WEIGHT, PHON_WEIGHT = 0.6, 0.4
#: Blended similarity that counts as nothing in common (unrelated words score about 0.3).
SIM_FLOOR = 0.3
#: Similarity below which a quote's first or last word set against a transcript word counts
#: as missing instead ("his" is not "investigation.", "нас" not "Конец"; "Hiss" is "his").
END_SIM = 0.1
#: Extra cost of matching two words to one, so that a plain match is preferred on a tie.
MERGE_PENALTY = 0.1
#: Cost of a step that is not allowed (finite, so that the traceback's sums stay exact).
_NEVER = 1e6


@dataclass(frozen=True)
class AlignOp:
    """One step of an alignment.

    Attributes:
        kind: ``match`` (same word), ``sub`` (misheard word), ``merge`` (two quote words for
            one transcript word), ``split`` (one quote word for two transcript words),
            ``del`` (quote word missing from the transcript), ``ins`` (extra transcript word),
            or ``gap`` (transcript word skipped at an ellipsis of the quote).
        quote: Quote words of the step, as written in the quote ("" for ``ins``/``gap``).
        transcript: Transcript words of the step ("" for ``del``).
        quote_index: Index of the first quote token, or -1.
        word_index: Index of the first transcript word, or -1.
        similarity: Similarity of the two sides, 0..1 (0 for ``ins``/``del``/``gap``).
    """

    kind: str
    quote: str
    transcript: str
    quote_index: int
    word_index: int
    similarity: float


@dataclass(frozen=True)
class Alignment:
    """Where a quote sits in a sequence of words.

    Attributes:
        start_index: Index of the first aligned word.
        end_index: Index after the last aligned word (exclusive).
        similarity: 0..1; 1 means every quote word was found as written.
        differences: (quote word, transcript word) pairs that differ, in order; the quote
            side is "" for an extra transcript word, the transcript side "" for a missing one.
        ops: Every step of the alignment, in order.
        start: Onset of the first aligned word, seconds.
        end: Offset of the last aligned word, seconds.
    """

    start_index: int
    end_index: int
    similarity: float
    differences: tuple[tuple[str, str], ...]
    ops: tuple[AlignOp, ...]
    start: float = 0.0
    end: float = 0.0


# ----------------------------------------------------------------------------- alignment

def _similarity(queries: list[str], qkeys: list[str], choices: list[str],
                ckeys: list[str]) -> np.ndarray:
    """Per-pair word similarity, shape (len(queries), len(choices)), float64.

    A blend of character and phonetic similarity, rescaled so that unrelated words (which
    still share a letter or two) score near 0 and do not pile up into a false match.
    """
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    if not queries or not choices:
        return np.zeros((len(queries), len(choices)))
    sc = Levenshtein.normalized_similarity
    char = cdist(queries, choices, scorer=sc, dtype=np.float32)
    phon = cdist(qkeys, ckeys, scorer=sc, dtype=np.float32)
    sim = (CHAR_WEIGHT * char + PHON_WEIGHT * phon).astype(np.float64)
    return np.clip((sim - SIM_FLOOR) / (1.0 - SIM_FLOOR), 0.0, 1.0)


@dataclass
class _Costs:
    """Cost matrices of one quote against a column range of a transcript's tokens."""

    sub: np.ndarray            # (n, w): quote token i for token j
    msub: np.ndarray | None    # (n - 1, w): quote tokens i, i + 1 for token j
    ssub: np.ndarray | None    # (n, w - 1): quote token i for tokens j, j + 1
    ins: np.ndarray            # (w,): leaving token j out


def _max_span(q: PreparedQuote, min_similarity: float) -> int:
    """Most transcript tokens an alignment within the cost budget can cover."""
    budget = (1.0 - min_similarity) * len(q.norms)
    cheapest = GAP_COST if q.gaps else min(FILLER_COST, INS_COST)
    return 2 * len(q.norms) + int(budget / cheapest) + 2


def _alignments(q: PreparedQuote, p: PreparedWords, limit: int, min_similarity: float
                ) -> list[Alignment]:
    n, m = len(q.norms), len(p.norms)
    if n == 0 or m == 0:
        return []
    sim_u = _similarity(q.norms, q.keys, p.uniq, p.ukeys)
    _same_word(q, p, sim_u)
    msim_u = None
    if n > 1:  # two quote words against one transcript word
        mq = [a + b for a, b in zip(q.norms, q.norms[1:])]
        msim_u = _similarity(mq, [phonetic_key(t) for t in mq], p.uniq, p.ukeys)
    ssim_p = _similarity(q.norms, q.keys, p.pair_texts, p.pair_keys) if m > 1 else None

    # Columns are processed in overlapping chunks so that memory stays bounded on long
    # transcripts; the overlap is longer than any passage within the cost budget.
    width = max(_MIN_CHUNK, _CHUNK_CELLS // n)
    overlap = _max_span(q, min_similarity)
    found: list[Alignment] = []
    for c0 in range(0, m, width):
        c1 = min(m, c0 + width + overlap)
        cols = p.inv[c0:c1]
        msub = ssub = None
        if msim_u is not None:
            # Two words written as one ("alot" for "a lot") only when the pair is closer to
            # the word than either half: "weaklings" is not "are weaklings".
            halves = np.maximum(sim_u[:-1, cols], sim_u[1:, cols])
            msub = np.where(msim_u[:, cols] > halves,
                            2.0 * (1.0 - msim_u[:, cols]) + MERGE_PENALTY, _NEVER)
        if ssim_p is not None and c1 - c0 >= 2:
            pair = ssim_p[:, p.pair_inv[c0:c1 - 1]]
            halves = np.maximum(sim_u[:, cols[:-1]], sim_u[:, cols[1:]])
            ssub = np.where(pair > halves, 2.0 * (1.0 - pair) + MERGE_PENALTY, _NEVER)
        costs = _Costs(sub=1.0 - sim_u[:, cols], msub=msub, ssub=ssub, ins=p.ins[c0:c1])
        found += _align_chunk(q, p, c0, costs, limit, min_similarity)
        if c1 == m:
            break
    found.sort(key=lambda a: (-a.similarity, a.start_index))
    chosen: list[Alignment] = []
    for a in found:
        if not any(a.start_index < b.end_index and b.start_index < a.end_index for b in chosen):
            chosen.append(a)
            if len(chosen) >= limit:
                break
    return chosen


#: Chunking of long transcripts: cells (quote tokens x transcript tokens) per chunk.
_CHUNK_CELLS = 4_000_000
_MIN_CHUNK = 4_000


def _align_chunk(q: PreparedQuote, p: PreparedWords, off: int, c: _Costs, limit: int,
                 min_similarity: float) -> list[Alignment]:
    n, w = c.sub.shape
    pre_ins = np.concatenate(([0.0], np.cumsum(c.ins)))
    pre_gap = np.arange(w + 1) * GAP_COST
    D = np.empty((n + 1, w + 1))
    E = np.empty((n + 1, w + 1))
    D[0] = 0.0
    E[0] = 0.0
    for i in range(1, n + 1):
        e = E[i]
        np.add(D[i - 1], DEL_COST, out=e)
        np.minimum(e[1:], D[i - 1, :-1] + c.sub[i - 1], out=e[1:])
        if c.msub is not None and i >= 2:
            np.minimum(e[1:], D[i - 2, :-1] + c.msub[i - 2], out=e[1:])
        if c.ssub is not None:
            np.minimum(e[2:], D[i - 1, :-2] + c.ssub[i - 1], out=e[2:])
        # Runs of extra transcript words in row i: D[i, j] = min over k <= j of
        # E[i, k] + cost of words k..j-1, a running minimum once prefix sums are taken out.
        pre = pre_gap if i in q.gaps else pre_ins
        D[i] = pre + np.minimum.accumulate(e - pre)

    last = D[n]
    left = np.concatenate(([np.inf], last[:-1]))
    right = np.concatenate((last[1:], [np.inf]))
    max_cost = (1.0 - min_similarity) * n
    ends = np.flatnonzero((last <= left) & (last < right) & (last <= max_cost + 1e-9))
    ends = ends[np.argsort(last[ends], kind="stable")]
    found: list[Alignment] = []
    for j in ends[: 4 * limit + 8]:
        a = _traceback(q, p, off, int(j), D, E, c)
        if a is None or any(a.start_index < b.end_index and b.start_index < a.end_index
                            for b in found):
            continue
        found.append(a)
        if len(found) >= limit:
            break
    return found


def _extend_ends(steps: list[tuple[str, int, int, int, int]], c: _Costs) -> float:
    """Turn a misheard first or last word into a split with its outer neighbour if that fits
    better; returns the change of cost.

    Inside a passage a split competes with an extra word (cost 1) and is charged for the two
    words it covers. At the ends, leaving the neighbour out costs nothing, so "Anyone" heard
    as "And one" would align to "one" alone and cut "And" off the passage; there the split is
    charged like a substitution.
    """
    if c.ssub is None:
        return 0.0
    delta = 0.0
    for k, side in ((0, -1), (len(steps) - 1, 0)):
        kind, q0, q1, t0, t1 = steps[k]
        j = t0 + side  # first column of the pair
        if kind != "sub" or not 0 <= j < c.ssub.shape[1]:
            continue
        split = (float(c.ssub[q0, j]) - MERGE_PENALTY) / 2.0 + MERGE_PENALTY
        if split < float(c.sub[q0, t0]):
            delta += split - float(c.sub[q0, t0])
            steps[k] = ("split", q0, q1, j, j + 2)
    return delta


def _drop_unrelated_ends(steps: list[tuple[str, int, int, int, int]], c: _Costs) -> float:
    """Make a first or last quote word that has (almost) nothing in common with the word it
    was set against a missing word, in place; returns the change of cost.

    At the ends such a substitution (nearly) ties with a deletion, since leaving the
    neighbour out costs nothing there, and taking it would stretch the passage over an
    unrelated word: the quote "his father dying", heard as "… investigation. Father dying",
    would start at "investigation." a second early. Extra words left at an end then fall
    outside the passage.
    """
    delta = 0.0
    for order in (range(len(steps)), range(len(steps) - 1, -1, -1)):
        for k in order:
            kind, q0, q1, t0, t1 = steps[k]
            if kind in ("ins", "gap"):
                delta -= float(c.ins[t0]) if kind == "ins" else GAP_COST
                steps[k] = ("del", q0, q0, t0, t0)  # an empty step, removed below
            elif kind == "sub" and 1.0 - float(c.sub[q0, t0]) < END_SIM:
                delta += DEL_COST - float(c.sub[q0, t0])
                steps[k] = ("del", q0, q1, t0, t0)
            elif kind != "del":
                break
    steps[:] = [st for st in steps if st[2] > st[1] or st[4] > st[3]]
    return delta


def _traceback(q: PreparedQuote, p: PreparedWords, off: int, j: int, D: np.ndarray, E: np.ndarray,
               c: _Costs) -> Alignment | None:
    eps = 1e-9
    n = len(q.norms)
    cost = float(D[n, j])
    i = n
    steps: list[tuple[str, int, int, int, int]] = []  # kind, q0, q1, t0, t1 (chunk columns)
    while i > 0:
        if D[i, j] < E[i, j] - eps:
            steps.append(("gap" if i in q.gaps else "ins", i, i, j - 1, j))
            j -= 1
            continue
        e = E[i, j]
        if j >= 1 and abs(e - (D[i - 1, j - 1] + c.sub[i - 1, j - 1])) <= eps:
            steps.append(("sub", i - 1, i, j - 1, j))
            i, j = i - 1, j - 1
        elif c.msub is not None and i >= 2 and j >= 1 and abs(
                e - (D[i - 2, j - 1] + c.msub[i - 2, j - 1])) <= eps:
            steps.append(("merge", i - 2, i, j - 1, j))
            i, j = i - 2, j - 1
        elif c.ssub is not None and j >= 2 and abs(
                e - (D[i - 1, j - 2] + c.ssub[i - 1, j - 2])) <= eps:
            steps.append(("split", i - 1, i, j - 2, j))
            i, j = i - 1, j - 2
        else:
            steps.append(("del", i - 1, i, j, j))
            i -= 1
    steps.reverse()
    cost += _extend_ends(steps, c)
    cost += _drop_unrelated_ends(steps, c)
    cols = [(t0, t1) for _, _, _, t0, t1 in steps if t1 > t0]
    if not cols:
        return None
    start_index = int(p.first[off + cols[0][0]])
    end_index = int(p.last[off + cols[-1][1] - 1]) + 1
    ops: list[AlignOp] = []
    diffs: list[tuple[str, str]] = []
    prev = ""
    for kind, q0, q1, t0, t1 in steps:
        qtext = " ".join(q.surfaces[q0:q1])
        ttext = " ".join(p.surfaces[off + t0:off + t1])
        widx = int(p.first[off + t0]) if t1 > t0 else -1
        sim = 0.0
        if kind == "sub":
            sim = 1.0 - float(c.sub[q0, t0])
            if q.norms[q0] == p.norms[off + t0]:
                kind = "match"
        elif kind == "merge" and c.msub is not None:
            sim = 1.0 - (float(c.msub[q0, t0]) - MERGE_PENALTY) / 2.0
        elif kind == "split" and c.ssub is not None:
            sim = 1.0 - (float(c.ssub[q0, t0]) - MERGE_PENALTY) / 2.0
        ops.append(AlignOp(kind, qtext, ttext, q0 if q1 > q0 else -1, widx, round(sim, 4)))
        if kind in ("merge", "split") and (
                "".join(q.norms[q0:q1]) == "".join(p.norms[off + t0:off + t1])):
            continue  # "a lot" / "alot", "1961" / "19 61": written differently, said the same
        if kind not in ("match", "gap"):
            if diffs and kind in ("ins", "del") and prev == kind:
                # one difference per run of extra (or missing) words: "∅ → You are"
                a, b = diffs[-1]
                diffs[-1] = (" ".join(x for x in (a, qtext) if x),
                             " ".join(x for x in (b, ttext) if x))
            else:
                diffs.append((qtext, ttext))
        prev = kind
    words = p.words
    return Alignment(start_index, end_index, round(max(0.0, 1.0 - cost / n), 4), tuple(diffs),
                     tuple(ops), float(words[start_index].start), float(words[end_index - 1].end))


def align(quote: str, words: Sequence[Word] | PreparedWords) -> Alignment | None:
    """Find the span of ``words`` that best matches ``quote``.

    Args:
        quote: The quote as published; "..." or "…" marks an elided stretch.
        words: The transcript's words (or :func:`prepare` of them, to reuse the tokens).

    Returns:
        The best alignment, whatever its similarity, or None when the quote or the words
        hold no token.
    """
    found = _alignments(prepare_quote(quote), prepare(words), 1, 0.0)
    return found[0] if found else None


def best_passages(quote: str,
                  transcripts_words: Iterable[tuple[Hashable, Sequence[Word] | PreparedWords]],
                  limit: int = 5, min_similarity: float = 0.5
                  ) -> list[tuple[Hashable, Alignment]]:
    """Rank the passages of several transcripts that match a quote.

    A transcript may give several non-overlapping passages (a quote said twice).

    Args:
        quote: The quote as published.
        transcripts_words: (key, words) pairs, e.g. (recording id, words of a candidate).
        limit: Most passages returned.
        min_similarity: Passages below this similarity are dropped.

    Returns:
        (key, alignment) pairs, best first.
    """
    q = prepare_quote(quote)
    ranked: list[tuple[float, int, int, Hashable, Alignment]] = []
    for order, (key, words) in enumerate(transcripts_words):
        for a in _alignments(q, prepare(words), limit, min_similarity):
            ranked.append((-a.similarity, order, a.start_index, key, a))
    ranked.sort(key=lambda r: r[:3])
    return [(key, a) for _, _, _, key, a in ranked[:limit]]


# The text side moved to archive.search.wording; callers still import it from here.
__all__ = ["CHAR_WEIGHT", "DEL_COST", "END_SIM", "FILLER_COST", "GAP_COST", "INS_COST", "MERGE_PENALTY",
           "PHON_WEIGHT", "SIM_FLOOR", "AlignOp", "Alignment", "PreparedWords", "align",
           "best_passages", "normalize", "phonetic_key", "prepare"]
