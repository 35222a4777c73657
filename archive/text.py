"""Text shared by every layer: word folding, and strings made safe to show.

:func:`normalize` (a word as recognised and a word as typed fold alike) is used by the index
and the query language (search), by the quote aligner, and by hotword-echo removal (speech),
so it lives below all of them. :func:`clean` and :func:`safe_json` make hostile strings
(titles, names, transcript text) safe for a terminal; citations and both shells use them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

_KEEP = {"L", "N", "M"}
_ASCII_EDGE = "".join(chr(c) for c in range(128) if not chr(c).isalnum())
_ASCII_WILD = _ASCII_EDGE.replace("*", "").replace("?", "")


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'",
                              "\u00b4": "'", "\u0301": None, "\u0300": None, "ё": "е"})


# Every check of a search candidate folds its words again, and speech repeats its words.
@lru_cache(maxsize=1 << 16)
def normalize(text: str, *, wild: bool = False) -> str:
    """Fold a word for matching: NFKC, case-folded, edge punctuation and a possessive
    ``'s`` stripped, no spaces; apostrophes (``’ ʼ ` ´``) as ``'``, stress marks dropped and
    ``ё`` as ``е`` (as :mod:`archive.search.wording` folds a quote).

    Args:
        text: A word as recognised or typed.
        wild: Keep ``*`` and ``?`` (for query patterns).
    """
    if text.isascii():  # the common case, ~10x faster; same result
        t = "".join(text.lower().split()).strip(_ASCII_WILD if wild else _ASCII_EDGE)
        return _possessive(t.replace("|", ""))
    t = unicodedata.normalize("NFKC", text).casefold()
    t = t.translate(_APOSTROPHES)
    t = "".join(t.split())
    keep = (lambda c: unicodedata.category(c)[0] in _KEEP or c in "*?") if wild else \
        (lambda c: unicodedata.category(c)[0] in _KEEP)
    i, j = 0, len(t)
    while i < j and not keep(t[i]):
        i += 1
    while j > i and not keep(t[j - 1]):
        j -= 1
    return _possessive(t[i:j].replace("|", ""))


def _possessive(t: str) -> str:
    """``minister's`` -> ``minister``, so that the plain word finds it."""
    return t[:-2] if t.endswith("'s") and len(t) > 2 else t


# ------------------------------------------------------------------ safe to show
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_]?)")
# C0/C1 controls, and Unicode bidi overrides that could make a quote read backwards.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                      r"\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(value: Any) -> str:
    """A string safe to show on one line: escape sequences and control characters removed
    (line breaks and tabs become spaces; undecodable bytes of file names become U+FFFD)."""
    s = "" if value is None else str(value)
    s = _ANSI.sub("", s)
    s = re.sub(r"[\t\r\n]+", " ", s)
    s = _CONTROL.sub("", s)
    if _SURROGATE.search(s):
        try:
            s = s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            s = _SURROGATE.sub("\ufffd", s)
    return s


def clean_block(text: str) -> str:
    """Multi-line text safe for a terminal: each line as :func:`clean`, line breaks kept."""
    return "\n".join(clean(line) for line in text.split("\n"))


def safe_json(obj: Any) -> str:
    """JSON (indented, UTF-8) that cannot drive a terminal: besides the C0 controls that JSON
    always escapes, DEL, C1 controls (``\\x9b`` is a one-byte CSI) and bidi overrides are
    written as ``\\uXXXX`` escapes. The data is unchanged for any JSON reader."""
    import json

    from .errors import ArchiveCorrupt
    try:
        text = json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=False)
    except ValueError:
        raise ArchiveCorrupt("refusing to print NaN or Infinity as JSON; run `archive verify`") \
            from None
    return escape_json_unsafe(text)
# --------------------------------------------------------------------------- neutral text
# Text from a transcript, a user or a file name, made safe to put on one line of a file
# another program reads (exports) or to keep as a name. The terminal has its own, stricter
# cleaning (:func:`clean`), which also strips escape sequences.

#: Bidirectional embeddings, overrides, isolates and marks: they can make a quote or a name
#: read in another order than it is stored (U+202E "right-to-left override").
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: C0 and C1 controls (line breaks included), DEL, and the Unicode line/paragraph separators.
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]")
#: What a JSON reader keeps but a terminal or editor may act on: DEL, C1, bidi, surrogates.
JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
                         "\ud800-\udfff]")


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional control characters."""
    return BIDI.sub("", text)


def one_line(text: object) -> str:
    """``text`` on one line: controls and line breaks become single spaces, bidi controls
    are removed, and runs of blanks are collapsed; ``None`` gives ``""``."""
    if text is None:
        return ""
    s = BIDI.sub("", str(text))
    return " ".join(CONTROLS.sub(" ", s).split())


def escape_json_unsafe(json_text: str) -> str:
    """JSON text with :data:`JSON_UNSAFE` characters written as ``\\uXXXX`` escapes (only
    ever inside strings, where they are the same value for any JSON reader)."""
    return JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)
