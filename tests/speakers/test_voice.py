"""Speaker embeddings: mel features, the GE2E encoder, voice matching on real speech."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archive.speakers import voice
from tests.helpers import synth

ROOT = Path(__file__).resolve().parents[2]

needs_librispeech = pytest.mark.skipif(not synth.available(),
                                       reason=f"LibriSpeech samples absent: {synth.LIBRISPEECH}")


def _encoder_available() -> bool:
    try:
        voice.weights_path()
        return True
    except Exception:
        return False


needs_encoder = pytest.mark.skipif(not _encoder_available(),
                                   reason="resemblyzer/pretrained.pt (speaker encoder) absent")


def test_mel_frames_and_band_of_a_tone():
    sr = voice.SAMPLE_RATE
    t = np.arange(sr) / sr
    tone = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    mel = voice.mel_spectrogram(tone)
    assert mel.shape == (1 + sr // voice.HOP, voice.N_MELS)
    fb = voice.mel_filterbank()
    # The loudest band is the one whose filter weighs 1 kHz most.
    bin_1k = int(round(1000 * voice.N_FFT / sr))
    assert int(np.argmax(mel[50])) == int(np.argmax(fb[:, bin_1k]))
    # Power spectrum: doubling the amplitude multiplies the mel energies by 4.
    assert np.allclose(voice.mel_spectrogram(2 * tone)[50], 4 * mel[50], rtol=1e-4)


def test_sliding_windows_cover_regions():
    wins = voice.sliding_windows([(0.0, 4.0), (5.0, 5.6)], window=1.5, step=0.5)
    assert wins[0] == (0.0, 1.5)
    assert wins[-2][1] == pytest.approx(4.0)          # last window ends with the region
    assert wins[-1] == (5.0, 5.6)                     # a short region gives one window
    assert all(b - a == pytest.approx(1.5) for a, b in wins[:-1])


@needs_encoder
@needs_librispeech
def test_embeddings_are_unit_length_and_deterministic():
    x = synth.load_utterance(synth.utterance_ids(sorted(synth.speakers())[0])[0]).audio
    wins = [(0.0, 1.5), (0.5, 2.0), (1.0, 1.1)]
    a = voice.embed_windows(x, wins)
    b = voice.embed_windows(x, wins[::-1])[::-1]
    assert a.shape == (3, voice.EMBEDDING_SIZE)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.allclose(a, b, atol=1e-5)
    assert voice.similarity(a[0], a[0]) == pytest.approx(1.0, abs=1e-6)


@needs_encoder
@needs_librispeech
def test_match_ranks_the_same_speaker_first_from_another_utterance():
    from archive.speakers.diarize import match

    spk = sorted(synth.speakers())
    # One signal, one batched pass: enrolment utterances 0-1 and probe utterance 5 of each
    # speaker, separated by silence; windows never cross from one utterance into the next.
    pieces, spans, t = [], {}, 0.0
    for s in spk:
        for k in (0, 1, 5):
            x = synth.load_utterance(synth.utterance_ids(s)[k]).audio
            spans[(s, k)] = (t, t + len(x) / voice.SAMPLE_RATE)
            pieces += [x, np.zeros(voice.SAMPLE_RATE // 2, dtype=np.float32)]
            t += len(x) / voice.SAMPLE_RATE + 0.5
    signal = np.concatenate(pieces)
    keys = list(spans)
    wins = [voice.sliding_windows([spans[key]], window=1.6, step=0.8) for key in keys]
    emb = voice.embed_windows(signal, [w for ws in wins for w in ws])
    means, i = {}, 0
    for key, ws in zip(keys, wins):
        means[key] = emb[i:i + len(ws)].mean(axis=0)
        i += len(ws)
    prints = {}
    for s in spk:
        e = means[(s, 0)] + means[(s, 1)]
        prints[s] = tuple(e / np.linalg.norm(e))
    for s in spk:
        ranked = match(means[(s, 5)], prints.items())
        assert [k for k, _ in ranked][0] == s
        assert ranked[0][1] > ranked[1][1]
        assert len(ranked) == len(spk)


@needs_encoder
def test_voice_needs_neither_resemblyzer_nor_librosa():
    code = ("import sys, numpy as np; from archive.speakers import voice; "
            "x = (np.random.default_rng(0).standard_normal(32000) * 0.05).astype('float32'); "
            "voice.embed_windows(x, [(0.0, 1.5)]); "
            "print(sorted(m for m in ('resemblyzer', 'librosa', 'webrtcvad') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
