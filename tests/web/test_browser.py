"""The viewer in a real headless Chromium against a real archive with real speech.

Shows each point of issue 14's list: playing from a media fragment with the spoken word
highlighted, seeking by click and Enter, the keyboard, a search from the page landing on the
CLI's hit, a citation from a selection equal to the CLI's, an edit that `archive history`
shows, a conflicting edit refused, no request leaving the origin, the session and write
checks, and hostile titles shown as text. Screenshots go to bench/out/.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import quote_plus

import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.library import Archive

from .conftest import HOSTILE, SHOTS

pytestmark = pytest.mark.slow


def _cli(root, *args: str) -> str:
    r = CliRunner().invoke(main, ["--archive", str(root), *args])
    assert r.exit_code == 0, r.output
    return r.output


def _open(driver, srv, path: str) -> None:
    seen = driver.__dict__.setdefault("_archive_logged_in", set())
    if srv.port not in seen:
        driver.get(srv.url)  # the secret, once: swapped for the cookie
        seen.add(srv.port)
    driver.get(srv.origin + path)


def _wait(driver, script: str, timeout: float = 15.0):
    end = time.monotonic() + timeout
    while True:
        v = driver.execute_script(script)
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for: {script}")
        time.sleep(0.05)


def _words(root, rid: str):
    return Archive(root).transcript(rid).words


def _spoken_at(words, t: float):
    """The word spoken at ``t``: the one whose span holds it, else (in a pause, or before the
    first word) the word nearest in time."""
    return min(words, key=lambda w: 0.0 if w.start <= t <= w.end
               else min(abs(t - w.start), abs(t - w.end)))


def _only_own_origin(driver, origin: str) -> None:
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert names and all(n.startswith(origin + "/") for n in names), names


READY = "return window.archivePlayer && archivePlayer.count() > 0 && archivePlayer.complete()"


def test_fragment_plays_from_its_offset_and_the_spoken_word_is_highlighted(browser, live):
    srv, ids = live
    _open(browser, srv, f"/r/{ids['jfk']}#t=3.2")
    _wait(browser, READY)
    t0 = browser.execute_script("return archivePlayer.audio.currentTime")
    assert 3.15 <= t0 <= 4.2, t0
    _wait(browser, "return !archivePlayer.audio.paused && archivePlayer.audio.currentTime > 3.4")
    t, text, i = browser.execute_script(
        "const a = archivePlayer.audio; a.pause(); archivePlayer.update();"
        "const w = document.querySelector('.w.cur');"
        "return [a.currentTime, w.textContent, +w.dataset.i]")
    words = _words(srv.root, ids["jfk"])
    assert t > 3.2
    assert text == _spoken_at(words, t).text and i == words.index(_spoken_at(words, t))
    assert browser.find_elements("css selector", ".w.cur") and \
        len(browser.find_elements("css selector", ".w.cur")) == 1
    # the word at 3.2 s itself, straight after opening
    _open(browser, srv, f"/r/{ids['jfk']}#t=3.2")
    _wait(browser, READY)
    t, text = browser.execute_script(
        "const a = archivePlayer.audio; a.pause(); a.currentTime = 3.2; archivePlayer.update();"
        "return [a.currentTime, document.querySelector('.w.cur').textContent]")
    w = _spoken_at(words, 3.2)
    assert text == w.text and abs(w.start - 3.2) < 0.3
    _only_own_origin(browser, srv.origin)


def test_click_enter_and_keyboard_seek(browser, live):
    srv, ids = live
    words = _words(srv.root, ids["jfk"])
    _open(browser, srv, f"/r/{ids['jfk']}")
    _wait(browser, READY)
    _wait(browser, "return archivePlayer.audio.readyState >= 1")
    spans = browser.find_elements("css selector", ".w")
    assert [s.text for s in spans] == [w.text for w in words]
    for k in (9, 3, len(words) - 2):
        spans[k].click()
        _wait(browser, "return archivePlayer.audio.seeking === false")
        t = browser.execute_script("return archivePlayer.audio.currentTime")
        assert abs(t - words[k].start) <= 0.05, (k, t, words[k].start)
    from selenium.webdriver.common.keys import Keys
    spans[5].send_keys(Keys.ENTER)
    t = browser.execute_script("const a = archivePlayer.audio; a.pause(); return a.currentTime")
    assert abs(t - words[5].start) <= 0.1
    body = browser.find_element("css selector", "body")
    before = browser.execute_script("return archivePlayer.audio.currentTime")
    body.send_keys(Keys.ARROW_RIGHT)
    assert abs(browser.execute_script("return archivePlayer.audio.currentTime") - before - 1) < 0.05
    body.send_keys(Keys.SHIFT, Keys.ARROW_LEFT)
    t = browser.execute_script("return archivePlayer.audio.currentTime")
    assert abs(t - max(0.0, before + 1 - 5)) < 0.05
    body.send_keys("6")
    assert browser.execute_script("return archivePlayer.audio.playbackRate") == 2
    body.send_keys("3")
    assert browser.execute_script("return archivePlayer.audio.playbackRate") == 1
    body.send_keys(" ")
    _wait(browser, "return !archivePlayer.audio.paused")
    body.send_keys(" ")
    _wait(browser, "return archivePlayer.audio.paused")
    body.send_keys("?")
    assert browser.execute_script("return document.querySelector('dialog.shortcuts').open")
    assert "Shift" in browser.find_element("css selector", "dialog.shortcuts").text


def test_search_from_the_page_lands_on_the_cli_hit(browser, live):
    srv, ids = live
    _open(browser, srv, "/search")
    box = browser.find_element("css selector", "#query")
    box.send_keys('"what your country can do"')
    box.submit()
    _wait(browser, "return document.querySelector('li.hit')")
    assert "/search?q=%22what+your+country" in browser.current_url
    cli = json.loads(_cli(srv.root, "search", "--json", '"what your country can do"'))
    refs = [e.get_attribute("data-ref") for e in browser.find_elements("css selector", "li.hit")]
    assert refs == [f"{h['recording_id']}@{h['start']:.3f}-{h['end']:.3f}" for h in cli]
    assert browser.find_element("css selector", "li.hit mark").text == cli[0]["text"]
    _only_own_origin(browser, srv.origin)
    # a quote as another outlet printed it: the differing words are shown
    _open(browser, srv, "/search")
    browser.find_element("css selector", "#quote-mode").click()
    box = browser.find_element("css selector", "#query")
    box.send_keys("ask not what your nation can do for you")
    box.submit()
    _wait(browser, "return document.querySelector('li.hit')")
    assert "quote=" in browser.current_url
    cli = json.loads(_cli(srv.root, "search", "--json", "--quote",
                          "ask not what your nation can do for you"))
    diffs = browser.find_element("css selector", "li.hit .diffs").text
    for q, w in cli[0]["differences"]:
        assert (q or "∅") in diffs and (w or "∅") in diffs
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "search.png"))
    # a misheard phrase finds nothing; the page offers it as a quote, which finds it
    _open(browser, srv, "/search?q=" + quote_plus('"ask not what your county can do"'))
    _wait(browser, "return document.querySelector('a.retry-quote')")
    browser.find_element("css selector", "a.retry-quote").click()
    _wait(browser, "return document.querySelector('li.hit')")
    assert "quote=ask+not+what+your+county+can+do" in browser.current_url
    assert "country" in browser.find_element("css selector", "li.hit mark").text.lower()


SELECT = """
const w = document.querySelectorAll('.w'), r = document.createRange();
r.setStart(w[arguments[0]].firstChild, 0);
r.setEnd(w[arguments[1]].firstChild, w[arguments[1]].textContent.length);
const s = getSelection(); s.removeAllRanges(); s.addRange(r);
document.getElementById('transcript').dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
"""


def test_citing_a_selection_gives_the_cli_citation(browser, live):
    srv, ids = live
    words = _words(srv.root, ids["call"])
    _open(browser, srv, f"/r/{ids['call']}")
    _wait(browser, READY)
    i, j = 3, 9
    browser.execute_script(SELECT, i, j)
    assert not browser.find_element("css selector", ".selbar").get_attribute("hidden")
    browser.find_element("xpath", "//div[@class='selbar']/button[text()='Cite']").click()
    _wait(browser, "return document.querySelector('#citation') && "
                   "document.querySelector('#citation').textContent")
    ref = f"{ids['call']}@{words[i].start:.3f}-{words[j].end:.3f}"
    for fmt in ("text", "markdown", "json"):
        browser.find_element("css selector", f".tabs button[data-k='{fmt}']").click()
        shown = browser.execute_script("return document.querySelector('#citation').textContent")
        assert shown == _cli(srv.root, "cite", ref, "--format", fmt), fmt
    back = browser.find_element("css selector", ".backlink").get_attribute("href")
    assert back == f"{srv.origin}/r/{ids['call']}#t={words[i].start:.2f},{words[j].end:.2f}"
    # mid-playback screenshot of a two-speaker call
    browser.find_element("css selector", ".citepanel .close").click()
    browser.execute_script("getSelection().removeAllRanges();"
                           "document.querySelector('.selbar').hidden = true;"
                           "location.hash = '#t=9.6'")
    _wait(browser, "return !archivePlayer.audio.paused && archivePlayer.audio.currentTime > 10.4")
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "recording.png"))
    browser.execute_script("archivePlayer.audio.pause()")


def test_edit_clip_mark_and_rename_in_the_page(browser, live_mutable):
    srv, ids, root = live_mutable
    rid = ids["jfk"]
    _open(browser, srv, f"/r/{rid}")
    _wait(browser, READY)
    browser.find_element("css selector", ".seg[data-seg='0'] button.edit").click()
    ta = browser.find_element("css selector", ".seg[data-seg='0'] textarea")
    typed = ta.get_attribute("value").replace("fellow", "fellow,", 1)
    assert typed != ta.get_attribute("value")
    ta.clear()
    ta.send_keys(typed)
    browser.find_element("css selector", ".seg[data-seg='0'] button.save").click()
    _wait(browser, "return document.querySelector('.rev') && "
                   "document.querySelector('.rev').textContent === '2'")
    hist = json.loads(_cli(root, "history", rid[:10], "--json"))
    assert [r["revision"] for r in hist["revisions"]] == [1, 2]
    assert "fellow," in browser.find_element("css selector", ".seg[data-seg='0']").text
    # another revision lands meanwhile (the CLI renames a speaker); the page's edit is refused
    _cli(root, "speakers", "rename", rid[:10], "S1", "John F. Kennedy")
    browser.find_element("css selector", ".seg[data-seg='0'] button.edit").click()
    ta = browser.find_element("css selector", ".seg[data-seg='0'] textarea")
    ta.send_keys(" again")
    browser.find_element("css selector", ".seg[data-seg='0'] button.save").click()
    msg = _wait(browser, "const m = document.querySelector('.editmsg.error');"
                         "return m && m.textContent")
    assert "changed meanwhile" in msg and "kept" in msg
    assert browser.find_element("css selector", ".seg[data-seg='0'] textarea") \
        .get_attribute("value").endswith(" again")
    assert len(json.loads(_cli(root, "history", rid[:10], "--json"))["revisions"]) == 3
    browser.find_element("xpath", "//div[@class='editbox']//button[text()='Cancel']").click()
    # reload: the rename shows; mark a passage verified; make a clip
    _open(browser, srv, f"/r/{rid}")
    _wait(browser, READY)
    assert "John F. Kennedy" in browser.find_element("css selector", ".speakerlist").text
    browser.execute_script(SELECT, 2, 6)
    browser.find_element("xpath", "//div[@class='selbar']/button[text()='Mark verified']").click()
    _wait(browser, "return document.querySelectorAll('.w.ver').length === 5")
    assert json.loads(_cli(root, "history", rid[:10], "--json"))["verified"]
    browser.execute_script(SELECT, 2, 6)
    browser.find_element("xpath", "//div[@class='selbar']/button[text()='Make clip']").click()
    href = _wait(browser, "const a = document.querySelector('a.dlclip'); return a && a.href")
    assert href.startswith(srv.origin + "/clips/")
    clips = [p for p in (root / "clips").iterdir() if not p.name.endswith(".json")]
    assert len(clips) == 1 and clips[0].with_name(clips[0].name + ".json").exists()
    # rename from the page; the name shows everywhere
    browser.find_element("css selector", ".chip button.rename").click()
    inp = browser.find_element("css selector", ".renameform input")
    inp.clear()
    inp.send_keys("JFK <b>")
    inp.submit()
    _wait(browser, "return document.querySelector('.speakerlist') && "
                   "document.querySelector('.speakerlist').textContent.includes('JFK <b>')")
    assert "JFK <b>" in _cli(root, "speakers", rid[:10])


def test_session_host_and_cross_site_writes_in_the_browser(browser, live, live_mutable):
    srv, ids = live
    other, _, _ = live_mutable
    # a title holding markup shows as text, and no script of it ran
    _open(browser, srv, "/recordings")
    _wait(browser, "return document.querySelector('a.rec-title')")
    titles = [e.text for e in browser.find_elements("css selector", "a.rec-title")]
    assert HOSTILE in titles
    assert not browser.find_elements("css selector", "main img, main script")
    _open(browser, srv, f"/r/{ids['amr']}#t=2")
    _wait(browser, READY)
    assert browser.find_element("css selector", "h1.rectitle").text == HOSTILE
    assert browser.title.startswith(HOSTILE)
    # the AMR original plays, through its lossless copy, from the fragment
    _wait(browser, "return !archivePlayer.audio.paused && archivePlayer.audio.currentTime > 2.3")
    browser.execute_script("archivePlayer.audio.pause()")
    # a page of another local server (same site, another origin) tries to write
    _open(browser, other, "/recordings")
    before = _marks(srv, ids["jfk"])
    out = browser.execute_async_script("""
        const done = arguments[arguments.length - 1], url = arguments[0];
        const body = JSON.stringify({id: arguments[1], start: 1, end: 2, verified: true});
        const res = [];
        fetch(url, {method: 'POST', mode: 'no-cors', credentials: 'include', body: body,
                    headers: {'Content-Type': 'text/plain'}})
          .then(r => res.push('no-cors:' + r.type), e => res.push('no-cors:error'))
          .then(() => fetch(url, {method: 'POST', credentials: 'include', body: body,
                                  headers: {'Content-Type': 'application/json',
                                            'X-Archive-Request': '1'}}))
          .then(r => res.push('cors:' + r.status), e => res.push('cors:blocked'))
          .then(() => done(res));
    """, srv.origin + "/api/mark", ids["jfk"])
    assert out[1] == "cors:blocked", out
    assert _marks(srv, ids["jfk"]) == before == []
    # without the cookie: 401; a forged Host: 400
    browser.delete_all_cookies()
    browser.get(srv.origin + "/recordings")
    status = browser.execute_script(
        "return performance.getEntriesByType('navigation')[0].responseStatus")
    assert status == 401 and "archive serve" in browser.find_element("css selector", "body").text
    browser.__dict__["_archive_logged_in"] = set()
    req = urllib.request.Request(srv.origin + "/recordings.json",
                                 headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400


def _marks(srv, rid: str) -> list:
    req = urllib.request.Request(f"{srv.origin}/r/{rid}.json", headers={
        "Cookie": f"archive_session_{srv.port}={srv.app.state.token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["marks"]
