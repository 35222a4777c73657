"""The archive folder: transcripts on disk, custody log, pretty JSON."""

import json
from pathlib import Path

import pytest

from archive.errors import ArchiveNotFound, TranscriptCorrupt
from archive.models import Recording, Segment, Transcript, Word
from archive.evidence.store import CustodyLog, Store, dumps_pretty


def _t(rid: str, rev: int = 1) -> Transcript:
    rec = Recording(id=rid, filename="a.ogg", ext=".ogg", size=3, duration=2.0, title="A")
    words = (Word(0.1, 0.4, "Hello", 0.9, "S1"), Word(0.5, 0.9, "world.", 0.4, "S1"))
    return Transcript(recording=rec, revision=rev,
                      segments=(Segment(0, 0.1, 0.9, "Hello world.", words, "S1"),))


def test_not_an_archive(tmp_path: Path):
    with pytest.raises(ArchiveNotFound):
        Store(tmp_path / "nope")


def test_transcript_round_trip_and_history(tmp_path: Path):
    s = Store(tmp_path / "a", create=True)
    rid = "e" * 64
    s.write_transcript(_t(rid, 1))
    s.write_transcript(_t(rid, 2))
    assert s.revisions(rid) == [1, 2]
    assert s.read_transcript(rid).revision == 2
    assert s.read_transcript(rid, 1) == _t(rid, 1)
    text = s.transcript_path(rid).read_text()
    # Human-readable: each word on one line.
    assert '{"start": 0.1, "end": 0.4, "word": "Hello", "p": 0.9, "speaker": "S1"}' in text
    s.transcript_path(rid).write_text("{ not json")
    with pytest.raises(TranscriptCorrupt, match="corrupt"):
        s.read_transcript(rid)


def test_custody_chain_detects_tampering(tmp_path: Path):
    log = CustodyLog(tmp_path / "custody.log")
    for i in range(4):
        log.append("add", f"{i:064d}", n=i)
    assert log.check() == []
    assert [e["seq"] for e in log.events()] == [1, 2, 3, 4]
    lines = log.path.read_text().splitlines()
    # Edit one line's details: its hash no longer matches.
    d = json.loads(lines[1]); d["details"]["n"] = 99
    lines[1] = json.dumps(d, sort_keys=True)
    log.path.write_text("\n".join(lines) + "\n")
    assert any("does not match" in p for p in log.check())
    # Delete a line: the chain breaks.
    log.path.write_text("\n".join([lines[0]] + lines[2:]) + "\n")
    assert any("chain broken" in p for p in log.check())


def test_custody_torn_tail_is_repaired(tmp_path: Path):
    log = CustodyLog(tmp_path / "custody.log")
    log.append("init", None)
    with open(log.path, "a") as f:
        f.write('{"seq": 2, "half')
    assert log.repair_tail()
    log.append("add", "a" * 64)
    assert log.check() == []


def test_dumps_pretty_is_valid_json():
    t = _t("f" * 64)
    assert Transcript.from_json(json.loads(dumps_pretty(t.to_json()))) == t
