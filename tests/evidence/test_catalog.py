"""The catalog: recording rows and id prefixes."""

from pathlib import Path

import pytest

from archive.errors import AmbiguousId, RecordingNotFound, UsageError
from archive.models import Recording
from archive.evidence.store import Store


def _rec(rid: str) -> Recording:
    return Recording(id=rid, filename="a.ogg", ext=".ogg", size=3, duration=2.0, title="A")


def test_prefix_resolution(tmp_path: Path):
    s = Store(tmp_path / "a", create=True)
    with s.transaction() as db:
        for rid in ("abcd" + "0" * 60, "abce" + "1" * 60, "abcd9" + "2" * 59):
            s.put_recording(db, _rec(rid), 1)
    assert s.resolve("abce") == "abce" + "1" * 60
    assert s.resolve("ABCD0") == "abcd" + "0" * 60
    with pytest.raises(AmbiguousId):
        s.resolve("abcd")
    with pytest.raises(RecordingNotFound):
        s.resolve("ffff")
    with pytest.raises(UsageError):
        s.resolve("ab")
    with pytest.raises(UsageError):
        s.resolve("xyz!")
