"""Model resolution and transcription, with the real embedded models and real audio."""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jiwer
import numpy as np
import pytest

from archive import speechmodel as sm
from archive import transcribe as tr
from archive.audio import decode
from archive.errors import InputError, ModelError, ModelHashMismatch, UsageError
from archive.models import HALLUCINATION_FLAGS

AUDIO = Path(os.environ.get("ARCHIVE_SHARED_AUDIO", "/work/shared/audio"))
JFK_TEXT = ("And so, my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")
ROOT = Path(__file__).resolve().parents[1]


def _audio(name: str, **kw) -> np.ndarray:
    path = AUDIO / name
    if not path.is_file():
        pytest.skip(f"shared reference audio {path} is absent")
    return decode(path, **kw)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def _check_words(result: tr.TranscriptionResult) -> None:
    words = [w for s in result.segments for w in s.words]
    assert words
    for w in words:
        assert 0.0 <= w.start <= w.end <= result.duration + 1e-6
        assert w.text == w.text.strip() and w.text
        assert 0.0 <= w.probability <= 1.0
    for a, b in zip(words, words[1:]):
        assert b.start >= a.end - 1e-6, (a, b)
    for s in result.segments:
        assert s.words and s.start == s.words[0].start and s.end >= s.words[-1].end - 1e-6
        assert set(s.flags) <= set(HALLUCINATION_FLAGS)


@pytest.fixture(scope="session")
def base() -> tr.ResolvedModel:
    return tr.resolve_model(None)


@pytest.fixture(scope="session")
def jfk() -> np.ndarray:
    return _audio("jfk.flac")


@pytest.fixture(scope="session")
def jfk_result(base, jfk) -> tr.TranscriptionResult:
    return tr.transcribe(jfk, base)


# --- model resolution -------------------------------------------------------------------------

def test_base_is_assembled_verified_and_rebuilt_when_damaged(tmp_path):
    cache = tmp_path / "cache"
    m = tr.resolve_model(None, cache_dir=cache)
    try:
        assert m.name == "base" and m.sha256 == tr.BASE_SHA256
        assert m.path == cache / "whisper-base"
        assert {p.name for p in cache.iterdir()} == {"whisper-base"}  # no temp dirs left
        assert {p.name for p in m.path.iterdir()} == {
            "model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
        assert tr.resolve_model("base", cache_dir=cache) == m
        with open(m.path / "model.bin", "r+b") as f:  # damage the cached copy only
            f.seek(1000)
            f.write(b"\0\1\2\3")
        again = tr.resolve_model("base", cache_dir=cache)
        assert again.sha256 == tr.BASE_SHA256
        assert tr.sha256_file(again.path / "model.bin") == tr.BASE_SHA256
    finally:
        shutil.rmtree(cache, ignore_errors=True)  # 145 MB


def test_two_processes_racing_to_assemble_base_both_succeed(tmp_path):
    cache = tmp_path / "race"
    code = ("import sys; from pathlib import Path; from archive.transcribe import resolve_model;"
            "print(resolve_model(None, cache_dir=Path(sys.argv[1])).sha256)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(cache)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0, err
            assert out.strip() == tr.BASE_SHA256
        assert {p.name for p in cache.iterdir()} == {"whisper-base"}
        assert tr.sha256_file(cache / "whisper-base" / "model.bin") == tr.BASE_SHA256
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def test_default_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHIVE_CACHE_DIR", str(tmp_path / "a"))
    assert tr.default_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("ARCHIVE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tr.default_cache_dir() == tmp_path / "xdg" / "archive"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert tr.default_cache_dir() == Path.home() / ".cache" / "archive"


def test_tiny_en_and_local_directory_resolve_with_their_hash():
    tiny = tr.resolve_model("tiny.en")
    assert tiny.name == "tiny.en" and tiny.sha256 == tr.TINY_EN_SHA256
    local = tr.resolve_model(str(tiny.path))  # any CTranslate2 directory is used as it is
    assert local.path == tiny.path.resolve() and local.sha256 == tr.TINY_EN_SHA256
    assert local.name == str(tiny.path.resolve())


def _fake_package(root: Path, name: str, files: dict[str, bytes]) -> None:
    pkg = root / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for rel, data in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_bytes(data)


def test_hash_mismatch_of_embedded_models_raises(tmp_path, monkeypatch):
    side = {"data/config.json": b"{}", "data/tokenizer.json": b"{}",
            "data/vocabulary.txt": b"a\n"}
    root = tmp_path / "site"
    _fake_package(root, sm._BASE_PARTS[0], {"data/model.bin.part1": b"not a", **side})
    _fake_package(root, sm._BASE_PARTS[1], {"data/model.bin.part2": b" model"})
    _fake_package(root, sm._TINY_EN_PACKAGE, {"model/model.bin": b"not a model either"})
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    cache = tmp_path / "cache"
    with pytest.raises(ModelHashMismatch) as err:
        tr.resolve_model(None, cache_dir=cache)
    assert "\n" not in str(err.value) and "sha256" in str(err.value)
    assert not (cache / "whisper-base").exists()
    assert not [p for p in cache.iterdir()]  # the rejected copy was not kept
    with pytest.raises(ModelHashMismatch):
        tr.resolve_model("tiny.en")


def test_model_changed_after_resolution_is_refused_at_load(tmp_path):
    folder = tmp_path / "fake-ct2"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"weights v1")
    m = tr.resolve_model(str(folder))
    assert m.sha256 == hashlib.sha256(b"weights v1").hexdigest()
    (folder / "model.bin").write_bytes(b"weights v2")
    with pytest.raises(ModelHashMismatch):
        tr.load_model(m)


def test_missing_package_raises_model_error(monkeypatch, tmp_path):
    monkeypatch.setattr(sm, "_BASE_PARTS", ("archive_test_absent_part1", "archive_test_absent_2"))
    monkeypatch.setattr(sm, "_TINY_EN_PACKAGE", "archive_test_absent_tiny")
    for name in (None, "tiny.en"):
        with pytest.raises(ModelError, match="not installed") as err:
            tr.resolve_model(name, cache_dir=tmp_path)
        assert "\n" not in str(err.value)


def test_unknown_or_uncached_model_names_fail_offline_fast(tmp_path):
    t = time.monotonic()
    for name in ("archive-tests/no-such-model", "no-such-size", "large-v3"):
        with pytest.raises(ModelError, match="not available offline"):
            tr.resolve_model(name)
    with pytest.raises(ModelError, match="no such model directory"):
        tr.resolve_model(str(tmp_path / "missing" / "dir"))
    with pytest.raises(ModelError, match="no CTranslate2 model.bin"):
        tr.resolve_model(str(tmp_path))
    assert time.monotonic() - t < 20  # no network timeouts
    assert os.environ["HF_HUB_OFFLINE"] == "1"


# --- transcription ----------------------------------------------------------------------------

def test_jfk_text_words_and_language(jfk_result, jfk):
    r = jfk_result
    assert jiwer.wer(_norm(JFK_TEXT), _norm(r.text)) <= 0.10, r.text
    assert r.language == "en" and 0.5 < r.language_probability <= 1.0
    assert r.duration == pytest.approx(len(jfk) / 16000)
    _check_words(r)
    assert not any(s.flags for s in r.segments)
    assert r.options["model_sha256"] == tr.BASE_SHA256 and r.options["refined"] is True
    assert r.options["word_timestamps"] and r.options["vad_filter"]


def test_jfk_ask_onset_is_refined(jfk_result):
    asks = [w for s in jfk_result.segments for w in s.words if _norm(w.text) == "ask"]
    assert len(asks) == 2
    assert abs(asks[0].start - 3.25) <= 0.15, asks[0]


def test_jfk_tiny_en(jfk):
    r = tr.transcribe(jfk, tr.resolve_model("tiny.en"))
    assert jiwer.wer(_norm(JFK_TEXT), _norm(r.text)) <= 0.15, r.text
    _check_words(r)
    ask = next(w for s in r.segments for w in s.words if _norm(w.text) == "ask")
    assert abs(ask.start - 3.25) <= 0.15, ask


@pytest.mark.slow
def test_multilingual_is_written_as_spoken_with_progress(base):
    audio = _audio("multilingual.mp3")
    calls: list[tuple[float, float]] = []
    r = tr.transcribe(audio, base, progress=lambda d, t: calls.append((d, t)))
    assert _norm(r.text).startswith("permission is hereby granted"), r.text[:80]
    assert r.language == "en"
    _check_words(r)
    german = _norm(" ".join(s.text for s in r.segments if s.start > 30))
    assert len(set(german.split()) & {"der", "die", "und", "zu", "das", "mit"}) >= 3, german
    assert calls and calls[-1][0] == calls[-1][1] == pytest.approx(r.duration)
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:]))


def test_translate_gives_english(base):
    german = _audio("multilingual.mp3")[31 * 16000:41 * 16000]
    r = tr.transcribe(german, base, task="translate")
    text = _norm(r.text)
    assert "software" in text, text
    assert not set(text.split()) & {"der", "die", "und", "zu", "mit"}, text
    assert r.options["task"] == "translate"


@pytest.mark.parametrize("kind", ["zeros", "noise"])
def test_silence_yields_no_text(base, kind):
    rng = np.random.default_rng(7)
    n = 60 * 16000
    audio = (np.zeros(n) if kind == "zeros"
             else rng.normal(0, 10 ** (-55 / 20), n)).astype(np.float32)
    r = tr.transcribe(audio, base)
    assert r.segments == () and r.text == ""
    assert r.language is None


def test_bad_arguments(base, jfk):
    with pytest.raises(UsageError):
        tr.transcribe(jfk, base, task="summarise")
    with pytest.raises(UsageError):
        tr.transcribe(jfk, base, language="xx")
    with pytest.raises(InputError):
        tr.transcribe(np.stack([jfk, jfk]), base)


def test_hotwords_and_language_are_passed_and_recorded(base, jfk):
    r = tr.transcribe(jfk[:int(4.5 * 16000)], base, language="en", hotwords="Americans")
    assert r.language == "en" and r.language_probability == 1.0
    assert r.options["hotwords"] == "Americans" and r.options["multilingual"] is False
    assert "americans" in _norm(r.text)
