#!/usr/bin/env python3
"""Ingest speed: wall time of `archive add` / wall time of plain faster-whisper.

Builds a recording of at least 2 minutes by concatenating real speech from ../shared/audio,
encodes it as an Ogg Opus voice note, then times, in fresh processes and alternating order:

* plain faster-whisper: load the same model (same path, compute type and threads) and
  transcribe with word timestamps and the VAD filter on, consuming every segment;
* `archive add --no-diarize` into a fresh archive (hash, stage, decode, transcribe, refine
  word times, write transcript, catalog, index and custody log);
* `archive add` with diarization on (the default).

Usage: python bench/ingest.py [--repeat N] [--seconds S]
Target (issue 2): ratio <= 1.10 for `archive add` against plain faster-whisper.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "audio"
sys.path.insert(0, str(ROOT))


def build_recording(dest: Path, seconds: float) -> float:
    import numpy as np
    from archive.speech import audio
    parts = [audio.decode(SHARED / "multilingual.mp3"), audio.decode(SHARED / "jfk.flac")]
    for f in sorted((SHARED / "librispeech").glob("*.flac")):
        if sum(len(p) for p in parts) / 16000 >= seconds:
            break
        parts.append(audio.decode(f))
        parts.append(np.zeros(8000, dtype=np.float32))
    pcm = np.concatenate(parts)
    wav = dest.with_suffix(".wav")
    import wave
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
        w.writeframes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())
    from archive.citing.clips import find_ffmpeg
    subprocess.run([find_ffmpeg(), "-y", "-loglevel", "error", "-i", str(wav), "-c:a", "libopus",
                    "-b:a", "32k", str(dest)], check=True)
    wav.unlink()
    return len(pcm) / 16000


PLAIN = r"""
import sys, os
from faster_whisper import WhisperModel
path, audio_file, compute, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
m = WhisperModel(path, device="cpu", compute_type=compute, cpu_threads=threads,
                 local_files_only=True)
segs, info = m.transcribe(audio_file, beam_size=5, word_timestamps=True, vad_filter=True,
                          condition_on_previous_text=False)
n = sum(len(s.words or ()) for s in segs)
print(n)
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return dt, r.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=150.0)
    args = ap.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is missing")
    from archive.speech import transcribe
    model = transcribe.resolve_model(None)  # builds and verifies the cache once
    threads = os.cpu_count() or 1
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    archive_bin = str(Path(sys.executable).with_name("archive"))
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "long_voice_note.ogg"
        dur = build_recording(rec, args.seconds)
        print(f"recording: {dur:.1f} s Ogg Opus; model {model.name} ({model.path}), "
              f"compute_type={transcribe.COMPUTE_TYPE}, threads={threads}")
        times: dict[str, list[float]] = {"plain": [], "add --no-diarize": [], "add": []}
        for i in range(args.repeat):
            for kind in (["plain", "add --no-diarize", "add"] if i % 2 == 0
                         else ["add", "add --no-diarize", "plain"]):
                if kind == "plain":
                    cmd = [sys.executable, "-c", PLAIN, str(model.path), str(rec),
                           transcribe.COMPUTE_TYPE, str(threads)]
                else:
                    arch = Path(tmp) / f"arch-{kind.replace(' ', '')}-{i}"
                    cmd = [archive_bin, "--archive", str(arch), "add", "-q", str(rec)]
                    if "no-diarize" in kind:
                        cmd.append("--no-diarize")
                dt, _ = timed(cmd, env)
                times[kind].append(dt)
                print(f"  run {i + 1}: {kind:<18} {dt:7.2f} s")
        plain = statistics.median(times["plain"])
        print(f"plain faster-whisper      median {plain:7.2f} s  (RTF {plain / dur:.3f})")
        for kind in ("add --no-diarize", "add"):
            t = statistics.median(times[kind])
            print(f"archive {kind:<18} median {t:7.2f} s  ratio {t / plain:.3f}"
                  f"  (target <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
