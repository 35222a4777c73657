"""The one module of ours that imports whoosh.

whoosh is heavy to import, so nothing imports this module at load time: the rest of
:mod:`archive.search.index` takes the names it needs from here inside functions, as it would from
whoosh itself, and ``import archive.search.index`` stays free of whoosh. Every whoosh module
named here is one that opening an index loads anyway.

:class:`Counted` is the posting format of the word fields. Indexes pickle it by this module's
path, so it must stay here under this name.
"""

from collections import Counter

from whoosh import analysis, columns, fields
from whoosh import index as wi
from whoosh.codec import whoosh3
from whoosh.formats import Existence, tokens
from whoosh.index import LockError
from whoosh.query import And, Every, NullQuery, Or, Prefix, Term, Wildcard
from whoosh.util.numeric import byte_to_length, length_to_byte

W3Codec = whoosh3.W3Codec
# private to whoosh 3's codec: a whoosh without them falls back to its public API
LENGTHS_COLUMN = getattr(whoosh3, "LENGTHS_COLUMN", None)
_lenfield = getattr(whoosh3, "_lenfield", None)


class Counted(Existence):
    """Postings of document numbers only, while the field length still counts every word.

    whoosh's ``Frequency`` stores each posting's count twice (weights and values), which
    makes a block of 1024 postings ~3x slower to decode than its ids alone. Segments are
    short, so a word rarely occurs twice in one, and the ranked AND scores a count of 1
    already; BM25's length normalisation keeps the true word count, as whoosh adds the
    counts given here to the field length.
    """

    def word_values(self, value, analyzer, **kwargs):  # type: ignore[no-untyped-def]
        fb = self.field_boost
        counts = Counter(t.text for t in tokens(value, analyzer, kwargs))
        return ((w, n, fb, b"") for w, n in counts.items())


__all__ = ["And", "Counted", "Every", "LENGTHS_COLUMN", "LockError", "NullQuery", "Or", "Prefix",
           "Term", "W3Codec", "Wildcard", "_lenfield", "analysis", "byte_to_length", "columns",
           "fields", "length_to_byte", "wi"]
