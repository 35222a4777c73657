"""Transcript export formats: txt, srt, vtt, json and rttm. Pure text, no I/O."""

from __future__ import annotations

from typing import Callable

from ..models import Transcript
from ..evidence.store import dumps_pretty
from ..timecode import mss, srt_time, vtt_time

FORMATS = ("txt", "srt", "vtt", "json", "rttm")


def _name(t: Transcript, label: str | None) -> str | None:
    return t.speaker_name(label)


def to_txt(t: Transcript) -> str:
    """Plain text, one line per segment: ``[mm:ss.s] Speaker: text``."""
    r = t.recording
    lines = [f"# {r.title}", f"# id {r.id}", f"# revision {t.revision}, language {t.language}",
             ""]
    for s in t.segments:
        who = _name(t, s.speaker)
        flag = f" [suspect: {', '.join(s.flags)}]" if s.flags else ""
        lines.append(f"[{mss(s.start)}] {who + ': ' if who else ''}{s.text.strip()}{flag}")
    return "\n".join(lines) + "\n"


def _cue_text(t: Transcript, label: str | None, text: str, vtt: bool) -> str:
    who = _name(t, label)
    if not who:
        return text.strip()
    return f"<v {who}>{text.strip()}" if vtt else f"[{who}] {text.strip()}"


def to_srt(t: Transcript) -> str:
    """SubRip subtitles, with the speaker in brackets."""
    out = []
    for n, s in enumerate(t.segments, 1):
        out.append(f"{n}\n{srt_time(s.start)} --> {srt_time(s.end)}\n"
                   f"{_cue_text(t, s.speaker, s.text, False)}\n")
    return "\n".join(out)


def to_vtt(t: Transcript) -> str:
    """WebVTT subtitles, with voice tags for speakers."""
    out = ["WEBVTT", ""]
    for s in t.segments:
        out.append(f"{vtt_time(s.start)} --> {vtt_time(s.end)}\n"
                   f"{_cue_text(t, s.speaker, s.text, True)}\n")
    return "\n".join(out)


def to_json(t: Transcript) -> str:
    """The transcript as stored, with speaker names resolved on each segment."""
    d = t.to_json()
    for seg in d["segments"]:
        seg["speaker_name"] = _name(t, seg.get("speaker"))
    return dumps_pretty(d) + "\n"


def to_rttm(t: Transcript) -> str:
    """RTTM speaker turns (``SPEAKER file 1 start dur <NA> <NA> name <NA> <NA>``)."""
    rid = t.recording.id[:10]
    lines = []
    turns: list[list] = []
    for s in t.segments:
        if s.speaker is None:
            continue
        if turns and turns[-1][2] == s.speaker and s.start - turns[-1][1] < 0.5:
            turns[-1][1] = max(turns[-1][1], s.end)
        else:
            turns.append([s.start, s.end, s.speaker])
    for start, end, label in turns:
        who = (_name(t, label) or label).replace(" ", "_")
        lines.append(f"SPEAKER {rid} 1 {start:.3f} {end - start:.3f} <NA> <NA> {who} <NA> <NA>")
    return "\n".join(lines) + ("\n" if lines else "")


EXPORTERS: dict[str, Callable[[Transcript], str]] = {
    "txt": to_txt, "srt": to_srt, "vtt": to_vtt, "json": to_json, "rttm": to_rttm,
}


def export(t: Transcript, fmt: str) -> str:
    """Render a transcript in one of :data:`FORMATS`."""
    return EXPORTERS[fmt](t)
