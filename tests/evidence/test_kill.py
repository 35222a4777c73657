"""SIGKILL `archive add` at 30 moments; after each, the archive is consistent.

Decision: a killed writer may leave an unfinished journal record, a staging folder or a torn
custody line behind, so "consistent" means: consistent after the automatic recovery that the
next writer performs, and `archive verify` is such a writer (it recovers first, prints each
action as ``recovered: …`` and then checks; on a read-only archive it reports the unfinished
write instead). Readers never see a half-added recording: the catalog row is the point of no
return, and a recording without one is invisible to list, show, search and cite.

The kills: one at each named step boundary of the commit (the child kills itself there), the
rest at random delays after the commit began and at random moments of the whole run. A 4 s
voice note (Ogg Opus, real speech) and tiny.en keep each run to a few seconds.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.library import Archive
from tests.conftest import shared
from tests.helpers.crash import (KILL_POINTS, check_and_reset, child_env, cli, kill_add,
                                 make_clip, sha256)

MODEL = "tiny.en"
KILLS = 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("kill") / "voice_note.ogg", shared("jfk.flac"))


@pytest.fixture(autouse=True)
def _inputs_untouched(clip: Path):
    before = sha256(clip), sha256(shared("jfk.flac"))
    yield
    assert (sha256(clip), sha256(shared("jfk.flac"))) == before


@pytest.mark.slow
def test_kill_add_thirty_times(tmp_path: Path, clip: Path):
    import subprocess
    root = tmp_path / "arch"
    subprocess.run(cli(root, "init"), check=True, capture_output=True, env=child_env())
    t0 = time.monotonic()
    subprocess.run(cli(root, "add", "-q", "--model", MODEL, "--no-diarize", str(clip)),
                   check=True, capture_output=True, env=child_env())
    span = time.monotonic() - t0
    rid = Archive(root).recordings()[0].id
    check_and_reset(root, rid)

    rng = random.Random(20240405)
    points = list(KILL_POINTS)
    plan = [("point", p, False) for p in points]
    plan += [("commit", None, False)] * 9
    plan += [("time", None, i < 3) for i in range(KILLS - len(plan))]  # 3 with diarization
    assert len(plan) >= 30
    seen = {"rolled back": 0, "finished": 0, "complete": 0, "nothing": 0}
    for n, (mode, point, diarize) in enumerate(plan):
        k = kill_add(root, clip, model=MODEL, diarize=diarize, mode=mode, rng=rng,
                     span=span * (1.1 if mode == "time" else 5) * (2 if diarize else 1),
                     point=point)
        if mode == "point":
            assert k.killed, f"{point}: the child was not killed there"
        if n % 5 == 0:  # the CLI's own verify: recovers, says so, exits 0
            r = CliRunner().invoke(main, ["--archive", str(root), "verify"])
            assert r.exit_code == 0, (k, r.output)
            present = Archive(root).store.has(rid)
            problems, recovered, _ = check_and_reset(root, rid)
            assert all(line.startswith(("recovered: ", "ok: ")) for line in
                       r.stdout.splitlines()), r.stdout
            recovered = [x[len("recovered: "):] for x in r.stdout.splitlines()
                         if x.startswith("recovered: ")]
        else:
            problems, recovered, present = check_and_reset(root, rid)
        assert problems == [], (k, recovered, problems)
        text = " ".join(recovered)
        seen["rolled back"] += "rolled back the interrupted add" in text
        seen["finished"] += "finished the interrupted add" in text
        seen["complete" if present else "nothing"] += 1
        if k.in_commit:  # killed inside the commit: recovery must have said what it did
            assert "interrupted add" in text or present, (k, recovered)
        assert not any((root / "staging").iterdir()), "a staging folder survived recovery"
    # Every kill point inside the commit was hit: both outcomes occurred.
    assert seen["rolled back"] >= 5 and seen["finished"] >= 5, seen

    r = CliRunner().invoke(main, ["--archive", str(root), "add", "-q", "--model", MODEL,
                                  str(clip)])
    assert r.exit_code == 0 and r.stdout.startswith(f"added {rid[:10]}"), r.output
    assert "fellow" in CliRunner().invoke(main, ["--archive", str(root), "search",
                                                 "fellow"]).stdout.lower()
    rep = Archive(root).verify()
    assert rep.ok and rep.checked == 1, rep.problems
