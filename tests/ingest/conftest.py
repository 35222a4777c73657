"""Fixtures for the batch tests: a folder of short real recordings with bad files among
them, and the archive that one-at-a-time adding makes of it (the reference)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import shared

#: The small English model keeps these tests short; the clips are English.
MODEL = "tiny.en"
GOOD = ("jfk.flac", "leopard_diarization_test.wav", "stereo_call.wav")
BAD = ("broken.ogg", "notes.ogg", "pipe.ogg")
#: A second copy of jfk.flac under another name: the same bytes, so "already archived".
TWIN = "jfk_copy.flac"


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """jfk, a 3-speaker clip and a stereo call, with a cut Ogg file (found bad by the
    worker), a text file named .ogg and a FIFO (both found bad here) walked between them,
    and a copy of jfk right after it."""
    d = tmp_path_factory.mktemp("clips") / "leak"
    d.mkdir()
    for name in ("jfk.flac", "stereo_call.wav"):
        shutil.copyfile(shared(name), d / name)
    shutil.copyfile(shared("jfk.flac"), d / TWIN)
    shutil.copyfile(shared("real/leopard_diarization_test.wav"),
                    d / "leopard_diarization_test.wav")
    whole = shared("real/fleurs-de-000.ogg").read_bytes()
    (d / "broken.ogg").write_bytes(whole[: len(whole) // 2])
    (d / "notes.ogg").write_text("meeting notes, not audio\n")
    os.mkfifo(d / "pipe.ogg")
    return d


@pytest.fixture(scope="session")
def serial(clips: Path, tmp_path_factory: pytest.TempPathFactory):
    """The archive that adding ``clips`` one file at a time makes, with its results."""
    from archive.ingest.pipeline import AddOptions
    from archive.library import Archive
    a = Archive.init(tmp_path_factory.mktemp("serial") / "arch")
    results = list(a.add_many([clips], AddOptions(model=MODEL)))
    assert [r.path.name for r in results if r.recording] == sorted(GOOD)
    assert [r.path.name for r in results if r.duplicate_of] == [TWIN]
    return a, results


_TIMES = re.compile(r'"(added|created)": "[^"]*"')


def records(archive) -> dict[str, str]:
    """Every transcript and history file, by path, with creation times blanked."""
    out = {}
    for sub in ("transcripts", "history"):
        for f in sorted((archive.root / sub).rglob("*.json")):
            out[str(f.relative_to(archive.root))] = _TIMES.sub(r'"\1": ""', f.read_text())
    return out


#: Custody digests of files that hold creation times (verify checks them against the files).
_TIMED_DIGESTS = ("transcript_sha256", "catalog_sha256", "translation_sha256")


def custody(archive) -> list[tuple]:
    """The custody events after ``init``: what happened to which recording, in order."""
    return [(e["event"], e["recording"],
             {k: v for k, v in e["details"].items() if k not in _TIMED_DIGESTS})
            for e in archive.log() if e["event"] != "init"]


def same_archive(a, b) -> None:
    """Assert that two archives hold the same records, modulo creation times."""
    ra, rb = records(a), records(b)
    assert sorted(ra) == sorted(rb)
    for k in ra:
        assert ra[k] == rb[k], k
    assert custody(a) == custody(b)
    from dataclasses import replace
    def rows(x):  # listed by time added, which differs between runs: compare by id
        return sorted((replace(r, added="") for r in x.recordings()), key=lambda r: r.id)
    assert rows(a) == rows(b)
    assert [(h.recording_id, h.start, h.end) for h in a.search("country")] == \
        [(h.recording_id, h.start, h.end) for h in b.search("country")]
