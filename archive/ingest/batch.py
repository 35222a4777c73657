"""Adding many files at once: the analysis runs elsewhere, the archive keeps the rest.

The archive's own process walks, checks, hashes and stages every file, as a single add does.
Only the analysis (:meth:`Ingest.analyse <archive.ingest.pipeline.Ingest.analyse>`: decode,
transcribe, diarize, translate) is handed to a *backend*: worker processes on this machine
(:mod:`archive.ingest.jobs`) or Dask workers (:mod:`archive.ingest.cluster`). A worker gets the
audio (its bytes, or for a local process the path of the private staged copy), the options and
the model's name and hash (:class:`~archive.ingest.remote.Job`); it checks the model hash before use and sends back
the transcript with the hash of the audio it read. Back here each result is checked
(:func:`accept`: audio hash, model hash, word times inside the audio) and committed through
:meth:`Ingest.commit <archive.ingest.pipeline.Ingest.commit>`, the same journalled write as a
single add, one at a time and in the order the files were walked, so the archive is the same
whatever ran the analysis. A worker never writes to the archive: a worker that dies leaves
nothing half-written.
"""

from __future__ import annotations

import time
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

from ..errors import AlreadyArchived, ArchiveError, InputError, UsageError
from ..evidence.fsutil import staging_dir
from ..speech import audio
from .pipeline import AddOptions, AddResult, Ingest, walk
from .remote import Job, ModelRef, accept


@dataclass(frozen=True)
class BatchProgress:
    """How far a batch of adds has come.

    Attributes:
        files_done: Files finished (added, already archived or failed).
        files_total: Files in the batch.
        seconds_done: Seconds of audio in the finished files.
        seconds_total: Seconds of audio in the batch, as the containers announce it.
        elapsed: Wall-clock seconds since the batch started.
        eta: Estimated seconds left, or None before anything was analysed.
    """

    files_done: int
    files_total: int
    seconds_done: float
    seconds_total: float
    elapsed: float
    eta: float | None


#: overall(progress): called after each file of a batch (and once at its start).
Overall = Callable[[BatchProgress], None]


class Tally:
    """Counts a batch's progress; :meth:`progress` gives the figures so far."""

    def __init__(self, durations: list[float], clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._t0 = clock()
        self.files_total = len(durations)
        self.seconds_total = float(sum(durations))
        self.files_done = 0
        self.seconds_done = 0.0
        self._analysed = 0.0  # seconds of audio that went through a model

    def finish(self, seconds: float, analysed: bool) -> None:
        """Count one file done, with its audio duration."""
        self.files_done += 1
        self.seconds_done += seconds
        if analysed:
            self._analysed += seconds

    def progress(self) -> BatchProgress:
        """The figures so far; the ETA assumes the rate of audio analysed up to now."""
        elapsed = self._clock() - self._t0
        eta = None
        if self._analysed > 0 and elapsed > 0:
            eta = max(0.0, self.seconds_total - self.seconds_done) * elapsed / self._analysed
        return BatchProgress(self.files_done, self.files_total, self.seconds_done,
                             self.seconds_total, elapsed, eta)


def announced_seconds(path: Path) -> float:
    """Duration a file's container announces, or 0 when it cannot be read (for progress)."""
    try:
        if not path.is_file():  # a FIFO would block the probe; the add reports it
            return 0.0
        return max(0.0, float(audio.probe(path).duration or 0.0))
    except (ArchiveError, OSError):
        return 0.0


class Backend(Protocol):
    """Where analyses run: :class:`archive.ingest.jobs.ProcessBackend` or
    :class:`archive.ingest.cluster.DaskBackend`."""

    @property
    def slots(self) -> int:
        """How many analyses run at once."""

    def submit(self, staged: Path, job: Job) -> Any:
        """Start analysing a staged file; returns a handle for :meth:`result`."""

    def result(self, handle: Any) -> Any:
        """Wait for an analysis; raises an ArchiveError if it could not be done."""

    def close(self) -> None:
        """Stop the workers this backend started (or let go of the cluster)."""


def add_files(ingest: Ingest, paths: Iterable[Path | str], opts: AddOptions, *,
              progress: Callable[[Path, str, float, float], None] | None = None,
              on_wait: Callable[[str], None] | None = None, jobs: int = 1,
              cluster: str | None = None, overall: Overall | None = None) -> Iterator[AddResult]:
    """Add files and folders (walked recursively); one bad file does not stop the rest.

    Args:
        ingest: The archive's ingest.
        paths: Files and folders.
        opts: Options for every file.
        progress: Called with (path, stage, done, total) within each file (one file at a
            time only: not with ``jobs`` above 1 or ``cluster``).
        on_wait: Called when a commit waits for another process's write lock.
        jobs: Analyse this many files at once in worker processes (:mod:`.jobs`).
        cluster: A Dask scheduler address whose workers analyse the files (:mod:`.cluster`).
        overall: Called with the batch's :class:`BatchProgress` at the start and after
            each file.

    Yields:
        One :class:`AddResult` per file, as each finishes, in walk order.

    Raises:
        UsageError: If ``jobs`` is below 1, or above 1 with ``cluster``.
        ClusterError: If the cluster cannot be used.
    """
    files: Iterable[Path] = walk(Path(x) for x in paths)
    if jobs != 1 or cluster:
        yield from run(ingest, files, opts, backend_for(jobs, cluster), overall=overall,
                       on_wait=on_wait)
        return
    tally = seconds = None
    if overall:
        files = list(files)
        seconds = [announced_seconds(p) for p in files]
        tally = Tally(seconds)
        overall(tally.progress())
    for i, p in enumerate(files):
        def prog(stage: str, done: float, total: float, p: Path = p) -> None:
            if progress:
                progress(p, stage, done, total)
        try:
            res = AddResult(p, recording=ingest.add(p, opts, progress=prog, on_wait=on_wait))
        except AlreadyArchived as e:
            res = AddResult(p, duplicate_of=e.recording_id)
        except ArchiveError as e:
            res = AddResult(p, error=e)
        except OSError as e:
            res = AddResult(p, error=InputError(f"{p.name}: {e.strerror or e}"))
        if tally is not None and seconds is not None and overall:
            tally.finish(seconds[i], res.recording is not None)
            overall(tally.progress())
        yield res


def backend_for(jobs: int, cluster: str | None) -> Backend:
    """Worker processes (``jobs``) or a Dask cluster (``cluster``) to analyse on.

    Raises:
        UsageError: If ``jobs`` is below 1, or above 1 together with ``cluster``.
        ClusterError: If the cluster cannot be used.
    """
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if cluster:
        if jobs > 1:
            raise UsageError("--jobs and --cluster do not go together: the cluster's workers "
                             "set how many files are analysed at once")
        from .cluster import DaskBackend
        return DaskBackend(cluster)
    from .jobs import ProcessBackend
    return ProcessBackend(jobs)


@dataclass
class _Entry:
    path: Path
    seconds: float = 0.0
    done: AddResult | None = None
    job: Job | None = None
    handle: Any = None
    staged: Path | None = None
    stack: ExitStack | None = None
    twin_of: str | None = None  # same bytes as an earlier file of this batch


def run(ingest: Ingest, paths: Iterable[Path], opts: AddOptions, backend: Backend, *,
        overall: Overall | None = None, on_wait: Callable[[str], None] | None = None,
        window: int | None = None) -> Iterator[AddResult]:
    """Add files, analysing them on ``backend``; one bad file does not stop the rest.

    Args:
        ingest: The archive's ingest (it stages and commits).
        paths: Files to add, in the order their results are committed and yielded.
        opts: Options for every file.
        backend: Where the analyses run; closed when the batch ends.
        overall: Called with a :class:`BatchProgress` at the start and after each file.
        on_wait: Called when a commit waits for another process's write lock.
        window: Files staged ahead of the next commit (default: twice the backend's slots).

    Yields:
        One :class:`AddResult` per file, in the order of ``paths``.
    """
    files = [Path(p) for p in paths]
    durations = [announced_seconds(p) for p in files] if overall else [0.0] * len(files)
    tally = Tally(durations)
    if overall:
        overall(tally.progress())
    model: ModelRef | ArchiveError
    try:
        if not ingest.store.writable:
            ingest.store.write_lock()  # ArchiveReadOnly before any work is done
        from ..speech.model import resolve_model
        found = resolve_model(opts.model)
        model = ModelRef(found.name, found.sha256)
    except ArchiveError as err:
        model = err
    pending: deque[_Entry] = deque()
    inflight: set[str] = set()
    todo = iter(enumerate(files))
    try:
        while True:
            ahead = max(2, window or 2 * backend.slots)
            while len(pending) < ahead:
                nxt = next(todo, None)
                if nxt is None:
                    break
                e = _start(ingest, nxt[1], opts, model, backend, inflight)
                e.seconds = e.seconds or durations[nxt[0]]
                pending.append(e)
            if not pending:
                return
            e = pending.popleft()
            res = _finish(ingest, e, backend, on_wait)
            if e.job is not None:
                inflight.discard(e.job.rid)
            tally.finish(e.seconds, e.handle is not None)
            if overall:
                overall(tally.progress())
            yield res
    finally:
        for e in pending:
            if e.stack is not None:
                e.stack.close()
        backend.close()


def _start(ingest: Ingest, path: Path, opts: AddOptions, model: ModelRef | ArchiveError,
           backend: Backend, inflight: set[str]) -> _Entry:
    """Check, hash and stage one file, and hand its analysis to the backend."""
    e = _Entry(path)
    stack = ExitStack()
    try:
        if isinstance(model, ArchiveError):
            raise model
        name, rid = ingest.identify(path)
        if rid in inflight:
            e.twin_of = rid
            return e
        st = stack.enter_context(staging_dir(ingest.store.staging_root))
        staged, size = ingest.stage(path, st, name, rid)
        e.seconds = max(0.0, float(audio.probe(staged, name=name).duration or 0.0))
        job = Job(rid, size, name, path.suffix.lower(), opts, model)
        e.handle = backend.submit(staged, job)
        e.job, e.staged, e.stack = job, staged, stack
        inflight.add(rid)
    except AlreadyArchived as err:
        e.done = AddResult(path, duplicate_of=err.recording_id)
    except ArchiveError as err:
        e.done = AddResult(path, error=err)
    except OSError as err:
        e.done = AddResult(path, error=InputError(f"{path.name}: {err.strerror or err}"))
    finally:
        if e.stack is None:
            stack.close()
    return e


def _finish(ingest: Ingest, e: _Entry, backend: Backend,
            on_wait: Callable[[str], None] | None) -> AddResult:
    """Wait for one file's analysis, check it and commit it."""
    if e.done is not None:
        return e.done
    if e.twin_of is not None:
        if ingest.store.has(e.twin_of):
            return AddResult(e.path, duplicate_of=e.twin_of)
        return AddResult(e.path, error=InputError(
            f"{e.path.name}: same bytes as an earlier file of this batch, which was not added"))
    assert e.job is not None and e.staged is not None and e.stack is not None
    try:
        t, translation = accept(backend.result(e.handle), e.job, e.seconds)
        ingest.commit(e.staged, t, translation, on_wait=on_wait)
        return AddResult(e.path, recording=t.recording)
    except AlreadyArchived as err:
        return AddResult(e.path, duplicate_of=err.recording_id)
    except ArchiveError as err:
        return AddResult(e.path, error=err)
    finally:
        e.stack.close()
