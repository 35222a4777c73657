"""The one module of ours that imports whoosh.

whoosh is heavy to import, so nothing imports this module at load time: the rest of
:mod:`archive.search.index` takes the names it needs from here inside functions, as it would from
whoosh itself, and ``import archive.search.index`` stays free of whoosh. Every whoosh module
named here is one that opening an index loads anyway.
"""

from whoosh import analysis, columns, fields
from whoosh import index as wi
from whoosh.codec import whoosh3
from whoosh.index import LockError
from whoosh.query import And, Every, NullQuery, Or, Prefix, Term, Wildcard
from whoosh.util.numeric import byte_to_length, length_to_byte

W3Codec = whoosh3.W3Codec
# private to whoosh 3's codec: a whoosh without them falls back to its public API
LENGTHS_COLUMN = getattr(whoosh3, "LENGTHS_COLUMN", None)
_lenfield = getattr(whoosh3, "_lenfield", None)

__all__ = ["And", "Every", "LENGTHS_COLUMN", "LockError", "NullQuery", "Or", "Prefix", "Term",
           "W3Codec", "Wildcard", "_lenfield", "analysis", "byte_to_length", "columns",
           "fields", "length_to_byte", "wi"]
