"""Clip export on real audio: durations, formats, padding, manifests, failures."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from archive.speech.audio import SAMPLE_RATE, decode, probe
from archive.citing.clips import (ClipError, export_clip, find_ffmpeg, find_ffplay, manifest_path,
                           play_command, write_manifest)

AUDIO = Path(__file__).resolve().parents[3] / "shared" / "audio"
if not AUDIO.is_dir():
    AUDIO = Path("/work/shared/audio")
JFK = AUDIO / "jfk.flac"
MP3 = AUDIO / "multilingual.mp3"

pytestmark = pytest.mark.skipif(not JFK.is_file(), reason=f"reference audio missing: {JFK}")

#: jfk.flac lasts 11.0 s.
JFK_DURATION = 11.0


@pytest.fixture(scope="module")
def jfk_pcm() -> np.ndarray:
    return decode(JFK)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def measured(path: Path) -> float:
    return len(decode(path)) / SAMPLE_RATE


def lag_and_corr(original: np.ndarray, clip: np.ndarray, start: float) -> tuple[int, float]:
    """Best lag (samples) of the clip against the original from ``start``, and its correlation."""
    s = int(round(start * SAMPLE_RATE))
    ref = original[s:s + len(clip)]
    core = slice(800, len(clip) - 800)
    best = (0, -1.0)
    for lag in range(-160, 161, 2):
        c = float(np.corrcoef(ref[core], clip[800 + lag:len(clip) - 800 + lag])[0, 1])
        if c > best[1]:
            best = (lag, c)
    return best


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("fmt,codec", [("ogg", "opus"), ("mp3", "mp3"), ("wav", "pcm_s16le")])
def test_each_format_has_the_padded_duration_and_content(tmp_path, jfk_pcm, fmt, codec):
    r = export_clip(JFK, 3.25, 5.0, tmp_path / f"ask.{fmt}", fmt=fmt,
                    metadata={"title": "ask not", "comment": "jfk 3.25–5.0"})
    assert r.path == tmp_path / f"ask.{fmt}" and r.path.is_file()
    assert (r.start, r.end) == pytest.approx((2.25, 6.0), abs=1e-3)
    assert abs(measured(r.path) - (5.0 - 3.25 + 2 * 1.0)) < 0.05
    assert r.sha256 == sha256(r.path)
    info = probe(r.path)
    assert codec in info.codec  # PyAV names the mp3 decoder "mp3float"
    assert info.tags.get("title") == "ask not"
    # The clip holds the original's audio from the padded start, not a shifted copy.
    lag, corr = lag_and_corr(jfk_pcm, decode(r.path), r.start)
    assert abs(lag) <= 16 and corr > 0.98, (lag, corr)
    assert leftovers(tmp_path) == [f"ask.{fmt}"]


def test_padding_clamps_at_both_ends(tmp_path):
    head = export_clip(JFK, 0.3, 1.0, tmp_path / "head.wav", fmt="wav", padding=1.0)
    assert head.start == 0.0 and head.end == pytest.approx(2.0, abs=1e-3)
    assert abs(measured(head.path) - 2.0) < 0.05
    tail = export_clip(JFK, 10.2, 10.9, tmp_path / "tail.ogg", padding=1.0)
    assert tail.start == pytest.approx(9.2, abs=1e-3)
    assert tail.end == pytest.approx(JFK_DURATION, abs=0.02)
    assert abs(measured(tail.path) - (JFK_DURATION - 9.2)) < 0.05
    # An end a little past the recording (word times round up) is clamped, not refused.
    late = export_clip(JFK, 10.5, JFK_DURATION + 0.3, tmp_path / "late.wav", fmt="wav",
                       padding=0.0)
    assert late.requested_end == JFK_DURATION and abs(measured(late.path) - 0.5) < 0.05


def test_mp3_source_to_opus(tmp_path):
    if not MP3.is_file():
        pytest.skip(f"reference audio missing: {MP3}")
    r = export_clip(MP3, 20.0, 22.5, tmp_path / "de.opus", padding=0.5)
    assert r.codec == "libopus"
    assert abs(measured(r.path) - 3.5) < 0.05


def test_ogg_falls_back_to_vorbis_without_libopus(tmp_path, monkeypatch):
    real = find_ffmpeg()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "ffmpeg"
    # An ffmpeg built without libopus: it neither lists nor accepts the encoder.
    fake.write_text('#!/bin/sh\nPATH=/usr/bin:/bin\ncase "$*" in\n'
                    f'  *-encoders*) "{real}" "$@" | grep -v libopus; exit 0;;\n'
                    '  *libopus*) echo "Unknown encoder libopus" >&2; exit 1;;\nesac\n'
                    f'exec "{real}" "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    r = export_clip(JFK, 3.25, 5.0, tmp_path / "v.ogg")
    assert r.codec == "libvorbis" and probe(r.path).codec == "vorbis"
    assert abs(measured(r.path) - 3.75) < 0.05


def test_same_clip_twice_has_the_same_hash(tmp_path):
    a = export_clip(JFK, 3.25, 5.0, tmp_path / "a.ogg")
    b = export_clip(JFK, 3.25, 5.0, tmp_path / "b.ogg")
    assert a.sha256 == b.sha256


def test_manifest_matches_clip(tmp_path):
    r = export_clip(JFK, 3.25, 5.0, tmp_path / "clips" / "ask.ogg", padding=0.5)
    parent = sha256(JFK)
    path = write_manifest(r, parent_sha256=parent, recording_title="JFK inaugural",
                          quote="Ask not what your country can do for you", speaker="S1",
                          revision=2, extra={"hit": 1})
    assert path == manifest_path(r.path) == tmp_path / "clips" / "ask.ogg.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["clip"]["sha256"] == sha256(r.path) == r.sha256
    assert doc["clip"]["file"] == "ask.ogg" and doc["clip"]["format"] == "ogg"
    assert doc["parent"] == {"sha256": parent, "title": "JFK inaugural", "revision": 2}
    assert doc["requested"] == {"start": 3.25, "end": 5.0}
    assert doc["padded"] == {"start": 2.75, "end": 5.5, "padding": 0.5}
    assert doc["quote"].startswith("Ask not") and doc["speaker"] == "S1"
    assert doc["created"].endswith("+00:00") and doc["tool"]["version"]
    assert doc["extra"] == {"hit": 1}
    assert sorted(leftovers(tmp_path / "clips")) == ["ask.ogg", "ask.ogg.json"]
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o044  # readable by others, unlike mkstemp's


@pytest.mark.parametrize("start,end", [(5.0, 3.0), (3.0, 3.0), (-1.0, 2.0),
                                       (12.0, 13.0), (3.0, 20.0), (float("nan"), 2.0)])
def test_bad_ranges_raise(tmp_path, start, end):
    with pytest.raises(ClipError):
        export_clip(JFK, start, end, tmp_path / "x.ogg")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("dest,fmt", [("x.flac", "flac"), ("x.ogg", "mp3"), ("x", "wav")])
def test_bad_format_or_suffix_raises(tmp_path, dest, fmt):
    with pytest.raises(ClipError):
        export_clip(JFK, 3.0, 4.0, tmp_path / dest, fmt=fmt)
    assert leftovers(tmp_path) == []


def test_bad_source_and_bad_tag_raise(tmp_path):
    with pytest.raises(ClipError):
        export_clip(tmp_path / "missing.ogg", 1.0, 2.0, tmp_path / "x.ogg")
    with pytest.raises(ClipError):
        export_clip(JFK, 1.0, 2.0, tmp_path / "x.ogg", metadata={"bad key=": "v"})
    assert leftovers(tmp_path) == []


def test_encoder_failure_leaves_nothing(tmp_path, monkeypatch):
    real = find_ffmpeg()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "ffmpeg"
    # Decoding passes through; encoding to ogg fails half-way, as a full disk would.
    fake.write_text(f'#!/bin/sh\ncase "$*" in *"-f ogg"*) echo boom >&2; exit 1;; esac\n'
                    f'exec "{real}" "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ClipError, match="encode"):
        export_clip(JFK, 3.0, 4.0, out / "x.ogg")
    assert leftovers(out) == []
    assert leftovers(scratch) == []  # no stray copy of the audio in $TMPDIR either


def test_destination_under_a_file_raises(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ClipError):
        export_clip(JFK, 3.0, 4.0, blocker / "x.ogg")
    assert leftovers(tmp_path) == ["file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: a read-only folder is writable")
def test_read_only_destination_leaves_nothing(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(ClipError):
            export_clip(JFK, 3.0, 4.0, ro / "x.ogg")
        assert leftovers(ro) == []
    finally:
        ro.chmod(0o755)


def test_find_ffmpeg_falls_back_to_imageio(tmp_path, monkeypatch):
    pytest.importorskip("imageio_ffmpeg")
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg, no ffplay
    exe = find_ffmpeg()
    assert "imageio_ffmpeg" in exe and os.access(exe, os.X_OK)
    r = export_clip(JFK, 3.25, 5.0, tmp_path / "pip.ogg")  # a pip-only install works
    assert abs(measured(r.path) - 3.75) < 0.05
    assert find_ffplay() is None and play_command(r.path, 1.0) is None
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import now fails
    with pytest.raises(ClipError, match="ffmpeg not found"):
        find_ffmpeg()


def test_play_command(tmp_path):
    if find_ffplay() is None:
        pytest.skip("ffplay is not installed")
    cmd = play_command(JFK, 3.25, 5.0)
    assert cmd is not None and Path(cmd[0]).name.startswith("ffplay")
    assert cmd[cmd.index("-ss") + 1] == "3.250" and cmd[cmd.index("-t") + 1] == "1.750"
    assert "-nodisp" in cmd and "-autoexit" in cmd and cmd[-1] == str(JFK)


@pytest.mark.slow
def test_clip_of_a_quote_found_in_a_real_transcript(built_archive, tmp_path):
    from archive.search.quote import align
    from tests.conftest import SAMPLES, sha

    rid = sha(SAMPLES / "audio_2022-03-14_21-07-33.ogg")
    words = built_archive.transcript(rid).words
    a = align("You are weaklings, cowards and traitors.", words)
    assert a is not None and a.similarity > 0.7
    original = built_archive.original_path(rid)
    r = export_clip(original, a.start, a.end, tmp_path / "quote.ogg", padding=0.5,
                    metadata={"title": "You are weaklings, cowards and traitors."})
    assert abs(measured(r.path) - (a.end - a.start + 1.0)) < 0.05
    # The clip holds the quote: the real model hears it again in the exported file.
    from archive.speech.transcribe import resolve_model, transcribe

    heard = transcribe(decode(r.path), resolve_model("base"), language="en").text.lower()
    assert "weaklings" in heard and "traitors" in heard, heard
    m = json.loads(write_manifest(r, parent_sha256=rid, recording_title="Commander voice note",
                                  quote="You are weaklings, cowards and traitors.",
                                  speaker=words[a.start_index].speaker,
                                  revision=1).read_text())
    assert m["parent"]["sha256"] == sha(original) == rid
    assert m["requested"] == {"start": round(a.start, 3), "end": round(a.end, 3)}
