#!/usr/bin/env python3
"""Long recordings: peak memory and speed of `archive add` on a 2-hour voice note.

Builds a recording of ``--hours`` hours by repeating real speech from ../shared/audio (the
LibriSpeech utterances, jfk, the meetings and multilingual.mp3, with short pauses), streamed as
16-bit PCM into ffmpeg and encoded as Ogg Opus 24 kb/s mono (a realistic voice note, ~20 MB
for 2 h). Then adds it to a fresh archive in a child process (the library's ``Archive.add``,
exactly what `archive add` runs) while this process samples the child's resident memory
every 0.25 s. Prints the peak RSS overall and per stage (decode+transcribe, diarize, commit),
the wall time per stage and the real-time factor (wall time / audio duration).

A watchdog kills the child if its RSS passes ``--limit-gb`` (default 8) so that a runaway
cannot take the shared machine down; the peak is then reported as "over the limit".

Usage: python bench/long.py [--hours 2] [--model base|tiny.en] [--no-diarize]
Target (issue: evidence integrity): peak RSS <= 2 GB.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "audio"
sys.path.insert(0, str(ROOT))

CHILD = r"""
import sys, time
from archive.library import Archive
from archive.ingest.pipeline import AddOptions
root, src, model, diarize = sys.argv[1], sys.argv[2], sys.argv[3] or None, sys.argv[4] == "1"
a = Archive.init(root)
last = [None]
t0 = time.monotonic()
def progress(stage, done, total):
    if stage != last[0]:
        last[0] = stage
        print(f"STAGE {stage} {time.monotonic() - t0:.1f}", flush=True)
rec = a.add(src, AddOptions(model=model, diarize=diarize), progress=progress)
t = a.transcript(rec.id)
print(f"STAGE done {time.monotonic() - t0:.1f}", flush=True)
print(f"RESULT duration={rec.duration} segments={len(t.segments)} words={len(t.words)} "
      f"speakers={len(t.speakers)} language={t.language}", flush=True)
"""


def build(dest: Path, hours: float) -> float:
    """Encode ``hours`` of repeated real speech as Ogg Opus; returns its duration in s."""
    import numpy as np

    from archive.speech import audio
    from tests.helpers.hostile import ffmpeg
    sources = sorted((SHARED / "librispeech").glob("*.flac")) + [
        SHARED / n for n in ("jfk.flac", "meeting_sample.wav", "ami_dev00.wav",
                             "ami_dev01.wav", "multilingual.mp3")]
    block = []
    for p in sources:
        if p.exists():
            block.append(audio.decode(p))
            block.append(np.zeros(6400, dtype=np.float32))
    pcm = (np.clip(np.concatenate(block), -1, 1) * 32767).astype("<i2").tobytes()
    total = int(hours * 3600 * 16000) * 2
    enc = subprocess.Popen([ffmpeg(), "-loglevel", "error", "-y", "-f", "s16le", "-ar",
                            "16000", "-ac", "1", "-i", "-", "-c:a", "libopus", "-b:a", "24k",
                            "-application", "voip", str(dest)], stdin=subprocess.PIPE)
    written = 0
    assert enc.stdin is not None
    while written < total:
        chunk = pcm[:total - written]
        enc.stdin.write(chunk)
        written += len(chunk)
    enc.stdin.close()
    if enc.wait() != 0:
        raise SystemExit("ffmpeg failed")
    return written / 2 / 16000


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--model", default="", help="model name (default: the embedded base)")
    ap.add_argument("--no-diarize", action="store_true")
    ap.add_argument("--limit-gb", type=float, default=8.0)
    args = ap.parse_args()
    if not (SHARED / "librispeech").is_dir():
        print(f"skipped: {SHARED} is absent")
        return 0
    with tempfile.TemporaryDirectory(prefix="archive-long-") as tmp:
        src = Path(tmp) / "two_hour_voice_note.ogg"
        t = time.monotonic()
        dur = build(src, args.hours)
        print(f"built {dur / 3600:.2f} h of Ogg Opus ({src.stat().st_size / 1e6:.1f} MB) "
              f"in {time.monotonic() - t:.0f} s")
        env = dict(os.environ, HF_HUB_OFFLINE="1",
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(Path(tmp) / "arch"),
                                  str(src), args.model, "0" if args.no_diarize else "1"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env)
        os.set_blocking(child.stdout.fileno(), False)  # type: ignore[union-attr]
        t0 = time.monotonic()
        stage, peaks, starts, lines, killed = "start", {}, {"start": 0.0}, [], False
        buf = ""
        while child.poll() is None:
            kb = rss_kb(child.pid)
            peaks[stage] = max(peaks.get(stage, 0), kb)
            if kb > args.limit_gb * 1024 * 1024:
                child.send_signal(signal.SIGKILL)
                killed = True
                break
            try:
                buf += child.stdout.read() or ""  # type: ignore[union-attr]
            except (TypeError, BlockingIOError):
                pass
            while "\n" in buf:
                line, buf = buf.split("\n", 1)
                lines.append(line)
                if line.startswith("STAGE "):
                    _, stage, at = line.split()
                    starts[stage] = float(at)
                    print(f"  {time.monotonic() - t0:7.1f} s  stage {stage}  "
                          f"(rss now {kb / 1024:.0f} MB)", flush=True)
            time.sleep(0.25)
        wall = time.monotonic() - t0
        rest, err = child.communicate()
        lines += (buf + (rest or "")).splitlines()
        if child.returncode != 0 and not killed:
            print(err[-3000:])
            return 1
        peak = max(peaks.values()) / 1024
        names = {"start": "decode + transcribe", "transcribe": "transcribe",
                 "diarize": "diarize", "commit": "commit"}
        print(f"model {args.model or 'base (default)'}, diarize {not args.no_diarize}, "
              f"{os.cpu_count()} cores")
        for line in lines:
            if line.startswith("RESULT"):
                print(line)
        order = sorted(starts, key=starts.get)
        for i, s in enumerate(order):
            end = starts[order[i + 1]] if i + 1 < len(order) else wall
            if s != "done":
                print(f"  {names.get(s, s):<22} {end - starts[s]:8.1f} s   "
                      f"peak RSS {peaks.get(s, 0) / 1024:7.0f} MB")
        verdict = "OVER THE LIMIT, killed" if killed else \
            ("ok" if peak <= 2048 else "over the 2 GB target")
        print(f"peak RSS {peak:.0f} MB ({verdict}); wall {wall:.0f} s for {dur:.0f} s of "
              f"audio: real-time factor {wall / dur:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
