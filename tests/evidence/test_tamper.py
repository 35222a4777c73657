"""Archive tampering and hand-edited or damaged archive files (issue 11).

=====================================  ======================================================
change                                 what verify says (and what repair does)
=====================================  ======================================================
words changed in both transcript       "revision 1 CHANGED since the custody log recorded
copies                                 it"; exit 1; repair does not launder it
catalog row: recorded date, source,    "catalog row CHANGED since it was added (… differ)";
title, tags, filename                  repair restores the row from the transcript
catalog speaker row renamed            "the catalog's speakers differ"; repair rewrites them
a forged "verified by ear" passage     "has no verification in the custody log"
a revision deleted from history/       "revision 1, recorded in the custody log, is missing"
an archive from before digests         "unverifiable: …" lines, exit 0, never "ok"; repair
                                       records an ``attest`` event; later changes are seen
NaN, Infinity, 1e308, "0.3" as text,   every reader: one line "… is corrupt (…)"; verify
negative / backwards times, a bad      reports it; repair restores it from history
flag, deep nesting, not UTF-8
catalog row JSON damaged               one line; verify reports it; repair restores the row
archive.json wrong-shaped              one line; verify reports it; repair rewrites it
journal "revision": "two"              writers go on; verify reports it; repair moves it
                                       aside
last-search cache: not a list, a bad   ``cite 1``: one line "damaged; run the search again"
hit, a removed recording               or "no longer in the archive"
=====================================  ======================================================
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.evidence import first_id
from tests.helpers.guard import assert_clean, evidence, one_line_error, run, verify_lines


def originals(arch: Path) -> dict[str, str]:
    return {k: v for k, v in evidence(arch).items() if k.startswith("originals/")}


def problems(arch: Path) -> list[str]:
    code, lines = verify_lines(arch)
    assert code == 1, lines
    return [x for x in lines if x.startswith("PROBLEM: ")]


def edit_row(arch: Path, **changes) -> None:
    db = sqlite3.connect(arch / "catalog.sqlite")
    d = json.loads(db.execute("SELECT data FROM recordings").fetchone()[0])
    d.update(changes)
    cols = {k: v for k, v in changes.items() if k in ("title", "recorded", "filename")}
    sets = ", ".join(f"{k}=?" for k in ["data", *cols])
    db.execute(f"UPDATE recordings SET {sets}", (json.dumps(d), *cols.values()))
    db.commit()
    db.close()


def both_copies(arch: Path, fn) -> None:
    rid = first_id(arch)
    for p in (arch / "transcripts" / f"{rid}.json", arch / "history" / rid / "r0001.json"):
        p.write_text(fn(p.read_text("utf-8")), "utf-8")


# ------------------------------------------------------------------ tampering
class TestTamperingIsSeen:
    def test_words_changed_in_both_copies(self, arch):
        before = originals(arch)
        both_copies(arch, lambda s: s.replace("country", "kountry"))
        assert run(arch, "reindex").exit_code == 0  # even a fresh index does not hide it
        p = problems(arch)
        assert any("revision 1 CHANGED since the custody log recorded it" in x for x in p), p
        r = run(arch, "verify", "--repair")
        assert r.exit_code == 1 and "revision 1 CHANGED" in r.stdout  # never laundered
        assert originals(arch) == before

    def test_only_the_history_copy_changed(self, arch):
        rid = first_id(arch)
        h = arch / "history" / rid / "r0001.json"
        h.write_text(h.read_text().replace("fellow", "yellow"))
        p = problems(arch)
        assert any("revision 1 CHANGED" in x for x in p) and any("history copy" in x for x in p)

    @pytest.mark.parametrize("field,value", [
        ("recorded", "1999-01-01"), ("source", "a forged source"), ("title", "Another title"),
        ("tags", ["forged"]), ("filename", "other.flac"), ("note", "added later")])
    def test_catalog_row_changed(self, arch, field, value):
        before = originals(arch)
        edit_row(arch, **{field: value})
        p = problems(arch)
        assert any("catalog row CHANGED since it was added" in x and field in x for x in p), p
        r = run(arch, "verify", "--repair")
        assert "catalog row restored from its transcript" in r.stdout, r.stdout
        assert_clean(arch)
        assert originals(arch) == before

    def test_catalog_speaker_row_changed(self, arch):
        db = sqlite3.connect(arch / "catalog.sqlite")
        db.execute("INSERT INTO speakers (recording_id, label, name) VALUES (?, 'S9', 'Forged')",
                   (first_id(arch),))
        db.commit()
        db.close()
        assert any("speakers differ" in x for x in problems(arch))
        assert "speaker rows rewritten" in run(arch, "verify", "--repair").stdout
        assert_clean(arch)

    def test_forged_verified_passage(self, arch):
        db = sqlite3.connect(arch / "catalog.sqlite")
        db.execute("INSERT INTO verified (recording_id, start, end, revision, note, by, at) "
                   "VALUES (?, 1.0, 3.0, 1, NULL, 'someone', '2020-01-01')", (first_id(arch),))
        db.commit()
        db.close()
        assert any("no verification in the custody log" in x for x in problems(arch))

    def test_a_logged_revision_deleted(self, arch):
        rid = first_id(arch)
        (arch / "history" / rid / "r0001.json").unlink()
        assert any("revision 1, recorded in the custody log, is missing" in x
                   for x in problems(arch))

    def test_a_real_mark_is_backed_by_the_log(self, arch):
        r = run(arch, "mark", first_id(arch)[:8], "1-3", "--verified")
        assert r.exit_code == 0, r.output
        assert_clean(arch)


def strip_digests(arch: Path) -> None:
    """Rewrite custody.log as an archive made before digests (chain recomputed)."""
    prev, lines = "0" * 64, []
    for line in (arch / "custody.log").read_text().splitlines():
        d = json.loads(line)
        d.pop("hash")
        for k in ("transcript_sha256", "catalog_sha256", "translation_sha256"):
            d["details"].pop(k, None)
        d["prev"] = prev
        body = json.dumps(d, ensure_ascii=False, sort_keys=True)
        d["hash"] = prev = hashlib.sha256(body.encode()).hexdigest()
        lines.append(json.dumps(d, ensure_ascii=False, sort_keys=True))
    (arch / "custody.log").write_text("\n".join(lines) + "\n")


class TestOldArchives:
    def test_unverifiable_not_ok_then_attested(self, arch):
        strip_digests(arch)
        code, lines = verify_lines(arch)
        assert code == 0 and not any(x.startswith("ok: ") for x in lines), lines
        assert any(x.startswith("unverifiable: ") and "revision 1" in x for x in lines)
        assert any("catalog row has no digest" in x for x in lines)
        r = run(arch, "verify", "--repair")
        assert "recorded the digests of 2 file(s)" in r.stdout, r.stdout
        assert '"event": "attest"' in (arch / "custody.log").read_text()
        assert_clean(arch)
        edit_row(arch, source="changed after the attestation")
        assert any("catalog row CHANGED" in x for x in problems(arch))


# ------------------------------------------------------------------ damaged files
BAD_TRANSCRIPTS = {
    "nan": lambda s: s.replace('"start": 0.0', '"start": NaN', 1)
    if '"start": 0.0' in s else s.replace('"end": ', '"end": NaN, "x": ', 1),
    "infinity": lambda s: s.replace('"p": ', '"p": Infinity, "q": ', 1),
    "huge": lambda s: s.replace('"end": ', '"end": 1e308, "x": ', 1),
    "overflow": lambda s: s.replace('"end": ', '"end": 1e400, "x": ', 1),
    "string_time": lambda s: _first_word(s, start="0.3"),
    "negative_time": lambda s: _first_word(s, start=-4.0),
    "backwards_time": lambda s: _first_word(s, start=9.0, end=1.0),
    "bad_flag": lambda s: s.replace('"flags": []', '"flags": [7]', 1),
    "bool_revision": lambda s: s.replace('"revision": 1', '"revision": true', 1),
    "segments_not_list": lambda s: json.dumps({**json.loads(s), "segments": {"a": 1}}),
    "deep_nesting": lambda s: s.replace('"options": {', '"options": {"x": ' + "[" * 100000
                                        + "]" * 100000 + ', ', 1),
    "not_utf8": lambda s: s.replace("country", "c\udcffountry", 1),
    "array": lambda s: "[]",
}


def _first_word(s: str, **changes) -> str:
    d = json.loads(s)
    d["segments"][0]["words"][0].update(changes)
    return json.dumps(d)


class TestDamagedTranscripts:
    @pytest.mark.parametrize("kind", sorted(BAD_TRANSCRIPTS))
    def test_every_reader_refuses_in_one_line(self, arch, kind):
        rid = first_id(arch)
        p = arch / "transcripts" / f"{rid}.json"
        text = BAD_TRANSCRIPTS[kind](p.read_text("utf-8"))
        p.write_bytes(text.encode("utf-8", "surrogateescape"))
        before = originals(arch)
        for args in (["show", rid[:8]], ["export", rid[:8], "--format", "json"],
                     ["cite", f"{rid[:8]}@1-3"]):
            one_line_error(run(arch, *args), "is corrupt", code=1)
        assert any("is corrupt" in x for x in problems(arch))
        r = run(arch, "verify", "--repair")
        assert "transcript restored from history" in r.stdout, r.stdout
        assert_clean(arch)
        assert originals(arch) == before


class TestDamagedArchiveFiles:
    @pytest.mark.parametrize("marker", ["[]", '{"format": "1"}', "{}", "not json",
                                        '{"format": true}'])
    def test_wrong_shaped_archive_json(self, arch, marker):
        (arch / "archive.json").write_text(marker)
        one_line_error(run(arch, "list"), "archive marker", code=1)
        assert any("archive marker" in x for x in problems(arch))
        assert "archive.json rewritten" in run(arch, "verify", "--repair").stdout
        assert_clean(arch)

    def test_damaged_catalog_row(self, arch):
        db = sqlite3.connect(arch / "catalog.sqlite")
        db.execute("UPDATE recordings SET data=?", ('{"id": 5, "duration": NaN}',))
        db.commit()
        db.close()
        one_line_error(run(arch, "list"), "is damaged", code=1)
        p = problems(arch)
        assert len(p) == 1 and "the row of" in p[0], p
        assert "catalog row restored" in run(arch, "verify", "--repair").stdout
        assert_clean(arch)

    def test_journal_with_a_bad_revision_wedges_nothing(self, arch):
        rid = first_id(arch)
        (arch / "journal" / f"edit-{rid}.json").write_text(json.dumps(
            {"op": "edit", "id": rid, "revision": "two", "pid": 1, "custody_seq": 1}))
        r = run(arch, "reindex")
        assert r.exit_code == 0, r.output
        assert any("unreadable journal record" in x for x in problems(arch))
        r = run(arch, "verify", "--repair")
        assert "moved to journal/damaged/" in r.stdout, r.stdout
        assert_clean(arch)


class TestLastSearchCache:
    def _cache(self, arch: Path) -> Path:
        from archive.citing.cite import last_search_path
        return last_search_path(arch.absolute())

    @pytest.mark.parametrize("content,needle", [
        ('{"not": "a list"}', "damaged"), ("[1, 2]", "damaged"), ("garbage", "damaged"),
        ('[{"recording_id": "zz", "start": 1, "end": 2}]', "damaged"),
        ('[{"recording_id": "%s", "title": "t", "speaker": null, "start": NaN, "end": 2, '
         '"text": "x"}]' % ("a" * 64), "damaged"),
        ('[{"recording_id": "%s", "title": "t", "speaker": null, "start": 1, "end": 2, '
         '"text": "x"}]' % ("a" * 64), "no longer in the archive")])
    def test_odd_or_stale_cache(self, arch, content, needle):
        assert run(arch, "search", "country").exit_code == 0
        self._cache(arch).write_text(content)
        one_line_error(run(arch, "cite", "1"), needle, code=2)
        assert_clean(arch)
