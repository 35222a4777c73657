"""Byte-level mutation fuzzing of probe/decode, bounded in time (issue 11).

Every mutated input of real speech must give decoded audio or an ArchiveError: never another
exception, never a hang (the fuzzer runs in a child process that is killed if it overruns).
bench/fuzz_media.py runs the same for longer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, shared

SECONDS = 30


@pytest.mark.slow
def test_mutated_media_decodes_or_fails_with_an_archive_error(tmp_path: Path) -> None:
    shared("jfk.flac")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "tests.helpers.fuzz_media", "--seconds", str(SECONDS),
           "--work", str(tmp_path), "--seed", "11"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=SECONDS + 120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"decoding hung on input {(tmp_path / 'current').read_text('utf-8')}")
    assert r.returncode == 0, r.stderr[-2000:]
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"\nfuzz: {rep['tried']} inputs in {SECONDS} s: {rep['outcomes']}")
    assert rep["failures"] == [], rep["failures"]
    assert rep["tried"] >= 100, rep  # a machine this slow tests too little
    # Both ways out are taken: the mutations are neither all harmless nor all fatal.
    assert rep["outcomes"].get("decoded", 0) + rep["outcomes"].get("decoded, with gaps", 0) > 10
    assert sum(v for k, v in rep["outcomes"].items() if not k.startswith("decoded")) > 10
