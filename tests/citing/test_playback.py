"""Playback copies: made once, outside the archive, and second t of the copy is second t of
the original (no encoder delay), checked on real speech in AMR, as phones record it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from archive.citing import playback
from archive.models import Recording
from archive.speech import audio
from tests.conftest import shared
from tests.web.conftest import make_amr


def _rec(path: Path, codec: str) -> Recording:
    data = path.read_bytes()
    return Recording(id=hashlib.sha256(data).hexdigest(), filename=path.name,
                     ext=path.suffix, size=len(data), duration=11.0, codec=codec)


def _lag(a: np.ndarray, b: np.ndarray, max_lag: int = 1600) -> int:
    """Samples by which b lags a (cross-correlation over +-max_lag)."""
    n = min(len(a), len(b)) - 2 * max_lag
    best, arg = -np.inf, 0
    for k in range(-max_lag, max_lag + 1, 1):
        v = float(np.dot(a[max_lag:max_lag + n], b[max_lag + k:max_lag + k + n]))
        if v > best:
            best, arg = v, k
    return arg


def test_amr_copy_keeps_every_offset(tmp_path: Path):
    amr = make_amr(shared("jfk.flac"), tmp_path / "note.amr")
    before = amr.read_bytes()
    rec = _rec(amr, "amrnb")
    assert not playback.browser_playable(rec)
    folder = tmp_path / "cache"
    copy = playback.playback_copy(amr, rec, folder=folder)
    assert copy.parent == folder and copy.read_bytes()[:4] == b"fLaC"
    assert amr.read_bytes() == before  # the original is only read
    x = audio.decode(amr)
    y = audio.decode(copy)
    assert abs(len(x) - len(y)) <= 16  # same length within 1 ms at 16 kHz
    assert _lag(x, y, max_lag=800) == 0  # no encoder delay: not one sample of shift
    # the speech itself lines up: the loudest 100 ms is at the same place
    frames = lambda s: np.sqrt(np.mean(s[: len(s) // 1600 * 1600].reshape(-1, 1600) ** 2, 1))
    assert int(np.argmax(frames(x))) == int(np.argmax(frames(y)))
    # made once: a second call reuses it
    mtime = copy.stat().st_mtime_ns
    assert playback.playback_copy(amr, rec, folder=folder) == copy
    assert copy.stat().st_mtime_ns == mtime
    side = copy.with_name(copy.name + ".json").read_text()
    assert rec.id in side and hashlib.sha256(copy.read_bytes()).hexdigest() in side


def test_playable_formats_are_served_as_they_are():
    for ext, codec in [(".ogg", "opus"), (".opus", "opus"), (".mp3", "mp3"),
                       (".wav", "pcm_s16le"), (".flac", "flac"), (".m4a", "aac"),
                       (".webm", "opus")]:
        rec = Recording(id="0" * 64, filename="x" + ext, ext=ext, size=1, duration=1.0,
                        codec=codec)
        assert playback.browser_playable(rec), ext
    for ext, codec in [(".amr", "amrnb"), (".3gp", "amrnb"), (".wma", "wmav2"),
                       (".mka", "opus"), (".m4a", "alac")]:
        rec = Recording(id="0" * 64, filename="x" + ext, ext=ext, size=1, duration=1.0,
                        codec=codec)
        assert not playback.browser_playable(rec), ext
