"""Speaker embeddings: mel features, the GE2E encoder, voice matching on real speech."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archive.errors import DiarizationError
from archive.speakers import voice
from archive.speech import audio
from tests.helpers import synth

ROOT = Path(__file__).resolve().parents[2]

needs_librispeech = pytest.mark.skipif(not synth.available(),
                                       reason=f"LibriSpeech samples absent: {synth.LIBRISPEECH}")


REFERENCE = Path(__file__).with_name("data") / "ge2e_reference.npz"


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


def test_voice_needs_no_torch_resemblyzer_or_librosa():
    code = ("import sys, numpy as np; from archive.speakers import voice; "
            "x = (np.random.default_rng(0).standard_normal(32000) * 0.05).astype('float32'); "
            "voice.embed_windows(x, [(0.0, 1.5)]); "
            "print(sorted(m for m in ('torch', 'resemblyzer', 'librosa', 'webrtcvad', 'sklearn')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_embeddings_match_torchs_on_real_speech():
    """The ONNX encoder gives torch's embeddings (nn.LSTM on packed sequences, computed once
    by bench/tools/convert_ge2e.py) on windows of real recordings, lengths 0.2-2.9 s in one batch."""
    ref = np.load(REFERENCE, allow_pickle=False)
    files, rows, want = ref["files"], ref["rows"], ref["embeddings"]
    missing = [f for f in files if not (synth.SHARED_AUDIO / f).exists()]
    if missing:
        pytest.skip(f"reference recordings absent: {missing}")
    for k, name in enumerate(files):
        x = audio.decode(synth.SHARED_AUDIO / name)
        mine = rows[:, 0] == k
        wins = [(float(s), float(e)) for s, e in rows[mine, 1:]]
        got = voice.embed_windows(x, wins)
        # float32 LSTMs of different libraries (measured: 4.2e-7 at most).
        assert np.abs(got - want[mine]).max() <= 1e-5, name
    assert len(files) == 3 and len(rows) == 10


def test_cuda_runs_where_it_can_and_on_the_cpu_otherwise():
    import onnxruntime as ort

    x = audio.decode(synth.SHARED_AUDIO / "jfk.flac") if (synth.SHARED_AUDIO / "jfk.flac").exists() \
        else (np.random.default_rng(1).standard_normal(48000) * 0.05).astype(np.float32)
    wins = [(0.0, 1.0), (1.0, 2.5)]
    cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    assert voice.providers("cuda")[0] == ("CUDAExecutionProvider" if cuda
                                          else "CPUExecutionProvider")
    assert voice.providers("cpu") == ["CPUExecutionProvider"]
    assert np.abs(voice.embed_windows(x, wins, device="cuda")
                  - voice.embed_windows(x, wins)).max() <= 1e-4
    with pytest.raises(DiarizationError, match="^unknown device .gpu."):
        voice.embed_windows(x, wins, device="gpu")


def test_damaged_weights_are_refused(tmp_path, monkeypatch):
    bad = tmp_path / "ge2e.onnx"
    data = bytearray(voice.weights_path().read_bytes())
    data[len(data) // 2] ^= 1  # one flipped bit in a weight: still a loadable model
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(voice, "WEIGHTS", bad)
    voice._encoder.cache_clear()
    try:
        with pytest.raises(DiarizationError, match="damaged or replaced"):
            voice.embed_windows(np.zeros(16000, dtype=np.float32), [(0.0, 1.0)])
        monkeypatch.setattr(voice, "WEIGHTS", tmp_path / "absent.onnx")
        with pytest.raises(DiarizationError, match="not found"):
            voice.embed_windows(np.zeros(16000, dtype=np.float32), [(0.0, 1.0)])
    finally:
        voice._encoder.cache_clear()


def test_weights_ship_with_their_licence():
    folder = voice.weights_path().parent
    assert "Apache License" in (folder / "LICENSE").read_text()
    notice = (folder / "NOTICE").read_text()
    assert "Resemblyzer" in notice and "bench/tools/convert_ge2e.py" in notice
