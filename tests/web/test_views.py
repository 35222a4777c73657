"""The JSON twins give what the CLI gives: the same hits, the same citations, the same
revisions; edits, marks, renames and clips go through the library's paths; a conflicting
edit is refused; a browser-unplayable original is served as a lossless copy."""

from __future__ import annotations

import hashlib
import json

from click.testing import CliRunner

from archive.cli import main
from archive.web import security

from .conftest import HOSTILE


def _cli(root, *args: str) -> str:
    r = CliRunner().invoke(main, ["--archive", str(root), *args])
    assert r.exit_code == 0, r.output
    return r.output


def test_search_twin_has_the_cli_hits(web_archive, make_client):
    root, ids = web_archive
    c = make_client(root)
    for q in ('"ask not what your country"', "country AND NOT title:phone", "americ*",
              "contry~", f"recording:{ids['call'][:6]} speaker:S2", "tag:speech ask",
              "recorded:2022-05..2022-06 father"):
        cli = json.loads(_cli(root, "search", "--json", q))
        web = c.get("/search.json", params={"q": q}).json()["hits"]
        assert cli, q
        assert [{k: h[k] for k in cli[0]} for h in web] == cli, q
        assert all(h["link"] == f"/r/{h['recording_id']}#t={h['start']:.2f},{h['end']:.2f}"
                   for h in web)
    r = c.get("/search.json", params={"q": 'unclosed "phrase'})
    assert r.status_code == 400 and r.json()["error"]


def test_quote_twin_has_the_alignment_and_differing_words(web_archive, make_client):
    root, _ = web_archive
    c = make_client(root)
    quote = "ask not what your country can do for you, ask what you can do for our nation"
    cli = json.loads(_cli(root, "search", "--json", "--quote", quote))
    web = c.get("/search.json", params={"quote": quote}).json()["hits"]
    assert [{k: h[k] for k in cli[0]} for h in web] == cli
    assert web[0]["similarity"] < 1 and any("nation" in q for q, _ in web[0]["differences"])


def test_a_phrase_without_hits_offers_its_words_as_a_quote(web_archive, make_client):
    root, _ = web_archive
    c = make_client(root)
    d = c.get("/search.json", params={"q": '"ask not what your county can do"'}).json()
    assert d["hits"] == [] and d["retry_quote"] == "ask not what your county can do"
    again = c.get("/search.json", params={"quote": d["retry_quote"]}).json()
    assert again["hits"][0]["text"].lower().startswith("ask not what your country")
    for q in ('"ask not what your country"', "zebra", "zebra OR giraffe"):  # hits, or no phrase
        assert c.get("/search.json", params={"q": q}).json()["retry_quote"] is None, q


def test_cite_twin_is_the_cli_citation(web_archive, make_client):
    root, ids = web_archive
    c = make_client(root)
    segments = c.get(f"/r/{ids['jfk']}.json").json()["transcript"]["segments"]
    words = [w for s in segments for w in s["words"]]  # a quote may cross a segment's end
    ref = f"{ids['jfk']}@{words[2][0]:.3f}-{words[6][1]:.3f}"
    d = c.get("/api/cite", params={"ref": ref}).json()
    for fmt in ("text", "markdown", "json"):
        assert d[fmt] == _cli(root, "cite", ref, "--format", fmt), fmt
    assert d["citation"]["words"].split()[0] == words[2][2]
    assert d["link"] == f"/r/{ids['jfk']}#t={words[2][0]:.2f},{words[6][1]:.2f}"


def test_recording_twin_shows_speakers_words_and_marks(web_archive, make_client):
    root, ids = web_archive
    c = make_client(root)
    d = c.get(f"/r/{ids['call']}.json").json()
    t = json.loads((root / "transcripts" / f"{ids['call']}.json").read_text())
    assert d["transcript"]["revision"] == t["revision"]
    assert [s["label"] for s in d["transcript"]["speakers"]] == ["S1", "S2"]
    assert {s["speaker"] for s in d["transcript"]["segments"]} == {"S1", "S2"}
    flat = [w for s in d["transcript"]["segments"] for w in s["words"]]
    assert [w[2] for w in flat] == [w["word"] for s in t["segments"] for w in s["words"]]
    assert d["recording"]["id"] == ids["call"] and d["audio"]["derived"] is False
    assert any(e["event"] == "add" for e in d["custody"])
    # the same data is given for Accept: application/json
    assert c.get(f"/r/{ids['call']}", headers={"accept": "application/json"}).json() == d
    assert c.get(f"/r/{ids['call']}").headers["content-type"].startswith("text/html")
    lst = c.get("/recordings.json").json()["recordings"]
    assert [r["title"] for r in lst] == ["JFK inaugural", "Two voices", HOSTILE]
    assert lst[1]["recorded"].startswith("2022-05-02") and not lst[1]["recorded_inferred"]


def test_html_never_carries_data(web_archive, make_client):
    root, ids = web_archive
    c = make_client(root)
    for path in ("/recordings", f"/r/{ids['amr']}", "/search?q=%3Cscript%3E"):
        html = c.get(path).text
        assert "<script>alert" not in html and "onerror" not in html
        assert "<script src=\"/static/" in html and "<script>" not in html


def test_edit_makes_a_revision_that_history_shows_and_conflicts_are_refused(
        mutable_archive, make_client):
    root, ids = mutable_archive
    c = make_client(root)
    rid = ids["jfk"]
    d = c.get(f"/r/{rid}.json").json()
    seg = d["transcript"]["segments"][0]
    text = " ".join(w[2] for w in seg["words"]).replace("fellow", "fellow,", 1)
    h = {security.WRITE_HEADER: "1"}
    r = c.post("/api/edit", json={"id": rid, "base_revision": 1, "segment": 0, "text": text},
               headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["changed"] and r.json()["revision"] == 2
    hist = json.loads(_cli(root, "history", rid[:10], "--json"))
    assert [x["revision"] for x in hist["revisions"]] == [1, 2]
    assert hist["revisions"][1]["note"].startswith("edited in the browser")
    assert "fellow," in _cli(root, "show", rid[:10])
    events = [e["event"] for e in json.loads(_cli(root, "log", rid[:10], "--json"))]
    assert events[-1] == "edit"
    # the page still at revision 1 sends another edit: refused, nothing written
    r = c.post("/api/edit", json={"id": rid, "base_revision": 1, "segment": 0,
                                  "text": "something else entirely"}, headers=h)
    assert r.status_code == 409 and r.json()["conflict"]
    assert "revision 2" in r.json()["error"] and "kept" in r.json()["error"]
    assert len(json.loads(_cli(root, "history", rid[:10], "--json"))["revisions"]) == 2


def test_mark_rename_and_clip_go_through_the_library(mutable_archive, make_client):
    root, ids = mutable_archive
    c = make_client(root)
    rid = ids["call"]
    h = {security.WRITE_HEADER: "1"}
    r = c.post("/api/mark", json={"id": rid, "start": 0.5, "end": 3.0, "verified": True},
               headers=h)
    assert r.status_code == 200
    assert json.loads(_cli(root, "history", rid[:10], "--json"))["verified"][0]["start"] == 0.5
    name = "Ольга <b>Петренко</b>"
    r = c.post("/api/speaker", json={"id": rid, "speaker": "S2", "name": name}, headers=h)
    assert r.status_code == 200 and r.json()["revision"] == 2
    assert name in _cli(root, "speakers", rid[:10])
    s2 = next(s for s in c.get(f"/r/{rid}.json").json()["transcript"]["speakers"]
              if s["label"] == "S2")
    assert s2["name"] == name
    q = c.get("/search.json", params={"q": f'speaker:"{name.split()[0]}"'}).json()["hits"]
    assert q and all(x["speaker"] == name for x in q)
    r = c.post("/api/speaker", json={"id": rid, "speaker": "S9", "name": "x"}, headers=h)
    assert r.status_code == 404
    r = c.post("/api/clip", json={"ref": f"{rid}@0.5-3.0", "padding": 0.5, "format": "ogg"},
               headers=h)
    assert r.status_code == 200, r.text
    d = r.json()
    clip = c.get(d["download"]["clip"])
    assert clip.status_code == 200
    assert hashlib.sha256(clip.content).hexdigest() == d["citation"]["clip_sha256"]
    assert "attachment" in clip.headers["content-disposition"]
    manifest = c.get(d["download"]["manifest"]).json()
    assert json.dumps(manifest).count(rid) >= 1
    assert d["citation"]["verified"] and d["citation"]["clip_sha256"] in d["text"]
    assert d["text"].startswith(_cli(root, "cite", f"{rid}@0.5-3.0").rstrip("\n"))


def test_amr_is_served_as_a_lossless_copy_and_the_original_is_untouched(web_archive,
                                                                        make_client):
    root, ids = web_archive
    c = make_client(root)
    original = next((root / "originals").rglob(f"{ids['amr']}.*"))
    before = original.read_bytes()
    d = c.get(f"/r/{ids['amr']}.json").json()
    assert d["audio"]["derived"] and d["audio"]["type"] == "audio/flac"
    r = c.get(f"/r/{ids['amr']}/audio", headers={"range": "bytes=0-3"})
    assert r.status_code == 206 and r.content == b"fLaC"
    assert original.read_bytes() == before
    assert hashlib.sha256(before).hexdigest() == ids["amr"]
    assert not [p for p in root.rglob("*.flac") if ids["amr"] in p.name]


def test_verify_status_per_recording_and_a_changed_original(mutable_archive, make_client):
    root, ids = mutable_archive
    c = make_client(root)
    h = {security.WRITE_HEADER: "1"}
    assert c.get("/recordings.json").json()["verify"] is None  # not checked yet
    r = c.post("/api/verify", json={}, headers=h).json()
    assert r["ok"] and r["checked"] == 3 and all(v["ok"] for v in r["recordings"].values())
    # someone alters an original behind the archive's back: the list says which one
    original = next((root / "originals").rglob(f"{ids['call']}.*"))
    original.chmod(0o644)
    data = bytearray(original.read_bytes())
    data[-100] ^= 0xFF
    original.write_bytes(bytes(data))
    r = c.post("/api/verify", json={}, headers=h).json()
    assert not r["ok"]
    assert not r["recordings"][ids["call"]]["ok"] and r["recordings"][ids["jfk"]]["ok"]
    assert "CHANGED" in " ".join(r["recordings"][ids["call"]]["problems"])
    listed = c.get("/recordings.json").json()
    assert listed["verify"]["recordings"][ids["call"]]["ok"] is False
