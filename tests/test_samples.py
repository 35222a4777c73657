"""The project's own samples against the transcripts archive produced for them
(transcripts/, made by transcripts/regenerate.py): a regression reference."""

from __future__ import annotations

import json
import re

import pytest

from archive.library import Archive

from .conftest import ROOT

REFERENCE = ROOT / "transcripts"


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


@pytest.mark.parametrize("title,stem", [
    ("Commander voice note", "audio_2022-03-14_21-07-33"),
    ("PTT-20220405-WA0001", "PTT-20220405-WA0001"),
    ("Intercepted call", "leaked_call"),
])
def test_sample_matches_its_reference_transcript(built_archive: Archive, title, stem):
    import jiwer
    ref_path = REFERENCE / f"{stem}.json"
    if not ref_path.exists():
        pytest.fail(f"{ref_path} is missing: run python transcripts/regenerate.py")
    ref = json.loads(ref_path.read_text("utf-8"))
    rec = next(r for r in built_archive.recordings() if r.title == title)
    t = built_archive.transcript(rec.id)
    assert rec.id == ref["recording"]["id"]  # same bytes as when the reference was made
    ref_text = " ".join(s["text"] for s in ref["segments"])
    assert jiwer.wer(" ".join(_words(ref_text)), " ".join(_words(t.text))) <= 0.05
    assert len(t.speakers) == len(ref["speakers"])
    ref_words = [w for s in ref["segments"] for w in s["words"]]
    now = t.words
    if len(ref_words) == len(now):
        assert max(abs(w.start - r["start"]) for w, r in zip(now, ref_words)) < 0.1


def test_commander_note_says_it(built_archive: Archive):
    hits = built_archive.search("traitors")
    assert hits and hits[0].title == "Commander voice note"
    assert "weaklings" in (hits[0].before + " " + hits[0].text).lower()
