"""No network: add (default model, diarization on), search, cite and verify succeed in
processes where every attempt to open an internet socket raises and is logged.

The guard is a ``sitecustomize`` module put first on the child's PYTHONPATH: it replaces
``socket.socket`` (for AF_INET and AF_INET6; local Unix sockets stay allowed),
``socket.create_connection`` and ``socket.getaddrinfo``. A control run proves the guard is
live: a plain HTTP request under it fails and is logged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import shared
from tests.helpers.crash import child_env, sha256

GUARD = '''
import os, socket
_LOG = os.environ["NETGUARD_LOG"]
_real = socket.socket


def _deny(what):
    with open(_LOG, "a") as f:
        f.write(what + "\\n")
    raise OSError(101, f"network disabled by the test ({what})")


class _Socket(_real):
    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        fam = socket.AF_INET if family == -1 else family
        if fileno is None and fam in (socket.AF_INET, socket.AF_INET6):
            _deny(f"socket({fam!r})")
        super().__init__(family, type, proto, fileno)


socket.socket = _Socket
socket.create_connection = lambda *a, **k: _deny(f"create_connection{a[:1]}")
socket.getaddrinfo = lambda *a, **k: _deny(f"getaddrinfo{a[:2]}")
'''


@pytest.fixture()
def guarded_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    site = tmp_path / "guard"
    site.mkdir()
    (site / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    log.write_text("")
    env = child_env()
    env["PYTHONPATH"] = str(site) + os.pathsep + env["PYTHONPATH"]
    env["NETGUARD_LOG"] = str(log)
    for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):  # the program must not rely on them
        env.pop(k, None)
    return env, log


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_the_guard_blocks_the_network(guarded_env):
    env, log = guarded_env
    r = _run(env, "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9')")
    assert r.returncode != 0 and "network disabled by the test" in r.stderr
    assert log.read_text().strip()


@pytest.mark.slow
def test_add_search_cite_verify_offline(guarded_env, tmp_path: Path):
    env, log = guarded_env
    jfk = shared("jfk.flac")
    before = sha256(jfk)
    arch = str(tmp_path / "arch")
    r = _run(env, "-m", "archive", "--archive", arch, "add", "-q", str(jfk))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("added ")
    r = _run(env, "-m", "archive", "--archive", arch, "search", "ask not")
    assert r.returncode == 0 and "ask not" in r.stdout.lower(), r.stdout + r.stderr
    r = _run(env, "-m", "archive", "--archive", arch, "cite", "1")
    assert r.returncode == 0 and "recording SHA-256" in r.stdout, r.stderr
    r = _run(env, "-m", "archive", "--archive", arch, "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert log.read_text() == ""  # not a single attempt, even a failed one
    assert sha256(jfk) == before
