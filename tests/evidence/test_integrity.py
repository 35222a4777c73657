"""verify, verify --repair, rm, and recovery of interrupted add / rm / edit / translate.

Archives are copies of one built with the real model (tiny.en, jfk.flac); damage is done to
the copies by hand (what a disk error, a careless user or a tamperer would do), and crashes
are real SIGKILLs of the CLI at named steps (tests/helpers/crash.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.library import Archive
from tests.conftest import shared
from tests.helpers.crash import run_killed, sha256
from tests.helpers.evidence import snapshot


@pytest.fixture(autouse=True)
def _reference_audio_untouched():
    before = snapshot(shared("jfk.flac").parent)
    yield
    assert snapshot(shared("jfk.flac").parent) == before


def run(arch: Path, *args: str):
    return CliRunner().invoke(main, ["--archive", str(arch), *args])


def rid_of(arch: Path) -> str:
    return Archive(arch).recordings()[0].id


def original(arch: Path) -> Path:
    a = Archive(arch)
    return a.store.original_path(a.recordings()[0])


def verify_ok(arch: Path) -> None:
    r = run(arch, "verify")
    assert r.exit_code == 0, r.output
    assert "ok: 1 originals verified by SHA-256" in r.stdout or "ok: 0 originals" in r.stdout


# ------------------------------------------------------------------ verify and repair
def test_clean_archive_verifies(arch):
    verify_ok(arch)
    assert sha256(original(arch)) == rid_of(arch)


def test_changed_original_is_reported_and_never_repaired(arch):
    p = original(arch)
    os.chmod(p, 0o644)
    with open(p, "r+b") as f:
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 1]))  # one bit
    tampered = sha256(p)
    r = run(arch, "verify")
    assert r.exit_code == 1 and "original CHANGED" in r.stdout
    r = run(arch, "verify", "--repair")
    assert r.exit_code == 1 and "original CHANGED" in r.stdout
    assert sha256(p) == tampered  # repair does not "fix" evidence


def test_missing_original_is_reported(arch):
    p = original(arch)
    os.chmod(p, 0o644)
    p.unlink()
    r = run(arch, "verify")
    assert r.exit_code == 1 and "original missing" in r.stdout


def test_transcript_deleted_or_corrupt_is_restored_from_history(arch):
    rid = rid_of(arch)
    a = Archive(arch)
    good = a.store.transcript_path(rid).read_bytes()
    a.store.transcript_path(rid).write_text('{"recording": {"id": "tru')
    r = run(arch, "show", rid[:8])
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"archive: error: transcripts/{rid}.json is corrupt (JSONDecodeError: ")
    assert lines[0].endswith("restore it from history/ or run `archive verify --repair`")
    r = run(arch, "verify")
    assert r.exit_code == 1 and "is corrupt" in r.stdout
    r = run(arch, "verify", "--repair")
    assert r.exit_code == 0, r.output
    assert "repaired: " in r.stdout and "restored from history (revision 1)" in r.stdout
    assert a.store.transcript_path(rid).read_bytes() == good
    a.store.transcript_path(rid).unlink()
    assert "transcript missing" in run(arch, "verify").stdout
    assert run(arch, "verify", "--repair").exit_code == 0
    assert a.store.transcript_path(rid).read_bytes() == good
    verify_ok(arch)


def test_lost_catalog_row_is_restored_from_the_transcript(arch):
    rid = rid_of(arch)
    db = sqlite3.connect(arch / "catalog.sqlite")
    db.execute("DELETE FROM recordings")
    db.commit()
    db.close()
    r = run(arch, "verify")
    assert r.exit_code == 1
    for needle in ("orphan original", "orphan transcript", "stale index entries"):
        assert needle in r.stdout
    r = run(arch, "verify", "--repair")
    assert r.exit_code == 0, r.output
    assert "catalog row restored from its transcript" in r.stdout
    assert rid_of(arch) == rid
    assert "country" in run(arch, "search", "country").stdout


def test_stale_and_damaged_index_are_rebuilt(arch):
    idx = arch / "index"
    for p in idx.iterdir():
        if p.name.endswith(".toc"):
            p.write_bytes(b"garbage")
    r = run(arch, "search", "country")
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [
        "archive: error: search index is damaged or outdated (ValueError); run "
        "`archive reindex`"] or "run `archive reindex`" in r.stderr and \
        len(r.stderr.strip().splitlines()) == 1
    assert run(arch, "verify").exit_code == 1
    r = run(arch, "verify", "--repair")
    assert r.exit_code == 0 and "search index rebuilt" in r.stdout, r.output
    assert "country" in run(arch, "search", "country").stdout


def test_custody_log_tampering_is_reported(arch):
    log = arch / "custody.log"
    lines = log.read_text().splitlines()
    d = json.loads(lines[-1])
    d["details"]["filename"] = "other.flac"
    lines[-1] = json.dumps(d, sort_keys=True)
    log.write_text("\n".join(lines) + "\n")
    r = run(arch, "verify", "--repair")
    assert r.exit_code == 1
    assert f"custody.log line {len(lines)}: content does not match its hash" in r.stdout


def test_read_only_archive_reads_but_refuses_writes(arch, tmp_path):
    from archive.errors import ArchiveReadOnly
    a = Archive(arch)
    rid = rid_of(arch)
    # Root ignores file modes; a read-only mount is the honest test, where we may mount.
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0 or os.system(f"mount -t tmpfs -o size=8m tmpfs {ro} 2>/dev/null"):
        pytest.skip("cannot mount a read-only file system here")
    try:
        os.system(f"cp -a {arch} {ro}/arch")
        assert os.system(f"mount -o remount,ro {ro}") == 0
        r = ro / "arch"
        assert rid[:10] in run(r, "list").stdout
        assert "country" in run(r, "search", "country").stdout
        assert run(r, "show", rid[:8]).exit_code == 0
        assert run(r, "verify").exit_code == 0
        note = Path(__file__).parent.parent.parent / "audio_samples" / "PTT-20220405-WA0001.opus"
        for args in (["add", "-q", str(note)], ["rm", rid[:8], "--reason", "x"],
                     ["verify", "--repair"], ["reindex"]):
            res = run(r, *args)
            assert res.exit_code == 1, (args, res.output)
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and "read-only" in lines[0], (args, res.stderr)
        with pytest.raises(ArchiveReadOnly):
            Archive(r).remove(rid, reason="x")
    finally:
        os.system(f"umount {ro} 2>/dev/null || umount -l {ro}")  # -l: still open in-process
    assert a.verify().ok


# ------------------------------------------------------------------ rm
def test_rm_quarantines_logs_and_purges(arch):
    a = Archive(arch)
    rec = a.recordings()[0]
    orig = a.store.original_path(rec)
    r = run(arch, "rm", rec.id[:8])
    assert r.exit_code == 2 and "--reason" in r.output  # a reason is required
    r = run(arch, "rm", rec.id[:8], "--reason", "  ")
    assert r.exit_code == 2 and "needs a --reason" in r.stderr
    r = run(arch, "rm", rec.id[:8], "--reason", "source asked to withdraw it")
    assert r.exit_code == 0 and "quarantined" in r.stdout
    q = arch / "quarantine" / f"{rec.id}{rec.ext}"
    assert not orig.exists() and sha256(q) == rec.id
    assert not a.store.transcript_path(rec.id).exists()
    assert not a.store.history_dir(rec.id).exists()
    assert Archive(arch).recordings() == []
    assert "no hits" in run(arch, "search", "country").stdout
    ev = Archive(arch).log()[-1]
    assert ev["event"] == "rm" and ev["details"]["reason"] == "source asked to withdraw it"
    assert run(arch, "show", rec.id[:8]).exit_code == 1
    verify_ok(arch)
    # Added again, then purged for good.
    run(arch, "add", "-q", "--model", "tiny.en", "--no-diarize", str(shared("jfk.flac")))
    assert rid_of(arch) == rec.id
    r = run(arch, "rm", rec.id[:8], "--reason", "duplicate", "--purge")
    assert r.exit_code == 0 and "original purged" in r.stdout
    assert not q.exists() and not orig.exists()
    assert Archive(arch).log()[-1]["details"]["purged"] is True
    verify_ok(arch)


@pytest.mark.parametrize("point", [
    "archive.search.index:Index.writer@after",
    "archive.evidence.store:Store.delete_recording@after",
    "archive.evidence.store:Store.quarantine@before",
    "archive.evidence.store:CustodyLog.append@before",
])
def test_interrupted_rm_is_finished_by_the_next_writer(arch, point):
    rec = Archive(arch).recordings()[0]
    r = run_killed(arch, point, "rm", rec.id[:8], "--reason", "legal request")
    assert r.returncode == -9, r.stderr
    r = run(arch, "verify")
    assert r.exit_code == 0, r.output
    assert f"recovered: finished the interrupted removal of {rec.id[:10]}" in r.stdout
    q = arch / "quarantine" / f"{rec.id}{rec.ext}"
    assert sha256(q) == rec.id
    assert Archive(arch).recordings() == []
    rm_events = [e for e in Archive(arch).log() if e["event"] == "rm"]
    assert len(rm_events) == 1 and rm_events[0]["details"]["reason"] == "legal request"


# ------------------------------------------------------------------ edit and translate
EDITOR = {"EDITOR": "sed -i s/country/nation/g"}


def test_interrupted_edit_before_the_transcript_is_undone(arch):
    rid = rid_of(arch)
    r = run_killed(arch, "history-written", "edit", rid[:8], "--no-align", env=EDITOR)
    assert r.returncode == -9, r.stderr
    assert (arch / "history" / rid / "r0002.json").exists()
    r = run(arch, "verify")
    assert r.exit_code == 0, r.output
    assert "undid the interrupted edit" in r.stdout
    a = Archive(arch)
    assert a.transcript(rid).revision == 1 and a.store.revisions(rid) == [1]
    assert "nation" not in run(arch, "search", "nation").stdout.lower()


@pytest.mark.parametrize("point", ["transcript-written", "catalog-committed"])
def test_interrupted_edit_after_the_transcript_is_finished(arch, point):
    rid = rid_of(arch)
    r = run_killed(arch, point, "edit", rid[:8], "--no-align", env=EDITOR)
    assert r.returncode == -9, r.stderr
    r = run(arch, "verify")
    assert r.exit_code == 0, r.output
    assert f"finished the interrupted edit of {rid[:10]} (revision 2)" in r.stdout
    a = Archive(arch)
    assert a.store.revision(rid) == 2 and a.transcript(rid).revision == 2
    hits = a.search("nation")
    assert hits and hits[0].revision == 2
    assert [e["details"].get("recovered") for e in a.log(rid) if e["event"] == "edit"] == [True]


def test_interrupted_translation_is_finished(arch):
    rid = rid_of(arch)
    r = run_killed(arch, "archive.evidence.store:Store.write_translation@after", "translate", rid[:8],
                   "-q", "--model", "tiny.en")
    assert r.returncode == -9, r.stderr
    r = run(arch, "verify")
    assert r.exit_code == 0, r.output
    assert f"finished the interrupted translation of {rid[:10]}" in r.stdout
    a = Archive(arch)
    assert a.translation(rid) is not None
    assert a.search("country", translation=True)
    ev = [e for e in a.log(rid) if e["event"] == "translate"]
    assert len(ev) == 1 and ev[0]["details"]["recovered"] is True


@pytest.mark.parametrize("point, finished", [
    ("archive.evidence.store:Store.transaction@before", False),
    ("archive.evidence.store:CustodyLog.append@before", True)])
def test_interrupted_mark_and_unmark_are_finished_or_reported(arch, point, finished):
    rid = rid_of(arch)
    r = run_killed(arch, point, "mark", rid[:8], "0:03-0:05", "--verified", "--note", "ear")
    assert r.returncode == -9, r.stderr
    r = run(arch, "verify")
    assert r.exit_code == 0, r.output
    a = Archive(arch)
    events = [e for e in a.log(rid) if e["event"] == "verify-passage"]
    if finished:
        assert f"finished the interrupted verification mark on {rid[:10]}" in r.stdout
        assert [(m.start, m.end, m.note) for m in a.marks(rid)] == [(3.0, 5.0, "ear")]
        assert len(events) == 1 and events[0]["details"]["recovered"] is True
        assert "ask" in events[0]["details"]["words"]
        r = run_killed(arch, point, "mark", rid[:8], "0:03-0:05", "--unverified")
        assert r.returncode == -9, r.stderr
        r = run(arch, "verify")
        assert r.exit_code == 0 and "finished the interrupted withdrawal" in r.stdout
        assert a.marks(rid) == []
        assert [e["details"].get("recovered") for e in a.log(rid)
                if e["event"] == "unverify-passage"] == [True]
    else:
        assert "was not recorded; mark the passage again" in r.stdout
        assert a.marks(rid) == [] and events == []
    assert not list((arch / "journal").glob("*.json"))


# ------------------------------------------------------------------ add: the next writer says so
def test_interrupted_add_is_rolled_back_and_the_next_add_says_so(arch):
    src = shared("jfk.flac")
    a = Archive(arch)
    a.remove(rid_of(arch), reason="start empty", purge=True)
    r = run_killed(arch, "original-stored", "add", "-q", "--model", "tiny.en", "--no-diarize",
                   str(src))
    assert r.returncode == -9
    assert list((arch / "journal").glob("add-*.json"))
    # A reader sees no half-added recording, and is told that a write was interrupted.
    assert Archive(arch).recordings() == []
    r = run(arch, "list")
    assert r.exit_code == 0 and "empty" in r.stdout
    assert r.stderr.startswith("note: an interrupted write was found (add of ")
    r = run(arch, "add", "-q", "--model", "tiny.en", "--no-diarize", str(src))
    assert r.exit_code == 0, r.output
    assert "recovered: rolled back the interrupted add of" in r.stderr
    assert r.stdout.startswith("added ")
    verify_ok(arch)
    assert [e["event"] for e in Archive(arch).log()].count("add") == 2  # template + this one


def test_a_damaged_journal_record_never_widens_a_rollback(arch):
    """A journal record whose id is not a whole SHA-256 (damage, or tampering) is reported and
    left alone: recovery must not roll back "every original starting with 63"."""
    rid = rid_of(arch)
    (arch / "journal" / "add-x.json").write_text(json.dumps({"op": "add", "id": rid[:2]}))
    (arch / "journal" / "rm-y.json").write_text("{not json")
    r = run(arch, "verify")
    assert r.exit_code == 1
    assert r.stdout.count("recovered: unreadable journal record") == 2
    assert "unfinished add of 63" in r.stdout or f"unfinished add of {rid[:2]}" in r.stdout
    assert sha256(original(arch)) == rid and rid_of(arch) == rid
