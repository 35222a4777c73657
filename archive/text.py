"""Word folding shared by every layer: a word as recognised and a word as typed fold alike.

:func:`normalize` is used by the index and the query language (search), by the quote
aligner, and by hotword-echo removal (speech), so it lives below all of them.
"""

from __future__ import annotations

import re
import unicodedata

_KEEP = {"L", "N", "M"}
_ASCII_EDGE = "".join(chr(c) for c in range(128) if not chr(c).isalnum())
_ASCII_WILD = _ASCII_EDGE.replace("*", "").replace("?", "")


def normalize(text: str, *, wild: bool = False) -> str:
    """Fold a word for matching: NFKC, case-folded, edge punctuation and a possessive
    ``'s`` stripped, no spaces.

    Args:
        text: A word as recognised or typed.
        wild: Keep ``*`` and ``?`` (for query patterns).
    """
    if text.isascii():  # the common case, ~10x faster; same result
        t = "".join(text.lower().split()).strip(_ASCII_WILD if wild else _ASCII_EDGE)
        return _possessive(t.replace("|", ""))
    t = unicodedata.normalize("NFKC", text).casefold()
    t = t.replace("\u2019", "'").replace("\u2018", "'")
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


# --------------------------------------------------------------------------- neutral text
# Text from a transcript, a user or a file name, made safe to put on one line of a file
# another program reads (exports) or to keep as a name. The terminal has its own, stricter
# cleaning (archive.cli.render.clean), which also strips escape sequences.

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
