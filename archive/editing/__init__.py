"""Changes after a recording was added: corrected words as new revisions (with re-timing of
the changed words only), passages verified by ear, speaker names and merges, the names
vocabulary.

May import: speakers, search, speech, evidence and the base modules; never ingest.

Public face: :mod:`.revisions` (edit, history, mark, unmark, vocabulary, write_revision,
reindex), :mod:`.speakers` (rename, merge), :mod:`.corrections` (EditResult, Mark,
RevisionInfo, edit_text, transcript_sha256).
"""

#: The modules other packages may import (tests/test_architecture.py checks it).
__all__ = ["revisions", "speakers", "corrections"]
