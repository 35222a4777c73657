"""Shared checks of the hostile-archive tests (issue 11): run the CLI in-process, expect
one ``archive: error:`` line, and compare the evidence before and after.

- :func:`run` (the CLI on an archive, with an optional environment)
- :func:`one_line_error` (exit code, exactly one error line, no traceback)
- :func:`evidence` (originals, catalog content and custody log of an archive: what no
  refused command may change)
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from click.testing import CliRunner

#: Characters that must never reach a terminal or an export raw.
RAW_BAD = ("\x1b", "\x9b", "\x07", "\u202e", "\u2066", "\x85")


def run(arch: Path, *args: str, env: dict[str, str] | None = None, input: Any = None):
    """``archive --archive ARCH ARGS...`` in-process; the click Result."""
    from archive.cli import main
    return CliRunner().invoke(main, ["--archive", str(arch), *args], env=env, input=input)


def one_line_error(r: Any, needle: str = "", code: int | None = None) -> str:
    """Assert that a command failed with one ``archive: error:`` line holding ``needle``
    (and exit ``code`` when given); returns the line."""
    assert r.exit_code != 0, r.output
    if code is not None:
        assert r.exit_code == code, (r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archive: error: "), r.stderr
    assert needle in lines[0], lines[0]
    return lines[0]


def evidence(arch: Path) -> dict[str, str]:
    """SHA-256 of every original, of the custody log, and of the catalog's logical content."""
    import sqlite3
    out = {str(p.relative_to(arch)): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in sorted((arch / "originals").rglob("*")) if p.is_file()}
    out["custody.log"] = hashlib.sha256((arch / "custody.log").read_bytes()).hexdigest()
    db = sqlite3.connect(f"{(arch / 'catalog.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        out["catalog"] = hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()
    finally:
        db.close()
    return out


def verify_lines(arch: Path) -> tuple[int, list[str]]:
    """(exit code, stdout lines) of ``archive verify``."""
    r = run(arch, "verify")
    return r.exit_code, r.stdout.strip().splitlines()


def assert_clean(arch: Path) -> None:
    """``archive verify`` says ok."""
    code, lines = verify_lines(arch)
    assert code == 0 and lines[-1].startswith("ok: "), lines
