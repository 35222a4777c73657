"""Transcript export formats: txt, srt, vtt, json and rttm. Pure text, no I/O.

Names, titles and words come from people and from files, so each format escapes them its
own way on the way out (and every value goes through :func:`archive.text.one_line` first:
no control character, line break or bidi override reaches an export):

* txt: one line per segment; a title cannot add a header line, nor a word a segment line.
* srt: one text line per cue, so a cue cannot end early or forge another one.
* vtt: ``&``, ``<`` and ``>`` as character references in cue text and in the ``<v name>``
  voice annotation (so ``-->`` and ``>`` cannot end a cue or a tag).
* json: NaN and Infinity are refused; DEL, C1 and bidi characters inside strings are
  written as ``\\uXXXX`` escapes (the same values for any JSON reader).
* rttm: each field is one token (blanks in a name become ``_``).
"""

from __future__ import annotations

import json
from typing import Callable

from ..errors import TranscriptCorrupt
from ..models import Segment, Transcript, speaker_turns
from ..evidence.store import dumps_pretty
from ..text import escape_json_unsafe, one_line
from ..timecode import mss, srt_time, vtt_time

FORMATS = ("txt", "srt", "vtt", "json", "rttm")


def _name(t: Transcript, label: str | None) -> str:
    return one_line(t.speaker_name(label))


def to_txt(t: Transcript) -> str:
    """Plain text, one line per segment: ``[mm:ss.s] Speaker: text``."""
    r = t.recording
    lines = [f"# {one_line(r.title)}", f"# id {one_line(r.id)}",
             f"# revision {t.revision}, language {one_line(t.language) or None}", ""]
    for s in _cues(t):
        who = _name(t, s.speaker)
        flags = ", ".join(one_line(f) for f in s.flags)
        flag = f" [suspect: {flags}]" if s.flags else ""
        lines.append(f"[{mss(s.start)}] {who + ': ' if who else ''}{one_line(s.text)}{flag}")
    return "\n".join(lines) + "\n"


def vtt_escape(text: str) -> str:
    """Text for a WebVTT cue or voice annotation: ``&``, ``<``, ``>`` as references."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cue_text(t: Transcript, label: str | None, text: str, vtt: bool) -> str:
    who, text = _name(t, label), one_line(text)
    if vtt:
        text = vtt_escape(text)
        return f"<v {vtt_escape(who)}>{text}" if who else text
    return f"[{who}] {text}" if who else text


def _cues(t: Transcript) -> list[Segment]:
    return [piece for s in t.segments for piece in s.split_at_pauses()]


def to_srt(t: Transcript) -> str:
    """SubRip subtitles, with the speaker in brackets; no cue spans a pause of over
    :data:`archive.models.PAUSE` (older transcripts' segments are cut there)."""
    out = []
    for n, s in enumerate(_cues(t), 1):
        out.append(f"{n}\n{srt_time(s.start)} --> {srt_time(s.end)}\n"
                   f"{_cue_text(t, s.speaker, s.text, False)}\n")
    return "\n".join(out)


def to_vtt(t: Transcript) -> str:
    """WebVTT subtitles, with voice tags for speakers; cues as in :func:`to_srt`."""
    out = ["WEBVTT", ""]
    for s in _cues(t):
        out.append(f"{vtt_time(s.start)} --> {vtt_time(s.end)}\n"
                   f"{_cue_text(t, s.speaker, s.text, True)}\n")
    return "\n".join(out)


def to_json(t: Transcript) -> str:
    """The transcript as stored, with speaker names resolved on each segment.

    Raises:
        TranscriptCorrupt: If it holds a value JSON cannot represent (NaN, Infinity).
    """
    d = t.to_json()
    for seg in d["segments"]:
        seg["speaker_name"] = t.speaker_name(seg.get("speaker"))
    try:
        json.dumps(d, allow_nan=False)
    except ValueError:
        raise TranscriptCorrupt(f"{t.recording.short_id}: the transcript holds a number JSON "
                                "cannot represent (NaN or Infinity)") from None
    return escape_json_unsafe(dumps_pretty(d)) + "\n"


def _token(text: str) -> str:
    return "_".join(one_line(text).split())


def to_rttm(t: Transcript) -> str:
    """RTTM speaker turns (``SPEAKER file 1 start dur <NA> <NA> name <NA> <NA>``), made from
    word times (:func:`archive.models.speaker_turns`): a turn never covers a silence that a
    segment spans, in older transcripts too."""
    rid = t.recording.id[:10]
    lines = []
    for start, end, label in speaker_turns(t.segments):
        who = _token(t.speaker_name(label) or "") or _token(label) or "unknown"
        lines.append(f"SPEAKER {_token(rid)} 1 {start:.3f} {end - start:.3f} <NA> <NA> {who} "
                     "<NA> <NA>")
    return "\n".join(lines) + ("\n" if lines else "")


EXPORTERS: dict[str, Callable[[Transcript], str]] = {
    "txt": to_txt, "srt": to_srt, "vtt": to_vtt, "json": to_json, "rttm": to_rttm,
}


def export(t: Transcript, fmt: str) -> str:
    """Render a transcript in one of :data:`FORMATS`."""
    return EXPORTERS[fmt](t)
