"""The add pipeline: hash, stage, probe, decode, transcribe, refine, diarize, commit.

The expensive steps run without the archive's write lock, in a private staging folder, so two
``add`` processes can transcribe at once. Only the commit takes the lock, and it is journalled:
an interrupted commit is finished or rolled back by the next writer (see integrity.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import __version__
from ..speech import audio
from ..errors import (AlreadyArchived, ArchiveError, AudioDecodeError, AudioTooLong,
                      InputError, OutOfMemory)
from ..evidence.fsutil import copy_hashing, sha256_path, staging_dir
from ..evidence.digests import add_digests
from ..models import PAUSE, Recording, Segment, Speaker, Transcript
from ..evidence.provenance import infer_date
from ..evidence.store import CustodyLog, Store, now_iso, os_user
from .inputs import check_input, ogg_complete, speech_seconds, walk  # noqa: F401

#: progress(stage, done, total): stage is "transcribe", "diarize", "translate" or "commit".
Progress = Callable[[str, float, float], None]


@dataclass(frozen=True)
class AddOptions:
    """Options for adding recordings.

    Attributes:
        title: Title (defaults to the file name).
        source: Who or where the recording came from.
        recorded: Recording date given by the user (ISO), overriding any inferred date.
        tags: User tags.
        note: Free note.
        language: Language code to force, or None to detect.
        model: Model name or path, or None for the embedded default.
        diarize: Split by speaker.
        speakers: Exact number of speakers, if known.
        min_speakers: Lower bound on the speaker count.
        max_speakers: Upper bound on the speaker count.
        hotwords: Names and terms to favour in recognition.
        translate: Also store an English translation.
        max_duration: Refuse a recording longer than this many seconds (checked while it is
            decoded: a container's claim is not trusted).
        device: ``auto``, ``cpu`` or ``cuda`` for the models (None: ``$ARCHIVE_DEVICE``, else
            auto).
        compute_type: CTranslate2 compute type (None: float16 on a GPU, int8 on the CPU).
        batch_size: Speech chunks decoded at once (None: the device's default; 1: sequential).
    """

    title: str | None = None
    source: str | None = None
    recorded: str | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None
    language: str | None = None
    model: str | None = None
    diarize: bool = True
    speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    hotwords: str | None = None
    translate: bool = False
    max_duration: float = audio.MAX_DURATION
    device: str | None = None
    compute_type: str | None = None
    batch_size: int | None = None


@dataclass(frozen=True)
class AddResult:
    """Outcome of adding one file: exactly one of ``recording``, ``duplicate_of``, ``error``."""

    path: Path
    recording: Recording | None = None
    duplicate_of: str | None = None
    error: ArchiveError | None = None


def speech_settings(opts: AddOptions) -> dict[str, Any]:
    """How the speech model runs: the device, compute type and batch size of ``opts``."""
    return {"device": opts.device, "compute_type": opts.compute_type,
            "batch_size": opts.batch_size}


def check_device(opts: AddOptions) -> tuple[str, str]:
    """The device and compute type ``opts`` ask for, checked before any file is read.

    Raises:
        DeviceUnavailable: For ``cuda`` on a machine without a GPU.
        UsageError: For an unknown device or a compute type the device does not support.
    """
    from ..speech import transcribe

    return transcribe.choose_device(opts.device, opts.compute_type)


def split_at_pauses(segments: Sequence[Segment], gap: float = PAUSE) -> tuple[Segment, ...]:
    """Segments split wherever their words pause for more than ``gap`` seconds.

    Done for every recording, mono included (issue 13): Whisper happily runs a segment
    across a long silence (one word at 9.7 s, the next five at 26 s), and a line, subtitle
    cue or speaker turn made from it would then cover words never said. On a call with one
    party per channel, such a segment would also straddle the other party's turn.
    """
    return tuple(piece for seg in segments for piece in seg.split_at_pauses(gap))


def _speech_text(segments: Sequence[Segment]) -> str:
    return " ".join(s.text.strip() for s in segments)


class Ingest:
    """Adds files to one archive. Created by :class:`archive.library.Archive`."""

    def __init__(self, store: Store, index_factory: Callable[[], Any],
                 recover: Callable[[], list[str]] | None = None) -> None:
        self.store = store
        self._index_factory = index_factory
        self._recover = recover
        #: What recovery of earlier interrupted writes did, for the caller to report.
        self.recovered: list[str] = []

    # -------------------------------------------------------------- analysis
    @staticmethod
    def analyse(staged: Path, rid: str, size: int, filename: str, opts: AddOptions,
                progress: Progress | None, *,
                threads: int | None = None) -> tuple[Transcript, Transcript | None]:
        """Everything that does not touch the archive: returns (transcript, translation).

        Static on purpose: it also runs in worker processes and on cluster workers
        (:mod:`archive.ingest.batch`), where there is no archive. ``threads``: CPU threads
        for the recogniser (the core count by default).
        """
        from ..speech import transcribe  # heavy: faster-whisper is loaded here

        info = audio.probe(staged, name=filename)
        limit = opts.max_duration
        if info.duration_reliable and info.duration > limit:
            raise AudioTooLong(f"{filename}: it announces {audio.describe(info.duration)} of "
                               f"audio, more than the maximum of {audio.describe(limit)} (raise "
                               "it with --max-duration); nothing was added")
        if info.container == "ogg" and not ogg_complete(staged):
            raise AudioDecodeError(f"{filename}: truncated: the Ogg stream was cut short (its "
                                   "end-of-stream page is missing); nothing was added")
        speech_by_stream: list[float] = []
        if info.audio_streams > 1:
            speech_by_stream = speech_seconds(staged, info.audio_streams, filename, limit)
            best = max(range(len(speech_by_stream)), key=lambda k: (speech_by_stream[k], -k))
            info = audio.probe(staged, name=filename, stream=best)
        stereo = info.channels >= 2
        dec = audio.decode_full(staged, stereo=stereo, name=filename, expected=info.duration,
                                max_duration=limit, stream=info.stream)
        pcm, gaps, links = dec.samples, list(dec.gaps), dec.links
        del dec  # one reference to the samples: the mix below may replace them
        by_channel = bool(stereo and opts.diarize and audio.is_distinct_stereo(pcm))
        # Hold one copy of a long recording, not two: the mix is only needed for a
        # single-stream transcription (or a translation).
        mono = None if by_channel and not opts.translate else \
            pcm.mean(axis=0, dtype=np.float32) if pcm.ndim == 2 else pcm
        if not by_channel:
            pcm = mono
        duration = pcm.shape[-1] / audio.SAMPLE_RATE
        # A claim from the stream itself (not a bitrate guess, not the first of several
        # joined streams) tells a cut or lying file.
        if info.duration_reliable and links == 1:
            if info.duration - duration > max(2.0, 0.2 * info.duration):
                raise AudioDecodeError(
                    f"{filename}: truncated or damaged: it announces {info.duration:.1f} s of "
                    f"audio but only {duration:.1f} s can be decoded; nothing was added")
            if info.duration - duration > 0.5:  # the end is missing
                start = gaps.pop()[0] if gaps and gaps[-1][1] >= duration - 0.05 else duration
                gaps.append((round(start, 3), round(info.duration, 3)))

        model = transcribe.resolve_model(opts.model)

        def tprog(done: float, total: float) -> None:
            if progress:
                progress("transcribe", done, total)

        channels = [pcm[0], pcm[1]] if by_channel else [mono]
        results = []
        for ch, samples in enumerate(channels):
            span = duration * len(channels)
            res = transcribe.transcribe(
                samples, model, language=opts.language, hotwords=opts.hotwords, threads=threads,
                **speech_settings(opts),
                progress=lambda d, t, ch=ch: tprog(ch * duration + d, span))
            segs = split_at_pauses(res.segments)
            if by_channel:
                segs = tuple(replace(s, channel=ch) for s in segs)
            results.append((res, segs))
        first = max(results, key=lambda r: len(_speech_text(r[1])))[0]
        segments: tuple[Segment, ...] = tuple(
            sorted((s for _, segs in results for s in segs), key=lambda s: (s.start, s.end)))
        options: dict[str, Any] = dict(first.options)
        speakers: tuple[Speaker, ...] = ()

        if opts.diarize and segments:
            from ..speakers import diarize
            if progress:
                progress("diarize", 0, 1)
            if by_channel:
                speech = [transcribe.speech_regions(c, **diarize.SPEECH_OPTIONS) for c in channels]
                diar = diarize.diarize_channels(pcm, speech)
            else:
                speech = transcribe.speech_regions(mono, **diarize.SPEECH_OPTIONS)
                diar = diarize.diarize(mono, speech, num_speakers=opts.speakers,
                                       min_speakers=opts.min_speakers or 1,
                                       max_speakers=opts.max_speakers or 6)
            segments = diarize.assign_speakers(segments, diar)
            speakers = diarize.speaker_table(segments, diar)
            options["diarization"] = diar.method
            options["diarization_settings"] = dict(diar.settings)
            if progress:
                progress("diarize", 1, 1)
        else:
            options["diarization"] = None
        segments = tuple(replace(s, id=i) for i, s in enumerate(segments))

        recorded, basis, inferred = opts.recorded, "user" if opts.recorded else None, False
        if recorded is None:
            recorded, basis = infer_date(filename, info.tags)
            inferred = recorded is not None
        rec = Recording(
            id=rid, filename=filename, ext=Path(filename).suffix.lower(), size=size,
            duration=round(duration, 3), codec=info.codec, channels=info.channels,
            sample_rate=info.sample_rate, container_tags=dict(info.tags),
            title=opts.title or Path(filename).stem, source=opts.source, recorded=recorded,
            recorded_inferred=inferred, recorded_basis=basis, tags=tuple(opts.tags),
            note=opts.note, added=now_iso(), added_by=os_user(),
            tool_version=__version__, model=model.name, model_sha256=model.sha256,
            language=first.language, language_probability=first.language_probability,
            gaps=tuple((float(a), float(b)) for a, b in gaps), audio_stream=info.stream)
        options.update({"channels_transcribed": len(channels), "by_channel": by_channel})
        if speech_by_stream:
            options["speech_seconds_by_stream"] = speech_by_stream
        t = Transcript(recording=rec, revision=1, segments=segments, speakers=speakers,
                       language=first.language, task="transcribe", created=rec.added,
                       author="machine", model=model.name, model_sha256=model.sha256,
                       options=options)
        translation = None
        if opts.translate:
            translation = Ingest.translate_audio(mono, t, model, progress, speech_settings(opts),
                                                 threads=threads)
        return t, translation

    @staticmethod
    def translate_audio(mono: np.ndarray, t: Transcript, model: Any,
                        progress: Progress | None, settings: dict[str, Any] | None = None, *,
                        threads: int | None = None) -> Transcript:
        """An English translation of the recording, timed on its own."""
        from ..speech import transcribe

        res = transcribe.transcribe(
            mono, model, language=t.language, task="translate", threads=threads,
            **(settings or {}),
            progress=(lambda d, tot: progress("translate", d, tot)) if progress else None)
        return Transcript(recording=t.recording, revision=1, segments=res.segments, speakers=(),
                          language="en", task="translate", created=now_iso(), author="machine",
                          model=t.model, model_sha256=t.model_sha256,
                          options={**res.options, "source_language": t.language})

    # -------------------------------------------------------------- add
    def add(self, path: Path, opts: AddOptions, *, progress: Progress | None = None,
            on_wait: Callable[[str], None] | None = None) -> Recording:
        """Add one file.

        Raises:
            AlreadyArchived: If the same bytes are already archived.
            InputError: If the file is unreadable, empty, not audio, or too short.
            ArchiveError: For any other failure; the archive is left unchanged.
        """
        path = Path(path)
        if not self.store.writable:
            self.store.write_lock()  # raises ArchiveReadOnly before any work is done
        name, rid = self.identify(path)
        with staging_dir(self.store.staging_root) as st:
            staged, size = self.stage(path, st, name, rid)
            try:
                t, translation = self.analyse(staged, rid, size, name, opts, progress)
            except MemoryError:
                raise OutOfMemory(f"{name}: not enough memory to decode and transcribe it; "
                                  "nothing was added") from None
            if progress:
                progress("commit", 0, 1)
            self.commit(staged, t, translation, on_wait=on_wait)
            if progress:
                progress("commit", 1, 1)
        return t.recording

    def identify(self, path: Path) -> tuple[str, str]:
        """The name to show for an input file and its SHA-256, once it is known to be new.

        Raises:
            InputError: If the file cannot be read (or is no file).
            AlreadyArchived: If the archive already holds these bytes.
        """
        check_input(path)
        # A name that is not valid UTF-8 is kept readable (U+FFFD) in the catalog.
        name = os.fsencode(path.name).decode("utf-8", "replace")
        try:
            rid = sha256_path(path)
        except OSError as e:
            raise InputError(f"{name}: cannot read: {e.strerror}") from None
        if self.store.has(rid):
            raise AlreadyArchived(f"{name}: already archived as {rid[:10]}", rid)
        return name, rid

    def stage(self, path: Path, folder: Path, name: str, rid: str) -> tuple[Path, int]:
        """Copy an input into a staging folder; the copy and its size in bytes.

        Raises:
            InputError: If it cannot be read, or its bytes no longer hash to ``rid``.
        """
        staged = folder / f"original{path.suffix.lower()}"
        try:
            with open(path, "rb") as src:
                got, size = copy_hashing(src, staged)
        except (PermissionError, IsADirectoryError) as e:
            raise InputError(f"{name}: cannot read: {e.strerror}") from None
        if got != rid:
            raise InputError(f"{name}: file changed while it was being read")
        return staged, size

    def commit(self, staged: Path, t: Transcript, translation: Transcript | None, *,
               on_wait: Callable[[str], None] | None = None) -> None:
        """Store the original, transcript, catalog row, index entry and custody event.

        Journalled (see :mod:`archive.evidence.recovery`): if this process dies part-way, the next
        writer finishes or undoes the add. If a step fails here (disk full, damaged index,
        interruption), the add is undone at once and the error raised.
        """
        from ..evidence.recovery import rollback_add
        rec = t.recording
        # Serialise first: a value JSON cannot hold must fail while nothing is written.
        text = self.store.transcript_text(t)
        tr_text = self.store.transcript_text(translation) if translation is not None else None
        with self.store.write_lock(on_wait=on_wait):
            if self._recover is not None:
                self.recovered.extend(self._recover())
            if self.store.has(rec.id):
                raise AlreadyArchived(f"{rec.filename}: already archived as {rec.short_id}",
                                      rec.id)
            index = self._index_factory()  # a damaged index fails here, before any write
            existed = self.store.original_path(rec).exists()
            journal = self.store.journal_begin("add", rec.id, filename=rec.filename,
                                               ext=rec.ext, original_existed=existed)
            try:
                dest = self.store.store_original(staged, rec)
                self.store.write_transcript(t, text)
                if translation is not None:
                    self.store.write_translation(translation, tr_text)
                with self.store.transaction() as db:
                    self.store.put_recording(db, rec, t.revision)
                    self.store.put_speakers(db, t)
                with index.writer() as w:
                    w.remove(rec.id)
                    w.add(t)
                    if translation is not None:
                        w.add(translation)
                CustodyLog(self.store.root / "custody.log").append(
                    "add", rec.id, filename=rec.filename, size=rec.size, sha256=rec.id,
                    stored_as=str(dest.relative_to(self.store.root)), model=rec.model,
                    model_sha256=rec.model_sha256, revision=t.revision,
                    **add_digests(rec, text, tr_text))
            except BaseException as e:
                try:
                    rollback_add(self.store, self._index_factory,
                                 {"id": rec.id, "filename": rec.filename,
                                  "original_existed": existed})
                    self.store.journal_end(journal)
                except BaseException:  # the journal stays: the next writer sorts it out
                    if isinstance(e, ArchiveError):
                        e.args = (f"{e}; the add stopped part-way and could not be undone "
                                  "now: the next command that writes to the archive will "
                                  "finish or undo it",)
                raise
            self.store.journal_end(journal)
