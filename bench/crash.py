#!/usr/bin/env python3
"""Crash safety: SIGKILL `archive add` N times at random moments; count inconsistent archives.

Each run adds a 4 s Ogg Opus clip of real speech (cut from ../shared/audio/jfk.flac) to one
archive and kills the process with SIGKILL: the first runs at each named step boundary of the
commit (tests/helpers/crash.py KILL_POINTS, the child kills itself there), the rest alternately
at a uniform random moment of the whole run and at a random delay of up to 40 ms after the
commit began (its journal record appeared; a commit takes 10-40 ms).
After each kill, `verify` runs in this process (it first finishes or undoes the interrupted
add, as the next writer would) and must find no problem; a completed add is removed again.
Every 10th run a `verify` subprocess is itself killed part-way, to crash the recovery too.
At the end a fresh add of the same file must succeed and be found by search.

Usage: python bench/crash.py [--runs 100] [--model tiny.en] [--diarize] [--seed 1]
Target: 0 inconsistent archives, original file unchanged.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.crash import (KILL_POINTS, check_and_reset, child_env, cli,  # noqa: E402
                                 kill_add, make_clip, sha256)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--model", default="tiny.en")
    ap.add_argument("--diarize", action="store_true", help="diarize too (slower)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    jfk = ROOT.parent / "shared" / "audio" / "jfk.flac"
    if not jfk.exists():
        print(f"skipped: {jfk} is absent")
        return 0
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="archive-crash-"))
    try:
        src = make_clip(tmp / "voice_note.ogg", jfk)
        before = sha256(src)
        root = tmp / "arch"
        subprocess.run(cli(root, "init"), check=True, capture_output=True, env=child_env())
        t0 = time.monotonic()
        subprocess.run(cli(root, "add", "-q", "--model", args.model, str(src))
                       + ([] if args.diarize else ["--no-diarize"]),
                       check=True, capture_output=True, env=child_env())
        span = time.monotonic() - t0
        from archive.library import Archive
        rid = Archive(root).recordings()[0].id
        check_and_reset(root, rid)
        bad, outcomes, recovered = 0, Counter(), Counter()
        points = list(KILL_POINTS)
        for i in range(args.runs):
            mode = "point" if i < len(points) else ("commit" if i % 2 else "time")
            k = kill_add(root, src, model=args.model, diarize=args.diarize, mode=mode, rng=rng,
                         span=span * (1.1 if mode == "time" else 5),
                         point=points[i] if mode == "point" else None)
            if i % 10 == 9:  # crash the recovery as well
                p = subprocess.Popen(cli(root, "verify"), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=child_env())
                time.sleep(rng.uniform(0.2, 1.0))
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                p.wait()
            problems, rec, present = check_and_reset(root, rid)
            for r in rec:
                recovered[" ".join(r.split()[:3])] += 1
            where = ("in commit" if k.in_commit else "outside commit") if k.killed \
                else "finished first"
            mode_name = "point" if k.mode.startswith("point") else k.mode
            outcomes[f"{mode_name}: {where}, "
                     f"{'was complete' if present else 'left nothing'}"] += 1
            if args.verbose:
                print(f"run {i}: {k.mode} delay {k.delay:.3f} -> {where}; complete={present}; "
                      f"recovery: {rec}")
            if problems:
                bad += 1
                print(f"run {i}: INCONSISTENT after kill ({k}): {problems}")
        done = subprocess.run(cli(root, "add", "-q", "--model", args.model, "--no-diarize",
                                  str(src)), capture_output=True, text=True, env=child_env())
        found = subprocess.run(cli(root, "search", "fellow"), capture_output=True, text=True,
                               env=child_env())
        final = Archive(root).verify()
        print(f"model {args.model}, diarize {args.diarize}, full add {span:.1f} s")
        for k, v in sorted(outcomes.items()):
            print(f"  {v:4d}  {k}")
        print("recovery actions:", dict(recovered))
        print(f"kills: {args.runs}; archives left inconsistent: {bad}")
        print(f"fresh add after the kills: {'ok' if done.returncode == 0 else done.stderr}; "
              f"search finds it: {'fellow' in found.stdout.lower()}; final verify ok: {final.ok}")
        print(f"original unchanged: {sha256(src) == before}")
        return 1 if bad or done.returncode or not final.ok or sha256(src) != before else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
