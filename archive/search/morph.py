"""Word forms: the lemma or stem of a word in a language, so that any form finds the others.

The one module of ours that imports ``pymorphy3``, ``simplemma`` and ``Stemmer`` (PyStemmer),
all lazily, per language, on the first word of that language that needs them. The choice was measured
(``bench/language.py``, and the issue-12 report): on words of Russian, Ukrainian and German
news text with other forms made by two independent generators,

* Russian and Ukrainian use pymorphy3's dictionaries (OpenCorpora, with a suffix predictor for
  names it does not know, so ``Якутии`` gives ``якутия``): recall 0.99-1.00, loads in ~0.3 s
  and ~27 MB per language. simplemma reached 0.71-0.91 and took 2.5-6 s and 70-150 MB to load;
  Snowball's Russian stemmer 0.86.
* German, English, French, Spanish, Italian, Portuguese, Polish and the other Snowball
  languages use Snowball stemmers (PyStemmer, C): German nouns 0.96, microseconds a word and
  no data to load. German also gets simplemma's lemma (irregular verbs, umlaut plurals,
  comparatives: Snowball alone found 0.65 of other German forms, both together 0.98 and more);
  its dictionary takes 5-10 s and ~250 MB to load, so it is loaded only by ``add`` of German
  speech (or a reindex), never by a search: the index keeps every form of each German lemma
  (:func:`forms`) in its lexicon. simplemma for the other languages would cost 1.5-21 s and
  30-400 MB each to load, for less gain than in German.

Keys are plain strings, unique within a language; the index prefixes them with the language
(:func:`tagged`). A word that is its own only key needs nothing stored. Stop words
(:mod:`.stopwords`) get no key: they are matched as written and do not rank hits.
Belarusian and any language not listed fall back to exact forms (:func:`supported`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .stopwords import is_stop

#: Languages analysed by pymorphy3 (full morphology: lemmas and every form of a lemma).
PYMORPHY = frozenset({"ru", "uk"})
#: Languages with simplemma's lemma dictionary besides their Snowball stem.
LEMMA_DICT = frozenset({"de"})
#: Languages stemmed by Snowball, with the stemmer's name.
SNOWBALL = {"de": "german", "en": "english", "fr": "french", "es": "spanish", "it": "italian",
            "pt": "portuguese", "pl": "polish", "nl": "dutch", "sv": "swedish",
            "da": "danish", "no": "norwegian", "nb": "norwegian", "nn": "norwegian",
            "fi": "finnish", "ro": "romanian", "hu": "hungarian", "tr": "turkish",
            "ca": "catalan", "cs": "czech", "el": "greek", "lt": "lithuanian",
            "eu": "basque", "ga": "irish", "hy": "armenian", "id": "indonesian",
            "ne": "nepali", "sr": "serbian", "ta": "tamil", "et": "estonian",
            "ar": "arabic", "hi": "hindi", "fa": "persian", "yi": "yiddish", "eo": "esperanto"}


def base(lang: str | None) -> str:
    """``pt-BR`` -> ``pt``; ``None`` -> ``""``."""
    return (lang or "").lower().replace("_", "-").split("-")[0]


def supported(lang: str | None) -> bool:
    """Whether word forms are known in a language (else it is searched by exact forms)."""
    b = base(lang)
    return b in PYMORPHY or b in SNOWBALL


def full(lang: str | None) -> bool:
    """Whether the language has a lemma dictionary (every form of a lemma can be listed)."""
    b = base(lang)
    return b in PYMORPHY or b in LEMMA_DICT


def is_lemma(key: str) -> bool:
    """Whether a key is a lemma (whose forms the lexicon lists), not a stem (``#...``)."""
    return not key.startswith("#")


def tagged(lang: str, key: str) -> str:
    """The index term of a key in a language: ``ru:трус``."""
    return f"{base(lang)}:{key}"


@lru_cache(maxsize=None)
def _pymorphy(lang: str) -> Any:
    import pymorphy3
    return pymorphy3.MorphAnalyzer(lang=lang)


@lru_cache(maxsize=None)
def _lemma_dict(lang: str) -> tuple[Any, dict[str, list[str]]]:
    """simplemma's lemmatizer for a language and its dictionary inverted (lemma -> forms)."""
    from simplemma import Lemmatizer
    from simplemma.strategies import DefaultStrategy
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory
    factory = DefaultDictionaryFactory()  # one copy of the dictionary for both uses
    d = factory.get_dictionary(lang)
    raw = getattr(d, "_dict", None)  # bytes -> bytes: ~10x faster to walk than the Mapping
    items = raw.items() if isinstance(raw, dict) else ((k.encode(), v.encode())
                                                        for k, v in d.items())
    inv: dict[str, list[str]] = {}
    for k, v in items:
        inv.setdefault(v.decode().lower(), []).append(k.decode().lower())
    return Lemmatizer(lemmatization_strategy=DefaultStrategy(dictionary_factory=factory)), inv


@lru_cache(maxsize=None)
def _stemmer(lang: str) -> Any:
    import Stemmer
    return Stemmer.Stemmer(SNOWBALL[lang])


def _fold(word: str) -> str:
    return word.replace("ё", "е").replace("\u0301", "")


def _letters(word: str) -> bool:
    return word.replace("'", "").replace("-", "").isalpha()


def _cyrillic(word: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in word)


@lru_cache(maxsize=1 << 18)
def keys(lang: str, word: str) -> tuple[str, ...]:
    """The keys of a folded word in a language (lemmas or a stem), sorted; ``()`` for stop
    words, words that are not letters, and languages without word forms.

    Args:
        lang: Language code (``ru``, ``uk``, ``de``, ``pt-BR``...).
        word: The word, folded by :func:`archive.text.normalize`.
    """
    b = base(lang)
    if not word or not _letters(word) or is_stop(b, word):
        return ()
    if b in PYMORPHY:
        if not _cyrillic(word):
            return ()
        return tuple(sorted({_fold(p.normal_form) for p in _pymorphy(b).parse(word)}))
    if b in SNOWBALL:
        stem = _stemmer(b).stemWord(word)
        if b not in LEMMA_DICT:
            return (stem,)
        lemma = _fold(_lemma_dict(b)[0].lemmatize(word, lang=b).lower())
        return tuple(sorted({lemma, "#" + stem}))
    return ()


def forms(lang: str, key: str) -> list[str]:
    """Every form of a lemma (for languages with a dictionary; ``[]`` for stemmed ones).

    The index keeps them so that a query in any form finds its lemma without loading the
    dictionary (:class:`archive.search.index.writing.IndexWriter`).
    """
    b = base(lang)
    if not is_lemma(key):
        return []
    if b in LEMMA_DICT:
        return sorted(set(_lemma_dict(b)[1].get(key, ())) | {key})
    if b not in PYMORPHY:
        return []
    out = {key}
    for p in _pymorphy(b).parse(key):
        if _fold(p.normal_form) == key:
            out.update(_fold(f.word) for f in p.lexeme)
    return sorted(out)


def query_keys(lang: str, word: str) -> tuple[str, ...]:
    """The keys of a query word that need no dictionary (Snowball stems); lemmas come from
    the index's lexicon."""
    b = base(lang)
    if b not in SNOWBALL or not word or not _letters(word) or is_stop(b, word):
        return ()
    stem = _stemmer(b).stemWord(word)
    return ("#" + stem,) if b in LEMMA_DICT else (stem,)


__all__ = ["LEMMA_DICT", "PYMORPHY", "SNOWBALL", "base", "forms", "full", "is_lemma", "keys",
           "query_keys", "supported", "tagged"]
