"""Result values: a search hit, a citation, and who spoke when (speaker turns and how sure).

Split from :mod:`archive.models` (which re-exports these names) to keep modules small; the
transcript's own values (Word, Segment, Speaker, Recording, Transcript) stay there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from .models import PAUSE, SPEAKER_UNCERTAIN, Segment, Word


@dataclass(frozen=True)
class Hit:
    """One search result: an exact span of words in one recording.

    Attributes:
        recording_id: Full id of the recording.
        title: Recording title.
        speaker: Speaker display name of the first matched word, or None.
        start: Onset of the first matched word, seconds.
        end: Offset of the last matched word, seconds.
        text: The matched words.
        before: A few words of context before the match.
        after: A few words of context after the match.
        score: Relevance score (higher is better).
        segment_id: Segment holding the first matched word.
        revision: Transcript revision searched.
        similarity: For quote search, 0..1 agreement between quote and transcript.
        differences: For quote search, (quote word, transcript word) pairs that differ;
            either side is empty for an insertion or deletion.
        language: Language of the text searched.
        translation: True when the hit is in an English translation.
        match: How the query's words matched: ``exact`` (as typed), ``form`` (another
            grammatical form of the word), ``transliteration`` (a name spelled in another
            alphabet); None for quotes and filter-only queries.
        speaker_confidence: The lowest speaker confidence of the matched words, or None
            when unknown.
        overlap: True when some matched word was spoken while another voice was heard.
    """

    recording_id: str
    title: str
    speaker: str | None
    start: float
    end: float
    text: str
    before: str = ""
    after: str = ""
    score: float = 0.0
    segment_id: int = 0
    revision: int = 1
    similarity: float | None = None
    differences: tuple[tuple[str, str], ...] = ()
    language: str | None = None
    translation: bool = False
    match: str | None = None
    speaker_confidence: float | None = None
    overlap: bool = False

    @property
    def short_id(self) -> str:
        """The first 10 hex digits of the recording id."""
        return self.recording_id[:10]

    @property
    def speaker_uncertain(self) -> bool:
        """True when the speaker shown is a guess (see :attr:`Word.speaker_uncertain`)."""
        return _uncertain(self.speaker, self.speaker_confidence, self.overlap)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["differences"] = [list(p) for p in self.differences]
        return d


@dataclass(frozen=True)
class Citation:
    """A checkable reference to an exact span of an original recording.

    Attributes:
        recording_id: SHA-256 of the original.
        title: Recording title.
        speaker: Speaker display name, or None.
        start: Start of the quote, seconds.
        end: End of the quote, seconds.
        words: The exact words of the transcript over the span.
        revision: Transcript revision the words come from.
        url: Media-fragment link to the original (``file:///...#t=72.4,76.1``).
        original_path: Path of the stored original.
        recorded: Recording date, or None.
        language: Language of the words.
        verified: True when the span was checked by ear.
        verified_revision: Revision against which it was verified, or None.
        verified_by: Who verified it, or None.
        translation: English translation of the same span, when one exists.
        clip_path: Path of an exported clip, when one was made.
        clip_sha256: SHA-256 of that clip.
        speaker_confidence: The lowest speaker confidence of the cited words, or None when
            unknown.
        overlap: True when some cited word was spoken while another voice was heard.
    """

    recording_id: str
    title: str
    speaker: str | None
    start: float
    end: float
    words: str
    revision: int
    url: str
    original_path: str
    recorded: str | None = None
    language: str | None = None
    verified: bool = False
    verified_revision: int | None = None
    verified_by: str | None = None
    translation: str | None = None
    clip_path: str | None = None
    clip_sha256: str | None = None
    speaker_confidence: float | None = None
    overlap: bool = False

    @property
    def speaker_uncertain(self) -> bool:
        """True when the speaker named is a guess (see :attr:`Word.speaker_uncertain`)."""
        return _uncertain(self.speaker, self.speaker_confidence, self.overlap)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _uncertain(speaker: str | None, confidence: float | None, overlap: bool) -> bool:
    return speaker is not None and (overlap or (confidence is not None
                                                and confidence < SPEAKER_UNCERTAIN))


def speaker_turns(segments: Sequence[Segment], gap: float = 0.5
                  ) -> list[tuple[float, float, str]]:
    """Speaker turns (start, end, label) from word times: runs of one speaker's words, joined
    across pauses up to ``gap`` seconds (never over :data:`PAUSE`).

    A segment without words counts with its own span. Exports (RTTM) use this, so a turn
    covers speech and never the silence a segment of an older transcript may span.
    """
    spans: list[tuple[float, float, str]] = []
    for s in segments:
        if s.words:
            spans.extend((w.start, w.end, w.speaker) for w in s.words if w.speaker)
        elif s.speaker:
            spans.append((s.start, s.end, s.speaker))
    spans.sort(key=lambda t: (t[0], t[1], t[2]))
    out: list[list[Any]] = []
    for a, b, who in spans:
        if out and out[-1][2] == who and a - out[-1][1] <= min(gap, PAUSE):
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b, who])
    return [(round(a, 3), round(b, 3), who) for a, b, who in out]


def speaker_certainty(words: Sequence[Word]) -> tuple[float | None, bool]:
    """(lowest speaker confidence, any word in overlap) of a span of words, for a hit or a
    citation; the confidence is None when no word carries one."""
    conf = [w.speaker_confidence for w in words if w.speaker_confidence is not None]
    return (min(conf) if conf else None), any(w.overlap for w in words)
