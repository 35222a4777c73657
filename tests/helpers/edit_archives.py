"""Archives built once per test session for the correction tests (tests/test_corrections.py and
tests/test_cli_edit.py share them), and cheap per-test copies that tests may modify.

Building costs real transcription with the default model, so each template is made once per
process and cached here; a test works on :func:`clone`, never on the template.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent.parent
COMMANDER = ROOT / "audio_samples" / "audio_2022-03-14_21-07-33.ogg"

_templates: dict[str, Path] = {}


def _template(name: str, make_dir: Callable[[str], Path],
              build: Callable[[Path], None]) -> Path:
    if name not in _templates:
        root = make_dir(name) / "arch"
        build(root)
        _templates[name] = root
    return _templates[name]


def _close(a) -> None:
    # Everything into the main database file, so that a copy needs no WAL replay.
    a.store.connect().execute("PRAGMA wal_checkpoint(TRUNCATE)")


def commander(make_dir: Callable[[str], Path]) -> Path:
    """An archive holding the project's commander voice note (no diarization)."""
    def build(root: Path) -> None:
        from archive.ingest.pipeline import AddOptions
        from archive.library import Archive
        a = Archive.init(root)
        a.add(COMMANDER, AddOptions(title="Commander voice note", diarize=False))
        _close(a)
    return _template("commander", make_dir, build)


def multilingual(make_dir: Callable[[str], Path], audio: Path) -> Path:
    """An archive holding ../shared/audio/multilingual.mp3 and its English translation, made
    after the fact with ``Archive.translate``."""
    def build(root: Path) -> None:
        from archive.ingest.pipeline import AddOptions
        from archive.library import Archive
        a = Archive.init(root)
        rec = a.add(audio, AddOptions(title="Licence, English then German", diarize=False))
        a.translate(rec.id)
        _close(a)
    return _template("multilingual", make_dir, build)


def clone(template: Path, dest: Path):
    """A private copy of a template archive, opened."""
    from archive.library import Archive
    shutil.copytree(template, dest)
    return Archive(dest)
