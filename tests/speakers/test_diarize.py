"""Diarization on real speech: synthetic LibriSpeech calls with exact truth, the stereo call,
word-to-speaker assignment; and the DER scorer of tests/helpers/synth.py on toy cases."""

from __future__ import annotations

import numpy as np
import pytest

from archive.speech import audio, transcribe
from archive.speakers import diarize, voice
from archive.models import Segment, Word
from tests.conftest import shared
from tests.helpers import synth

#: Seeds of the calls used here: neither the tuning seeds nor the benchmark's.
TEST_SEEDS = {2: 7, 3: 11}

needs_librispeech = pytest.mark.skipif(not synth.available(),
                                       reason=f"LibriSpeech samples absent: {synth.LIBRISPEECH}")


# --- the DER scorer ---------------------------------------------------------------------

def test_der_perfect_and_relabelled():
    ref = [(0, 10, "a"), (10, 20, "b")]
    r = synth.der(ref, [(0, 10, "y"), (10, 20, "x")], collar=0)
    assert r["der"] == 0 and r["mapping"] == {"a": "y", "b": "x"}


def test_der_components():
    ref = [(0, 10, "a"), (10, 20, "b")]
    one = synth.der(ref, [(0, 20, "x")], collar=0)
    assert one["confusion"] == pytest.approx(0.5) and one["miss"] == 0
    half = synth.der(ref, [(0, 5, "x"), (10, 20, "y")], collar=0)
    assert half["miss"] == pytest.approx(0.25) and half["der"] == pytest.approx(0.25)
    extra = synth.der(ref, [(0, 10, "x"), (10, 25, "y")], collar=0)
    assert extra["false_alarm"] == pytest.approx(0.25)


def test_der_collar_overlap_and_uem():
    ref = [(0, 10, "a"), (8, 20, "b")]
    hyp = [(0, 10.2, "x"), (10.2, 20, "y")]
    # Overlap 8-10 skipped; the 0.2 s boundary error lies inside the collar at 10.
    assert synth.der(ref, hyp, collar=0.25, skip_overlap=True)["der"] == 0
    full = synth.der(ref, hyp, collar=0, skip_overlap=False)
    assert full["total"] == pytest.approx(22.0)     # 2 s of overlap counts twice
    assert full["miss"] == pytest.approx(2.0 / 22)  # one voice missing while both talk
    # Only 0-5 is scored: perfect there.
    assert synth.der(ref, [(0, 5, "x"), (5, 20, "y")], collar=0, uem=[(0, 5)])["der"] == 0


def test_rttm_round_trip(tmp_path):
    turns = [(0.5, 1.25, "S1"), (1.5, 3.0, "S2")]
    path = tmp_path / "x.rttm"
    synth.write_rttm([diarize.Turn(*t) for t in turns], "rec", path)
    assert synth.read_rttm(path) == {"rec": turns}


# --- synthetic calls --------------------------------------------------------------------

@pytest.fixture(scope="session")
def calls():
    if not synth.available():
        pytest.skip(f"LibriSpeech samples absent: {synth.LIBRISPEECH}")
    out = {}
    for n, seed in TEST_SEEDS.items():
        call = synth.make_call(seed, n_speakers=n)
        speech = transcribe.speech_regions(call.audio, **diarize.SPEECH_OPTIONS)
        out[n] = (call, diarize.diarize(call.audio, speech))
    return out


@needs_librispeech
def test_make_call_is_deterministic_with_exact_truth():
    a, b = synth.make_call(5), synth.make_call(5)
    assert np.array_equal(a.audio, b.audio) and a.truth == b.truth
    assert len(set(a.speakers)) == 2
    for u in a.truth:
        utt = synth.load_utterance(u.utterance_id)
        i = int(round(u.start * synth.SAMPLE_RATE))
        # Truth times are rounded to 0.1 ms, so the utterance sits within a sample or two.
        rms = min(float(np.sqrt(np.mean((a.audio[j:j + len(utt.audio)] - utt.audio) ** 2)))
                  for j in range(i - 2, i + 3))
        assert rms < 1e-3      # only the faint noise differs
        assert u.end - u.start == pytest.approx(utt.duration, abs=1e-3)
    gaps = [b.start - a.end for a, b in zip(a.truth, a.truth[1:])]
    assert min(gaps) >= 0.1


@needs_librispeech
@pytest.mark.parametrize("n", sorted(TEST_SEEDS))
def test_synthetic_call_speakers_and_turns(calls, n):
    call, diar = calls[n]
    assert len(diar.speakers) == n
    assert diar.speakers == tuple(f"S{i + 1}" for i in range(n))
    r = synth.der(call.turns(), diar.turns, collar=0.25)
    assert r["der"] < 0.08, r
    assert r["confusion"] < 0.03, r
    # Voiceprints: one per speaker, unit length, distinct voices.
    prints = [np.array(diar.voiceprints[s]) for s in diar.speakers]
    assert all(abs(np.linalg.norm(p) - 1) < 1e-4 for p in prints)
    assert max(voice.similarity(p, q) for i, p in enumerate(prints) for q in prints[i + 1:]) < 0.9


@needs_librispeech
def test_single_speaker_stays_one():
    spk = sorted(synth.speakers())[1]
    x = np.concatenate([np.concatenate([synth.load_utterance(u).audio,
                                        np.zeros(8000, dtype=np.float32)])
                        for u in synth.utterance_ids(spk)[:3]])
    speech = transcribe.speech_regions(x, **diarize.SPEECH_OPTIONS)
    diar = diarize.diarize(x, speech)
    assert diar.speakers == ("S1",)
    assert diarize.diarize(x, speech, num_speakers=2).speakers == ("S1", "S2")


@needs_librispeech
def test_assign_speakers_splits_a_segment_at_the_speaker_change(calls):
    call, diar = calls[2]
    # The first change of speaker in the truth; words laid on the real utterance timings.
    k = next(i for i in range(1, len(call.truth))
             if call.truth[i].speaker != call.truth[i - 1].speaker)
    a, b = call.truth[k - 1], call.truth[k]
    words = [Word(round(a.end - 1.6 + 0.4 * i, 3), round(a.end - 1.3 + 0.4 * i, 3), f"a{i}")
             for i in range(4)]
    words += [Word(round(b.start + 0.4 * i, 3), round(b.start + 0.3 + 0.4 * i, 3), f"b{i}")
              for i in range(4)]
    before = Segment(0, a.start, a.end - 1.7, "earlier", (Word(a.start, a.end - 1.7, "earlier"),))
    seg = Segment(1, words[0].start, words[-1].end, "joined text", tuple(words),
                  avg_logprob=-0.3, flags=("repetition",))
    out = diarize.assign_speakers([before, seg], diar)
    assert [s.id for s in out] == [0, 1, 2]
    first, second = out[1], out[2]
    assert [w.text for w in first.words] == ["a0", "a1", "a2", "a3"]
    assert [w.text for w in second.words] == ["b0", "b1", "b2", "b3"]
    assert first.text == "a0 a1 a2 a3" and second.text == "b0 b1 b2 b3"
    assert (first.start, first.end) == (words[0].start, words[3].end)
    assert (second.start, second.end) == (words[4].start, words[7].end)
    assert first.speaker != second.speaker
    assert all(w.speaker == first.speaker for w in first.words)
    mapping = synth.der(call.turns(), diar.turns)["mapping"]
    assert first.speaker == mapping[a.speaker] and second.speaker == mapping[b.speaker]
    assert second.avg_logprob == -0.3 and second.flags == ("repetition",)
    assert out[0].speaker == first.speaker      # unsplit segment keeps its text
    assert out[0].text == "earlier"

    table = diarize.speaker_table(out, diar)
    assert [s.label for s in table] == list(diar.speakers)
    talk = sum(t.end - t.start for t in diar.turns)
    assert sum(s.talk_time for s in table) == pytest.approx(talk, abs=0.01)
    assert sum(u.end - u.start for u in call.truth) == pytest.approx(talk, rel=0.15)
    assert {s.label: s.turns for s in table} == {first.speaker: 1, second.speaker: 1}
    assert all(len(s.voiceprint) == voice.EMBEDDING_SIZE for s in table)


# --- stereo call ------------------------------------------------------------------------

def test_stereo_call_is_diarized_by_channel():
    pcm = audio.decode(shared("stereo_call.wav"), stereo=True)
    assert audio.is_distinct_stereo(pcm)
    speech = [transcribe.speech_regions(pcm[ch], **diarize.SPEECH_OPTIONS) for ch in (0, 1)]
    diar = diarize.diarize_channels(pcm, speech)
    assert diar.method == "channels"
    assert set(diar.speakers) == {"S1", "S2"}
    for ch, label in ((0, "S1"), (1, "S2")):
        mine = [t for t in diar.turns if t.speaker == label]
        assert mine, label
        first, last = speech[ch][0][0], speech[ch][-1][1]
        assert all(first - 1e-3 <= t.start and t.end <= last + 1e-3 for t in mine)
    assert voice.similarity(diar.voiceprints["S1"], diar.voiceprints["S2"]) < 0.9
    seg = Segment(0, 0.5, 1.5, "hello", (Word(0.5, 1.5, "hello"),), channel=1)
    assert diarize.assign_speakers([seg], diar)[0].speaker == "S2"
    table = diarize.speaker_table([seg], diar)
    assert {s.label: s.channel for s in table} == {"S1": 0, "S2": 1}


def test_match_orders_by_similarity():
    e = np.eye(4)
    ranked = diarize.match(e[0] + 0.1 * e[1], [("x", tuple(e[1])), ("y", tuple(e[0])),
                                               ("z", ())])
    assert [k for k, _ in ranked] == ["y", "x"]
    assert ranked[0][1] > 0.99
