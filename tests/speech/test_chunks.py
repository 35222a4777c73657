"""A switch of language (archive.speech.chunks): real English then real German speech,
decoded in batches (the chunk across the switch is cut) or by the sequential loop (each window
keeps its language), each side in its own language; and the grouping of regions."""

from __future__ import annotations

import numpy as np
import pytest

from archive.speech import transcribe as tr
from archive.speech.audio import decode
from archive.speech.chunks import MIN_DETECT, language_runs
from tests.conftest import shared

GERMAN = {"der", "die", "und", "das", "von", "ganz", "neu", "ist", "eines"}


@pytest.mark.slow
def test_a_chunk_across_a_switch_of_language_is_cut_and_each_side_keeps_its_own():
    # The last 20 s of a European Parliament speech, 0.75 s of silence, the first 25 s of a
    # German reading (both real). Packed into 30 s chunks, the first chunk holds both; decoded
    # as one it was tagged English whole and its German began "the Abenteuerliche …".
    en = decode(shared("real/voxpopuli-en-000.ogg"))[-20 * 16000:]
    de = decode(shared("real/aeneas_example7_de.mp3"))[:25 * 16000]
    x = np.concatenate([en, np.zeros(12000, np.float32), de])
    switch = 20.75
    r = tr.transcribe(x, tr.resolve_model(None), batch_size=8)
    assert r.options["language_switches_cut"] == 1
    spoken = [(s, s.language or r.language) for s in r.segments]
    assert {lang for s, lang in spoken if s.end <= switch} == {"en"}, spoken
    assert {lang for s, lang in spoken if s.start >= switch} == {"de"}, spoken
    english = " ".join(s.text.lower() for s, _ in spoken if s.end <= switch)
    german = " ".join(s.text.lower() for s, _ in spoken if s.start >= switch)
    assert "ivory" in english and not GERMAN & set(english.replace(",", " ").split())
    assert len(GERMAN & set(german.replace(",", " ").split())) >= 4, german
    assert "christoffel" in german and not german.startswith("the ")


@pytest.mark.slow
def test_the_sequential_loop_tags_each_window_with_its_own_language():
    # 35 s of English, then 35 s of German (real speech), through faster-whisper's sequential
    # loop: a window wholly in German is German, whatever the first window said, so the
    # index folds its words as German.
    en = decode(shared("real/voxpopuli-en-000.ogg"))[:35 * 16000]
    de = decode(shared("real/aeneas_example7_de.mp3"))[:35 * 16000]
    x = np.concatenate([en, np.zeros(12000, np.float32), de])
    r = tr.transcribe(x, tr.resolve_model(None), batch_size=1)
    spoken = [(round(s.start, 1), s.language or r.language) for s in r.segments]
    assert {lang for t, lang in spoken if t < 25} == {"en"}, spoken
    assert {lang for t, lang in spoken if t > 45} == {"de"}, spoken
    assert r.language in ("en", "de")


def test_regions_are_grouped_by_the_language_they_vote_for():
    regions = [(0.0, 5.0), (5.5, 6.0), (6.5, 9.0), (9.5, 14.0), (14.5, 15.0)]
    found = [{"en": 0.9}, {"th": 0.4}, {"en": 0.5, "de": 0.3}, {"de": 0.99}, {"cy": 0.2}]
    runs = language_runs(regions, found, {"en", "de"})
    # a short region and an unsure one join the run before them; a language nobody speaks
    # nearby ("th", "cy") gets no vote
    assert [(lang, rs) for lang, _, rs in runs] == [
        ("en", [(0.0, 5.0), (5.5, 6.0), (6.5, 9.0)]), ("de", [(9.5, 14.0), (14.5, 15.0)])]
    assert [p for _, p, _ in runs] == [0.9, 0.99]


def test_one_language_or_no_sure_vote_gives_no_cut():
    regions = [(0.0, 4.0), (4.5, 9.0)]
    assert len(language_runs(regions, [{"en": 0.8}, {"en": 0.7}], {"en", "de"})) == 1
    assert language_runs(regions, [{"en": 0.2}, {"de": 0.25}], {"en", "de"}) == []
    short = [(0.0, MIN_DETECT / 2), (1.0, 1.0 + MIN_DETECT / 2)]
    assert language_runs(short, [{"en": 0.9}, {"de": 0.9}], {"en", "de"}) == []
    # the first region has no vote: it joins the first run
    runs = language_runs(regions, [{"en": 0.1}, {"de": 0.9}], {"en", "de"})
    assert [(lang, rs) for lang, _, rs in runs] == [("de", regions)]
