"""Several files at once on this machine: the analyses run in worker processes.

``archive add DIR --jobs N`` starts N worker processes (spawned, not forked: a fork would copy
this process's threads and whatever model it holds), each analysing one file at a time with
:func:`threads_per_job` recogniser threads. This process stages, checks and commits
(:mod:`archive.ingest.batch`); a worker gets the path of the private staged copy and never
writes to the archive.

A worker that dies (killed, out of memory, a decoder that crashes on one file) breaks the
pool. The pool is restarted and the files that were in flight are analysed again one at a
time, so that a file that kills its worker again is reported on its own (:class:`WorkerLost`)
while the others are added.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ArchiveError, UsageError, WorkerLost
from .remote import Job, analyse_path


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """Recogniser threads for each of ``jobs`` workers: ``$ARCHIVE_THREADS`` if set, else
    the cores shared out, at least one.

    Measured with ``bench/throughput.py`` on a 2-core machine shared with other work. Before
    the recogniser batched its windows (tiny.en, 22 notes), two workers of one thread each
    took 0.79x the wall time of one file at a time on two threads. With batched decoding
    (base, 8 notes, no diarization) the two are even (1.01x): one batched recogniser
    already keeps two cores busy, so ``--jobs`` pays on machines with more cores than one
    recogniser uses well. The thread count does not change the words (the same transcripts
    with 1 and 2 threads on jfk, German, Spanish and Russian clips, and across the
    bench's runs).
    """
    env = os.environ.get("ARCHIVE_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, (cores or usable_cores()) // max(1, jobs))


def _init_worker() -> None:
    # Ctrl-C reaches the whole process group; stopping the batch is the parent's decision,
    # and a worker's KeyboardInterrupt traceback would only clutter the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Stopped by the parent: exit through the interpreter, so that what the libraries made
    # (tqdm's semaphore) is cleaned up rather than reported leaked by the resource tracker.
    signal.signal(signal.SIGTERM, _exit)


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


@dataclass(eq=False)
class _Task:
    staged: Path
    job: Job
    future: Future[Any] | None = None
    lost: ArchiveError | None = None


class ProcessBackend:
    """Analyses in ``jobs`` worker processes on this machine (see the module docstring).

    Args:
        jobs: Worker processes, at least 1.
        threads: Recogniser threads per worker (default: :func:`threads_per_job`).

    Raises:
        UsageError: If ``jobs`` or ``threads`` is below 1.
    """

    def __init__(self, jobs: int, *, threads: int | None = None) -> None:
        if jobs < 1 or (threads is not None and threads < 1):
            raise UsageError("--jobs and the thread count must be at least 1")
        self.jobs = jobs
        self.threads = threads or threads_per_job(jobs)
        self._pool: ProcessPoolExecutor | None = None
        self._live: list[_Task] = []

    @property
    def slots(self) -> int:
        """Analyses that run at once: one per worker."""
        return self.jobs

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs,
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker)
        return self._pool

    def _send(self, task: _Task) -> Future[Any]:
        try:
            return self._executor().submit(analyse_path, str(task.staged), task.job)
        except BrokenProcessPool:  # broke since the last result: start afresh
            self._recover()
            return self._executor().submit(analyse_path, str(task.staged), task.job)

    def submit(self, staged: Path, job: Job) -> _Task:
        """Queue one staged file for analysis."""
        task = _Task(staged, replace(job, threads=self.threads))
        self._live.append(task)
        task.future = self._send(task)
        return task

    def result(self, task: _Task) -> Any:
        """Wait for a file's analysis (see :func:`archive.ingest.batch.analyse_path`).

        Raises:
            WorkerLost: If its worker died, and died again when it was analysed alone.
            ArchiveError: If the worker failed in an unexpected way.
        """
        try:
            while True:
                if task.lost is not None:
                    raise task.lost
                assert task.future is not None
                try:
                    return task.future.result()
                except BrokenProcessPool:
                    self._recover()
                except Exception as e:  # a bug in the analysis: this file fails, not the batch
                    first = (str(e).splitlines() or [""])[0][:200]
                    raise ArchiveError(f"{task.job.filename}: the analysis failed in its "
                                       f"worker: {type(e).__name__}: {first}") from None
        finally:
            self._live.remove(task)

    def _recover(self) -> None:
        """A worker died: analyse the files that were in flight again, one at a time."""
        suspects = [t for t in self._live
                    if t.lost is None and t.future is not None and _broken(t.future)]
        self._drop_pool()
        for t in suspects:
            fut = self._executor().submit(analyse_path, str(t.staged), t.job)
            # Wait for it alone: a death now is this file's doing.
            if isinstance(fut.exception(), BrokenProcessPool):
                t.lost = WorkerLost(f"{t.job.filename}: the worker analysing it died, and died "
                                    "again when it was analysed alone; nothing was added")
                self._drop_pool()
            t.future = fut
        # Files queued after the break went to the broken pool: send them again.
        for t in self._live:
            if t.lost is None and t.future is not None and _broken(t.future):
                t.future = self._executor().submit(analyse_path, str(t.staged), t.job)

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Stop the workers; those still analysing (an interrupted batch) are ended."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if any(t.future is not None and not t.future.done() for t in self._live):
            # No public way before Python 3.14 (terminate_workers); waiting would let each
            # worker finish a file nobody will commit.
            procs = list((getattr(pool, "_processes", None) or {}).values())
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
            for proc in procs:
                proc.join(5.0)  # a SIGTERM waits for the native call it arrived in
                if proc.is_alive():
                    proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        self._live.clear()


def _broken(fut: Future[Any]) -> bool:
    return not fut.done() or isinstance(fut.exception(), BrokenProcessPool)
