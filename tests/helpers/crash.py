"""Kill `archive add` with SIGKILL at chosen moments and check the archive afterwards.

Shared by ``tests/test_kill.py`` and ``bench/crash.py``. Nothing here mocks the pipeline: the
real CLI runs in a child process with the real model and is killed from outside, either at a
random time since start, or at a random delay after its commit began (the moment its journal
record appears in ``<archive>/journal/``, polled every millisecond).
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


@dataclass
class Kill:
    """One killed run: how it was aimed and where it hit."""

    mode: str          # "time" (random moment since start) or "commit" (after commit began)
    delay: float       # seconds after start (time) or after the journal appeared (commit)
    killed: bool       # False when the process finished before the kill
    in_commit: bool    # a journal record existed when the kill landed
    returncode: int


def kill_add(root: Path, src: Path, *, model: str, diarize: bool, mode: str,
             rng: random.Random, span: float, window: float = 0.25) -> Kill:
    """Run ``archive add SRC`` and SIGKILL it.

    Args:
        mode: ``time``: at a uniform random moment in [0, span] seconds after start;
            ``commit``: at a uniform random delay in [0, window] after the commit's journal
            record appears.
        span: Wall time of a complete add (for ``time``), or the longest wait for the commit.
    """
    args = ["add", "-q", "--model", model] + ([] if diarize else ["--no-diarize"]) + [str(src)]
    jdir = root / "journal"
    p = subprocess.Popen(cli(root, *args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=child_env())
    t0 = time.monotonic()
    delay = 0.0
    try:
        if mode == "time":
            delay = rng.uniform(0.0, span)
            while time.monotonic() - t0 < delay and p.poll() is None:
                time.sleep(0.002)
        else:
            delay = rng.uniform(0.0, window)
            while p.poll() is None and time.monotonic() - t0 < span:
                if any(jdir.glob("add-*.json")):
                    break
                time.sleep(0.001)
            t1 = time.monotonic()
            while time.monotonic() - t1 < delay and p.poll() is None:
                time.sleep(0.001)
        in_commit = any(jdir.glob("add-*.json"))
        killed = p.poll() is None
        if killed:
            p.send_signal(signal.SIGKILL)
    finally:
        p.wait()
        if p.stderr:
            p.stderr.close()
    return Kill(mode, delay, killed, in_commit and killed, p.returncode)


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
