"""--cluster: analyses on Dask workers (a LocalCluster of 2 worker processes on 127.0.0.1)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.errors import ModelHashMismatch
from archive.ingest import cluster as cl
from archive.ingest.pipeline import AddOptions
from archive.ingest.remote import Job, ModelRef, accept
from archive.library import Archive
from tests.ingest.conftest import GOOD, MODEL, TWIN, same_archive

distributed = pytest.importorskip("distributed", reason="Dask is the optional extra "
                                  "archive[cluster]; install it to test --cluster")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local():
    with cl.local_cluster(2) as c:
        yield c


def test_an_add_through_a_local_cluster_makes_the_same_archive(serial, clips, local, tmp_path):
    a = Archive.init(tmp_path / "arch")
    results = list(a.add_many([clips], AddOptions(model=MODEL), cluster=local.scheduler_address))
    assert [r.path.name for r in results if r.recording] == sorted(GOOD)
    assert [r.path.name for r in results if r.duplicate_of] == [TWIN]
    assert "broken.ogg: truncated" in str(next(r.error for r in results
                                               if r.path.name == "broken.ogg"))
    same_archive(serial[0], a)
    assert a.verify().ok


def test_a_worker_killed_mid_task_is_replaced_and_nothing_is_half_written(serial, clips,
                                                                          local, tmp_path):
    a = Archive.init(tmp_path / "arch")
    killed: list[str] = []
    stop = threading.Event()

    def killer() -> None:
        with distributed.Client(local.scheduler_address, set_as_default=False) as c:
            while not stop.is_set():
                busy = [w for w, keys in c.processing().items()
                        if any(str(k).startswith("archive-analyse") for k in keys)]
                if busy:
                    time.sleep(0.5)  # well inside the analysis of a 15 s file
                    pid = c.run(os.getpid, workers=busy[:1])[busy[0]]
                    if any(busy[0] == w for w, keys in c.processing().items() if keys):
                        os.kill(pid, signal.SIGKILL)
                        killed.append(busy[0])
                    return
                time.sleep(0.05)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    try:
        results = list(a.add_many([clips / "leopard_diarization_test.wav"],
                                  AddOptions(model=MODEL), cluster=local.scheduler_address))
    finally:
        stop.set()
        th.join()
    assert killed, "the worker finished before it could be killed"
    (r,) = results
    assert r.error is None and r.recording is not None
    ref = next(x.recording.id for x in serial[1] if x.path.name == r.path.name)
    assert a.transcript(r.recording.id).text == serial[0].transcript(ref).text
    assert a.verify().ok
    assert not any((a.root / "staging").iterdir())


def test_a_worker_refuses_a_model_whose_hash_differs(clips, local, tmp_path):
    staged = clips / "jfk.flac"
    data = staged.read_bytes()
    import hashlib
    job = Job(hashlib.sha256(data).hexdigest(), len(data), "jfk.flac", ".flac",
              AddOptions(model=MODEL, diarize=False), ModelRef(MODEL, "0" * 64))
    backend = cl.DaskBackend(local.scheduler_address)
    try:
        answer = backend.result(backend.submit(staged, job))
    finally:
        backend.close()
    assert answer["error"] == "ModelHashMismatch"
    with pytest.raises(ModelHashMismatch, match="install the same model on the workers"):
        accept(answer, job, 11.0)


def test_an_unreachable_scheduler_is_a_one_line_error(clips, tmp_path, monkeypatch):
    monkeypatch.setattr(cl, "CONNECT_TIMEOUT", 1.0)
    Archive.init(tmp_path / "arch")
    r = CliRunner().invoke(main, ["--archive", str(tmp_path / "arch"), "add", "--model", MODEL,
                                  str(clips / "jfk.flac")],
                           env={"ARCHIVE_CLUSTER": "tcp://127.0.0.1:9"})
    assert r.exit_code == 1
    assert r.stderr.startswith("archive: error: cannot reach the Dask scheduler at "
                               "tcp://127.0.0.1:9") and r.stderr.count("\n") == 1
    assert Archive(tmp_path / "arch").recordings() == []


def test_jobs_and_cluster_together_are_refused(clips, tmp_path):
    Archive.init(tmp_path / "arch")
    r = CliRunner().invoke(main, ["--archive", str(tmp_path / "arch"), "add", "--jobs", "2",
                                  "--cluster", "tcp://127.0.0.1:9", str(clips / "jfk.flac")])
    assert r.exit_code != 0 and "--jobs and --cluster do not go together" in r.stderr
