"""The archive as a reporter uses it, end to end on real audio with the real default model:
add, provenance, duplicates, show/export, search, verify (quotes and citations:
test_citing.py)."""

from __future__ import annotations

import json
import os
import re
import stat

import pytest

from archive.errors import AlreadyArchived, QueryError
from archive.ingest.pipeline import AddOptions
from archive.library import Archive

from .conftest import JFK_TEXT, SAMPLES, shared


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _wer(ref: str, hyp: str) -> float:
    import jiwer
    return jiwer.wer(" ".join(_words(ref)), " ".join(_words(hyp)))


def _rec(a: Archive, title: str):
    return next(r for r in a.recordings() if r.title == title)


def test_jfk_transcript_text_and_word_times(built_archive: Archive):
    rec = _rec(built_archive, "JFK inaugural")
    t = built_archive.transcript(rec.id)
    assert _wer(JFK_TEXT, t.text) <= 0.10, t.text
    assert t.language == "en" and rec.language_probability > 0.5
    words = t.words
    assert all(0 <= w.start <= w.end <= rec.duration + 0.01 for w in words)
    assert all(a.start <= b.start and a.end <= b.start + 1e-6 for a, b in zip(words, words[1:]))
    assert all(s.speaker for s in t.segments) and all(w.speaker for w in words)


def test_provenance_is_recorded(built_archive: Archive):
    rec = _rec(built_archive, "JFK inaugural")
    jfk = shared("jfk.flac")
    assert rec.size == jfk.stat().st_size and rec.ext == ".flac"
    assert rec.codec == "flac" and rec.channels == 2 and rec.sample_rate == 44100
    # Its two channels are copies: not a call layout, so it is transcribed once.
    assert built_archive.transcript(rec.id).options["by_channel"] is False
    assert rec.duration == pytest.approx(11.0, abs=0.05)
    assert rec.model == "base" and rec.model_sha256.startswith("d01c3014")
    assert rec.added_by and rec.tool_version and rec.added.endswith("+00:00")
    orig = built_archive.original_path(rec.id)
    assert orig.read_bytes() == jfk.read_bytes()
    assert not os.stat(orig).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    events = built_archive.log(rec.id[:8])
    assert [e["event"] for e in events] == ["add"]
    assert events[0]["details"]["sha256"] == rec.id


def test_messenger_file_name_gives_an_inferred_date(built_archive: Archive):
    rec = _rec(built_archive, "PTT-20220405-WA0001")
    assert (rec.recorded, rec.recorded_inferred, rec.recorded_basis) == \
        ("2022-04-05", True, "filename")
    tg = _rec(built_archive, "Commander voice note")
    assert tg.recorded == "2022-03-14T21:07:33" and tg.recorded_inferred
    given = _rec(built_archive, "Intercepted call")
    assert (given.recorded, given.recorded_inferred, given.recorded_basis) == \
        ("2022-05-02", False, "user")


def test_same_bytes_twice_are_refused_with_their_id(built_archive: Archive, copy_of):
    dup = copy_of(shared("jfk.flac"), "renamed_copy.flac")
    rec = _rec(built_archive, "JFK inaugural")
    before = len(built_archive.recordings())
    with pytest.raises(AlreadyArchived) as e:
        built_archive.add(dup)
    assert e.value.recording_id == rec.id and rec.id[:10] in str(e.value)
    assert len(built_archive.recordings()) == before


def test_stereo_call_is_transcribed_per_channel(built_archive: Archive):
    t = built_archive.transcript(_rec(built_archive, "Intercepted call").id)
    assert t.options["by_channel"] is True
    by_speaker = {}
    for s in t.segments:
        by_speaker.setdefault(s.speaker, []).append(s.text)
    assert len(by_speaker) == 2
    first = " ".join(by_speaker[t.segments[0].speaker]).lower()
    other = " ".join(v for k, vs in by_speaker.items() if k != t.segments[0].speaker
                     for v in vs).lower()
    assert "documents" in first or "document" in first
    assert "payments" in other and "minister" not in other


def test_export_formats(built_archive: Archive):
    rid = _rec(built_archive, "JFK inaugural").id
    srt = built_archive.export(rid, "srt")
    assert re.search(r"^1\n00:00:0\d,\d{3} --> 00:00:\d\d,\d{3}\n\[S1\] ", srt, re.M)
    vtt = built_archive.export(rid, "vtt")
    assert vtt.startswith("WEBVTT") and "<v S1>" in vtt
    data = json.loads(built_archive.export(rid, "json"))
    assert data["recording"]["id"] == rid and data["segments"][0]["words"]
    rttm = built_archive.export(rid, "rttm")
    assert rttm.startswith(f"SPEAKER {rid[:10]} 1 ")
    txt = built_archive.export(rid, "txt")
    assert "what your country can do for you" in txt.lower()


def test_phrase_offset_is_the_words_not_the_segment(built_archive: Archive):
    hits = built_archive.search('"ask not what your country"')
    assert hits and hits[0].title == "JFK inaugural"
    assert hits[0].start == pytest.approx(3.25, abs=0.15)
    assert hits[0].text.lower().startswith("ask not")


@pytest.mark.parametrize("query,title", [
    ('"fellow Americans"', "JFK inaugural"),
    ("traitors AND weaklings", "Commander voice note"),
    ("convoy OR zeppelin", "PTT-20220405-WA0001"),
    ("traitor~", "Commander voice note"),
    ("payment*", "Intercepted call"),
    ("tag:military bridge", "Commander voice note"),
    ("source:WhatsApp trucks", "PTT-20220405-WA0001"),
    ("title:JFK country", "JFK inaugural"),
    ("lang:en minister", "Intercepted call"),
    ("recorded:2022-04..2022-04 trucks", "PTT-20220405-WA0001"),
    ("recorded:2022-03 trucks", "Commander voice note"),
])
def test_queries_find_the_right_recording(built_archive: Archive, query, title):
    hits = built_archive.search(query)
    if title is None:
        assert hits == []
    else:
        assert hits and {h.title for h in hits} == {title}, [(h.title, h.text) for h in hits]


@pytest.mark.parametrize("query,without", [("country NOT americans", "americans"),
                                           ("country NOT ask", "ask"), ("ask -country", "country")])
def test_not_drops_the_segments_that_hold_the_word(built_archive: Archive, query, without):
    """A hit is a segment with the first word and without the other: exactly those segments
    of jfk, whichever way the recording was cut into segments."""
    rid = next(r.id for r in built_archive.recordings() if r.title == "JFK inaugural")
    first = query.split()[0]
    norm = lambda s: re.sub(r"[^\w ]+", " ", s.lower()).split()  # noqa: E731
    expect = sorted(s.start for s in built_archive.transcript(rid).segments
                    if first in norm(s.text) and without not in norm(s.text))
    hits = [h for h in built_archive.search(query, limit=100)]
    assert {h.title for h in hits} <= {"JFK inaugural"}
    got = sorted({next(s.start for s in built_archive.transcript(rid).segments
                       if s.start <= h.start + 1e-6 and h.end <= s.end + 1e-6) for h in hits})
    assert got == expect


@pytest.mark.parametrize("query", ['"unclosed phrase', "speaker:", "nosuchfield:x", "(a OR",
                                   "recorded:2022-13..2022-14"])
def test_malformed_queries_raise(built_archive: Archive, query):
    with pytest.raises(QueryError):
        built_archive.search(query)


def test_verify_catches_a_modified_original(fresh_archive: Archive, copy_of):
    a = fresh_archive
    rec = a.add(copy_of(SAMPLES / "PTT-20220405-WA0001.opus"),
                AddOptions(diarize=False, model="tiny.en"))
    assert a.verify().ok
    orig = a.original_path(rec.id)
    orig.chmod(0o644)
    data = bytearray(orig.read_bytes())
    data[len(data) // 2] ^= 0xFF
    orig.write_bytes(bytes(data))
    rep = a.verify()
    assert not rep.ok and any("CHANGED" in p and rec.short_id in p for p in rep.problems)
