"""Exports cannot be turned against their reader (issue 11): each format is read back with a
real parser (webvtt-py, srt, a strict RTTM line check, json) and must give exactly the
segments, speakers and words that were exported, whatever a title, a name or a word holds.

pyannote's RTTM reader lives in pyannote.database, and pyannote.core alone pulls pandas in
(measured: +4 packages, pandas among them), so the RTTM check is the format's own rule
written out: ten space-separated fields, SPEAKER, a channel, finite non-negative onset and
duration, <NA> where no value is given, and one-token names.
"""

from __future__ import annotations

import html
import io
import json
import math
import re

import pytest

from archive.citing.export import export
from archive.models import Recording, Segment, Speaker, Transcript, Word
from archive.text import one_line
from archive.timecode import vtt_time

HOSTILE = {
    "vtt_arrow": "so --> 00:00:09.000 --> 00:00:10.000",
    "markup": "<b>bold</b> & <c.red>x</c> <v Other>y",
    "ampersand": "R&D &amp; &lt;",
    "newline": "first line\n\n2\n00:00:01,000 --> 00:00:02,000\nforged cue",
    "bidi": "\u202egnol\u202c \u2066x\u2069",
    "c1_and_escape": "\x9b2J\x1b[31mred\x1b]8;;http://x\x07link",
    "separator": "a\u2028b\u2029c\x85d",
    "tab_cr": "a\tb\rc",
}
NAMES = {"gt": "A>B", "vtag": "x><v Forged", "space": "Colonel  Smith", "bidi": "\u202eevil",
         "newline": "Anna\nSPEAKER fake 1 0 1 <NA> <NA> X <NA> <NA>", "amp": "R&D"}
BAD = ("\x1b", "\x9b", "\x07", "\u202e", "\u202c", "\u2066", "\u2069", "\u2028", "\u2029",
       "\x85", "\r")


def transcript(text: str, name: str) -> Transcript:
    rec = Recording(id="ab" * 32, filename="f.ogg", ext=".ogg", size=1, duration=20.0,
                    title=f"Title\n[00:00.0] S1: forged line {text}")
    segs = []
    for i, (spk, t0) in enumerate([("S1", 0.5), ("S2", 4.0), ("S1", 9.0)]):
        words = tuple(Word(t0 + k, t0 + k + 0.5, w, 0.9, spk)
                      for k, w in enumerate(["hello", text, "end"]))
        segs.append(Segment(i, t0, t0 + 2.5, f" hello {text} end", words, spk,
                            flags=("no_speech\n[00:01.0] fake",) if i == 1 else ()))
    return Transcript(rec, 1, tuple(segs), (Speaker("S1", name), Speaker("S2", None)), "en")


CASES = sorted({(t, n) for t in HOSTILE for n in ("gt", "bidi")} |
               {("ampersand", n) for n in NAMES})


def _expected(t: Transcript, s: Segment) -> tuple[str, str | None]:
    return one_line(s.text), (one_line(t.speaker_name(s.speaker)) or None)


@pytest.mark.parametrize("text,name", CASES, ids=[f"{a}-{b}" for a, b in CASES])
class TestExportsReadBack:
    def test_vtt(self, text, name):
        import webvtt
        t = transcript(HOSTILE[text], NAMES[name])
        out = export(t, "vtt")
        assert not any(c in out for c in BAD), repr(out)
        caps = webvtt.from_buffer(io.StringIO(out)).captions
        assert len(caps) == len(t.segments)
        for cap, s in zip(caps, t.segments):
            want_text, want_who = _expected(t, s)
            assert html.unescape(cap.text) == want_text
            assert (html.unescape(cap.voice) if cap.voice else None) == want_who
            assert cap.start == vtt_time(s.start) and cap.end == vtt_time(s.end)

    def test_srt(self, text, name):
        import srt
        t = transcript(HOSTILE[text], NAMES[name])
        out = export(t, "srt")
        assert not any(c in out for c in BAD), repr(out)
        subs = list(srt.parse(out))
        assert len(subs) == len(t.segments)
        for sub, s in zip(subs, t.segments):
            want_text, want_who = _expected(t, s)
            assert sub.content == (f"[{want_who}] {want_text}" if want_who else want_text)
            assert abs(sub.start.total_seconds() - s.start) < 0.002

    def test_txt(self, text, name):
        t = transcript(HOSTILE[text], NAMES[name])
        lines = export(t, "txt").splitlines()
        assert not any(c in "\n".join(lines) for c in BAD)
        header = [x for x in lines if x.startswith("# ")]
        body = [x for x in lines if x and not x.startswith("# ")]
        assert len(header) == 3 and len(body) == len(t.segments), lines
        assert all(re.match(r"^\[\d\d:\d\d\.\d\] ", x) for x in body), body

    def test_json(self, text, name):
        t = transcript(HOSTILE[text], NAMES[name])
        out = export(t, "json")
        assert not any(c in out for c in BAD if c not in "\r"), repr(out)
        d = json.loads(out)  # the exact values, escaped
        assert d["segments"][1]["text"] == t.segments[1].text
        assert d["speakers"][0]["name"] == NAMES[name]

    def test_rttm(self, text, name):
        t = transcript(HOSTILE[text], NAMES[name])
        out = export(t, "rttm")
        rows = out.splitlines()
        assert len(rows) == 3 and out.endswith("\n")
        for row, s in zip(rows, t.segments):
            check_rttm_line(row)
            assert row.split(" ")[7] == "_".join(one_line(t.speaker_name(s.speaker)).split())


def check_rttm_line(line: str) -> None:
    """A strict RTTM SPEAKER line (NIST RT-09 layout, as pyannote writes it)."""
    f = line.split(" ")
    assert len(f) == 10 and all(f) and f == line.split(), line
    assert f[0] == "SPEAKER" and re.fullmatch(r"\S+", f[1]) and f[2].isdigit(), line
    onset, dur = float(f[3]), float(f[4])
    assert math.isfinite(onset) and math.isfinite(dur) and onset >= 0 and dur >= 0, line
    assert f[5] == f[6] == f[8] == f[9] == "<NA>", line
    assert not any(c in line for c in BAD) and line.isprintable(), line


def test_json_export_never_emits_nan():
    t = transcript("x", "A")
    bad = Transcript(t.recording, 1, (Segment(0, 0.0, 1.0, "x", avg_logprob=math.nan),))
    from archive.errors import TranscriptCorrupt
    with pytest.raises(TranscriptCorrupt, match="NaN"):
        export(bad, "json")


@pytest.mark.parametrize("name,stored", [("\u202eAnna\u202c", "Anna"),
                                         ("Col.\u2066 Smith\u2069", "Col. Smith")])
def test_speaker_names_lose_bidi_controls_at_entry(name, stored):
    from archive.speakers.naming import renamed
    sp, _ = renamed(transcript("x", "A"), "S2", name)
    assert sp.name == stored


@pytest.mark.parametrize("name", ["\x1b[31m", "a\nb", "\u2028", "\u202e"])
def test_speaker_names_with_controls_are_refused(name):
    from archive.errors import UsageError
    from archive.speakers.naming import renamed
    with pytest.raises(UsageError):
        renamed(transcript("x", "A"), "S2", name)
