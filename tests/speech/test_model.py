"""Model resolution: the embedded models assembled and verified offline, local folders, and
fast failure for names that would need a download."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.speech import model as sm
from archive.speech import transcribe as tr
from archive.evidence.fsutil import sha256_path
from archive.errors import ModelError, ModelHashMismatch

ROOT = Path(__file__).resolve().parents[2]


def test_base_is_assembled_verified_and_rebuilt_when_damaged(tmp_path):
    cache = tmp_path / "cache"
    m = sm.resolve_model(None, cache_dir=cache)
    try:
        assert m.name == "base" and m.sha256 == sm.BASE_SHA256
        assert m.path == cache / "whisper-base"
        assert {p.name for p in cache.iterdir()} == {"whisper-base"}  # no temp dirs left
        assert {p.name for p in m.path.iterdir()} == {
            "model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
        assert sm.resolve_model("base", cache_dir=cache) == m
        with open(m.path / "model.bin", "r+b") as f:  # damage the cached copy only
            f.seek(1000)
            f.write(b"\0\1\2\3")
        again = sm.resolve_model("base", cache_dir=cache)
        assert again.sha256 == sm.BASE_SHA256
        assert sha256_path(again.path / "model.bin") == sm.BASE_SHA256
    finally:
        shutil.rmtree(cache, ignore_errors=True)  # 145 MB


def test_two_processes_racing_to_assemble_base_both_succeed(tmp_path):
    cache = tmp_path / "race"
    code = ("import sys; from pathlib import Path; from archive.speech.transcribe import resolve_model;"
            "print(resolve_model(None, cache_dir=Path(sys.argv[1])).sha256)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(cache)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0, err
            assert out.strip() == sm.BASE_SHA256
        assert {p.name for p in cache.iterdir()} == {"whisper-base"}
        assert sha256_path(cache / "whisper-base" / "model.bin") == sm.BASE_SHA256
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def test_default_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHIVE_CACHE_DIR", str(tmp_path / "a"))
    assert sm.default_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("ARCHIVE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sm.default_cache_dir() == tmp_path / "xdg" / "archive"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert sm.default_cache_dir() == Path.home() / ".cache" / "archive"


def test_tiny_en_and_local_directory_resolve_with_their_hash():
    tiny = sm.resolve_model("tiny.en")
    assert tiny.name == "tiny.en" and tiny.sha256 == sm.TINY_EN_SHA256
    local = sm.resolve_model(str(tiny.path))  # any CTranslate2 directory is used as it is
    assert local.path == tiny.path.resolve() and local.sha256 == sm.TINY_EN_SHA256
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
        sm.resolve_model(None, cache_dir=cache)
    assert "\n" not in str(err.value) and "sha256" in str(err.value)
    assert not (cache / "whisper-base").exists()
    assert not [p for p in cache.iterdir()]  # the rejected copy was not kept
    with pytest.raises(ModelHashMismatch):
        sm.resolve_model("tiny.en")


def test_model_changed_after_resolution_is_refused_at_load(tmp_path):
    folder = tmp_path / "fake-ct2"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"weights v1")
    m = sm.resolve_model(str(folder))
    assert m.sha256 == hashlib.sha256(b"weights v1").hexdigest()
    (folder / "model.bin").write_bytes(b"weights v2")
    with pytest.raises(ModelHashMismatch):
        tr.load_model(m)


def test_missing_package_raises_model_error(monkeypatch, tmp_path):
    monkeypatch.setattr(sm, "_BASE_PARTS", ("archive_test_absent_part1", "archive_test_absent_2"))
    monkeypatch.setattr(sm, "_TINY_EN_PACKAGE", "archive_test_absent_tiny")
    for name in (None, "tiny.en"):
        with pytest.raises(ModelError, match="not installed") as err:
            sm.resolve_model(name, cache_dir=tmp_path)
        assert "\n" not in str(err.value)


def test_unknown_or_uncached_model_names_fail_offline_fast(tmp_path):
    t = time.monotonic()
    for name in ("archive-tests/no-such-model", "no-such-size", "large-v3"):
        with pytest.raises(ModelError, match="not available offline"):
            sm.resolve_model(name)
    with pytest.raises(ModelError, match="no such model directory"):
        sm.resolve_model(str(tmp_path / "missing" / "dir"))
    with pytest.raises(ModelError, match="no CTranslate2 model.bin"):
        sm.resolve_model(str(tmp_path))
    assert time.monotonic() - t < 20  # no network timeouts
    assert os.environ["HF_HUB_OFFLINE"] == "1"


# --- transcription ----------------------------------------------------------------------------
