"""Evidence checks shared by the integrity tests: file snapshots, "nothing changed" states of
an archive, and a small archive built once per process that tests clone.

- :func:`snapshot` (path -> SHA-256 of every file under a folder)
- :func:`archive_state` (files and logical catalog content of an archive)
- :func:`template` / :func:`clone` (a one-recording archive, built once, copied per test)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

_templates: dict[str, Path] = {}


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 (or link target) of everything under ``folder``."""
    import hashlib
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            rel = str(p.relative_to(folder))
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif not p.is_dir():
                out[rel] = "special"
    return out


def archive_state(root: Path, *, index_files: bool = True) -> dict[str, object]:
    """What an archive holds, for "nothing changed" checks: every file's hash (the catalog as
    its logical content, the lock and sqlite's WAL and shared-memory files left out).

    Args:
        index_files: Compare the index's files; else only which recordings it holds (a
            change that was undone leaves different but equivalent index files).
    """
    import sqlite3
    files = {k: v for k, v in snapshot(root).items()
             if not k.startswith("catalog.sqlite") and k != "lock"
             and not k.startswith("staging/")
             and (index_files or not k.startswith("index/"))}
    if not index_files:
        from archive.search.index import Index
        files["index: recordings"] = " ".join(sorted(Index(root / "index").recording_ids()))
    db = sqlite3.connect(f"{(root / 'catalog.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        dump = "\n".join(db.iterdump())
    finally:
        db.close()
    return {"files": files, "catalog": dump}


def template(make_dir: Callable[[str], Path], src: Path, *, model: str = "tiny.en",
             diarize: bool = False) -> Path:
    """An archive holding ``src`` (added with ``model``), built once per process."""
    key = f"{src}|{model}|{diarize}"
    if key not in _templates:
        from archive.ingest.pipeline import AddOptions
        from archive.library import Archive
        root = make_dir("template") / "arch"
        a = Archive.init(root)
        a.add(src, AddOptions(model=model, diarize=diarize, title="JFK inaugural",
                              tags=("speech",)))
        # Everything into the main database file, so that a copy needs no WAL replay.
        a.store.connect().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        a.store.connect().close()
        _templates[key] = root
    return _templates[key]


def clone(template_root: Path, dest: Path) -> Path:
    """A private copy of a template archive that a test may change."""
    shutil.copytree(template_root, dest, symlinks=True)
    return dest


def first_id(arch: Path) -> str:
    """The id of the (first) recording of an archive, read from its transcripts folder."""
    return next((arch / "transcripts").glob("*.json")).stem
