"""What crosses to a worker and back: the job, the analysis a worker runs, the checks here.

A worker (a local process of :mod:`archive.ingest.jobs`, a Dask worker of
:mod:`archive.ingest.cluster`) gets a :class:`Job` (the options and the model's name and hash,
never a path into the archive) and the audio; it checks the model hash before use
(:func:`check_model`), runs :meth:`Ingest.analyse <archive.ingest.pipeline.Ingest.analyse>`
and returns the transcript with the SHA-256 of the audio it read. :func:`accept` checks that
answer in the archive's process before anything is committed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import __version__, errors
from ..errors import AlreadyArchived, ArchiveError, ModelHashMismatch
from ..evidence.fsutil import sha256_path
from ..evidence.store import now_iso, os_user
from ..models import Transcript
from .pipeline import AddOptions, Ingest


#: Seconds a word or segment may end after the audio does (rounding of times to 1 ms).
TIME_SLACK = 0.01


@dataclass(frozen=True)
class ModelRef:
    """The speech model a worker must use: its name and the SHA-256 of its weights."""

    name: str
    sha256: str


@dataclass(frozen=True)
class Job:
    """What a worker needs to analyse one file (never a path into the archive).

    Attributes:
        rid: SHA-256 of the original, hex: the worker checks the audio it got against it.
        size: Size of the original in bytes.
        filename: The name it is added under (dates are inferred from it).
        suffix: Lower-case extension, with the dot.
        opts: The add options.
        model: The model to use; the worker refuses another.
        threads: CPU threads for the recogniser, or None for the worker's choice.
    """

    rid: str
    size: int
    filename: str
    suffix: str
    opts: AddOptions
    model: ModelRef
    threads: int | None = None


_CHECKED: set[ModelRef] = set()


def check_model(model: ModelRef) -> None:
    """Find the model on this machine and check that its weights have the expected hash.

    Raises:
        ModelHashMismatch: If this machine's copy of the model has other weights.
        ModelError: If the model is not on this machine.
    """
    if model in _CHECKED:
        return
    from ..speech.model import resolve_model
    found = resolve_model(model.name)
    if found.sha256 != model.sha256:
        raise ModelHashMismatch(
            f"model {model.name} on this worker has sha256 {found.sha256[:16]}…, not the "
            f"{model.sha256[:16]}… the archive uses; install the same model on the workers")
    _CHECKED.add(model)


def analyse_path(path: str, job: Job) -> dict[str, Any]:
    """Analyse a local copy of the audio (runs in a worker).

    Returns:
        ``{"sha256", "transcript", "translation", "version"}``, or ``{"error", "message"}``
        for an :class:`~archive.errors.ArchiveError` (a bad file, a missing model): errors
        travel by name, so a worker's traceback never reaches the archive.
    """
    try:
        check_model(job.model)
        digest = sha256_path(Path(path))
        opts = replace(job.opts, model=job.model.name)
        t, translation = Ingest.analyse(Path(path), job.rid, job.size, job.filename, opts,
                                        None, threads=job.threads)
    except ArchiveError as e:
        return {"error": type(e).__name__, "message": str(e)}
    except OSError as e:
        return {"error": "InputError", "message": f"{job.filename}: {e.strerror or e}"}
    return {"sha256": digest, "transcript": t, "translation": translation,
            "version": __version__}


def analyse_bytes(data: bytes, job: Job) -> dict[str, Any]:
    """Analyse audio received as bytes (runs on a cluster worker); see :func:`analyse_path`.

    The bytes are written to a private temporary folder of the worker, removed after.
    """
    with tempfile.TemporaryDirectory(prefix="archive-job-") as tmp:
        path = Path(tmp) / f"audio{job.suffix}"
        path.write_bytes(data)
        del data
        return analyse_path(str(path), job)


def _bad(job: Job, why: str) -> ArchiveError:
    return errors.RemoteResultInvalid(f"{job.filename}: the worker's result was refused "
                                      f"({why}); nothing was added")


def accept(result: Any, job: Job, announced: float) -> tuple[Transcript, Transcript | None]:
    """Check a worker's result and make it this archive's record.

    Args:
        result: What :func:`analyse_path` returned.
        job: The job it answers.
        announced: The duration the staged original's container announces (0: unknown).

    Returns:
        (transcript, translation), stamped with this machine's time and user.

    Raises:
        ArchiveError: The worker's own error, re-raised under its class.
        RemoteResultInvalid: If the audio hash, model, recording or word times do not fit.
    """
    if not isinstance(result, dict):
        raise _bad(job, f"not a result: {type(result).__name__}")
    if "error" in result:
        cls = getattr(errors, str(result["error"]), None)
        if not (isinstance(cls, type) and issubclass(cls, ArchiveError)) or cls is AlreadyArchived:
            cls = ArchiveError
        raise cls(str(result.get("message", "")))
    if result.get("sha256") != job.rid:
        raise _bad(job, f"it analysed audio with sha256 {str(result.get('sha256'))[:16]}…")
    t, tr = result.get("transcript"), result.get("translation")
    if not isinstance(t, Transcript) or not (tr is None or isinstance(tr, Transcript)):
        raise _bad(job, "no transcript in it")
    rec = t.recording
    if (rec.id, rec.size, rec.filename) != (job.rid, job.size, job.filename):
        raise _bad(job, "it describes another recording")
    if (t.model, t.model_sha256, rec.model_sha256) != (job.model.name, job.model.sha256,
                                                       job.model.sha256):
        raise _bad(job, f"made with model {t.model} {str(t.model_sha256)[:16]}…")
    if announced > 0 and rec.duration > announced + max(1.0, 0.05 * announced):
        raise _bad(job, f"{rec.duration:.1f} s of audio where the file holds {announced:.1f} s")
    for x in (t, tr):
        if x is None:
            continue
        if x.recording.id != job.rid:
            raise _bad(job, "its translation describes another recording")
        for s in x.segments:
            spans = [(s.start, s.end)] + [(w.start, w.end) for w in s.words]
            if not all(0.0 <= a <= b <= rec.duration + TIME_SLACK for a, b in spans):
                raise _bad(job, f"times outside the {rec.duration:.1f} s of audio")
    added = now_iso()
    rec = replace(rec, added=added, added_by=os_user())
    t = replace(t, recording=rec, created=added)
    if tr is not None:
        tr = replace(tr, recording=rec, created=added)
    return t, tr
