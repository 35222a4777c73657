"""Finding words: the query language, the whoosh index (a derived copy of the transcripts,
rebuilt by ``archive reindex``), and the word-by-word alignment of published quotes.

May import: evidence (file helpers) and the base modules; never speech or speakers.

Public face: :mod:`.index` (Index, Candidate), :mod:`.query` (parse and match),
:mod:`.quote` (best_passages). :mod:`.queryparse`, :mod:`.wording` and ``index``'s
submodules are internal.
"""

#: The modules other packages may import (tests/test_architecture.py checks it).
__all__ = ["index", "query", "quote"]
