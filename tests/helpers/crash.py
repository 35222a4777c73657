"""Kill `archive add` with SIGKILL at chosen moments and check the archive afterwards.

Shared by ``tests/test_kill.py`` and ``bench/crash.py``. Nothing here mocks the pipeline: the
real CLI runs in a child process with the real model and is killed with SIGKILL

* from outside, at a random time since start (``mode="time"``), or at a random delay after its
  commit began (``mode="commit"``: its journal record appears in ``<archive>/journal/``,
  polled every half millisecond; a commit takes 10-40 ms);
* or by itself, at a named step boundary of the commit (:data:`KILL_POINTS`): the child
  wraps that function so that it sends itself SIGKILL just before or after it runs (or, for
  ``custody-torn``, after writing half of the custody log line). Only the moment of death is
  chosen; everything else runs as in production.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def sha256(path: Path) -> str:
    """SHA-256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_clip(dest: Path, src: Path, seconds: float = 4.0) -> Path:
    """An Ogg Opus voice note of the first ``seconds`` of ``src`` (real speech), via ffmpeg."""
    from .hostile import ffmpeg
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-i", str(src), "-t", str(seconds),
                    "-ac", "1", "-c:a", "libopus", "-b:a", "24k", str(dest)], check=True)
    return dest


def cli(root: Path, *args: str) -> list[str]:
    """The command line of ``archive --archive ROOT ARGS`` in this interpreter."""
    return [sys.executable, "-m", "archive", "--archive", str(root), *args]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    return env


#: Step boundaries of a commit where a child kills itself: name -> (target, when).
KILL_POINTS: dict[str, tuple[str, str]] = {
    "staged": ("archive.evidence.fsutil:copy_hashing", "after"),
    "journal-written": ("archive.evidence.store:Store.journal_begin", "after"),
    "original-stored": ("archive.evidence.store:Store.store_original", "after"),
    "history-written": ("archive.evidence.fsutil:atomic_write_bytes", "after"),
    "transcript-written": ("archive.evidence.store:Store.write_transcript", "after"),
    "catalog-in-transaction": ("archive.evidence.store:Store.put_speakers", "after"),
    "catalog-committed": ("archive.search.index:Index.writer", "before"),
    "index-segments-written": ("whoosh.index:TOC.write", "before"),
    "index-toc-written": ("whoosh.index:clean_files", "before"),
    "custody-before": ("archive.evidence.store:CustodyLog.append", "before"),
    "custody-torn": ("os:write", "torn"),
    "journal-end": ("archive.evidence.store:Store.journal_end", "before"),
}


def arm(point: str) -> None:
    """In a child process: make it SIGKILL itself at ``point``: a key of KILL_POINTS, or
    ``"module:Class.method@before"`` / ``"…@after"``."""
    import importlib
    target, when = KILL_POINTS[point] if point in KILL_POINTS else point.split("@")
    mod_name, attr = target.split(":")
    mod = importlib.import_module(mod_name)
    owner, name = (mod, attr) if "." not in attr else \
        (getattr(mod, attr.split(".")[0]), attr.split(".")[1])
    orig = getattr(owner, name)
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)  # noqa: E731
    if when == "torn":  # os.write of a custody line: write half of it, then die
        def wrapper(fd, data, *a):  # type: ignore[no-untyped-def]
            b = bytes(data)
            if b.startswith(b'{"details"') and b'"event": "add"' in b:
                orig(fd, b[:len(b) // 2])
                die()
            return orig(fd, data, *a)
    else:
        def wrapper(*a, **kw):  # type: ignore[no-untyped-def]
            # atomic_write_bytes: only the commit's first transcript write (history/) counts
            armed = name != "atomic_write_bytes" or (bool(a) and "history" in str(a[0]))
            if armed and when == "before":
                die()
            out = orig(*a, **kw)
            if armed and when == "after":
                die()
            return out
    setattr(owner, name, wrapper)
    if "." not in attr:  # modules that imported the function by name
        for m in ("archive.evidence.store", "archive.ingest.pipeline", "archive.editing.revisions", "archive.evidence.integrity",
                  "archive.evidence.recovery"):
            mm = importlib.import_module(m)
            if getattr(mm, name, None) is orig:
                setattr(mm, name, wrapper)


@dataclass
class Kill:
    """One killed run: how it was aimed and where it hit."""

    mode: str          # "time" (random moment since start) or "commit" (after commit began)
    delay: float       # seconds after start (time) or after the journal appeared (commit)
    killed: bool       # False when the process finished before the kill
    in_commit: bool    # a journal record existed when the kill landed
    returncode: int


def kill_add(root: Path, src: Path, *, model: str, diarize: bool, mode: str,
             rng: random.Random, span: float, window: float = 0.04,
             point: str | None = None) -> Kill:
    """Run ``archive add SRC`` and SIGKILL it.

    Args:
        mode: ``time``: at a uniform random moment in [0, span] seconds after start;
            ``commit``: at a uniform random delay in [0, window] after the commit's journal
            record appears; ``point``: the child kills itself at ``point``.
        span: Wall time of a complete add (for ``time``), or the longest wait for the commit.
    """
    args = ["add", "-q", "--model", model] + ([] if diarize else ["--no-diarize"]) + [str(src)]
    jdir = root / "journal"
    cmd = cli(root, *args)
    if mode == "point":
        code = (f"import sys; from tests.helpers.crash import arm; arm({point!r}); "
                f"from archive.cli import main; main({cmd[3:]!r}, prog_name='archive')")
        cmd = [sys.executable, "-c", code]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=child_env())
    t0 = time.monotonic()
    delay = 0.0
    try:
        if mode == "point":
            p.wait(timeout=span)
        elif mode == "time":
            delay = rng.uniform(0.0, span)
            while time.monotonic() - t0 < delay and p.poll() is None:
                time.sleep(0.002)
        else:
            delay = rng.uniform(0.0, window)
            while p.poll() is None and time.monotonic() - t0 < span:
                if _journalled(jdir):
                    break
                time.sleep(0.0005)
            t1 = time.monotonic()
            while time.monotonic() - t1 < delay and p.poll() is None:
                time.sleep(0.001)
        in_commit = _journalled(jdir)
        killed = p.poll() is None
        if killed:
            p.send_signal(signal.SIGKILL)
    finally:
        p.wait()
        if p.stderr:
            p.stderr.close()
    if mode == "point":
        killed = p.returncode == -signal.SIGKILL
        in_commit = killed and _journalled(jdir)
    return Kill(mode if mode != "point" else f"point {point}", delay, killed,
                in_commit and killed, p.returncode)


def _journalled(jdir: Path) -> bool:
    try:
        return any(n.startswith("add-") and n.endswith(".json") for n in os.listdir(jdir))
    except OSError:
        return False


def fill_disk_at_commit(leave: int) -> None:
    """In a child process: when an add's commit begins, fill the archive's file system so that
    only ``leave`` bytes stay free (the filler is ``<archive>/../filler``)."""
    from archive.ingest.pipeline import Ingest
    orig = Ingest.commit

    def commit(self, staged, *a, **kw):  # type: ignore[no-untyped-def]
        folder = self.store.root.parent
        st = os.statvfs(folder)
        with open(folder / "filler", "wb") as f:
            f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
        return orig(self, staged, *a, **kw)
    Ingest.commit = commit  # type: ignore[method-assign]


def run_disk_full(root: Path, leave: int, *args: str) -> subprocess.CompletedProcess:
    """Run ``archive --archive ROOT ARGS`` in a child whose disk fills up as it commits."""
    code = (f"from tests.helpers.crash import fill_disk_at_commit; "
            f"fill_disk_at_commit({leave}); "
            f"from archive.cli import main; main({cli(root, *args)[3:]!r}, prog_name='archive')")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=child_env(), timeout=300)


def run_killed(root: Path, point: str, *args: str,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``archive --archive ROOT ARGS`` in a child that SIGKILLs itself at ``point``."""
    code = (f"import sys; from tests.helpers.crash import arm; arm({point!r}); "
            f"from archive.cli import main; main({cli(root, *args)[3:]!r}, prog_name='archive')")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**child_env(), **(env or {})}, timeout=300)


def check_and_reset(root: Path, rid: str) -> tuple[list[str], list[str], bool]:
    """Verify the archive in this process (which recovers first) and remove ``rid`` again if
    the killed add had completed, so the next run adds it anew.

    Returns:
        (problems, what recovery did, whether the recording was in the archive).
    """
    from archive.library import Archive
    a = Archive(root)
    rep = a.verify()
    present = a.store.has(rid)
    if present:
        a.remove(rid, reason="crash test reset", purge=True)
    a.store.connect().close()
    return list(rep.problems), list(rep.recovered), present
