"""Words made comparable: tokens, normalisation, number words and a phonetic key.

A published quote and a transcript spell the same speech differently: case, punctuation,
apostrophes, Unicode forms, stress marks, "25" against "twenty-five", "1,000" against "1000".
Both sides are reduced here to normalised tokens, each with a crude, language-agnostic
phonetic key, so that :mod:`archive.search.quote` can align them word by word. A transcript is
tokenised once (:func:`prepare`) and reused across quotes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..models import Word
from . import morph, translit

# The two costs of leaving a transcript word out are set per token when words are prepared
# (PreparedWords.ins), so they live here; the other alignment costs are in archive.search.quote.

#: Similarity of two words that are forms of one word ("трусами" for "трусы", "cowards" for
#: "coward") or one name in two alphabets ("Navalny" for "Навальный"), with the search's
#: folding (:mod:`.morph`, :mod:`.translit`); such a pair is still listed as a difference.
FORM_SIM = 0.85
#: Languages tried for a word of each script (a quote does not say its language).
_TRY = {"cyr": ("ru", "uk"), "lat": ("en", "de", "fr", "es", "it", "pt", "pl")}
#: Cost of a transcript word inside the span that has no counterpart in the quote.
INS_COST = 1.0
#: Cost of a transcript filler ("uh", "äh") inside the span: outlets drop them silently.
FILLER_COST = 0.3

_FILLERS = frozenset({"uh", "um", "uhm", "er", "erm", "ah", "hmm", "hm", "mm", "mhm", "äh",
                      "ähm", "öh", "öhm", "э", "ээ", "эм", "м", "мм", "е"})

_APOSTROPHES = "'’ʼ`´‘"
_SEP = ",.\u00a0\u202f\u2009"


@lru_cache(maxsize=1)
def _scanner() -> re.Pattern[str]:
    """Regex of a token (a number, or a word with its combining marks), or a NUL."""
    # Python's \w excludes combining marks (a Russian stress mark, a Devanagari vowel sign), so
    # the marks of the Basic Multilingual Plane are added as word characters, built on first
    # use (about 15 ms) rather than at import.
    marks = [c for c in range(0x300, 0x10000) if unicodedata.category(chr(c)).startswith("M")]
    ranges: list[tuple[int, int]] = []
    for c in marks:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    m = "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)
    word = f"[\\w{m}]"
    return re.compile(f"\\x00|\\d+(?:[{_SEP}]\\d+)*(?!{word})"
                      f"|\\w{word}*(?:[{_APOSTROPHES}]{word}+)*")


_ELLIPSIS = re.compile(r"\.\s*\.\s*\.|…")
_STRESS = str.maketrans("", "", "\u0300\u0301")
_APOS_MAP = str.maketrans({c: "'" for c in _APOSTROPHES[1:]})


# ----------------------------------------------------------------------------- tokens

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10 ** 6, "billion": 10 ** 9}
_NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS) | frozenset(_SCALES)


@lru_cache(maxsize=1 << 16)
def _norm_token(surface: str) -> str:
    t = surface.casefold().translate(_APOS_MAP).translate(_STRESS).replace("ё", "е")
    if t[0].isdigit() or t[-1].isdigit():
        t = "".join(str(unicodedata.digit(c, c)) if c.isdigit() else c for c in t)
        parts = re.split(r"[" + _SEP + r"]", t)
        if len(parts) > 1:
            if len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:]):
                t = "".join(parts)  # thousands separators
            else:
                t = ".".join(parts)  # decimal comma or point
        if t == "1":
            t = "one"  # as a lone "one" is kept as a word
    return t


def _text_tokens(text: str) -> tuple[list[str], list[str]]:
    """Normalised tokens of a text, and the same tokens as written."""
    found = _scanner().findall(unicodedata.normalize("NFKC", text).replace("_", " "))
    surfaces = [t for t in found if t != "\x00"]
    zeros = [0] * len(surfaces)
    norms, surfaces, _, _ = _merge_numbers([_norm_token(t) for t in surfaces], surfaces,
                                           zeros, zeros)
    return norms, surfaces


def normalize(text: str) -> list[str]:
    """Split a text into comparable tokens.

    Case-folded, punctuation stripped (apostrophes inside words kept and unified to ``'``),
    Unicode-normalised (NFKC, ``ё`` as ``е``, stress marks dropped), numbers as ASCII digits
    without thousands separators, English number words as digits ("twenty-five" -> "25"),
    except a lone "one", which stays a word (and a lone "1" becomes "one").

    Args:
        text: Any text, in any script.

    Returns:
        The tokens, in order.
    """
    return _text_tokens(text)[0]


def _parse_number(norms: Sequence[str], i: int) -> tuple[int, int] | None:
    """The value of the English number words starting at ``i`` and the index after them."""
    total = current = 0
    last = ""
    last_scale = 10 ** 12
    j = i
    while j < len(norms):
        w = norms[j]
        if w in _UNITS:
            if last in ("unit", "teen") or (last == "tens" and _UNITS[w] >= 10):
                break
            current += _UNITS[w]
            last = "teen" if _UNITS[w] >= 10 else "unit"
        elif w in _TENS:
            if last in ("unit", "teen", "tens"):
                break
            current += _TENS[w]
            last = "tens"
        elif w == "hundred":
            if last == "hundred" or current >= 100:
                break
            current = max(current, 1) * 100
            last = "hundred"
        elif w in _SCALES:
            scale = _SCALES[w]
            if scale >= last_scale or last == "scale":
                break
            total += max(current, 1) * scale
            current, last, last_scale = 0, "scale", scale
        elif w == "and" and last in ("hundred", "scale") and j + 1 < len(norms) and (
                norms[j + 1] in _UNITS or norms[j + 1] in _TENS):
            j += 1
            continue
        else:
            break
        j += 1
    if j == i:
        return None
    return total + current, j


def _merge_numbers(norms: list[str], surfaces: list[str], first: list[int], last: list[int]
                   ) -> tuple[list[str], list[str], list[int], list[int]]:
    """Replace runs of English number words by one digit token, merging their word spans."""
    pos = [i for i, t in enumerate(norms) if t in _NUMBER_WORDS]
    if not pos:
        return norms, surfaces, first, last
    on: list[str] = []
    os_: list[str] = []
    of: list[int] = []
    ol: list[int] = []
    prev = 0
    for i in pos:
        parsed = _parse_number(norms, i) if i >= prev else None
        if parsed is None or parsed[1] == i + 1 and norms[i] == "one":
            continue  # a lone "one" is mostly a pronoun ("and one who" ~ "anyone who")
        value, j = parsed
        on += norms[prev:i]
        os_ += surfaces[prev:i]
        of += first[prev:i]
        ol += last[prev:i]
        on.append(str(value))
        os_.append(" ".join(surfaces[i:j]))
        of.append(first[i])
        ol.append(last[j - 1])
        prev = j
    return (on + norms[prev:], os_ + surfaces[prev:], of + first[prev:], ol + last[prev:])


# ----------------------------------------------------------------------------- phonetics

_CYRILLIC = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "e", "ж": "zh",
    "з": "z", "и": "i", "і": "i", "ї": "i", "й": "j", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "ju",
    "я": "ja", "'": ""})
_DIGRAPHS = [("sch", "X"), ("tch", "X"), ("sh", "X"), ("ch", "X"), ("zh", "X"), ("ph", "f"),
             ("th", "t"), ("ck", "k"), ("gh", "g"), ("qu", "kv"), ("x", "ks")]
_SOFT_C = re.compile(r"c(?=[eiy])")
_CLASSES = str.maketrans({
    "b": "P", "p": "P", "f": "F", "v": "F", "c": "K", "k": "K", "q": "K", "g": "K",
    "d": "T", "t": "T", "s": "S", "z": "S", "l": "L", "m": "N", "n": "N", "r": "R",
    "a": ".", "e": ".", "i": ".", "o": ".", "u": ".", "y": ".", "j": ".", "w": ".", "h": ".",
})


@lru_cache(maxsize=1 << 16)
def phonetic_key(token: str) -> str:
    """A crude sound key of a normalised token, for Latin and Cyrillic scripts.

    Consonants are folded into classes (b/p, f/v, c/k/g/q, d/t, s/z, m/n, sh-like), vowels
    dropped except a leading one, repeats collapsed. Other scripts keep their characters.
    """
    t = token.translate(_CYRILLIC)
    t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    if not t.isascii() or not t.isalpha():
        return token
    for a, b in _DIGRAPHS:
        t = t.replace(a, b)
    t = _SOFT_C.sub("s", t)
    head = "A" if t[0] in "aeiouy" else ""
    body = t.translate(_CLASSES)  # vowels become "."
    # Repeats collapse only when adjacent: "anyone" keeps both n's ("ANN"), as it does in
    # "and one" ("ANTN").
    body = "".join(c for k, c in enumerate(body) if k == 0 or c != body[k - 1])
    return (head + body.replace(".", "")) or token


# ----------------------------------------------------------------------------- prepared texts

@dataclass(frozen=True, eq=False)
class PreparedWords:
    """A transcript's words tokenised for alignment; build with :func:`prepare` and reuse.

    Attributes:
        words: The words.
        norms: Normalised tokens (a word may give none, one or several).
        surfaces: Tokens as written.
        first: Per token, index of its first word.
        last: Per token, index of its last word.
        uniq: Distinct tokens; ``inv`` maps each token to its position here.
        inv: Per token, index into ``uniq``.
        ukeys: Phonetic keys of ``uniq``.
        pair_texts: Distinct concatenations of two adjacent tokens (for splits).
        pair_keys: Their phonetic keys.
        pair_inv: Per adjacent pair (token j, j + 1), index into ``pair_texts``.
        ins: Per token, the cost of leaving it out of the quote.
    """

    words: Sequence[Word]
    norms: tuple[str, ...]
    surfaces: tuple[str, ...]
    first: np.ndarray
    last: np.ndarray
    uniq: list[str]
    inv: np.ndarray
    ukeys: list[str]
    pair_texts: list[str]
    pair_keys: list[str]
    pair_inv: np.ndarray
    ins: np.ndarray


def prepare(words: Sequence[Word] | PreparedWords) -> PreparedWords:
    """Tokenise a sequence of words once, for repeated alignment."""
    if isinstance(words, PreparedWords):
        return words
    # One regex pass over all words joined by NUL is several times faster than one per word;
    # the NULs count the words.
    text = unicodedata.normalize("NFKC", "\x00".join(w.text for w in words))
    found = _scanner().findall(text.replace("_", " "))
    sep = np.fromiter((t == "\x00" for t in found), bool, len(found))
    widx = np.cumsum(sep)[~sep].tolist()
    surfaces = [t for t in found if t != "\x00"]
    norms = [_norm_token(t) for t in surfaces]
    norms, surfaces, first, last = _merge_numbers(norms, surfaces, widx, widx)
    m = len(norms)
    index: dict[str, int] = {}
    inv = np.fromiter((index.setdefault(t, len(index)) for t in norms), np.int64, m)
    uniq = list(index)
    ukeys = [phonetic_key(t) for t in uniq]
    pair_id = inv[:-1] * len(uniq) + inv[1:]
    upairs, pair_inv = np.unique(pair_id, return_inverse=True)
    left, right = np.divmod(upairs, max(len(uniq), 1))
    pair_texts = [uniq[a] + uniq[b] for a, b in zip(left.tolist(), right.tolist())]
    # The keys of the halves approximate the key of the whole, at no Python cost per pair.
    pair_keys = [ukeys[a] + ukeys[b].lstrip("A") for a, b in zip(left.tolist(), right.tolist())]
    ins = np.where(np.fromiter((t in _FILLERS for t in norms), bool, m), FILLER_COST, INS_COST)
    return PreparedWords(words, tuple(norms), tuple(surfaces), np.array(first, np.int64),
                         np.array(last, np.int64), uniq, inv, ukeys, pair_texts, pair_keys,
                         pair_inv.reshape(-1), ins)


@dataclass(frozen=True)
class PreparedQuote:
    """A quote tokenised for alignment; build with :func:`prepare_quote`.

    Attributes:
        norms: Normalised tokens.
        surfaces: Tokens as written.
        keys: Phonetic keys of ``norms``.
        gaps: Token indices ``i`` such that an ellipsis follows token ``i - 1``.
    """

    norms: list[str]
    surfaces: list[str]
    keys: list[str]
    gaps: frozenset[int]


def prepare_quote(quote: str) -> PreparedQuote:
    """Tokenise a quote as published; "..." or "…" marks an elided stretch."""
    norms: list[str] = []
    surfaces: list[str] = []
    gaps: set[int] = set()
    for part in _ELLIPSIS.split(quote):
        if norms:
            gaps.add(len(norms))
        n, s = _text_tokens(part)
        norms += n
        surfaces += s
    return PreparedQuote(norms, surfaces, [phonetic_key(t) for t in norms],
                         frozenset(g for g in gaps if 0 < g < len(norms)))


# ----------------------------------------------------------------------------- word forms

@lru_cache(maxsize=1 << 16)
def _forms(token: str) -> frozenset[str]:
    """Word-form keys of a token in the languages of its script, and its name skeleton."""
    sc = translit.script(token)
    out = {morph.tagged(lang, k) for lang in _TRY.get(sc, ()) for k in morph.keys(lang, token)}
    out |= {"~" + translit.skeleton(f) for f in _spellings(token)}
    return frozenset(out)


@lru_cache(maxsize=1 << 16)
def _spellings(token: str) -> frozenset[str]:
    """A name token folded across alphabets, as said and as its lemmas (``навального``:
    ``navalnogo``, ``navalni``)."""
    if not translit.eligible(token):
        return frozenset()
    lemmas = {k for lang in _TRY["cyr"] for k in morph.keys(lang, token)} \
        if translit.script(token) == "cyr" else set()
    return frozenset(f for f in (translit.fold(x) for x in {token} | lemmas) if f)


def _same_word(q: "PreparedQuote", p: "PreparedWords", sim_u: np.ndarray) -> None:
    """Raise to :data:`FORM_SIM` the similarity of quote and transcript words that are
    forms of one word, or one name in two alphabets."""
    qf = [_forms(t) for t in q.norms]
    if not any(qf):
        return
    wanted = set().union(*qf)
    by_key: dict[str, list[int]] = {}
    for j, u in enumerate(p.uniq):
        for k in _forms(u) & wanted:
            by_key.setdefault(k, []).append(j)
    for i, ks in enumerate(qf):
        for k in ks:
            for j in by_key.get(k, ()):
                u = p.uniq[j]
                if k[0] == "~" and (translit.script(u) == translit.script(q.norms[i]) or not any(
                        translit.close(a, b) for a in _spellings(q.norms[i])
                        for b in _spellings(u))):
                    continue
                sim_u[i, j] = max(sim_u[i, j], FORM_SIM)
