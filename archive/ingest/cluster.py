"""A cluster for a big leak: the analyses run on Dask distributed workers.

``archive add DIR --cluster tcp://HOST:8786`` (or ``$ARCHIVE_CLUSTER``) connects to a Dask
scheduler started with ``dask scheduler``; workers on other machines (with GPUs, say) join it
with ``dask worker tcp://HOST:8786``, with archive and its models installed. Hashing, staging
and the commit stay in this process (:mod:`archive.ingest.batch`); each task carries the audio
*bytes*, the options and the model's name and hash (:class:`~archive.ingest.batch.Job`),
never a path into the archive. The worker checks the model hash before use; the result is
checked here before it is committed.

The bytes travel inside the task, so the scheduler still holds them when a worker dies: it
hands the task to another worker (``distributed.scheduler.allowed-failures`` times, 3 by
default; after that the file is reported with :class:`~archive.errors.WorkerLost`). A dead
worker wrote nothing, so nothing is half-written.

Why Dask rather than Ray or Celery: it installs from PyPI as pure Python with no broker or
service to run beside it (Celery needs RabbitMQ or Redis, and redelivers a lost task only
with late acknowledgement and a broker-side timeout); its scheduler already retries the tasks
of a worker that died and its nanny restarts the worker; ``dask scheduler`` and ``dask worker``
are all a newsroom has to start. Ray would also do, but it is a large binary wheel with its
own object store, dashboard and head-node services, more than this needs.

This is the only module that imports ``distributed``, and it does so lazily: Dask is the
optional extra ``pip install 'archive[cluster]'``.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ArchiveError, ClusterError, WorkerLost
from .remote import Job, analyse_bytes

#: Seconds to wait for the scheduler, and for a first worker to join it.
CONNECT_TIMEOUT = 30.0


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError("--cluster needs Dask: pip install 'archive[cluster]' "
                           "(the distributed package)") from None
    return distributed


def _first_line(e: BaseException) -> str:
    return (str(e).splitlines() or [""])[0][:200] or type(e).__name__


@dataclass(eq=False)
class _Task:
    job: Job
    future: Any


class DaskBackend:
    """Analyses on the workers of a Dask scheduler.

    Args:
        address: The scheduler, e.g. ``tcp://10.0.0.5:8786``.
        timeout: Seconds to wait for the scheduler and for a first worker (default
            :data:`CONNECT_TIMEOUT`).

    Raises:
        ClusterError: If Dask is not installed, the scheduler cannot be reached, or no
            worker joins it within ``timeout``.
    """

    def __init__(self, address: str, *, timeout: float | None = None) -> None:
        d = _distributed()
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        self.address = address
        try:
            self.client = d.Client(address, timeout=timeout, set_as_default=False)
        except Exception as e:  # OSError, TimeoutError, ValueError for a bad address
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: "
                               f"{_first_line(e)}") from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except Exception:
            self.client.close()
            raise ClusterError(f"the Dask scheduler at {address} has no workers; start some "
                               f"with `dask worker {address}`") from None
        self._slots, self._seen = 1, 0.0

    @property
    def slots(self) -> int:
        """Worker threads in the cluster now (re-read every few seconds: workers come and go)."""
        if time.monotonic() - self._seen > 5.0:
            try:
                self._slots = max(1, sum(self.client.nthreads().values()))
            except Exception:  # keep the last count; result() reports a lost scheduler
                pass
            self._seen = time.monotonic()
        return self._slots

    def submit(self, staged: Path, job: Job) -> _Task:
        """Send one file's bytes to the cluster for analysis."""
        data = staged.read_bytes()
        key = f"archive-analyse-{job.rid[:12]}-{uuid.uuid4().hex[:8]}"
        with warnings.catch_warnings():
            # The bytes belong in the task: the scheduler then still has them to retry it
            # elsewhere when a worker dies (scattered data would die with the worker).
            warnings.filterwarnings("ignore", message=".*[Ll]arge.*")
            try:
                fut = self.client.submit(remote_analyse, data, job, key=key, pure=False,
                                         retries=0)
            except Exception as e:
                raise ClusterError(f"{job.filename}: cannot hand it to the cluster: "
                                   f"{_first_line(e)}") from None
        return _Task(job, fut)

    def result(self, task: _Task) -> Any:
        """Wait for a file's analysis.

        Raises:
            WorkerLost: If the workers given the file kept dying.
            ClusterError: If the cluster failed in another way (lost scheduler, a worker
                without archive installed).
        """
        d = _distributed()
        try:
            return task.future.result()
        except d.KilledWorker:
            raise WorkerLost(f"{task.job.filename}: every worker given it died; nothing was "
                             "added") from None
        except ArchiveError:
            raise
        except Exception as e:
            raise ClusterError(f"{task.job.filename}: the cluster could not analyse it: "
                               f"{type(e).__name__}: {_first_line(e)}") from None
        finally:
            task.future.release()

    def close(self) -> None:
        """Let go of the cluster (tasks still queued for this client are dropped)."""
        self.client.close()


def worker_threads() -> int:
    """Recogniser threads for one task on this worker.

    ``$ARCHIVE_THREADS`` if set (use it when one machine runs several worker processes),
    else this machine's cores shared among the worker's task slots (``--nthreads``).
    """
    env = os.environ.get("ARCHIVE_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        slots = _distributed().get_worker().state.nthreads
    except Exception:  # not inside a worker
        slots = 1
    return max(1, cores // max(1, slots))


def remote_analyse(data: bytes, job: Job) -> dict[str, Any]:
    """The task a Dask worker runs: see :func:`archive.ingest.batch.analyse_bytes`."""
    if job.threads is None:
        job = replace(job, threads=worker_threads())
    return analyse_bytes(data, job)


def local_cluster(workers: int = 2, *, threads: int | None = None) -> Any:
    """A Dask ``LocalCluster`` of worker processes on this machine (for tests and benches).

    Everything listens on 127.0.0.1 only, with no dashboard. Use it as a context manager;
    its ``scheduler_address`` is what ``--cluster`` takes.

    Args:
        workers: Worker processes, one task at a time each.
        threads: Recogniser threads per task (default: the cores shared among the workers).
    """
    d = _distributed()
    from .jobs import threads_per_job
    n = threads or threads_per_job(workers)
    return d.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                          env={"ARCHIVE_THREADS": str(n)}, silence_logs=40)
