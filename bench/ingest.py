#!/usr/bin/env python3
"""Ingest speed and accuracy: `archive add` against plain faster-whisper, sequential and batched.

Builds a voice note of real speech with known text, over 2 minutes (from ../shared/audio/real:
a European Parliament speech in English, a LibriVox reading in German and five FLEURS
sentences in Spanish, one after another), encoded as Ogg Opus. Then runs, each in a fresh
process and in alternating order:

* peer: plain faster-whisper, sequential (``WhisperModel.transcribe``), with the same model,
  device, compute type, threads and options as archive (beam 5, word timestamps, VAD filter,
  no conditioning on previous text, language detected per window);
* batched: plain faster-whisper's ``BatchedInferencePipeline``, same options, batch 8;
* `archive add --no-diarize` into a fresh archive (hash, stage, decode, transcribe in batches,
  re-decode gaps, screen, refine word times, write, index, custody log);
* `archive add` with diarization (the default).

For each it prints the median wall time (and the CPU time of the process, which a shared
machine disturbs less), the ratio to the peer, the real-time factor, and the word error rate
against the known text (lower case, punctuation removed).

Usage: python bench/ingest.py [--repeat N] [--device auto|cpu|cuda] [--model NAME]
                              [--compute-type T] [--batch-size N]
Targets (issue 15): add --no-diarize <= 0.70x the peer, add <= 0.85x, WER no worse than the
peer's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("ARCHIVE_SHARED_AUDIO", ROOT.parent / "shared" / "audio")) / "real"
sys.path.insert(0, str(ROOT))
#: The recording: real speech whose text the sources publish, about 3.5 minutes.
PARTS = ["voxpopuli-en-000.ogg", "aeneas_example7_de.mp3"] + \
    [f"fleurs-es-00{i}.ogg" for i in range(5)]

PLAIN = r"""
import json, sys
from faster_whisper import BatchedInferencePipeline, WhisperModel
path, src, device, compute, threads, mode, batch = sys.argv[1:8]
m = WhisperModel(path, device=device, compute_type=compute, cpu_threads=int(threads),
                 local_files_only=True)
kw = dict(beam_size=5, word_timestamps=True, vad_filter=True, condition_on_previous_text=False,
          multilingual=True)
if mode == "batched":
    segs, _ = BatchedInferencePipeline(m).transcribe(src, batch_size=int(batch), **kw)
else:
    segs, _ = m.transcribe(src, **kw)
print(json.dumps(" ".join(s.text for s in segs)))
"""


def build(dest: Path) -> tuple[float, str]:
    """Encode the parts as one Ogg Opus voice note; returns (duration, reference text)."""
    import numpy as np

    from archive.speech import audio
    from tests.helpers.hostile import ffmpeg

    manifest = {e["file"]: e for e in json.loads((REAL / "manifest.json").read_text())}
    pcm, text = [], []
    for name in PARTS:
        pcm += [audio.decode(REAL / name), np.zeros(12000, dtype=np.float32)]
        text.append(manifest[name]["reference_text"])
    x = np.concatenate(pcm)
    enc = subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-f", "s16le", "-ar", "16000",
                          "-ac", "1", "-i", "-", "-c:a", "libopus", "-b:a", "32k", str(dest)],
                         input=(np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    if enc.returncode != 0:
        raise SystemExit("ffmpeg failed")
    return len(x) / 16000, " ".join(text)


def wer(ref: str, hyp: str) -> float:
    import jiwer

    def norm(t: str) -> str:
        return " ".join(re.sub(r"[^\w' ]+", " ", t.lower()).split())
    return jiwer.wer(norm(ref), norm(hyp))


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, r.stdout


def archive_text(root: Path) -> str:
    (t,) = list((root / "transcripts").glob("*.json"))
    return " ".join(s["text"] for s in json.loads(t.read_text())["segments"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--model", default=None, help="model name or folder (default: base)")
    ap.add_argument("--compute-type", default=None)
    ap.add_argument("--batch-size", type=int, default=None,
                    help="for `archive add` (default: its own); the plain pipeline uses 8")
    args = ap.parse_args()
    if not REAL.is_dir():
        print(f"skipped: {REAL} is absent")
        return 0
    from archive.speech import transcribe
    model = transcribe.resolve_model(args.model)
    device, compute = transcribe.choose_device(args.device, args.compute_type)
    threads = os.cpu_count() or 1
    env = dict(os.environ, HF_HUB_OFFLINE="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory(prefix="archive-bench-") as tmp:
        rec = Path(tmp) / "voice_note.ogg"
        dur, ref = build(rec)
        print(f"recording: {dur:.1f} s Ogg Opus (en, de, es; known text); model {model.name}, "
              f"{device} {compute}, {threads} threads; {args.repeat} runs each, fresh processes")
        kinds = ["peer", "batched", "add --no-diarize", "add"]
        wall: dict[str, list[float]] = {k: [] for k in kinds}
        cpu: dict[str, list[float]] = {k: [] for k in kinds}
        texts: dict[str, str] = {}
        for i in range(args.repeat):
            for kind in kinds if i % 2 == 0 else kinds[::-1]:
                if kind in ("peer", "batched"):
                    cmd = [sys.executable, "-c", PLAIN, str(model.path), str(rec), device,
                           compute, str(threads), "batched" if kind == "batched" else "seq",
                           "8"]
                else:
                    root = Path(tmp) / f"arch-{kind.replace(' ', '')}-{i}"
                    cmd = [sys.executable, "-m", "archive", "--archive", str(root), "add", "-q",
                           "--device", device, "--compute-type", compute, str(rec)]
                    if args.model:
                        cmd += ["--model", args.model]
                    if args.batch_size:
                        cmd += ["--batch-size", str(args.batch_size)]
                    if "no-diarize" in kind:
                        cmd.append("--no-diarize")
                w, c, out = run(cmd, env)
                wall[kind].append(w)
                cpu[kind].append(c)
                texts[kind] = json.loads(out) if kind in ("peer", "batched") \
                    else archive_text(root)
                print(f"  run {i + 1}: {kind:<17} {w:7.2f} s wall  {c:7.2f} s CPU", flush=True)
        peer_w, peer_c = statistics.median(wall["peer"]), statistics.median(cpu["peer"])
        targets = {"add --no-diarize": 0.70, "add": 0.85}
        print(f"\n{'':<18}{'wall s':>8}{'ratio':>7}{'CPU s':>8}{'ratio':>7}{'RTF':>7}"
              f"{'WER':>7}  target")
        for kind in kinds:
            w, c = statistics.median(wall[kind]), statistics.median(cpu[kind])
            target = f"<= {targets[kind]:.2f}x" if kind in targets else ""
            verdict = "" if not target else \
                (" ok" if w / peer_w <= targets[kind] else " MISSED")
            print(f"{kind:<18}{w:8.2f}{w / peer_w:7.2f}{c:8.2f}{c / peer_c:7.2f}"
                  f"{w / dur:7.3f}{wer(ref, texts[kind]):7.3f}  {target}{verdict}")
        print(f"WER target: archive's no worse than the peer's ({wer(ref, texts['peer']):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
