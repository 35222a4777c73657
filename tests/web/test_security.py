"""The server holds evidence: secret and cookie on every route, Host allowlist, write checks,
headers, loopback bind, the token kept out of logs, and a start-up that loads no model."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.web import security
from archive.web.app import create_app

from .conftest import login

EXACT_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; media-src 'self'; "
             "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
             "base-uri 'none'; form-action 'self'")


def _routes(ids: dict[str, str]) -> list[str]:
    j = ids["jfk"]
    return ["/", "/recordings", "/recordings.json", "/search?q=country", "/search.json?q=ask",
            f"/r/{j}", f"/r/{j}.json", f"/r/{j}/audio", f"/api/cite?ref={j}@3.0-5.0",
            "/static/recording.js", "/static/app.css", "/clips/" + "0" * 64]


@pytest.fixture()
def app(web_archive):
    root, _ = web_archive
    a = create_app(root, security.new_token(), 8765)
    yield a
    a.state.worker.shutdown(wait=True)


def _anon(app, host: str = "127.0.0.1:8765"):
    from starlette.testclient import TestClient
    return TestClient(app, base_url=f"http://{host}")


def test_every_route_needs_the_cookie(app, web_archive):
    _, ids = web_archive
    anon = _anon(app)
    for path in _routes(ids):
        r = anon.get(path, follow_redirects=False)
        assert r.status_code == 401, (path, r.status_code)
        assert "archive serve" in r.text
    for path in ("/api/mark", "/api/edit", "/api/clip", "/api/speaker", "/api/verify"):
        r = anon.post(path, json={}, headers={security.WRITE_HEADER: "1"})
        assert r.status_code == 401, path
    # a wrong cookie or a wrong token is refused too
    anon.cookies.set(security.cookie_name(8765), "not-the-secret")
    assert anon.get("/recordings.json").status_code == 403
    assert _anon(app).get("/recordings?token=guess", follow_redirects=False).status_code == 403


def test_secret_is_swapped_for_a_strict_httponly_cookie_and_dropped_from_the_url(app):
    c = _anon(app)
    r = c.get(f"/search?q=ask&token={app.state.token}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/search?q=ask"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{security.cookie_name(8765)}={app.state.token};")
    low = cookie.lower()
    assert "httponly" in low and "samesite=strict" in low and "path=/" in low
    assert c.get("/search.json?q=ask").status_code == 200


def test_constant_time_comparison_is_used():
    assert security.same_secret("abc", "abc")
    assert not security.same_secret("abd", "abc")
    assert not security.same_secret("", "abc") and not security.same_secret(None, "abc")
    import inspect
    assert "compare_digest" in inspect.getsource(security.same_secret)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.nip.io",
                                  "localhost.evil.example", "[::2]:8765", "0.0.0.0:8765"])
def test_forged_host_is_refused_with_400(app, host):
    c = login(app)
    r = c.get("/recordings.json", headers={"host": host})
    assert r.status_code == 400
    assert r.headers["content-security-policy"] == EXACT_CSP


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765"])
def test_loopback_hosts_are_accepted(app, host):
    c = login(app, host=host.rsplit(":", 1)[0])
    assert c.get("/recordings.json").status_code == 200


def test_headers_on_pages_json_media_and_refusals(app, web_archive):
    _, ids = web_archive
    c = login(app)
    for path in _routes(ids)[1:-1] + ["/r/" + "f" * 64 + ".json"]:
        r = c.get(path)
        assert r.headers["content-security-policy"] == EXACT_CSP, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store"
    r = _anon(app).get("/recordings")
    assert r.status_code == 401 and r.headers["content-security-policy"] == EXACT_CSP


def _write(c, path: str, body: dict, **headers: str):
    h = {security.WRITE_HEADER: "1", **headers}
    return c.post(path, content=json.dumps(body), headers={"content-type": "application/json",
                                                            **h})


def test_cross_site_and_non_json_writes_are_refused(app, web_archive):
    _, ids = web_archive
    c = login(app)
    body = {"id": ids["jfk"], "start": 1.0, "end": 2.0, "verified": True}
    for extra, why in [({"sec-fetch-site": "cross-site"}, "cross-site"),
                       ({"sec-fetch-site": "same-site"}, "cross-site"),
                       ({"origin": "http://evil.example"}, "cross-origin"),
                       ({"origin": "http://127.0.0.1:9999"}, "cross-origin")]:
        r = _write(c, "/api/mark", body, **extra)
        assert r.status_code == 403 and why in r.json()["error"], extra
    # a form post: no JSON body, no custom header
    r = c.post("/api/mark", data={"id": ids["jfk"], "start": "1", "end": "2"})
    assert r.status_code == 403 and "JSON" in r.json()["error"]
    r = c.post("/api/mark", content=json.dumps(body), headers={"content-type": "text/plain",
                                                               security.WRITE_HEADER: "1"})
    assert r.status_code == 403
    r = c.post("/api/mark", content=json.dumps(body),
               headers={"content-type": "application/json"})
    assert r.status_code == 403 and security.WRITE_HEADER in r.json()["error"]
    # nothing was marked by any of them
    assert c.get(f"/r/{ids['jfk']}.json").json()["marks"] == []


def test_audio_is_served_by_full_sha256_only(app, web_archive):
    root, ids = web_archive
    c = login(app)
    j = ids["jfk"]
    for bad in (j[:10], "../../catalog.sqlite", "..%2F..%2Fcatalog.sqlite", j.upper(),
                "0" * 64):
        assert c.get(f"/r/{bad}/audio").status_code == 404, bad


def test_range_requests_get_206(app, web_archive):
    root, ids = web_archive
    c = login(app)
    original = next((root / "originals").rglob(f"{ids['jfk']}.*")).read_bytes()
    r = c.get(f"/r/{ids['jfk']}/audio", headers={"range": "bytes=1000-1999"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 1000-1999/{len(original)}"
    assert r.headers["accept-ranges"] == "bytes"
    assert r.content == original[1000:2000]
    r = c.get(f"/r/{ids['jfk']}/audio", headers={"range": f"bytes={len(original) - 10}-"})
    assert r.status_code == 206 and r.content == original[-10:]


def test_non_loopback_bind_needs_the_flag(web_archive):
    from click.testing import CliRunner

    from archive.cli import main
    root, _ = web_archive
    r = CliRunner().invoke(main, ["--archive", str(root), "serve", "--host", "0.0.0.0",
                                  "--no-browser"])
    assert r.exit_code == 2
    assert "not a loopback address" in r.output and "--allow-remote" in r.output
    assert security.is_loopback("127.0.0.1") and security.is_loopback("::1")
    assert not security.is_loopback("0.0.0.0") and not security.is_loopback("192.168.1.5")
    assert security.allowed_hosts("192.168.1.5")[-1] == "192.168.1.5"


def test_serve_starts_fast_without_models_and_never_logs_the_token(web_archive):
    """The real command in a subprocess: URL printed, pages answered, no torch/numpy loaded,
    and the secret appears once (in the printed URL), never in a log line."""
    root, ids = web_archive
    code = (
        "import sys, threading, time, urllib.request, http.cookiejar\n"
        "t0 = time.perf_counter()\n"
        "from archive.cli import main\n"
        "import archive.web.server as S\n"
        "orig = S.Server.run\n"
        "def run(self):\n"
        "    print('STARTED %.3f' % (time.perf_counter() - t0), flush=True)\n"
        "    threading.Thread(target=orig, args=(self,), daemon=True).start()\n"
        "    time.sleep(0.5)\n"
        "    jar = http.cookiejar.CookieJar()\n"
        "    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))\n"
        "    op.open(self.url).read()\n"
        f"    op.open(self.origin + '/search.json?q=country').read()\n"
        f"    op.open(self.origin + '/r/{ids['jfk']}.json').read()\n"
        "    try:\n"
        "        op.open(self.origin + '/nope?token=' + self.token[:5])\n"
        "    except Exception:\n"
        "        pass\n"
        "    heavy = [m for m in ('torch', 'ctranslate2', 'faster_whisper', 'numpy',\n"
        "                         'onnxruntime') if m in sys.modules]\n"
        "    print('HEAVY:' + ','.join(heavy), flush=True)\n"
        "    print('TOKEN:' + self.token, flush=True)\n"
        "S.Server.run = run\n"
        f"main(['--archive', {str(root)!r}, 'serve', '--no-browser'])\n")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    started = float(out.split("STARTED ")[1].split()[0])
    assert started < 3.0, f"archive serve took {started:.2f} s to bind (target: < 1 s)"
    assert time.perf_counter() - t0 < 30
    assert out.split("HEAVY:")[1].splitlines()[0] == ""
    token = out.split("TOKEN:")[1].split()[0]
    printed = out.split("TOKEN:")[0]
    assert printed.count(token) == 1 and f"/?token={token}" in printed
    assert token not in r.stderr and token[:5] not in r.stderr
