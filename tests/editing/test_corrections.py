"""Corrections: edits as revisions with re-timed words, history, verified passages, the names
vocabulary, and translations made later (archive.editing.corrections, archive.editing.revisions)."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from archive.editing import corrections as C
from archive.errors import EditError, UsageError
from archive.evidence.store import os_user
from tests.conftest import shared
from tests.helpers import edit_archives

GERMAN = {"der", "die", "das", "und", "zu", "mit", "von", "den", "ist", "sie", "nicht",
          "eine", "einer", "dem", "des", "wird", "werden", "oder"}
LICENCE_EN = {"software", "use", "copy", "modify", "publish", "distribute", "sell", "rights",
              "person", "permission", "documentation", "copies"}


@pytest.fixture()
def commander(tmp_path_factory, tmp_path):
    """A private copy of an archive holding the commander voice note."""
    return edit_archives.clone(edit_archives.commander(tmp_path_factory.mktemp), tmp_path / "a")


@pytest.fixture()
def multilingual(tmp_path_factory, tmp_path):
    """A private copy of an archive holding multilingual.mp3 and its English translation."""
    src = shared("multilingual.mp3")
    return edit_archives.clone(edit_archives.multilingual(tmp_path_factory.mktemp, src),
                               tmp_path / "m")


def _name_edit(a):
    """Edit text with the word after "bridge at" replaced by a name; returns
    (rid, text, segment index, word index, old word, new word)."""
    rec = a.recordings()[0]
    t = a.transcript(rec.id)
    for si, s in enumerate(t.segments):
        keys = [C._key(w.text) for w in s.words]
        if "bridge" in keys and keys.index("bridge") + 2 < len(keys):
            wi = keys.index("bridge") + 2
            break
    else:
        pytest.fail("the commander note was not transcribed with 'the bridge at ...': "
                    + t.text)
    old = s.words[wi].text
    new = "Chernihiv" if C._key(old) != "chernihiv" else "Chernigov"
    tokens = [w.text for w in s.words]
    tokens[wi] = new
    edited = t.with_segments(t.segments[:si] + (dataclasses.replace(
        s, words=(), text=" ".join(tokens)),) + t.segments[si + 1:])
    text, rev = a.edit_text(rec.id)
    assert rev == 1
    lines = text.splitlines()
    lines[lines.index(C._line(t, s))] = C._line(edited, edited.segments[si])
    return rec.id, "\n".join(lines) + "\n", si, wi, old, new


def test_edit_changes_one_name_and_keeps_every_other_timing(commander):
    a = commander
    rid, text, si, wi, old, new = _name_edit(a)
    r1_path = a.store.history_dir(rid) / "r0001.json"
    r1_hash = hashlib.sha256(r1_path.read_bytes()).hexdigest()
    res = a.edit(rid, text, base_revision=1)
    assert res.changed and res.revision == 2 and res.words_changed == 1
    assert res.timing == "aligned"
    t1, t2 = a.transcript(rid, revision=1), a.transcript(rid)
    assert t2.revision == 2 and t2.author == os_user() and t2.created
    assert old in t2.note and new in t2.note
    w1, w2 = t1.words, t2.words
    assert len(w1) == len(w2)
    k = sum(len(s.words) for s in t1.segments[:si]) + wi
    for i, (a1, a2) in enumerate(zip(w1, w2)):
        if i != k:
            assert (a1.start, a1.end, a1.text, a1.probability) == \
                   (a2.start, a2.end, a2.text, a2.probability)
    got = w2[k]
    assert got.text == new and got.probability == 1.0
    assert w2[k - 1].end <= got.start < got.end <= w2[k + 1].start
    assert got.end - got.start > 0.15  # a real span of speech, not a point
    assert abs(got.start - w1[k].start) < 0.3  # where the misheard word was heard
    # The machine transcript is kept, byte for byte.
    assert hashlib.sha256(r1_path.read_bytes()).hexdigest() == r1_hash
    assert t1.words[k].text == old and t1.author == "machine"
    assert a.store.revision(rid) == 2 and a.store.revisions(rid) == [1, 2]
    ev = a.log(rid)[-1]
    assert ev["event"] == "edit" and ev["details"]["revision"] == 2
    assert f"+{C._line(t2, t2.segments[si])}" in ev["details"]["diff"]
    assert f"-{C._line(t1, t1.segments[si])}" in ev["details"]["diff"]
    assert ev["details"]["sha256"] == hashlib.sha256(
        (a.store.history_dir(rid) / "r0002.json").read_bytes()).hexdigest()
    # The index follows the new revision.
    hits = a.search(new)
    assert [(h.recording_id, h.revision) for h in hits] == [(rid, 2)]
    assert abs(hits[0].start - got.start) < 0.01
    assert not [h for h in a.search(C._key(old)) if h.recording_id == rid]
    hist = a.history(rid)
    assert [(h.revision, h.author, h.words_changed, h.speakers_changed, h.current)
            for h in hist] == [(1, "machine", 0, 0, False), (2, os_user(), 1, 0, True)]
    assert a.verify().ok


def test_unchanged_text_writes_nothing(commander):
    a = commander
    rid = a.recordings()[0].id
    text, _ = a.edit_text(rid)
    events = len(a.log(rid))
    res = a.edit(rid, text + "\n# a comment of mine\n")
    assert not res.changed and res.revision == 1
    assert a.store.revisions(rid) == [1] and len(a.log(rid)) == events


def test_edit_text_reads_back_unchanged_at_rounding_edges(commander):
    t = commander.transcript(commander.recordings()[0].id)
    starts = [0.05, 2.25, 5.15, 8.35, 14.45, 17.95][:len(t.segments)]
    t = t.with_segments(tuple(dataclasses.replace(s, start=x)
                              for s, x in zip(t.segments, starts)) + t.segments[len(starts):])
    assert C.apply_edit(t, C.edit_text(t)) is None


@pytest.mark.parametrize("mangle, message", [
    (lambda ls: ls[:-1], "one line per segment"),
    (lambda ls: [ls[0].replace("[00:0", "[00:4", 1)] + ls[1:], "times cannot be edited"),
    (lambda ls: [ls[0][ls[0].index("]") + 1:]] + ls[1:], "does not start with a"),
    (lambda ls: ls[:-2] + [ls[-1], ls[-2]], "times cannot be edited"),
])
def test_unparseable_edits_raise_and_write_nothing(commander, mangle, message):
    a = commander
    rid = a.recordings()[0].id
    text, _ = a.edit_text(rid)
    body = [ln for ln in text.splitlines() if not ln.startswith("#")]
    with pytest.raises(EditError, match=message) as e:
        a.edit(rid, "\n".join(mangle(body)) + "\n")
    assert "\n" not in str(e.value)
    assert a.store.revisions(rid) == [1] and a.store.revision(rid) == 1
    assert not [ev for ev in a.log(rid) if ev["event"] == "edit"]


def test_edit_on_a_stale_revision_is_refused(commander):
    a = commander
    rid, text, *_ = _name_edit(a)
    a.edit(rid, text, base_revision=1, align=False)
    with pytest.raises(EditError, match="revision 2"):
        a.edit(rid, text, base_revision=1, align=False)


def test_speakers_and_dropped_segments(commander):
    a = commander
    rid = a.recordings()[0].id
    t = a.transcript(rid)
    assert all(s.speaker is None for s in t.segments)
    text, _ = a.edit_text(rid)
    body = [ln for ln in text.splitlines() if not ln.startswith("#")]
    body[0] = body[0].replace("] ", "] Commander: ", 1)
    body[1] = body[1].replace("] ", "] S2: ", 1)
    body[-1] = body[-1][:body[-1].index("]") + 1]  # emptied: the segment goes
    res = a.edit(rid, "\n".join(body) + "\n", align=False)
    assert (res.speakers_changed, res.segments_removed) == (2, 1)
    t2 = a.transcript(rid)
    assert len(t2.segments) == len(t.segments) - 1
    s0, s1 = t2.segments[0], t2.segments[1]
    assert t2.speaker_name(s0.speaker) == "Commander" and s1.speaker == "S2"
    assert {w.speaker for w in s0.words} == {s0.speaker}
    assert [w.start for w in s0.words] == [w.start for w in t.segments[0].words]
    labels = {sp.label: sp for sp in t2.speakers}
    assert labels[s0.speaker].talk_time > 0 and "S2" in labels
    rows = a.store.connect().execute("SELECT label, name FROM speakers WHERE recording_id=?",
                                     (rid,)).fetchall()
    assert (s0.speaker, "Commander") in rows
    # The name is shown, and accepted back, in the next edit.
    text2, rev = a.edit_text(rid)
    assert rev == 2 and "] Commander: " in text2
    assert not a.edit(rid, text2).changed
    assert [(h.words_changed, h.speakers_changed) for h in a.history(rid)] == \
        [(0, 0), (len(t.segments[-1].words), 2)]


def test_verified_passage_is_cited_as_such_and_survives_an_edit(commander):
    a = commander
    rid, text, si, wi, old, new = _name_edit(a)
    seg = a.transcript(rid).segments[si]
    ref = f"{rid[:10]}@{seg.start + 0.1:.1f}-{seg.end - 0.1:.1f}"
    assert not a.cite(ref).verified
    with pytest.raises(UsageError):
        a.mark(rid, 500.0, 501.0)
    (m,) = a.mark(rid, seg.start, seg.end, note="heard twice")
    assert (m.revision, m.by, m.note) == (1, os_user(), "heard twice")
    c = a.cite(ref)
    assert c.verified and c.verified_revision == 1 and c.revision == 1
    ev = a.log(rid)[-1]
    assert ev["event"] == "verify-passage" and old in ev["details"]["words"]
    res = a.edit(rid, text)
    assert [x.id for x in res.stale_marks] == [m.id]
    c = a.cite(ref)
    assert c.revision == 2 and c.verified and c.verified_revision == 1 and new in c.words
    from archive.cli.render import citation_text
    out = citation_text(c)
    assert "transcript revision 2" in out and "against revision 1" in out
    withdrawn = a.mark(rid, seg.start + 0.5, seg.start + 1.0, verified=False)
    assert [x.id for x in withdrawn] == [m.id]
    assert not a.cite(ref).verified
    assert a.log(rid)[-1]["event"] == "unverify-passage"
    assert [(x.start, x.end) for x in a.marks(rid)] == [
        (pytest.approx(seg.start), pytest.approx(seg.start + 0.5)),
        (pytest.approx(seg.start + 1.0), pytest.approx(seg.end))]
    with pytest.raises(UsageError):
        a.mark(rid, seg.start + 0.5, seg.start + 1.0, verified=False)


def test_vocabulary_file_round_trip(fresh_archive):
    a = fresh_archive
    assert a.vocabulary() == []
    added, _ = a.change_vocabulary(add=["Khakassia", "Navalny", "Yevgeny  Prigozhin"])
    assert added == ["Khakassia", "Navalny", "Yevgeny Prigozhin"]
    added, _ = a.change_vocabulary(add=["navalny", "Chernihiv"])
    assert added == ["Chernihiv"]
    _, removed = a.change_vocabulary(remove=["NAVALNY", "Zaporizhzhia"])
    assert removed == ["Navalny"]
    assert a.vocabulary() == ["Khakassia", "Yevgeny Prigozhin", "Chernihiv"]
    with pytest.raises(UsageError):
        a.change_vocabulary(add=["a, b"])
    # `archive add` reads the same file for its hotwords.
    from archive.cli import Ctx
    from archive.cli.core import _vocabulary
    assert _vocabulary(Ctx(str(a.root)), "Bakhmut") == \
        "Bakhmut, Khakassia, Yevgeny Prigozhin, Chernihiv"


@pytest.mark.slow
def test_translation_made_later(multilingual):
    a = multilingual
    rid = a.recordings()[0].id
    t, tr = a.transcript(rid), a.translation(rid)
    assert tr is not None and tr.task == "translate" and tr.language == "en"
    assert tr.recording.id == rid and tr.options.get("source_language") == t.language
    # English first, then German: the German half must come out in English.
    late = [C._key(w.text) for w in tr.words if w.start >= 30.0]
    assert len(late) >= 15, tr.text
    assert len(LICENCE_EN & set(late)) >= 3, tr.text
    assert not GERMAN & set(late), tr.text
    assert all(0 <= w.start <= w.end <= t.recording.duration + 0.1 for w in tr.words)
    ev = [e for e in a.log(rid) if e["event"] == "translate"]
    assert ev and ev[-1]["details"]["sha256"] == hashlib.sha256(
        a.store.translation_path(rid).read_bytes()).hexdigest()
    # The citation of a German passage carries its English translation.
    w = next(x for x in tr.words if x.start >= 35.0)
    c = a.cite(f"{rid[:10]}@{w.start:.1f}-{w.start + 6:.1f}")
    assert c.translation and set(C._key(x) for x in c.translation.split()) & LICENCE_EN
    # Search finds the translation as English.
    word = next(x for x in late if x in LICENCE_EN)
    hits = a.search(f"{word} lang:en", translation=True)
    assert hits and all(h.translation and h.language == "en" for h in hits)
    assert any(h.start >= 29.0 for h in hits)
    # An edit of the transcript keeps the translation in the index.
    text, _ = a.edit_text(rid)
    a.edit(rid, text.replace("software", "Software", 1), align=False)
    assert a.search(f"{word} lang:en", translation=True)
    assert a.translation(rid) == tr
