#!/usr/bin/env python3
"""Batch throughput: hours of audio added per hour of wall time, one file at a time against
``--jobs 2`` against a Dask ``LocalCluster`` of 2 worker processes.

Makes a folder of at least 20 voice notes of real speech, 20–60 s each, encoded as Ogg Opus
like Telegram's: LibriSpeech utterances of one speaker joined with short pauses, FLEURS German
and Spanish sentences joined in pairs, the Russian clips joined, and the first 55 s of the
VoxPopuli and LibriVox recordings (all from ../shared/audio). Then adds the folder to a fresh
archive, each run in a fresh ``archive add`` process:

* ``--jobs 1`` (the peer: one file at a time, all cores to the one recogniser);
* ``--jobs 2`` (two worker processes, the cores shared out between them);
* ``--cluster`` to a LocalCluster of 2 worker processes (started before the clock starts, as
  a newsroom's cluster would be running already; its workers load the model on their first
  file, as the ``--jobs`` workers do).

Prints, for each, the wall time, hours of audio per hour of wall time and the ratio to
``--jobs 1``; then checks that the archives hold the same transcripts (byte for byte, modulo
creation times). ``--split`` adds ``--jobs 2`` with 2 threads per worker (the cores
oversubscribed), to check the thread split.

Usage: python bench/throughput.py [--model base|tiny.en] [--no-diarize] [--split] [--keep DIR]
       [--notes N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "audio"
sys.path.insert(0, str(ROOT))

SR = 16000


def _opus(samples, dest: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "f32le", "-ar", str(SR), "-ac", "1",
                    "-i", "pipe:", "-c:a", "libopus", "-b:a", "24k", "-application", "voip",
                    str(dest)], input=samples.tobytes(), check=True)


def make_notes(folder: Path) -> float:
    """Write the voice notes; returns their total duration in seconds."""
    import numpy as np
    from archive.speech import audio
    folder.mkdir(parents=True, exist_ok=True)
    pause = np.zeros(int(0.6 * SR), dtype=np.float32)

    def pack(clips: list, shortest: float = 20.0) -> list[list]:
        """Join clips (with pauses) into notes of at least ``shortest`` seconds."""
        out: list[list] = []
        note: list = []
        for c in clips:
            note += [c, pause]
            if sum(len(x) for x in note) / SR >= shortest:
                out.append(note)
                note = []
        if note and out:
            out[-1] += note  # a short rest joins the last note
        elif note:
            out.append(note)
        return out

    notes: list[list] = []
    by_speaker: dict[str, list] = {}
    for f in sorted((SHARED / "librispeech").glob("*.flac")):
        by_speaker.setdefault(f.name.split("-")[0], []).append(audio.decode(f))
    for parts in by_speaker.values():  # a voice note has one voice
        notes += pack(parts)
    real = SHARED / "real"
    for lang in ("de", "es"):
        notes += pack([audio.decode(real / f"fleurs-{lang}-{i:03d}.ogg") for i in range(5)])
    notes += pack([audio.decode(real / n) for n in ("gigaam_example_ru_short_sample.wav",
                                                    "coqui_stt_ru.wav",
                                                    "pisets_test_sound_ru.wav")])
    for n in ("voxpopuli-en-000.ogg", "aeneas_example7_de.mp3"):
        notes.append([audio.decode(real / n)[: 55 * SR]])
    total = 0.0
    for i, parts in enumerate(notes):
        pcm = np.concatenate(parts).astype(np.float32)
        total += len(pcm) / SR
        _opus(pcm, folder / f"voice_{i + 1:02d}.ogg")
    return total


def run_add(archive: Path, notes: Path, args: list[str], model: str, diarize: bool,
            env: dict[str, str] | None = None) -> float:
    cmd = [sys.executable, "-m", "archive", "--archive", str(archive), "add", "-q",
           "--model", model, *args, str(notes)]
    if not diarize:
        cmd.insert(-1, "--no-diarize")
    e = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    e.pop("ARCHIVE_CLUSTER", None)  # only the --cluster run uses a cluster
    t = time.perf_counter()
    r = subprocess.run(cmd, env=e, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{r.stderr}")
    return wall


_TIMES = re.compile(r'"(added|created)": "[^"]*"')


def transcripts(archive: Path) -> dict[str, str]:
    return {f.name: _TIMES.sub("", f.read_text())
            for f in sorted((archive / "transcripts").glob("*.json"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="base")
    ap.add_argument("--no-diarize", action="store_true")
    ap.add_argument("--split", action="store_true", help="also --jobs 2 with 2 threads each")
    ap.add_argument("--keep", type=Path, help="keep the notes and archives in this folder")
    ap.add_argument("--notes", type=int, help="add only the first N notes (a quick check)")
    a = ap.parse_args()
    work = a.keep or Path(tempfile.mkdtemp(prefix="throughput-"))
    notes = work / "notes"
    if not notes.exists():
        make_notes(notes)
    from archive.speech import audio
    if a.notes:  # a quick check on fewer notes, in a folder of their own
        few = work / f"notes-{a.notes}"
        few.mkdir(exist_ok=True)
        for f in sorted(notes.glob("*.ogg"))[: a.notes]:
            if not (few / f.name).exists():
                shutil.copyfile(f, few / f.name)
        notes = few
    files = sorted(notes.glob("*.ogg"))
    seconds = sum(audio.probe(f).duration for f in files)
    print(f"{len(files)} voice notes, {seconds / 60:.1f} min of audio "
          f"({min(audio.probe(f).duration for f in files):.0f}–"
          f"{max(audio.probe(f).duration for f in files):.0f} s each), model {a.model}, "
          f"diarization {'off' if a.no_diarize else 'on'}, {os.cpu_count()} cores")
    from archive.ingest.cluster import local_cluster
    runs: dict[str, float] = {}
    archives: dict[str, Path] = {}

    def one(name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        arch = work / f"archive-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"
        shutil.rmtree(arch, ignore_errors=True)
        runs[name] = run_add(arch, notes, args, a.model, not a.no_diarize, env)
        archives[name] = arch
        rate = seconds / runs[name]
        print(f"{name:<28} {runs[name]:7.1f} s wall  {rate:6.2f} h of audio per hour  "
              f"{runs[name] / runs['--jobs 1']:.2f}x the wall time of --jobs 1", flush=True)

    one("--jobs 1", ["--jobs", "1"])
    one("--jobs 2", ["--jobs", "2"])
    if a.split:
        one("--jobs 2, 2 threads each", ["--jobs", "2"], {"ARCHIVE_THREADS": "2"})
    with local_cluster(2) as cluster:
        one("--cluster (LocalCluster x2)", ["--cluster", cluster.scheduler_address])
    ref = transcripts(archives["--jobs 1"])
    same = all(transcripts(p) == ref for p in archives.values())
    print(f"transcripts identical across runs ({len(ref)} each): {'yes' if same else 'NO'}")
    for name, arch in archives.items():
        other = transcripts(arch)
        for k in sorted(k for k in ref if other.get(k) != ref[k]):
            fn = re.search(r'"filename": "([^"]*)"', ref[k])
            print(f"  {name}: {fn.group(1) if fn else k} differs from --jobs 1")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    if not same or len(ref) != len(files):
        sys.exit(1)


if __name__ == "__main__":
    main()
