"""Quotes and citations (archive.citing.cite through the Archive facade), on real audio with the
real default model: a published quote with misheard words, citing a hit and a span, clips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.errors import BadReference
from archive.library import Archive


def _rec(a: Archive, title: str):
    return next(r for r in a.recordings() if r.title == title)


def test_published_quote_with_misheard_words_is_the_top_hit(built_archive: Archive):
    quote = "Let's call a spade a spade: you are weaklings, cowards and traitors."
    hits = built_archive.quote(quote)
    assert hits and hits[0].title == "Commander voice note"
    t = built_archive.transcript(hits[0].recording_id)
    spoken = " ".join(w.text for w in t.words if hits[0].start <= w.start < hits[0].end)
    assert "weaklings" in spoken.lower()
    assert 0.5 <= hits[0].similarity < 1.0
    # The transcript disagrees with the published quote somewhere, and the hit says where.
    assert hits[0].differences


def test_cite_a_hit_and_a_span_with_clip(built_archive: Archive, tmp_path: Path):
    hits = built_archive.search('"ask not what your country"')
    built_archive.remember_hits(hits)
    c = built_archive.cite("1")
    rec = _rec(built_archive, "JFK inaugural")
    assert c.recording_id == rec.id and c.start == hits[0].start and c.end == hits[0].end
    assert c.words.lower().startswith("ask not what your country")
    assert c.url.startswith("file:///") and c.url.endswith(f"#t={c.start:.1f},{c.end:.1f}")
    assert c.revision == 1 and c.speaker == "S1" and not c.verified
    c2 = built_archive.cite(f"{rec.id[:6]}@3.2-5.0")
    assert c2.words.lower().startswith("ask not") and (c2.start, c2.end) == (3.2, 5.0)
    clipped = built_archive.clip(c2, padding=0.5, fmt="wav", dest=tmp_path / "q.wav")
    from archive.speech import audio
    dur = audio.decode(clipped.clip_path).shape[-1] / 16000
    assert dur == pytest.approx(5.0 - 3.2 + 2 * 0.5, abs=0.05)
    manifest = json.loads((tmp_path / "q.wav.json").read_text())
    assert manifest["parent"]["sha256"] == rec.id
    assert manifest["clip"]["sha256"] == clipped.clip_sha256
    with pytest.raises(BadReference):
        built_archive.cite(f"{rec.id[:6]}@30-31")
