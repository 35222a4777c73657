"""The add pipeline: a file is checked, staged and hashed, decoded, transcribed, diarized,
then committed (original, transcript, catalog, index, custody) under the write lock with a
journal, so a crash is finished or undone by the next writer. Translations made later
run the same way.

May import: every package below it (editing, speakers, search, citing, speech, evidence)
and the base modules.

Public face: :mod:`.pipeline` (AddOptions, AddResult, Ingest, Progress, walk),
:mod:`.translate` (translate), :mod:`.batch` (add_files, BatchProgress: many files, in
worker processes or on a Dask cluster).
"""

#: The modules other packages may import (tests/test_architecture.py checks it).
__all__ = ["pipeline", "translate", "batch"]
