#!/usr/bin/env python3
"""Mutation fuzzing of probe/decode over real speech in every container `add` accepts.

Runs tests/helpers/fuzz_media.py in a child process (a hang in C code is caught from here:
the child is killed after --seconds plus a margin, and the input it was on is named), and
prints how many inputs were tried and what became of them. Every outcome must be decoded
audio or an ArchiveError (a one-line error for `add`); the test suite runs the same for 60 s.

Usage: python bench/fuzz_media.py [--seconds 600] [--seed 1] [--work DIR]
Target: 0 failures (other exceptions, inputs slower than 20 s, hangs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="fuzz_media_"))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "tests.helpers.fuzz_media", "--seconds", str(args.seconds),
           "--seed", str(args.seed), "--work", str(work)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=args.seconds + 120)
    except subprocess.TimeoutExpired:
        current = (work / "current").read_text("utf-8").strip()
        print(f"HANG on input {current}: {work / 'input'}*")
        return 1
    if r.returncode != 0:
        print(r.stderr[-3000:])
        return 1
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"inputs tried: {rep['tried']} in {rep['seconds']:.0f} s "
          f"({rep['tried'] / rep['seconds']:.1f}/s), {rep['decoded_seconds']} s of audio decoded")
    for k, v in sorted(rep["outcomes"].items(), key=lambda kv: -kv[1]):
        print(f"  {v:6d}  {k}")
    for f in rep["failures"]:
        print(f"FAILURE {f['why']} ({f['seconds']} s): {f['input']}")
    print(f"failures: {len(rep['failures'])} (target 0); inputs kept in {work}")
    return 1 if rep["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
