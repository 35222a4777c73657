"""Fixtures for the web viewer: a real archive with real speech (jfk, a two-speaker call of
LibriSpeech voices, an AMR copy of jfk whose title is hostile), live servers on it, a
logged-in HTTP client, and a real headless Chromium driven by Selenium.

Browser tests skip with the reason when Chromium, chromedriver or Selenium is absent, unless
``ARCHIVE_REQUIRE_BROWSER=1`` (set by ``.ci/run``): then a missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from tests.conftest import ROOT, shared

HOSTILE = 'JFK <script>alert("x")</script><img src=x onerror=alert(1)> & "old phone"'
CHROMIUM = os.environ.get("ARCHIVE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ARCHIVE_CHROMEDRIVER", "/usr/bin/chromedriver")
#: Screenshots for people to look at (gitignored).
SHOTS = ROOT / "bench" / "out"


def make_amr(src: Path, dest: Path) -> Path:
    """An AMR-NB file (8 kHz, as phones record) made from ``src`` by imageio-ffmpeg's ffmpeg
    (Debian's ffmpeg has no AMR encoder)."""
    import imageio_ffmpeg
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error",
                    "-i", str(src), "-ar", "8000", "-ac", "1", "-c:a", "libopencore_amrnb",
                    "-b:a", "12.2k", "-f", "amr", str(dest)], check=True)
    return dest


def _call_wav(path: Path) -> Path:
    import numpy as np

    from tests.helpers import synth
    if not synth.available():
        pytest.skip(f"LibriSpeech folder {synth.LIBRISPEECH} is absent")
    call = synth.make_call(3, n_speakers=2, n_turns=3)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(call.audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="session")
def web_archive(tmp_path_factory: pytest.TempPathFactory):
    """The archive the web tests read: ids by name (``jfk``, ``call``, ``amr``)."""
    from archive.ingest.pipeline import AddOptions
    from archive.library import Archive
    base = tmp_path_factory.mktemp("web")
    jfk = shared("jfk.flac")
    a = Archive.init(base / "arch")
    ids = {
        "jfk": a.add(jfk, AddOptions(title="JFK inaugural", source="public domain",
                                     tags=("speech",))).id,
        "call": a.add(_call_wav(base / "call.wav"),
                      AddOptions(title="Two voices", recorded="2022-05-02",
                                 tags=("call",))).id,
        "amr": a.add(make_amr(jfk, base / "jfk.amr"), AddOptions(title=HOSTILE)).id,
    }
    return a.root, ids


@pytest.fixture()
def mutable_archive(web_archive, tmp_path: Path):
    """A private copy of the web archive that a test may change."""
    root, ids = web_archive
    dest = tmp_path / "arch"
    shutil.copytree(root, dest)
    return dest, ids


def login(app, port: int = 8765, host: str = "127.0.0.1"):
    """A Starlette TestClient with this app's session cookie, as the browser gets it."""
    from starlette.testclient import TestClient
    c = TestClient(app, base_url=f"http://{host}:{port}")
    token = app.state.token
    r = c.get(f"/?token={token}", follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


@pytest.fixture()
def make_client():
    """``make_client(root)`` -> a logged-in TestClient on the archive at ``root``."""
    from archive.web.app import create_app
    from archive.web.security import new_token
    apps = []

    def _make(root: Path):
        app = create_app(root, new_token(), 8765)
        apps.append(app)
        return login(app)
    yield _make
    for app in apps:
        app.state.worker.shutdown(wait=True)


@pytest.fixture(scope="session")
def live(web_archive):
    """A real uvicorn server on the web archive (read-only use)."""
    from archive.web.server import Server
    root, ids = web_archive
    srv = Server(root)
    srv.start()
    yield srv, ids
    srv.stop()


@pytest.fixture()
def live_mutable(mutable_archive):
    """A real server on a private copy (for edits)."""
    from archive.web.server import Server
    root, ids = mutable_archive
    srv = Server(root)
    srv.start()
    yield srv, ids, root
    srv.stop()


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for p in (CHROMIUM, CHROMEDRIVER):
        if not Path(p).exists():
            return f"{p} is absent (apt-get install -y chromium chromium-driver)"
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (offline Selenium, explicit chromedriver, autoplay allowed)."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("ARCHIVE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests must run here (ARCHIVE_REQUIRE_BROWSER=1): {missing}")
        pytest.skip(missing)
    os.environ["SE_OFFLINE"] = "true"  # or Selenium Manager goes online for a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required",
                "--mute-audio", "--window-size=1280,900", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
