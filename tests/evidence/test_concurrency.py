"""Several processes at once: writers serialise on the archive lock (waiting with a message,
or timing out with a clear error); searches never fail while writers commit.

Whoosh deletes the segment files that a commit merged away; a search that opened the index
just before would see them vanish. The library reopens the index and retries such a read
(:meth:`archive.library.Archive._read_index`), which the searchers here exercise under a
writer that rewrites the index as fast as it can and rebuilds it with `archive reindex`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.evidence.fsutil import FileLock
from archive.library import Archive
from tests.conftest import shared
from tests.helpers.crash import child_env, cli, make_clip, sha256

MODEL = "tiny.en"

SEARCHER = """
import sys, time
from archive.library import Archive
root, stop = sys.argv[1], sys.argv[2]
n = errors = 0
import os
while not os.path.exists(stop) or n < 20:
    try:
        hits = Archive(root).search("country")
        assert hits and hits[0].recording_id, "no hits"
    except Exception as e:
        errors += 1
        print("ERROR", type(e).__name__, e, flush=True)
    n += 1
print(f"searches {n} errors {errors}")
"""

INDEX_WRITER = """
import sys
from archive.library import Archive
a = Archive(sys.argv[1])
rid = a.recordings()[0].id
for i in range(int(sys.argv[2])):
    with a.store.write_lock():
        t = a.store.read_transcript(rid)
        with a.index().writer() as w:
            w.remove(rid)
            w.add(t)
print("index writer done")
"""


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("clips")
    jfk = shared("jfk.flac")
    a = make_clip(d / "first.ogg", jfk, 5.0)
    b = d / "second.ogg"
    from tests.helpers.hostile import ffmpeg
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-ss", "5", "-i", str(jfk), "-ac",
                    "1", "-c:a", "libopus", str(b)], check=True)
    return [a, b]


@pytest.fixture(autouse=True)
def _inputs_untouched(clips: list[Path]):
    before = [sha256(p) for p in clips], sha256(shared("jfk.flac"))
    yield
    assert ([sha256(p) for p in clips], sha256(shared("jfk.flac"))) == before


def add_cmd(root: Path, src: Path) -> list[str]:
    return cli(root, "add", "-q", "--model", MODEL, "--no-diarize", str(src))


def popen(cmd: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**child_env(), **kw.pop("env", {})}, **kw)


@pytest.mark.slow
def test_two_writers_and_searchers_at_once(arch: Path, clips: list[Path], tmp_path: Path):
    stop = tmp_path / "stop"
    searchers = [popen([sys.executable, "-c", SEARCHER, str(arch), str(stop)])
                 for _ in range(3)]
    writers = [popen(add_cmd(arch, c)) for c in clips]
    writers.append(popen([sys.executable, "-c", INDEX_WRITER, str(arch), "25"]))
    out = [w.communicate(timeout=240) for w in writers]
    cli_search = [subprocess.run(cli(arch, "search", "fellow"), capture_output=True, text=True,
                                 env=child_env()) for _ in range(2)]
    rebuild = popen(cli(arch, "reindex"))
    out.append(rebuild.communicate(timeout=120))
    stop.touch()
    results = [s.communicate(timeout=120) for s in searchers]
    for w, (o, e) in zip(writers + [rebuild], out):
        assert w.returncode == 0, e
    for o, e in results:
        assert o.strip().endswith("errors 0"), o + e
        assert int(o.split("searches ")[1].split()[0]) >= 20
    for r in cli_search:
        assert r.returncode == 0 and "fellow" in r.stdout.lower(), r.stderr
    a = Archive(arch)
    assert len(a.recordings()) == 3
    rep = a.verify()
    assert rep.ok, rep.problems
    assert {h.title for h in a.search("country OR fellow OR americans", limit=50)} >= \
        {"first", "second"} or len({h.recording_id for h in a.search("country", limit=50)}) >= 2


def _hold_lock(root: Path) -> FileLock:
    lock = FileLock(root / "lock", timeout=5)
    lock.acquire()
    return lock


def test_second_writer_waits_with_a_message(arch: Path, clips: list[Path]):
    lock = _hold_lock(arch)
    try:
        p = popen(add_cmd(arch, clips[0]))
        t0 = time.monotonic()
        line = ""
        while time.monotonic() - t0 < 120:
            line = p.stderr.readline()
            if "waiting" in line or not line:
                break
        assert line.startswith(f"waiting for another archive process (pid {os.getpid()}) to "
                               "finish writing"), line
        time.sleep(0.5)
        assert p.poll() is None  # still waiting
    finally:
        lock.release()
    o, e = p.communicate(timeout=60)
    assert p.returncode == 0 and o.startswith("added "), e
    assert Archive(arch).verify().ok


def test_lock_timeout_is_one_clear_error(arch: Path, clips: list[Path]):
    from tests.helpers.evidence import archive_state
    before = archive_state(arch)
    lock = _hold_lock(arch)
    try:
        r = subprocess.run(add_cmd(arch, clips[1]), capture_output=True, text=True,
                           env={**child_env(), "ARCHIVE_LOCK_TIMEOUT": "1"}, timeout=120)
    finally:
        lock.release()
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("waiting for another archive process")
    assert len(lines) == 2 and lines[1].startswith(
        f"archive: error: the archive is busy: another archive process (pid {os.getpid()}) "
        "has been writing to it for more than 1 s; try again later"), r.stderr
    assert archive_state(arch) == before


def test_same_file_added_twice_at_once(arch: Path, clips: list[Path]):
    ps = [popen(add_cmd(arch, clips[0])) for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in ps]
    assert [p.returncode for p in ps] == [0, 0], outs
    stdout = "".join(o for o, _ in outs)
    assert stdout.count("added ") == 1 and stdout.count("already archived: first.ogg") == 1
    a = Archive(arch)
    assert len(a.recordings()) == 2 and a.verify().ok
    assert [e["event"] for e in a.log()].count("add") == 2
