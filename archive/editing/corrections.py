"""Human corrections of transcripts, the pure part: the edit text, word diffs, revision
summaries and comparisons. No I/O; :mod:`archive.editing.revisions` writes. The re-timing of changed
words is in :mod:`archive.speech.retime`.

A correction never overwrites: each edit becomes a new revision (revision 1 is the machine's).
Words a human left alone keep their timings exactly; words typed in are placed in the audio by
forced alignment (:func:`archive.speech.transcribe.align_text`) between their unchanged neighbours,
or spread over the span of the words they replace when alignment is not possible.

The edit text is one line per segment, ``[mm:ss.s] S1: text``; lines starting with ``#`` are
ignored. Times are fixed, the speaker and the text can be changed.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from ..errors import EditError
from ..models import Segment, Speaker, Transcript
from ..speech.retime import Aligner, Refiner, edge_bounds, retime_segment
from ..speech.retime import word_key as _key
from ..evidence.store import dumps_pretty
from ..timecode import mss, parse_time

_LINE = re.compile(r"^\[(?P<time>[0-9:.]+)\]\s?(?P<rest>.*)$")
_SPEAKER = re.compile(r"^(?P<who>[^:\[\]#]{1,60}):(?:\s+|$)(?P<text>.*)$")
_LABEL = re.compile(r"^S\d{1,3}$")
#: Audio kept on each side of a segment when aligning its new text, seconds.
ALIGN_PAD = 0.05


@dataclass(frozen=True)
class EditResult:
    """What an edit did.

    Attributes:
        recording_id: The recording.
        base_revision: The revision the edit was made on.
        revision: The revision written (``base_revision`` when nothing changed).
        changed: False when the text was left as it was (nothing written).
        words_changed: Words inserted, deleted or replaced.
        speakers_changed: Segments whose speaker changed.
        segments_removed: Segments whose text was emptied.
        timing: How new words were timed: ``aligned``, ``proportional``, ``mixed`` or ``""``.
        note: The note stored with the revision.
        diff: Unified diff of the edit text, as recorded in the custody log.
        stale_marks: Passages verified by ear whose words this edit changed.
    """

    recording_id: str
    base_revision: int
    revision: int
    changed: bool
    words_changed: int = 0
    speakers_changed: int = 0
    segments_removed: int = 0
    timing: str = ""
    note: str = ""
    diff: str = ""
    stale_marks: tuple["Mark", ...] = ()


@dataclass(frozen=True)
class RevisionInfo:
    """One revision of a transcript, as listed by ``archive history``."""

    revision: int
    author: str
    created: str
    note: str | None
    words_changed: int
    speakers_changed: int
    current: bool


@dataclass(frozen=True)
class Mark:
    """A passage checked by ear against one revision (a row of the ``verified`` table)."""

    id: int
    recording_id: str
    start: float
    end: float
    revision: int
    note: str | None
    by: str
    at: str


# ------------------------------------------------------------------ the edit text
def edit_text(t: Transcript) -> str:
    """The transcript as editable text: a comment header, then one line per segment."""
    r = t.recording
    out = [f"# archive edit: {_one_line(r.title)}  {r.short_id}  revision {t.revision}  "
           f"({t.language or '?'})",
           "# One line per segment: [mm:ss.s] SPEAKER: text. Change the words or the speaker;",
           "# keep the times and the order of the lines. Empty a line's text to drop the",
           "# segment. Lines starting with # are ignored. Save and quit to make a new revision;",
           "# quit without saving to change nothing."]
    if t.speakers:
        out.append("# Speakers: " + ", ".join(
            sp.label + (f" ({_one_line(sp.name)})" if sp.name else "") for sp in t.speakers))
    for s in t.segments:
        if s.flags:
            out.append(f"# suspect (the model may have invented the next line): "
                       f"{', '.join(s.flags)}")
        out.append(_line(t, s))
    return "\n".join(out) + "\n"


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def _words_of(s: Segment) -> list[str]:
    return [w.text for w in s.words] if s.words else s.text.split()


def _line(t: Transcript, s: Segment) -> str:
    who = t.speaker_name(s.speaker)
    if who and (":" in who or "#" in who or "[" in who or len(who) > 60):
        who = s.speaker  # a name that would not read back: show the label
    return f"[{mss(s.start)}] " + (f"{_one_line(who)}: " if who else "") + " ".join(_words_of(s))


@dataclass(frozen=True)
class _Edited:
    speaker: str | None  # label, possibly new
    tokens: tuple[str, ...]


def parse_edit(t: Transcript, text: str) -> tuple[list[_Edited], list[Speaker]]:
    """Read an edited text back: per segment its speaker label and words, plus new speakers.

    Raises:
        EditError: With a one-line message naming the line, if the text cannot be applied.
    """
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1)
             if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) != len(t.segments):
        raise EditError(f"the edit has {len(lines)} segment lines but the transcript has "
                        f"{len(t.segments)}; keep one line per segment (empty a line's text "
                        "to drop it)")
    known: dict[str, str] = {}
    for sp in t.speakers:
        if sp.name:
            known.setdefault(sp.name.casefold(), sp.label)
    for sp in t.speakers:
        known[sp.label.casefold()] = sp.label
    for s in t.segments:
        if s.speaker is not None:
            known.setdefault(s.speaker.casefold(), s.speaker)
    new: list[Speaker] = []
    out: list[_Edited] = []
    for (n, ln), seg in zip(lines, t.segments):
        m = _LINE.match(ln)
        if not m:
            raise EditError(f"line {n} does not start with a [mm:ss.s] time: {ln[:40]!r}")
        try:
            at = parse_time(m["time"])
        except Exception:
            raise EditError(f"line {n}: {m['time']!r} is not a time") from None
        if abs(at - parse_time(mss(seg.start))) > 0.051:  # as it was shown
            raise EditError(f"line {n}: time [{m['time']}] does not match the segment at "
                            f"[{mss(seg.start)}]; times cannot be edited, nor lines moved")
        rest = m["rest"].strip()
        sm = _SPEAKER.match(rest)
        label = seg.speaker
        if seg.speaker is not None:
            if not sm or not sm["who"].strip():
                raise EditError(f"line {n}: no speaker before the text (write "
                                f"'{t.speaker_name(seg.speaker)}: text')")
            label = _speaker_label(sm["who"].strip(), t, known, new)
            rest = sm["text"]
        elif sm and _new_prefix(sm["who"], seg):
            label = _speaker_label(sm["who"].strip(), t, known, new)
            rest = sm["text"]
        out.append(_Edited(label, tuple(rest.split())))
    return out, new


def _new_prefix(who: str, seg: Segment) -> bool:
    """True when ``who:`` was put before a segment that had no speaker: a speaker given by
    the editor (a prefix that was already part of the text stays text)."""
    who = who.strip()
    if len(who.split()) > 3 or any(c in who for c in ",!?;\"“”"):
        return False
    return not " ".join(_words_of(seg)).startswith(who + ":")


def _speaker_label(who: str, t: Transcript, known: dict[str, str], new: list[Speaker]) -> str:
    key = who.casefold()
    if key in known:
        return known[key]
    used = [int(x.label[1:]) for x in (*t.speakers, *new) if _LABEL.match(x.label)]
    if _LABEL.match(who.upper()):
        sp = Speaker(label=who.upper())
    else:
        sp = Speaker(label=f"S{max(used, default=0) + 1}", name=who)
    new.append(sp)
    known[key] = known[sp.label.casefold()] = sp.label
    return sp.label


# ------------------------------------------------------------------ applying an edit
def apply_edit(t: Transcript, text: str, *, aligner: Aligner | None = None,
               refine: Refiner | None = None
               ) -> tuple[tuple[Segment, ...], tuple[Speaker, ...], dict[str, Any]] | None:
    """Apply an edited text to a transcript.

    Returns:
        (segments, speakers, stats) of the new revision, or None when nothing changed.
        ``stats`` holds ``words_changed``, ``speakers_changed``, ``segments_removed``,
        ``timing``, ``examples`` (old, new) and ``spans`` (changed time spans).

    Raises:
        EditError: If the text cannot be parsed.
    """
    edited, new_speakers = parse_edit(t, text)
    segs: list[Segment] = []
    stats: dict[str, Any] = {"words_changed": 0, "speakers_changed": 0, "segments_removed": 0,
                             "timing": set(), "examples": [], "spans": []}
    for k, (seg, e) in enumerate(zip(t.segments, edited)):
        before = _words_of(seg)
        same_words = before == list(e.tokens)
        if same_words and e.speaker == seg.speaker:
            segs.append(seg)
            continue
        if e.speaker != seg.speaker:
            stats["speakers_changed"] += 1
            stats["spans"].append((seg.start, seg.end))
        if same_words:
            segs.append(dataclasses.replace(seg, speaker=e.speaker, words=tuple(
                dataclasses.replace(w, speaker=e.speaker) for w in seg.words)))
            continue
        bounds = edge_bounds(t.segments, k, t.recording.duration)
        aligned = None
        if aligner is not None and e.tokens:
            # Words typed before the first (after the last) word may lie in the pause before
            # (after) the segment: then align over that pause too.
            edges = [_key(x) for x in (before[0], before[-1])] if before else []
            wide = edges != [_key(e.tokens[0]), _key(e.tokens[-1])]
            aligned = aligner(dataclasses.replace(seg, start=bounds[0], end=bounds[1])
                              if wide else seg, e.tokens)
        new, timing, spans = retime_segment(seg, e.tokens, e.speaker, aligned=aligned,
                                            refine=refine, bounds=bounds)
        examples = _examples(before, list(e.tokens))
        stats["words_changed"] += sum(max(len(a.split()), len(b.split())) for a, b in examples)
        stats["spans"] += spans
        if timing:
            stats["timing"].add(timing)
        stats["examples"] += examples
        if new.words:
            segs.append(new)
        else:
            stats["segments_removed"] += 1
    if segs == list(t.segments):
        return None
    timing = stats["timing"]
    stats["timing"] = "mixed" if len(timing) > 1 or "mixed" in timing else next(iter(timing), "")
    return tuple(segs), _speaker_table(t, segs, new_speakers, stats["speakers_changed"]), stats


def _examples(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [(" ".join(a[i1:i2]), " ".join(b[j1:j2]))
            for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"]


def _speaker_table(t: Transcript, segs: Sequence[Segment], new: Sequence[Speaker],
                   changed: int) -> tuple[Speaker, ...]:
    if not changed and not new:
        return t.speakers
    talk: dict[str, float] = {}
    turns: dict[str, int] = {}
    prev = None
    for s in segs:
        if s.speaker is not None:
            talk[s.speaker] = talk.get(s.speaker, 0.0) + max(0.0, s.end - s.start)
            if s.speaker != prev:
                turns[s.speaker] = turns.get(s.speaker, 0) + 1
        prev = s.speaker
    return tuple(dataclasses.replace(sp, talk_time=round(talk.get(sp.label, 0.0), 2),
                                     turns=turns.get(sp.label, 0))
                 for sp in (*t.speakers, *new))


def summary(stats: dict[str, Any], note: str | None = None) -> str:
    """The note of a revision: the user's note, then what changed, with examples."""
    parts = []
    if stats["words_changed"]:
        ex = "; ".join(f"“{a}” → “{b}”" for a, b in stats["examples"][:3])
        more = ", …" if len(stats["examples"]) > 3 else ""
        parts.append(f"{stats['words_changed']} word(s) changed ({ex}{more})")
    if stats["speakers_changed"]:
        parts.append(f"speaker changed on {stats['speakers_changed']} segment(s)")
    if stats["segments_removed"]:
        parts.append(f"{stats['segments_removed']} segment(s) removed")
    auto = "; ".join(parts) or "edited"
    return f"{_one_line(note)} — {auto}" if note and note.strip() else auto


# ------------------------------------------------------------------ comparing revisions
def _body(t: Transcript) -> list[str]:
    return [_line(t, s) for s in t.segments]


def diff(a: Transcript, b: Transcript) -> str:
    """Unified diff of two revisions' edit text."""
    return "\n".join(difflib.unified_diff(_body(a), _body(b), f"revision {a.revision}",
                                          f"revision {b.revision}", lineterm="", n=1))


def changes(a: Transcript, b: Transcript) -> tuple[int, int]:
    """(words inserted, deleted or replaced; segments whose speaker changed) from a to b."""
    la = [_words_of(s) for s in a.segments]
    lb = [_words_of(s) for s in b.segments]
    words = speakers = 0
    lines = difflib.SequenceMatcher(None, [" ".join(x) for x in la], [" ".join(x) for x in lb],
                                    autojunk=False)
    for tag, i1, i2, j1, j2 in lines.get_opcodes():
        if tag == "equal":
            speakers += sum(a.speaker_name(x.speaker) != b.speaker_name(y.speaker)
                            for x, y in zip(a.segments[i1:i2], b.segments[j1:j2]))
            continue
        wa = [w for x in la[i1:i2] for w in x]
        wb = [w for x in lb[j1:j2] for w in x]
        words += sum(max(p2 - p1, q2 - q1) for tg, p1, p2, q1, q2 in difflib.SequenceMatcher(
            None, wa, wb, autojunk=False).get_opcodes() if tg != "equal")
    return words, speakers


def history(revisions: Iterator[Transcript], current: int) -> list[RevisionInfo]:
    """Revision list from the revisions in order (each compared with the one before)."""
    out, prev = [], None
    for t in revisions:
        words, speakers = changes(prev, t) if prev is not None else (0, 0)
        out.append(RevisionInfo(t.revision, t.author, t.created, t.note, words, speakers,
                                t.revision == current))
        prev = t
    return out


def transcript_sha256(t: Transcript) -> str:
    """SHA-256 of a revision's file exactly as the store writes it."""
    return hashlib.sha256((dumps_pretty(t.to_json()) + "\n").encode("utf-8")).hexdigest()


def overlaps(marks: Sequence[Mark], spans: Sequence[tuple[float, float]]) -> tuple[Mark, ...]:
    """The marks that overlap any of the spans."""
    return tuple(m for m in marks
                 if any(a < m.end - 0.02 and b > m.start + 0.02 for a, b in spans))
