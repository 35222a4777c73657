"""Output paths (issue 11): ``export -o`` and ``cite --clip -o`` never land on the archive.

=====================================  ======================================================
target                                 outcome
=====================================  ======================================================
originals/, catalog.sqlite,            refused, exit 2, one line "refusing to write … inside
custody.log, archive.json,             the archive"; evidence byte-identical; verify ok
transcripts/, history/, index/,
journal/, the archive folder itself,
a path with ``..``, a symlink into
the archive, a symlinked clips/
clips/                                 written (the one folder of the archive for outputs)
/dev/null                              written into: it stays a character device
a FIFO                                 written into (a reader gets the bytes); not replaced
a symlink outside the archive          the link stays; its target gets the export
an existing private file (0600)        replaced atomically, its mode kept
``-o -``                               standard output (for a clip: its bytes; the citation
                                       goes to stderr)
=====================================  ======================================================
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tests.helpers.evidence import first_id
from tests.helpers.guard import assert_clean, evidence, one_line_error, run


INSIDE = {
    "original": lambda a: next((a / "originals").rglob("*.flac")),
    "catalog": lambda a: a / "catalog.sqlite",
    "custody_log": lambda a: a / "custody.log",
    "marker": lambda a: a / "archive.json",
    "transcript": lambda a: next((a / "transcripts").glob("*.json")),
    "new_file_in_transcripts": lambda a: a / "transcripts" / "new.txt",
    "history": lambda a: next((a / "history").rglob("r0001.json")),
    "index_folder_file": lambda a: a / "index" / "x.txt",
    "journal": lambda a: a / "journal" / "x.json",
    "new_subfolder": lambda a: a / "originals" / "zz" / "x.txt",
    "archive_root_file": lambda a: a / "notes.txt",
    "dotdot": lambda a: a / "clips" / ".." / "custody.log",
}


class TestExportRefusesTheArchive:
    @pytest.mark.parametrize("where", sorted(INSIDE))
    def test_refused(self, arch, where):
        target = INSIDE[where](arch)
        before, existed = evidence(arch), target.exists()
        old = target.read_bytes() if existed and target.is_file() else None
        r = run(arch, "export", first_id(arch)[:8], "-o", str(target))
        one_line_error(r, "refusing to write", code=2)
        assert "inside the archive" in r.stderr
        assert evidence(arch) == before
        assert target.exists() == existed
        if old is not None:
            assert target.read_bytes() == old
        assert_clean(arch)

    def test_symlink_into_the_archive(self, arch, tmp_path):
        link = tmp_path / "innocent.txt"
        link.symlink_to(arch / "custody.log")
        before = evidence(arch)
        r = run(arch, "export", first_id(arch)[:8], "-o", str(link))
        one_line_error(r, "it leads to", code=2)
        assert link.is_symlink() and evidence(arch) == before
        assert_clean(arch)

    def test_symlinked_folder_into_the_archive(self, arch, tmp_path):
        (tmp_path / "out").symlink_to(arch / "originals")
        before = evidence(arch)
        r = run(arch, "export", first_id(arch)[:8], "-o", str(tmp_path / "out" / "x.txt"))
        one_line_error(r, "inside the archive", code=2)
        assert evidence(arch) == before

    def test_clips_is_the_one_folder_allowed(self, arch):
        r = run(arch, "export", first_id(arch)[:8], "-o", str(arch / "clips" / "t.srt"),
                "--format", "srt")
        assert r.exit_code == 0, r.output
        assert "what your country can do for you" in (arch / "clips" / "t.srt").read_text()
        assert_clean(arch)

    def test_a_clips_folder_that_is_a_symlink_is_refused(self, arch):
        (arch / "clips").rmdir()
        (arch / "clips").symlink_to(arch / "originals")
        before = evidence(arch)
        r = run(arch, "export", first_id(arch)[:8], "-o", str(arch / "clips" / "x.txt"))
        one_line_error(r, "inside the archive", code=2)
        assert evidence(arch) == before


class TestExportSpecialTargets:
    def test_dev_null_stays_a_device(self, arch):
        r = run(arch, "export", first_id(arch)[:8], "-o", "/dev/null")
        assert r.exit_code == 0, r.output
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)

    def test_fifo_is_written_into(self, arch, tmp_path):
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
        reader.start()
        r = run(arch, "export", first_id(arch)[:8], "-o", str(fifo))
        reader.join(10)
        assert r.exit_code == 0, r.output
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        assert b"what your country can do for you" in got[0]

    def test_dash_is_stdout(self, arch, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        r = run(arch, "export", first_id(arch)[:8], "-o", "-", "--format", "vtt")
        assert r.exit_code == 0 and r.stdout.startswith("WEBVTT")
        assert not (tmp_path / "-").exists()

    def test_symlink_outside_is_followed_not_replaced(self, arch, tmp_path):
        real, link = tmp_path / "real.txt", tmp_path / "link.txt"
        real.write_text("old")
        link.symlink_to(real)
        r = run(arch, "export", first_id(arch)[:8], "-o", str(link))
        assert r.exit_code == 0, r.output
        assert link.is_symlink() and "ask not" in real.read_text()

    def test_private_file_keeps_its_mode(self, arch, tmp_path):
        f = tmp_path / "private.txt"
        f.write_text("old")
        f.chmod(0o600)
        assert run(arch, "export", first_id(arch)[:8], "-o", str(f)).exit_code == 0
        assert stat.S_IMODE(f.stat().st_mode) == 0o600 and "ask not" in f.read_text()

    def test_a_folder_is_refused(self, arch, tmp_path):
        r = run(arch, "export", first_id(arch)[:8], "-o", str(tmp_path))
        one_line_error(r, "", code=2)


class TestClipOutputs:
    def test_clip_into_originals_is_refused(self, arch):
        target = next((arch / "originals").rglob("*.flac")).with_suffix(".ogg")
        before = evidence(arch)
        r = run(arch, "cite", f"{first_id(arch)[:8]}@1-3", "--clip", "-o", str(target))
        one_line_error(r, "inside the archive", code=2)
        assert not target.exists() and evidence(arch) == before
        assert_clean(arch)

    def test_clip_over_the_catalog_via_symlink_is_refused(self, arch, tmp_path):
        link = tmp_path / "c.ogg"
        link.symlink_to(arch / "catalog.sqlite")
        before = evidence(arch)
        r = run(arch, "cite", f"{first_id(arch)[:8]}@1-3", "--clip", "-o", str(link))
        one_line_error(r, "inside the archive", code=2)
        assert evidence(arch) == before

    def test_clip_to_dev_null_stays_a_device(self, arch):
        r = run(arch, "cite", f"{first_id(arch)[:8]}@1-3", "--clip", "-o", "/dev/null")
        assert r.exit_code == 0, r.output
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
        assert not Path("/dev/null.json").exists()

    def test_clip_to_stdout(self, arch):
        r = run(arch, "cite", f"{first_id(arch)[:8]}@1-3", "--clip", "-o", "-")
        assert r.exit_code == 0, r.stderr
        assert r.stdout_bytes.startswith(b"OggS")
        assert "fellow Americans" in r.stderr
        assert_clean(arch)

    def test_default_clip_goes_to_clips_and_is_logged(self, arch):
        r = run(arch, "cite", f"{first_id(arch)[:8]}@1-3", "--clip")
        assert r.exit_code == 0, r.output
        assert list((arch / "clips").glob("*.ogg"))
        assert '"event": "clip"' in (arch / "custody.log").read_text()
        assert_clean(arch)
