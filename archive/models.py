"""Domain values: frozen dataclasses with times in float seconds.

Nothing here does I/O. Conversion to and from the JSON transcript format lives here too,
because the transcript file is the source of truth and its shape is part of the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping

# The on-disk transcript format's version is defined beside the checks of its files.
from .validation import TRANSCRIPT_FORMAT, check_recording_json, check_transcript_json

#: Segment flags that mark text as probably invented by the model.
HALLUCINATION_FLAGS = ("no_speech", "compression", "repetition", "low_logprob")

#: Words below this probability are shown as low-confidence.
LOW_CONFIDENCE = 0.5

#: A word's speaker below this confidence is shown as uncertain (issue 13). Measured on the
#: tuning material of bench/diarization.py (50 ms frames with one true speaker): below 0.7
#: about one frame in three had the wrong voice, from 0.7 to 0.8 one in 25, above 0.8 under
#: one in 100.
SPEAKER_UNCERTAIN = 0.7

#: Pauses longer than this (seconds) between words end a segment, a subtitle cue, a turn.
PAUSE = 1.0


@dataclass(frozen=True)
class Word:
    """One recognised word with its refined timing.

    Attributes:
        start: Onset in seconds from the start of the recording.
        end: Offset in seconds.
        text: The word as recognised, with its leading space stripped.
        probability: The model's probability for the word, 0..1.
        speaker: Speaker label (``S1``...), or None before diarization.
        speaker_confidence: How sure diarization is of ``speaker``, 0..1, or None when
            unknown (transcripts made before it was recorded, or speakers set by hand).
        overlap: True when another voice was heard at the same time: the word, its text
            and its speaker may be mis-attributed.
    """

    start: float
    end: float
    text: str
    probability: float = 1.0
    speaker: str | None = None
    speaker_confidence: float | None = None
    overlap: bool = False

    @property
    def speaker_uncertain(self) -> bool:
        """True when the word's speaker is a guess: low confidence, or overlapped speech."""
        return self.overlap or (self.speaker_confidence is not None
                                and self.speaker_confidence < SPEAKER_UNCERTAIN)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": round(self.start, 3), "end": round(self.end, 3),
                             "word": self.text, "p": round(self.probability, 3)}
        if self.speaker is not None:
            d["speaker"] = self.speaker
        if self.speaker_confidence is not None:
            d["speaker_p"] = round(self.speaker_confidence, 3)
        if self.overlap:
            d["overlap"] = True
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Word":
        sp = d.get("speaker_p")
        return cls(float(d["start"]), float(d["end"]), str(d["word"]),
                   float(d.get("p", 1.0)), d.get("speaker"),
                   None if sp is None else float(sp), bool(d.get("overlap", False)))


@dataclass(frozen=True)
class Segment:
    """A stretch of speech by one speaker.

    Attributes:
        id: Position of the segment in its transcript, from 0.
        start: Start in seconds (the first word's onset when there are words).
        end: End in seconds.
        text: The segment text.
        words: The words, in time order.
        speaker: Speaker label, or None before diarization.
        avg_logprob: Whisper's average log-probability of the tokens.
        no_speech_prob: Whisper's probability that the window held no speech.
        compression_ratio: gzip compression ratio of the text (high means repetitive).
        flags: Reasons to distrust the text, from :data:`HALLUCINATION_FLAGS`.
        channel: Audio channel the segment came from, for per-channel call recordings.
        language: The segment's own language where it differs from the recording's (a
            recording that switches language), else None.
    """

    id: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0
    flags: tuple[str, ...] = ()
    channel: int | None = None
    language: str | None = None

    @property
    def suspect(self) -> bool:
        """True when the segment is flagged as a likely hallucination."""
        return bool(self.flags)

    def split_at_pauses(self, gap: float = PAUSE) -> tuple["Segment", ...]:
        """The segment cut wherever its words pause for more than ``gap`` seconds.

        The pieces keep the segment's other fields (same ``id``); their start, end and text
        come from their words. A segment without such a pause is returned whole. Used where
        segments are made (:mod:`archive.ingest`) and where transcripts made before that rule
        are shown or exported, so that no line or cue spans a long silence.
        """
        words = self.words
        cuts = [i for i in range(1, len(words)) if words[i].start - words[i - 1].end > gap]
        if not cuts:
            return (self,)
        return tuple(replace(self, start=words[a].start, end=words[b - 1].end,
                             text=" ".join(w.text.strip() for w in words[a:b]),
                             words=words[a:b])
                     for a, b in zip([0] + cuts, cuts + [len(words)]))

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id, "start": round(self.start, 3), "end": round(self.end, 3),
            "speaker": self.speaker, "text": self.text,
            "avg_logprob": round(self.avg_logprob, 4),
            "no_speech_prob": round(self.no_speech_prob, 4),
            "compression_ratio": round(self.compression_ratio, 3),
            "flags": list(self.flags),
        }
        if self.channel is not None:
            d["channel"] = self.channel
        if self.language is not None:
            d["language"] = self.language
        d["words"] = [w.to_json() for w in self.words]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Segment":
        return cls(
            id=int(d["id"]), start=float(d["start"]), end=float(d["end"]), text=str(d["text"]),
            words=tuple(Word.from_json(w) for w in d.get("words", ())),
            speaker=d.get("speaker"), avg_logprob=float(d.get("avg_logprob", 0.0)),
            no_speech_prob=float(d.get("no_speech_prob", 0.0)),
            compression_ratio=float(d.get("compression_ratio", 1.0)),
            flags=tuple(d.get("flags", ())), channel=d.get("channel"),
            language=d.get("language"),
        )


@dataclass(frozen=True)
class Speaker:
    """A voice in one recording.

    Attributes:
        label: Stable label within the recording (``S1``, ``S2``...).
        name: Name given by the user, or None.
        talk_time: Seconds of speech attributed to the speaker.
        turns: Number of turns (maximal runs of segments by this speaker).
        voiceprint: L2-normalised speaker embedding, or empty when unknown.
        channel: Audio channel for per-channel call recordings, else None.
    """

    label: str
    name: str | None = None
    talk_time: float = 0.0
    turns: int = 0
    voiceprint: tuple[float, ...] = ()
    channel: int | None = None

    @property
    def display(self) -> str:
        """The name if the speaker was named, else the label."""
        return self.name or self.label

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"label": self.label, "name": self.name,
                             "talk_time": round(self.talk_time, 2), "turns": self.turns}
        if self.channel is not None:
            d["channel"] = self.channel
        d["voiceprint"] = [round(x, 5) for x in self.voiceprint]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Speaker":
        return cls(str(d["label"]), d.get("name"), float(d.get("talk_time", 0.0)),
                   int(d.get("turns", 0)), tuple(float(x) for x in d.get("voiceprint", ())),
                   d.get("channel"))


@dataclass(frozen=True)
class Recording:
    """An original recording and its provenance.

    Attributes:
        id: SHA-256 of the original bytes, hex. Short prefixes are accepted as references.
        filename: The file name it was added under.
        ext: Lower-case extension of the original, with the dot (``.ogg``).
        size: Size in bytes.
        duration: Duration in seconds.
        codec: Audio codec name.
        channels: Number of audio channels.
        sample_rate: Sample rate in Hz.
        container_tags: Tags read from the container (title, date, encoder...).
        title: Title given by the user, or the file name.
        source: Who or where it came from.
        recorded: Recording date (ISO 8601), or None when unknown.
        recorded_inferred: True when the date was inferred (file name or tags), not given.
        recorded_basis: Where the date came from: ``user``, ``filename`` or ``tag``.
        tags: User tags.
        note: Free note.
        added: When it was added (ISO 8601, UTC).
        added_by: OS user who added it.
        tool_version: Version of archive that added it.
        model: Speech model name used for the transcript.
        model_sha256: SHA-256 of the model weights, when known.
        language: Detected or given language code.
        language_probability: Probability of the detected language.
        gaps: ``(start, end)`` seconds of audio that could not be decoded (damage), kept as
            silence on the transcript's time line; ``start == end`` where the length lost is
            unknown.
        audio_stream: The audio stream transcribed (0 = the first), for files with several.
    """

    id: str
    filename: str
    ext: str
    size: int
    duration: float
    codec: str = ""
    channels: int = 1
    sample_rate: int = 0
    container_tags: Mapping[str, str] = field(default_factory=dict)
    title: str = ""
    source: str | None = None
    recorded: str | None = None
    recorded_inferred: bool = False
    recorded_basis: str | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None
    added: str = ""
    added_by: str = ""
    tool_version: str = ""
    model: str = ""
    model_sha256: str | None = None
    language: str | None = None
    language_probability: float | None = None
    gaps: tuple[tuple[float, float], ...] = ()
    audio_stream: int = 0

    @property
    def short_id(self) -> str:
        """The first 10 hex digits of the id, as shown to users."""
        return self.id[:10]

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["container_tags"] = dict(self.container_tags)
        d["tags"] = list(self.tags)
        # Left out when empty, so that records written before these fields read back alike.
        if self.gaps:
            d["gaps"] = [list(g) for g in self.gaps]
        else:
            del d["gaps"]
        if not self.audio_stream:
            del d["audio_stream"]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Recording":
        check_recording_json(d)
        d = dict(d)
        d["tags"] = tuple(d.get("tags", ()))
        d["container_tags"] = dict(d.get("container_tags", {}))
        d["gaps"] = tuple((float(a), float(b)) for a, b in d.get("gaps", ()))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class Transcript:
    """One revision of a recording's transcript: the source of truth.

    Attributes:
        recording: The recording it transcribes (provenance travels with the text).
        revision: Revision number, from 1 (the machine transcript).
        segments: Segments in time order, one speaker each.
        speakers: Speakers, in label order.
        language: Language code of the text.
        task: ``transcribe``, or ``translate`` for an English translation.
        created: When this revision was written (ISO 8601, UTC).
        author: OS user, or ``machine`` for the model's own revision.
        model: Model name that produced the words.
        model_sha256: Model weights hash, when known.
        options: Options the transcript was made with (VAD, refinement, diarization...).
        note: Free note for the revision (e.g. what an edit changed).
    """

    recording: Recording
    revision: int
    segments: tuple[Segment, ...]
    speakers: tuple[Speaker, ...] = ()
    language: str | None = None
    task: str = "transcribe"
    created: str = ""
    author: str = "machine"
    model: str = ""
    model_sha256: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None

    @property
    def text(self) -> str:
        """The whole text, segments joined by spaces."""
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def words(self) -> tuple[Word, ...]:
        """Every word in time order."""
        return tuple(w for s in self.segments for w in s.words)

    def speaker(self, label: str) -> Speaker | None:
        """The speaker with this label, or None."""
        for sp in self.speakers:
            if sp.label == label:
                return sp
        return None

    def speaker_name(self, label: str | None) -> str | None:
        """Display name for a label (its name if set), or None for no label."""
        if label is None:
            return None
        sp = self.speaker(label)
        return sp.display if sp else label

    def with_segments(self, segments: tuple[Segment, ...], **changes: Any) -> "Transcript":
        """A copy with new segments (renumbered) and other fields changed."""
        segs = tuple(replace(s, id=i) for i, s in enumerate(segments))
        return replace(self, segments=segs, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": TRANSCRIPT_FORMAT,
            "recording": self.recording.to_json(),
            "revision": self.revision,
            "language": self.language,
            "task": self.task,
            "created": self.created,
            "author": self.author,
            "model": self.model,
            "model_sha256": self.model_sha256,
            "options": dict(self.options),
            "note": self.note,
            "speakers": [s.to_json() for s in self.speakers],
            "segments": [s.to_json() for s in self.segments],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Transcript":
        check_transcript_json(d)
        return cls(
            recording=Recording.from_json(d["recording"]),
            revision=int(d["revision"]),
            segments=tuple(Segment.from_json(s) for s in d["segments"]),
            speakers=tuple(Speaker.from_json(s) for s in d.get("speakers", ())),
            language=d.get("language"), task=d.get("task", "transcribe"),
            created=d.get("created", ""), author=d.get("author", "machine"),
            model=d.get("model", ""), model_sha256=d.get("model_sha256"),
            options=dict(d.get("options", {})), note=d.get("note"),
        )


_RESULTS = ("Hit", "Citation", "speaker_turns", "speaker_certainty")


def __getattr__(name: str) -> Any:
    # Hit, Citation and the speaker-turn helpers live in archive.results (imported on first
    # use, after this module is complete, so the two never import each other half-way).
    if name in _RESULTS:
        from . import results
        return getattr(results, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
