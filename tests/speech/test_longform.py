"""Long recordings in bounded memory: chunked VAD, windows cut at pauses, and peak memory of
decoding and feature extraction, on real speech with the real model."""

from __future__ import annotations

import os
import subprocess
import tracemalloc
from pathlib import Path

import jiwer
import numpy as np
import pytest

from archive.speech import audio, longform, transcribe
from archive.speakers import voice
from tests.helpers.hostile import ffmpeg

AUDIO = Path(os.environ.get("ARCHIVE_SHARED_AUDIO", "/work/shared/audio"))
SR = audio.SAMPLE_RATE


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """About 3 minutes of LibriSpeech utterances with 1 s pauses."""
    lib = AUDIO / "librispeech"
    if not lib.is_dir():
        pytest.skip(f"{lib} is absent")
    parts = []
    for f in sorted(lib.glob("*.flac"))[:24]:
        parts += [audio.decode(f), np.zeros(SR, dtype=np.float32)]
    return np.concatenate(parts)


def _fake_detect(truth: list[tuple[int, int]]):
    """A detector that reports the true regions clipped to the chunk, as silero would."""
    def detect(a: int, b: int) -> list[tuple[int, int]]:
        return [(max(s, a) - a, min(e, b) - a) for s, e in truth if e > a and s < b]
    return detect


@pytest.mark.parametrize("chunk", [1000, 2500, 10_000])
def test_chunked_regions_reassemble_the_truth(chunk: int) -> None:
    rnd = np.random.RandomState(chunk)
    truth, t = [], 0
    while t < 50_000:
        s = t + int(rnd.randint(20, 400))
        e = s + int(rnd.randint(10, 1500))
        truth.append((s, e))
        t = e
    n = t + 100
    got = longform.chunked_regions(n, _fake_detect(truth), chunk=chunk, margin=chunk // 10, join=1)
    assert got == truth


def test_chunked_regions_join_speech_longer_than_a_chunk() -> None:
    truth = [(50, 9000), (9400, 9800)]
    got = longform.chunked_regions(10_000, _fake_detect(truth), chunk=3000, margin=300, join=1)
    assert got == truth


def test_windows_cut_in_the_longest_late_pause() -> None:
    regions = [(0.0, 250.0), (252.0, 280.0), (290.0, 310.0), (311.0, 700.0)]
    w = longform.windows(regions, 700.0, length=300.0, search=60.0)
    assert w[0] == (0.0, 285.0)  # the 10 s pause, not the 2 s or 1 s ones
    assert w[-1][1] == 700.0
    assert all(b - a <= 300.0 for a, b in w)
    assert all(x[1] == y[0] for x, y in zip(w, w[1:]))
    # no pause at all: cut at the window's end
    assert longform.windows([(0.0, 700.0)], 700.0, length=300.0)[0] == (0.0, 300.0)
    assert longform.windows([(1.0, 2.0)], 100.0, length=300.0) == [(0.0, 100.0)]


def test_chunked_vad_matches_whole_file_vad(speech, monkeypatch) -> None:
    x = speech
    whole = transcribe.speech_regions(x)
    monkeypatch.setattr(longform, "VAD_CHUNK", 40 * SR)
    monkeypatch.setattr(longform, "VAD_MARGIN", 8 * SR)
    chunked = transcribe.speech_regions(x)
    assert len(x) / SR > 150
    assert abs(len(chunked) - len(whole)) <= 2
    covered = lambda rs: sum(b - a for a, b in rs)  # noqa: E731
    assert covered(chunked) == pytest.approx(covered(whole), rel=0.02)
    # silero's state differs after a cut, so edges move by a frame or two and a borderline
    # pause may join two regions; every region is still found where it is
    for a, b in whole:
        assert any(abs(c - a) < 0.1 or c <= a <= d for c, d in chunked), (a, b)
        assert any(abs(d - b) < 0.1 or c <= b <= d for c, d in chunked), (a, b)


JFK_TEXT = ("and so my fellow americans ask not what your country can do for you ask what "
            "you can do for your country")


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 8])
def test_windowed_transcription_loses_nothing_at_the_cuts(monkeypatch, batch) -> None:
    """Eight times jfk with 1.5 s pauses, decoded in 25 s windows (sequential) or 30 s
    chunks with the pauses shortened (batched): every repetition is transcribed whole and on
    time, wherever the cuts fall."""
    if not (AUDIO / "jfk.flac").is_file():
        pytest.skip("jfk.flac is absent")
    jfk = audio.decode(AUDIO / "jfk.flac")
    pause = np.zeros(int(1.5 * SR), dtype=np.float32)
    x = np.concatenate([np.concatenate([jfk, pause]) for _ in range(8)])
    period = (len(jfk) + len(pause)) / SR
    regions = transcribe.speech_regions(x)
    cuts = [b for _, b in longform.windows(regions, len(x) / SR, length=25.0)][:-1]
    assert len(cuts) >= 4
    monkeypatch.setattr(transcribe, "WINDOW", 25.0)
    r = transcribe.transcribe(x, transcribe.resolve_model(None), batch_size=batch)
    norm = lambda s: " ".join("".join(c for c in s.lower() if c.isalnum() or c in " '").split())  # noqa: E731,E501
    first = []
    for k in range(8):
        said = [w for s in r.segments for w in s.words if k * period <= w.start < (k + 1) * period]
        assert jiwer.wer(JFK_TEXT, norm(" ".join(w.text for w in said))) < 0.1, (k, said)
        first.append(said[0].start - k * period)
    # repetitions after the first (which has no pause before it) start at the same offset,
    # whether or not a cut lies before them: cutting does not shift words
    assert max(first[1:]) - min(first[1:]) < 0.1, first
    assert r.language == "en"
    words = [w for s in r.segments for w in s.words]
    assert all(b.start >= a.end - 1e-6 for a, b in zip(words, words[1:]))


def test_pack_keeps_short_pauses_joins_over_long_ones_and_stays_under_the_length() -> None:
    regions = [(1.0, 5.0), (5.5, 9.0), (20.0, 24.0), (24.3, 60.0), (61.0, 62.0)]
    cuts: list[tuple[float, float]] = []

    def quietest(lo: float, hi: float) -> float:
        cuts.append((lo, hi))
        return lo + 1.0

    chunks = longform.pack(regions, 70.0, length=30.0, pad=0.2, max_pause=1.0, cut=quietest)
    flat = [p for c in chunks for p in c]
    assert flat == sorted(flat) and all(a < b for a, b in flat)
    for c in chunks:
        assert sum(b - a for a, b in c) <= 30.0 + 1e-9, c
        assert all(c[i + 1][0] - c[i][1] > 1.0 for i in range(len(c) - 1)), c
    # the 0.5 s pause stays inside a piece; the 11 s pause is left out; the 35.7 s region is
    # longer than fits and is cut where the caller said, inside (lo, hi)
    assert chunks[0][0] == (0.8, 9.2) and chunks[0][1][0] == pytest.approx(19.8)
    assert cuts and all(lo < hi for lo, hi in cuts)
    for a, b in regions:  # every bit of speech is in some piece
        assert any(pa <= a + 1e-9 and b <= pb + 1e-9 for pa, pb in flat) or \
            sum(max(0.0, min(b, pb) - max(a, pa)) for pa, pb in flat) == pytest.approx(b - a)
    # padding never crosses into the middle of a pause
    assert longform.pack([(1.0, 2.0), (2.1, 3.0)], 5.0, pad=0.2) == [((0.8, 3.2),)]


def test_to_source_maps_chunk_times_through_the_pieces() -> None:
    pieces = ((1.0, 3.0), (10.0, 12.0))  # chunk time 0..2 is 1..3, 2..4 is 10..12
    assert longform.to_source(pieces, 0.5) == pytest.approx(1.5)
    assert longform.to_source(pieces, 2.5) == pytest.approx(10.5)
    # a word across the join maps both ends through the piece that holds its middle
    assert longform.to_source(pieces, 1.9, at=2.2) == pytest.approx(10.0)
    assert longform.to_source(pieces, 5.0) == pytest.approx(12.0)
    assert longform.to_source((), 1.25) == 1.25


def _peak(fn) -> tuple[object, int]:
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_decode_and_features_hold_about_one_copy(tmp_path: Path, monkeypatch) -> None:
    """numpy reports its buffers to tracemalloc: decoding 5 minutes must not hold the
    samples several times over, nor may the speaker-encoder features or the VAD (which
    works in 60 s chunks here, so five of them)."""
    src = tmp_path / "five_minutes.ogg"
    subprocess.run([ffmpeg(), "-loglevel", "error", "-f", "lavfi", "-i",
                    "anoisesrc=d=300:c=pink:r=48000:a=0.1", "-c:a", "libopus", "-b:a", "24k",
                    str(src)], check=True)
    info = audio.probe(src)
    x, peak = _peak(lambda: audio.decode(src, expected=info.duration))
    assert isinstance(x, np.ndarray) and len(x) == pytest.approx(300 * SR, abs=SR)
    assert peak < 1.3 * x.nbytes, (peak, x.nbytes)
    mel, peak = _peak(lambda: voice.mel_spectrogram(x))
    assert peak < mel.nbytes + 40e6, (peak, mel.nbytes)  # type: ignore[union-attr]
    monkeypatch.setattr(longform, "VAD_CHUNK", 60 * SR)
    _, peak = _peak(lambda: transcribe.speech_regions(x))
    assert peak < 0.5 * x.nbytes, (peak, x.nbytes)  # silero copies its input twice
