"""Domain values (issue 13 part): speaker confidence and overlap marks on words, read back
from older transcripts; segments, cues and turns cut at long pauses; RTTM from word times."""

from __future__ import annotations

import json

from archive.citing.export import to_rttm, to_srt, to_vtt
from archive.cli.render import citation_text, hits_table, transcript_view
from archive.models import (SPEAKER_UNCERTAIN, Citation, Hit, Recording, Segment, Transcript,
                            Word, speaker_certainty, speaker_turns)


def _far_field_segment() -> Segment:
    # As Whisper gave it on a far-field meeting: one word at 9.7 s, five at 26 s.
    words = (Word(9.7, 10.0, "So", speaker="S1"),) + tuple(
        Word(26.0 + 0.3 * i, 26.25 + 0.3 * i, w, speaker="S1")
        for i, w in enumerate(["we", "will", "look", "at", "it"]))
    return Segment(0, 9.7, 27.8, "So we will look at it", words, speaker="S1")


def _transcript(segments) -> Transcript:
    rec = Recording(id="ab" * 32, filename="x.wav", ext=".wav", size=1, duration=30.0,
                    title="x")
    return Transcript(recording=rec, revision=1, segments=tuple(segments))


def test_word_confidence_and_overlap_round_trip_and_old_words_read():
    w = Word(1.0, 1.4, "да", 0.9, "S2", 0.42, True)
    d = w.to_json()
    assert d["speaker_p"] == 0.42 and d["overlap"] is True
    assert Word.from_json(json.loads(json.dumps(d))) == w
    assert w.speaker_uncertain
    old = Word.from_json({"start": 1, "end": 2, "word": "x", "p": 0.8, "speaker": "S1"})
    assert old.speaker_confidence is None and not old.overlap and not old.speaker_uncertain
    assert "speaker_p" not in old.to_json() and "overlap" not in old.to_json()
    sure = Word(0, 1, "y", speaker="S1", speaker_confidence=SPEAKER_UNCERTAIN + 0.01)
    assert not sure.speaker_uncertain
    assert speaker_certainty([w, sure, old]) == (0.42, True)
    assert speaker_certainty([old]) == (None, False)


def test_segments_split_at_pauses_keep_their_fields():
    seg = _far_field_segment()
    pieces = seg.split_at_pauses()
    assert [(p.start, p.end, p.text) for p in pieces] == [
        (9.7, 10.0, "So"), (26.0, 27.45, "we will look at it")]
    assert all(p.speaker == "S1" and p.id == 0 for p in pieces)
    short = Segment(0, 0.0, 2.0, "a b", (Word(0, 0.5, "a"), Word(1.4, 2.0, "b")))
    assert short.split_at_pauses() == (short,)     # a 0.9 s pause is not a long one


def test_no_cue_or_rttm_turn_spans_the_silence_of_an_older_transcript():
    t = _transcript([_far_field_segment()])
    rttm = [line.split() for line in to_rttm(t).splitlines()]
    spans = [(float(f[3]), float(f[3]) + float(f[4])) for f in rttm]
    assert spans == [(9.7, 10.0), (26.0, 27.45)]
    srt, vtt = to_srt(t), to_vtt(t)
    assert "00:00:09,700 --> 00:00:10,000" in srt and "00:00:26,000 --> 00:00:27,450" in srt
    assert "00:27.800" not in vtt and "00:00:09.700 --> 00:00:10.000" in vtt
    assert speaker_turns(t.segments) == [(9.7, 10.0, "S1"), (26.0, 27.45, "S1")]


def test_speaker_turns_join_short_pauses_only_within_one_speaker():
    words = (Word(0, 1, "a", speaker="S1"), Word(1.3, 2, "b", speaker="S1"),
             Word(2.1, 3, "c", speaker="S2"), Word(3.2, 4, "d", speaker="S1"))
    assert speaker_turns([Segment(0, 0, 4, "a b c d", words)]) == [
        (0, 2, "S1"), (2.1, 3, "S2"), (3.2, 4, "S1")]


def _render(renderable) -> str:
    from rich.console import Console
    c = Console(width=120, record=True, color_system=None)
    c.print(renderable)
    return c.export_text()


def test_uncertain_speakers_are_shown_as_such():
    words = (Word(0, 0.5, "maybe", speaker="S2", speaker_confidence=0.4),
             Word(0.6, 1.0, "both", speaker="S2", speaker_confidence=0.9, overlap=True))
    t = _transcript([Segment(0, 0, 1.0, "maybe both", words, speaker="S2")])
    shown = _render(transcript_view(t))
    assert "S2?:" in shown and "both≈" in shown and "another speaker" in shown
    base = dict(recording_id="ab" * 32, title="x", speaker="S2", start=0, end=1,
                words="maybe both", revision=1, url="file:///x#t=0,1", original_path="/x")
    sure = citation_text(Citation(**base, speaker_confidence=0.95))
    assert "— S2," in sure and "uncertain" not in sure
    guess = citation_text(Citation(**base, speaker_confidence=0.4))
    assert "S2 (speaker uncertain (40%))" in guess
    mixed = citation_text(Citation(**base, speaker_confidence=0.9, overlap=True), "markdown")
    assert "mis-attributed" in mixed
    hit = Hit(recording_id="ab" * 32, title="x", speaker="S2", start=0, end=1, text="both",
              speaker_confidence=0.9, overlap=True)
    assert hit.speaker_uncertain and "mis-attributed" in _render(hits_table([hit]))
    assert not Hit(**{**hit.to_json(), "differences": (), "overlap": False}).speaker_uncertain
