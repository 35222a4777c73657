"""CLI of corrections: edit (with $EDITOR set to a script), history, mark, translate, vocab."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from tests.helpers import edit_archives


@pytest.fixture()
def arch(tmp_path_factory, tmp_path):
    """(archive root, short id) of a private copy of the commander archive."""
    a = edit_archives.clone(edit_archives.commander(tmp_path_factory.mktemp), tmp_path / "a")
    return str(a.root), a.recordings()[0].id[:10]


def run(root: str, *args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["--archive", root, *args], env=env)


def editor(tmp_path: Path, body: str) -> str:
    """An $EDITOR: a Python script that rewrites the file it is given with ``body``, a
    function of the old text ``t``."""
    script = tmp_path / "ed.py"
    script.write_text("import sys\np = sys.argv[1]\nt = open(p, encoding='utf-8').read()\n"
                      f"open(p, 'w', encoding='utf-8').write({body})\n")
    return f"{sys.executable} {script}"


def first_word(root: str, rid: str) -> str:
    from archive.library import Archive
    return Archive(root).transcript(rid).segments[0].words[0].text


def test_edit_history_and_old_revision(arch, tmp_path):
    root, rid = arch
    old = first_word(root, rid)
    ed = editor(tmp_path, f"t.replace('] {old} ', '] Lisnet ', 1)")
    r = run(root, "edit", rid, "--note", "checked with the source", env={"EDITOR": ed})
    assert r.exit_code == 0, r.output
    assert f"revision 2 of {rid}" in r.output and "checked with the source" in r.output
    assert "1 word(s) changed" in r.output
    r = run(root, "show", rid)
    assert r.exit_code == 0 and "Lisnet" in r.output and "rev 2" in r.output
    r = run(root, "show", rid, "--revision", "1")
    assert r.exit_code == 0 and old in r.output and "Lisnet" not in r.output
    r = run(root, "history", rid, "--diff")
    assert r.exit_code == 0
    assert "machine" in r.output and "2 *" in r.output and "+[00:00.0] Lisnet" in r.output
    hist = json.loads(run(root, "history", rid, "--json").output)
    assert [(h["revision"], h["words_changed"]) for h in hist["revisions"]] == [(1, 0), (2, 1)]
    r = run(root, "search", "lisnet")
    assert r.exit_code == 0 and rid in r.output


def test_edit_without_changes_and_failed_edits(arch, tmp_path):
    root, rid = arch
    r = run(root, "edit", rid, env={"EDITOR": editor(tmp_path, "t")})
    assert r.exit_code == 0 and "no changes" in r.output
    r = run(root, "edit", rid, env={"EDITOR": editor(tmp_path, "t.replace('[00:0', '00:0', 1)")})
    assert r.exit_code == 1
    err = [ln for ln in r.output.splitlines() if ln.startswith("archive: error:")]
    assert len(err) == 1 and "nothing was changed" in err[0] and "kept in" in err[0]
    Path(err[0].rsplit("kept in ", 1)[1].rstrip(")")).unlink()
    r = run(root, "edit", rid, env={"EDITOR": f"{sys.executable} -c 'raise SystemExit(3)'"})
    assert r.exit_code == 1 and "status 3" in r.output
    hist = json.loads(run(root, "history", rid, "--json").output)
    assert len(hist["revisions"]) == 1


def test_mark_verified_then_cite(arch):
    root, rid = arch
    r = run(root, "cite", f"{rid}@0.2-1.2")
    assert r.exit_code == 0 and "not verified by ear" in r.output
    r = run(root, "mark", rid, "0:00-0:01.5", "--verified", "--note", "heard it")
    assert r.exit_code == 0 and "against revision 1" in r.output, r.output
    r = run(root, "cite", f"{rid}@0.2-1.2")
    assert r.exit_code == 0 and "verified by ear by" in r.output
    assert "against revision 1" in r.output
    r = run(root, "cite", f"{rid}@0.2-1.2", "--format", "json")
    c = json.loads(r.output)
    assert c["verified"] and c["verified_revision"] == 1
    r = run(root, "mark", rid, "0:00-0:01.5")
    assert r.exit_code == 2
    r = run(root, "mark", f"{rid}@0.0-1.5", "--unverified")
    assert r.exit_code == 0 and "withdrew 1" in r.output
    r = run(root, "cite", f"{rid}@0.2-1.2")
    assert "not verified by ear" in r.output
    assert run(root, "mark", rid, "0:00-0:01.5", "--unverified").exit_code == 2


def test_vocab_commands(tmp_path):
    root = str(tmp_path / "v")
    assert run(root, "init").exit_code == 0
    r = run(root, "vocab", "add", "Khakassia, Navalny", "Yevgeny Prigozhin")
    assert r.exit_code == 0 and "added: Khakassia, Navalny, Yevgeny Prigozhin" in r.output
    r = run(root, "vocab", "add", "navalny")
    assert r.exit_code == 0 and "already in the vocabulary" in r.output
    r = run(root, "vocab", "remove", "Navalny")
    assert r.exit_code == 0 and "removed: Navalny" in r.output
    r = run(root, "vocab", "remove", "Shoigu")
    assert r.exit_code == 1 and "not in the vocabulary: Shoigu" in r.output
    r = run(root, "vocab", "list", "--json")
    assert json.loads(r.output) == ["Khakassia", "Yevgeny Prigozhin"]
    text = (Path(root) / "vocabulary.txt").read_text()
    assert text.startswith("#") and "Yevgeny Prigozhin\n" in text


@pytest.mark.slow
def test_translate_then_show_side_by_side(arch):
    root, rid = arch
    r = run(root, "show", rid, "--translation")
    assert r.exit_code == 1 and "no translation" in r.output
    r = run(root, "translate", rid, "-q")
    assert r.exit_code == 0 and "stored an English translation" in r.output, r.output
    r = run(root, "show", rid, "--translation")
    assert r.exit_code == 0
    en = [ln for ln in r.output.splitlines() if ln.strip().startswith("en:")]
    assert len(en) >= 3 and any("morning" in ln.lower() for ln in en)
    assert any(e["event"] == "translate" for e in json.loads(run(root, "log", rid, "--json")
                                                              .output))
