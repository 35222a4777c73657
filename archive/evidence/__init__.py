"""The archive on disk: originals by SHA-256, the sqlite catalog, transcripts and their
history, the hash-chained custody log, the write journal, crash recovery, verify and repair.

May import: the base modules (models, errors, timecode, paths, text) and the standard library.
It never imports speech, search or anything above: the search index reaches recovery and
repair only through the callables the library passes in.

Public face: :mod:`.store` (Store, CustodyLog, now_iso, os_user, dumps_pretty),
:mod:`.fsutil` (atomic writes, hashing, staging, locks), :mod:`.provenance` (dates),
:mod:`.recovery` (recover, rollback_add), :mod:`.integrity` (verify, repair, remove),
:mod:`.outputs` (check_output, write_output: user-asked files never land on the archive),
:mod:`.digests` (add_digests: what the custody log records to make files tamper-evident).
:mod:`.catalog` and :mod:`.custody` are reached through :class:`.store.Store`.
"""

#: The modules other packages may import (tests/test_architecture.py checks it).
__all__ = ["store", "fsutil", "provenance", "recovery", "integrity", "outputs", "digests"]
