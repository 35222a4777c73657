"""Named errors. The library raises these and never prints or exits; the CLI turns them
into one-line messages and exit codes in one place."""

from __future__ import annotations


class ArchiveError(Exception):
    """Base class of every error the archive library raises on purpose."""

    exit_code = 1


class UsageError(ArchiveError):
    """The request itself is malformed (bad option value, bad reference)."""

    exit_code = 2


class ArchiveNotFound(ArchiveError):
    """The archive folder does not exist or was never initialised."""


class ArchiveReadOnly(ArchiveError):
    """The archive folder cannot be written to."""


class ArchiveCorrupt(ArchiveError):
    """A file inside the archive is damaged or inconsistent."""


class IndexCorrupt(ArchiveCorrupt):
    """The search index cannot be read; `archive reindex` rebuilds it."""


class TranscriptCorrupt(ArchiveCorrupt):
    """A transcript file cannot be parsed."""


class LockTimeout(ArchiveError):
    """Another archive process held the write lock for too long."""


class RecordingNotFound(ArchiveError):
    """No recording matches the given id or prefix."""


class AmbiguousId(ArchiveError):
    """An id prefix matches more than one recording."""


class AlreadyArchived(ArchiveError):
    """The same bytes are already in the archive."""

    def __init__(self, message: str, recording_id: str) -> None:
        super().__init__(message)
        self.recording_id = recording_id


class InputError(ArchiveError):
    """An input file cannot be read, is empty, or holds no usable audio."""


class UnsupportedFormat(InputError):
    """The file's type is not one the archive accepts."""


class AudioDecodeError(InputError):
    """The audio stream cannot be decoded (truncated, corrupt or not audio)."""


class AudioTooShort(InputError):
    """The recording is too short to transcribe."""


class ModelError(ArchiveError):
    """The speech model cannot be found, verified or loaded."""


class ModelHashMismatch(ModelError):
    """The embedded model's bytes do not match the published SHA-256."""


class QueryError(ArchiveError):
    """A search query is malformed."""

    exit_code = 2


class BadReference(UsageError):
    """A citation reference (hit number or ID@START-END) is invalid."""


class ClipError(ArchiveError):
    """An audio clip cannot be exported."""


class DiarizationError(ArchiveError):
    """Speaker diarization failed."""


class SpeakerNotFound(ArchiveError):
    """No speaker with that label or name exists in the recording."""


class EditError(ArchiveError):
    """An edited transcript cannot be applied."""


class DiskFull(ArchiveError):
    """The disk filled up during a write; nothing was changed."""


# issue 14 (archive serve)
class EditConflict(EditError):
    """The transcript changed since the edit was begun (another revision landed); nothing
    was written."""


# --- issue 12: word forms and names across alphabets ---

class IndexOutdated(IndexCorrupt):
    """The search index was written by an older version; `archive reindex` rebuilds it."""


# issue 11 (media): lying containers, damaged media, archive folders given as input
class AudioTooLong(InputError):
    """The recording is longer than the maximum duration allowed for one add."""


class InsideArchive(InputError):
    """The input is an archive folder, or a file inside one (never added as evidence)."""


class OutOfMemory(ArchiveError):
    """There was not enough memory to process one file; nothing was written."""


# issue 11 (guard): hostile output paths, archive tampering and parsers
class OutputRefused(UsageError):
    """An output path would overwrite the archive's own files, or cannot be written."""


class ArchiveTampered(ArchiveCorrupt):
    """A file of the archive does not match the digest the custody log recorded for it."""


# issue 15: several files at once, and a cluster

class RemoteResultInvalid(ArchiveError):
    """A worker's result failed its checks (audio hash, model, word times); nothing was added."""


class WorkerLost(ArchiveError):
    """The worker analysing a file died, again when retried; the file was not added."""


class ClusterError(ArchiveError):
    """The Dask cluster cannot be reached or used (or Dask is not installed)."""


# --- issue 15: devices ----------------------------------------------------------------------

class DeviceUnavailable(ModelError):
    """The device asked for (a CUDA GPU) is not available on this machine."""
