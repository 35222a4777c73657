"""Word forms and names across alphabets in the index: keys per word, the lexicon, expansion.

Each word of a segment is indexed by its exact form (field ``text``) and by its lemma or stem
keys in the segment's language (field ``lem``, terms ``ru:трус``; a key equal to the form is
found through ``text`` and not repeated). The segment stores its words' keys beside the words
(:func:`encode_keys`), so that :func:`archive.search.query.locate` judges forms without any
dictionary loaded.

A query word needs its own keys. For stemmed languages they are computed (microseconds). For
languages with a lemma dictionary (Russian, Ukrainian) the index keeps a *lexicon* instead:
lexicon documents (kind ``x``) whose field ``lx`` holds ``f:<form>\\x1f<lang>:<lemma>`` for every
form of every lemma indexed, so a query in any form finds its lemma with a prefix read and no
dictionary is loaded by a search. The lexicon also holds ``t:<skeleton>\\x1f<target>`` entries
(:mod:`archive.search.translit`): a Cyrillic lemma (``k:ru:навальный``) or a word without
lemma (``w:zelensky``) under its consonant skeleton, so that a name typed in another alphabet
is found. Lexicon entries of removed recordings stay until ``archive reindex`` (they only name
words; a query through them still needs a live segment).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, NamedTuple, Sequence

from .. import morph, translit
from ..stopwords import is_stop_any

#: The lexicon field.
LEX = "lx"
_KSEP = "\x1e"
_WSEP = "\x1f"
#: Lexicon entries per lexicon document.
_CHUNK = 20000


def word_keys(lang: str, norm: str) -> tuple[str, ...]:
    """Keys of a folded word in a language (``()`` when none)."""
    return morph.keys(lang, norm) if norm else ()


def encode_keys(norms: Sequence[str], keys: Sequence[tuple[str, ...]]) -> str:
    """The stored keys of a window's words: ``""`` for a word that is its own only key."""
    parts = ["" if not k or k == (n,) else _KSEP.join(k) for n, k in zip(norms, keys)]
    return _WSEP.join(parts) if any(parts) else ""


def decode_keys(stored: str, norms: Sequence[str], lang: str | None) -> list[frozenset[str]]:
    """Tagged key sets of a window's words (a word without stored keys is its own key)."""
    b = morph.base(lang)
    parts = stored.split(_WSEP) if stored else [""] * len(norms)
    return [frozenset(f"{b}:{k}" for k in p.split(_KSEP)) if p else frozenset((f"{b}:{n}",))
            for n, p in zip(norms, parts)]


class Lexicon:
    """Lexicon entries to add with a writer's batch (each entry once in the index)."""

    def __init__(self, reader: Callable[[], Any] | None) -> None:
        self._reader = reader
        self._r: Any = None
        self._seen: set[tuple[str, str]] = set()
        self._added: set[str] = set()
        self.entries: list[str] = []

    def _new(self, term: str) -> bool:
        if term in self._added:
            return False
        if self._reader is not None:
            if self._r is None:
                self._r = self._reader()
            if (LEX, term) in self._r:
                return False
        self._added.add(term)
        return True

    def note(self, lang: str, norm: str, keys: tuple[str, ...]) -> None:
        """Record what the lexicon needs for one word of a segment in a language."""
        if (lang, norm) in self._seen:
            return
        self._seen.add((lang, norm))
        if morph.full(lang) and keys:
            for k in keys:
                if not morph.is_lemma(k):
                    continue
                tk = morph.tagged(lang, k)
                if not self._new(f"f:{k}{_WSEP}{tk}"):
                    continue  # the lemma and all its forms are there already
                self.entries.append(f"f:{k}{_WSEP}{tk}")
                for f in morph.forms(lang, k):
                    if f != k:
                        self.entries.append(f"f:{f}{_WSEP}{tk}")
                if translit.eligible(k):
                    self._add(f"t:{translit.skeleton(translit.fold(k))}{_WSEP}k:{tk}")
        elif translit.eligible(norm) and not (morph.full(lang) and translit.script(norm) == "cyr"):
            self._add(f"t:{translit.skeleton(translit.fold(norm))}{_WSEP}w:{norm}")

    def _add(self, term: str) -> None:
        if self._new(term):
            self.entries.append(term)

    def documents(self) -> Iterable[list[str]]:
        """The entries in lexicon-document chunks."""
        for i in range(0, len(self.entries), _CHUNK):
            yield self.entries[i:i + _CHUNK]


class Expansion(NamedTuple):
    """What a plain query word stands for.

    Attributes:
        word: The word as typed (folded).
        text: ``text`` terms to look up: the word, then keys that may be forms too, then
            words reached across alphabets (candidates only: :attr:`matches` judges).
        lem: ``lem`` terms (tagged keys).
        forms: Tagged keys of the word in the index's languages.
        translit: Tagged keys and exact words reached across alphabets.
    """

    word: str
    text: tuple[str, ...]
    lem: tuple[str, ...]
    forms: frozenset[str]
    translit: frozenset[str]

    @property
    def matches(self) -> frozenset[str]:
        """What a token's form or tagged keys may equal to match the word."""
        return frozenset((self.word,)) | self.forms | self.translit


def languages(reader: Any) -> frozenset[str]:
    """Base codes of the languages in the index."""
    cache = getattr(reader, "_archive_langs", None)
    if cache is None:
        cache = frozenset(morph.base(t.decode() if isinstance(t, bytes) else t)
                          for t in reader.lexicon("lang")) - {""}
        try:
            reader._archive_langs = cache
        except AttributeError:
            pass
    return cache


def _lex(reader: Any, prefix: str) -> list[str]:
    n = len(prefix)
    return [t.decode()[n:] for t in reader.expand_prefix(LEX, prefix)]


def is_stop(reader: Any, word: str) -> bool:
    """Whether a query word is a stop word in a language of the index."""
    return is_stop_any(languages(reader), word)


def expand(reader: Any, word: str) -> Expansion:
    """The forms, keys and cross-alphabet matches of a plain, folded query word."""
    langs = languages(reader)
    forms: set[str] = set()
    if word.replace("'", "").replace("-", "").isalpha() and not is_stop_any(langs, word):
        for lang in langs:
            forms.update(morph.tagged(lang, k) for k in morph.query_keys(lang, word))
        if any(morph.full(x) for x in langs):
            forms.update(_lex(reader, f"f:{word}{_WSEP}"))
    tr: set[str] = set()
    if translit.eligible(word):
        tr = _across(reader, word, forms)
    text = [word] + sorted({k.split(":", 1)[1] for k in forms | tr if ":" in k
                            and morph.is_lemma(k.split(":", 1)[1])} - {word})
    text += sorted(w for w in tr if ":" not in w and w != word)
    lem = sorted({k for k in forms | tr if ":" in k})
    return Expansion(word, tuple(text), tuple(lem), frozenset(forms), frozenset(tr) - forms)


def prune_stop_words(node: Any, reader: Any) -> Any:
    """Drop stop words from ANDs of several words: they neither need to be there nor rank
    (``трусы и предатели`` is ``трусы предатели``). ``=и`` and phrases keep them."""
    from .. import query as Q
    if isinstance(node, Q.Or):
        return Q.Or(tuple(prune_stop_words(x, reader) for x in node.items))
    if isinstance(node, Q.Not):
        return Q.Not(prune_stop_words(node.item, reader))
    if not isinstance(node, Q.And):
        return node
    items = [prune_stop_words(x, reader) for x in node.items]

    def stop(x: Any) -> bool:
        return isinstance(x, Q.Term) and not (x.exact or x.fuzzy or x.wildcard) and \
            is_stop(reader, x.text)

    keep = [x for x in items if not stop(x)]
    if not any(not isinstance(x, (Q.Not, Q.Filter, Q.DateRange)) for x in keep):
        keep = items  # only stop words (and filters): search them as written
    return keep[0] if len(keep) == 1 else Q.And(tuple(keep))


def _across(reader: Any, word: str, forms: set[str]) -> set[str]:
    """Lemmas and words in another alphabet that spell the same name."""
    mine = translit.script(word)
    spellings = {translit.fold(word)} | {translit.fold(k.split(":", 1)[1]) for k in forms
                                         if morph.is_lemma(k.split(":", 1)[1])}
    spellings.discard("")
    out: set[str] = set()
    for sk in {translit.skeleton(s) for s in spellings}:
        for entry in _lex(reader, f"t:{sk}{_WSEP}"):
            kind, target = entry[:1], entry[2:]
            text = target.split(":", 1)[1] if kind == "k" else target
            if translit.script(text) == mine:
                continue
            f = translit.fold(text)
            if any(translit.close(s, f) for s in spellings):
                out.add(target)
    return out


__all__ = ["Expansion", "LEX", "Lexicon", "decode_keys", "encode_keys", "expand", "is_stop",
           "languages", "prune_stop_words", "word_keys"]
