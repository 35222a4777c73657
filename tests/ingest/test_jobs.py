"""--jobs: several files analysed at once in worker processes, committed as one at a time."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.ingest.jobs import threads_per_job
from archive.ingest.pipeline import AddOptions
from archive.library import Archive
from tests.ingest.conftest import BAD, GOOD, MODEL, TWIN, same_archive

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def parallel(clips: Path, tmp_path_factory: pytest.TempPathFactory):
    """``archive add --jobs 2`` of the clips folder, through the CLI."""
    root = tmp_path_factory.mktemp("jobs2") / "arch"
    Archive.init(root)
    r = CliRunner().invoke(main, ["--archive", str(root), "add", "--jobs", "2", "--model", MODEL,
                                  str(clips)])
    return Archive(root), r


def test_jobs_2_makes_the_same_archive_as_one_at_a_time(serial, parallel):
    a, r = parallel
    assert "3 added, 1 already archived, 3 failed" in r.stdout
    same_archive(serial[0], a)
    jfk = next(x for x in a.recordings() if x.filename == "jfk.flac")
    words = a.transcript(jfk.id).text.lower()
    assert "ask not what your country can do for you" in words, words
    assert a.verify().ok


def test_one_bad_file_does_not_stop_the_batch(parallel):
    a, r = parallel
    assert r.exit_code == 1
    # Results come in walk order, the bad files among the good ones.
    lines = [x for x in r.stdout.splitlines() if x.startswith("added ")]
    assert [x.split("  ")[1] for x in lines] == [Path(n).stem for n in GOOD]
    errors = r.stderr.strip().splitlines()
    assert len(errors) == len(BAD) and all(e.startswith("archive: error: ") for e in errors)
    broken, notes, pipe = errors
    assert "broken.ogg: truncated" in broken  # found by the worker, reported by name
    assert "notes.ogg" in notes and "pipe.ogg: not a regular file" in pipe
    assert f"already archived: {TWIN} is " in r.stdout  # the same bytes twice in one batch
    assert not any((a.root / "staging").iterdir())


def _loaded_ctranslate2(pid: int) -> bool:
    try:
        return "ctranslate2" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def test_a_worker_killed_mid_file_is_replaced_and_the_file_analysed_again(serial, clips,
                                                                        tmp_path):
    """SIGKILL a worker once it is transcribing: every file is still added, exactly as
    one at a time, and verify finds nothing wrong."""
    a = Archive.init(tmp_path / "arch")
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        while not stop.is_set() and not killed:
            for p in multiprocessing.active_children():
                if p.pid and _loaded_ctranslate2(p.pid):
                    os.kill(p.pid, signal.SIGKILL)
                    killed.append(p.pid)
                    return
            time.sleep(0.02)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    seen = []
    try:
        results = list(a.add_many([clips / "jfk.flac", clips / "stereo_call.wav"],
                                  AddOptions(model=MODEL), jobs=2, overall=seen.append))
    finally:
        stop.set()
        th.join()
    assert killed, "no worker was seen transcribing"
    assert [r.error for r in results] == [None, None]
    assert a.verify().ok
    ref = {r.recording.id: serial[0].transcript(r.recording.id).text
           for r in serial[1] if r.recording}
    for r in results:
        assert a.transcript(r.recording.id).text == ref[r.recording.id]
    last = seen[-1]
    assert (last.files_done, last.files_total) == (2, 2) and last.eta == 0.0
    audio = sum(r.recording.duration for r in results)
    assert last.seconds_done == pytest.approx(audio, abs=0.5)
    assert [s.files_done for s in seen] == [0, 1, 2]


def test_threads_are_shared_out_among_the_workers(monkeypatch):
    monkeypatch.delenv("ARCHIVE_THREADS", raising=False)
    assert threads_per_job(2, cores=2) == 1
    assert threads_per_job(1, cores=2) == 2
    assert threads_per_job(4, cores=2) == 1
    assert threads_per_job(3, cores=16) == 5
    monkeypatch.setenv("ARCHIVE_THREADS", "3")
    assert threads_per_job(2, cores=2) == 3
