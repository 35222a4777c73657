"""Names across alphabets: ``Navalny``, ``Navalnyi`` and ``Naval'nyy`` find ``Навальный``.

The one module of ours that imports ``anyascii`` (lazily). A word in any script is romanised
with anyascii (chosen on measured recall over Cyrillic names and their common romanisations:
anyascii and unidecode 0.94 before tuning, cyrtranslit 0.54-0.89, iuliia 0.89; anyascii is
ISC-licensed and covers every script), then folded so that the usual romanisations agree
(:func:`fold`): ``kh``/``h``/``g`` -> ``g`` (Харків *Kharkiv*, Чернигов *Chernigov*),
``sh``/``sch``/``shch`` -> ``s``, ``ch``/``tch``/``tsch`` -> ``c``, ``zh`` -> ``z``, ``ts``/``tz`` ->
``c``, runs of ``i``/``y``/``j`` -> ``i`` (*-sky*, *-skyy*, *-skiy*, *-ский*), doubled letters
single, a final voiced consonant devoiced, ``z`` as ``s``. Two words match when their consonant
skeletons (:func:`skeleton`, the index's lookup key) are equal and the folded words are within
one edit (two for words over seven letters): Kharkiv and Kharkov, Chernihiv and Chernigov.
"""

from __future__ import annotations

import re
from functools import lru_cache

_DIGRAPHS = (("shch", "s"), ("sch", "s"), ("tsch", "c"), ("tch", "c"), ("ch", "c"),
             ("sh", "s"), ("zh", "z"), ("kh", "h"), ("ts", "c"), ("tz", "c"), ("cz", "c"),
             ("sz", "s"), ("ph", "f"), ("ck", "k"), ("w", "v"), ("x", "ks"), ("q", "k"),
             ("h", "g"), ("z", "s"))
_DEVOICE = {"g": "k", "d": "t", "b": "p"}
#: Shortest query word (letters) looked up across alphabets: shorter ones match too much.
MIN_LETTERS = 4


def script(word: str) -> str:
    """``cyr`` (any Cyrillic letter), ``lat`` (ASCII letters, or Latin with diacritics) or
    ``other``."""
    if any("\u0400" <= c <= "\u04ff" for c in word):
        return "cyr"
    if all(c.isascii() or "\u00c0" <= c <= "\u024f" for c in word) and any(
            c.isalpha() for c in word):
        return "lat"
    return "other"


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """A word romanised and folded so that common romanisations agree (``""`` if no letters)."""
    from anyascii import anyascii
    t = re.sub(r"[^a-z]", "", anyascii(word).lower())
    for a, b in _DIGRAPHS:
        t = t.replace(a, b)
    t = re.sub(r"[iyj]+", "i", t)
    t = re.sub(r"(.)\1+", r"\1", t)
    if t.startswith("ie"):
        t = t[1:]  # Yermak / Ermak (Ермак)
    if t and t[-1] in _DEVOICE:
        t = t[:-1] + _DEVOICE[t[-1]]
    return t


def skeleton(folded: str) -> str:
    """The consonants of a folded word after its first letter (``c`` as ``s``): the lookup key."""
    return (folded[:1] + re.sub(r"[aeiou]", "", folded[1:])).replace("c", "s")


def close(a: str, b: str) -> bool:
    """Whether two folded words are the same name written in two ways."""
    if skeleton(a) != skeleton(b):
        return False
    k = 1 if max(len(a), len(b)) <= 7 else 2
    return abs(len(a) - len(b)) <= k and _distance(a, b) <= k


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return prev[-1]


def eligible(word: str) -> bool:
    """Whether a folded word is long enough and all letters, to be matched across alphabets."""
    letters = word.replace("'", "").replace("-", "")
    return len(letters) >= MIN_LETTERS and letters.isalpha() and script(word) != "other"


__all__ = ["MIN_LETTERS", "close", "eligible", "fold", "script", "skeleton"]
