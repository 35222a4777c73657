"""Atomic writes, the write lock and staging folders."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.errors import LockTimeout
from archive.evidence.fsutil import FileLock, atomic_write_text, staging_dir, sweep_staging


def test_atomic_write_leaves_no_temp(tmp_path: Path):
    p = tmp_path / "f.json"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert [x.name for x in tmp_path.iterdir()] == ["f.json"]


def test_lock_waits_then_times_out(tmp_path: Path):
    lock_path = tmp_path / "lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, %r); from archive.evidence.fsutil import FileLock; "
        "l = FileLock(%r); l.acquire(); print('held', flush=True); time.sleep(30)")
        % (str(Path(__file__).parent.parent.parent), str(lock_path))], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        waits = []
        t0 = time.monotonic()
        with pytest.raises(LockTimeout, match="busy"):
            FileLock(lock_path, timeout=0.5, on_wait=waits.append).acquire()
        assert time.monotonic() - t0 >= 0.5
        assert waits and "pid" in waits[0]
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its holder.
    with FileLock(lock_path, timeout=2):
        pass


def test_staging_swept_only_when_owner_dead(tmp_path: Path):
    root = tmp_path / "staging"
    with staging_dir(root) as d:
        (d / "x").write_text("partial")
        assert sweep_staging(root) == []  # ours is alive and locked
        assert d.exists()
    assert not any(root.iterdir())
    dead = root / "12345-1"
    dead.mkdir()
    (dead / "original.ogg").write_bytes(b"half")
    assert sweep_staging(root) == [dead]
    assert not dead.exists()
