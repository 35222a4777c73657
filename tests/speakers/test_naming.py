"""Naming, merging and matching speakers across recordings, through the library and CLI."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.errors import SpeakerNotFound
from archive.ingest.pipeline import AddOptions
from archive.library import Archive

from tests.conftest import SAMPLES, shared


def _wav(path: Path, x: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory):
    """Three recordings: two different utterances of one LibriSpeech speaker, one of another."""
    shared("librispeech/SPEAKERS.TXT")
    from archive.speech import audio
    d = tmp_path_factory.mktemp("voices")
    files = {}
    for key, utt in (("a1", "1688-142285-0001"), ("a2", "1688-142285-0005"),
                     ("b1", "2033-164914-0002")):
        files[key] = _wav(d / f"{key}.wav", audio.decode(shared(f"librispeech/{utt}.flac")))
    a = Archive.init(d / "arch")
    recs = {k: a.add(p, AddOptions(title=k, model="tiny.en")) for k, p in files.items()}
    return a, recs


def test_same_voice_is_ranked_first_from_another_recording(voices):
    a, recs = voices
    ranked = a.match_speaker(recs["a1"].id, "S1")
    assert [m.recording.title for m in ranked][:2] == ["a2", "b1"]
    assert ranked[0].score > ranked[1].score + 0.05


def test_naming_suggests_but_never_applies_elsewhere(voices):
    a, recs = voices
    t, suggestions = a.rename_speaker(recs["a1"].id, "S1", "Narrator A")
    assert t.speakers[0].name == "Narrator A" and t.revision == 2
    # Suggestions only: the other recording keeps its unnamed label.
    assert a.transcript(recs["a2"].id).speakers[0].name is None
    assert all(m.recording.title != "a1" for m in suggestions)
    assert [m.recording.title for m in suggestions][:1] in (["a2"], [])
    with pytest.raises(SpeakerNotFound):
        a.rename_speaker(recs["a1"].id, "S9", "Nobody")


def test_rename_flows_into_search_cite_show_and_exports(fresh_archive: Archive, copy_of):
    a = fresh_archive
    rec = a.add(copy_of(SAMPLES / "audio_2022-03-14_21-07-33.ogg"), AddOptions(model="tiny.en"))
    runner = CliRunner()
    r = runner.invoke(main, ["--archive", str(a.root), "speakers", rec.id[:8]])
    assert r.exit_code == 0 and "S1" in r.output
    r = runner.invoke(main, ["--archive", str(a.root), "speakers", "rename", rec.id[:8], "S1",
                             "Commander"])
    assert r.exit_code == 0 and "S1 is now Commander (revision 2)" in r.output
    hits = a.search("speaker:Commander traitors")
    assert hits and hits[0].speaker == "Commander"
    assert a.search("speaker:S1 traitors")  # the label still works
    assert a.search("speaker:Nobody traitors") == []
    r = runner.invoke(main, ["--archive", str(a.root), "search", "speaker:commander",
                             "traitors"])
    assert r.exit_code == 0 and "Commander" in r.output
    r = runner.invoke(main, ["--archive", str(a.root), "cite", "1", "--format", "markdown"])
    assert r.exit_code == 0 and "**Commander**" in r.output and "revision: 2" in r.output
    for fmt, needle in (("srt", "[Commander]"), ("vtt", "<v Commander>"),
                        ("txt", "Commander:"), ("rttm", " Commander ")):
        assert needle in a.export(rec.id, fmt)
    events = [e["event"] for e in a.log(rec.id)]
    assert events == ["add", "speaker-rename"]
    assert a.transcript(rec.id, revision=1).speakers[0].name is None


def test_merge_two_labels_into_one(fresh_archive: Archive, copy_of):
    a = fresh_archive
    rec = a.add(copy_of(SAMPLES / "leaked_call.m4a"), AddOptions(model="tiny.en"))
    t = a.transcript(rec.id)
    assert {s.label for s in t.speakers} == {"S1", "S2"}
    merged = a.merge_speakers(rec.id, "S2", "S1")
    assert {s.label for s in merged.speakers} == {"S1"}
    assert all(w.speaker == "S1" for w in merged.words)
    assert merged.speakers[0].talk_time == pytest.approx(
        sum(s.talk_time for s in t.speakers), abs=0.01)
    r = CliRunner().invoke(main, ["--archive", str(a.root), "speakers", "merge", rec.id[:8],
                                  "S1", "S1"])
    assert r.exit_code != 0 and "cannot merge a speaker into itself" in r.output
