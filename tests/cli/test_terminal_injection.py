"""Terminal output cannot be turned against the reader (issue 11): user names, speaker
labels, segment flags and notes from a hand-edited transcript or the OS reach the terminal
as plain text, never as rich markup, escape sequences, C1 or bidi controls.

=====================================  ======================================================
input                                  outcome
=====================================  ======================================================
LOGNAME='[/]'                          ``archive log`` shows "[/]" literally (rich markup
                                       used to crash it)
LOGNAME='[link=http://x]u'             no OSC 8 hyperlink, the text shown as is
speaker label / flag with ESC, OSC,    ``show``, ``speakers``, ``search``, ``export`` (tty)
CSI, bidi in a transcript              print them cleaned
a mark's note with C1 and bidi         ``history --json`` escapes them (\\u009b, \\u202e)
a pasted phrase with ESC, OSC, C1      the quote-search hint after "no hits" shows it cleaned
=====================================  ======================================================
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.evidence import first_id
from tests.helpers.guard import RAW_BAD, run


@pytest.mark.parametrize("user", ["[/]", "[link=http://evil.example]u[/link]", "[bold]x",
                                  "\x1b]8;;http://x\x07u"])
def test_os_user_name_is_not_markup(arch, user):
    assert run(arch, "reindex", env={"LOGNAME": user, "USER": user}).exit_code == 0
    r = run(arch, "log")
    assert r.exit_code == 0, r.output
    assert "\x1b]8" not in r.output and not any(c in r.output for c in RAW_BAD)
    if user.startswith("["):
        assert user[:4] in r.output.replace("\n", "").replace("│", "")


EVIL = "\x1b[2J\x1b]8;;http://x\x07S\u202e1\x9b31m"


def _hostile_labels(arch: Path) -> None:
    """Give segment 0 a hostile speaker label and flag in both transcript copies."""
    rid = first_id(arch)
    for p in (arch / "transcripts" / f"{rid}.json", arch / "history" / rid / "r0001.json"):
        d = json.loads(p.read_text())
        d["segments"][0]["speaker"] = EVIL
        d["segments"][0]["flags"] = [EVIL]
        d["speakers"] = [{"label": EVIL, "name": None, "talk_time": 1.0, "turns": 1,
                          "voiceprint": []}]
        p.write_text(json.dumps(d, ensure_ascii=False))


@pytest.mark.parametrize("args", [["show", "{rid}"], ["speakers", "{rid}"],
                                  ["export", "{rid}"], ["search", "country"],
                                  ["speakers", "{rid}", "--json"], ["cite", "{rid}@0-3"]])
def test_labels_and_flags_from_a_transcript_are_cleaned(arch, args):
    _hostile_labels(arch)
    assert run(arch, "reindex").exit_code == 0
    rid = first_id(arch)[:8]
    r = run(arch, *[a.format(rid=rid) for a in args])
    assert r.exit_code == 0, r.output
    assert not any(c in r.output for c in RAW_BAD), repr(r.output)


def test_history_json_escapes_c1_and_bidi(arch):
    note = "checked\x9b31m \u202eevil\u202c"
    r = run(arch, "mark", first_id(arch)[:8], "1-3", "--verified", "--note", note)
    assert r.exit_code == 0, r.output
    r = run(arch, "history", first_id(arch)[:8], "--json")
    assert r.exit_code == 0 and not any(c in r.output for c in RAW_BAD), repr(r.output)
    assert "\\u009b" in r.output and "\\u202e" in r.output
    assert json.loads(r.output)["verified"][0]["note"] == note  # the value is kept


def test_quote_hint_of_a_pasted_phrase_is_cleaned(arch):
    r = run(arch, "search", f'"ask not what your {EVIL}county"')
    assert r.exit_code == 0, r.output
    assert "--quote" in r.stderr and "county" in r.stderr
    assert "\x1b" not in r.stderr and not any(c in r.stderr for c in RAW_BAD)
