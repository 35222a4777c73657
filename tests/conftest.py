"""Shared fixtures: reference audio, the project's samples, and one archive built once per
session from real audio with the real default model."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ARCHIVE_SHARED_AUDIO", ROOT.parent / "shared" / "audio"))
SAMPLES = ROOT / "audio_samples"

JFK_TEXT = ("And so, my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")


def shared(name: str) -> Path:
    """A file from ../shared/audio, or skip the test with the reason."""
    p = SHARED / name
    if not p.exists():
        pytest.skip(f"reference audio {p} is absent (../shared/audio is not beside the repo)")
    return p


@pytest.fixture(scope="session", autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep user folders out of the tests: cache and default archive point into tmp."""
    base = tmp_path_factory.mktemp("home")
    os.environ["ARCHIVE_DIR"] = str(base / "default-archive")
    # The model cache is shared across the session to build the embedded model only once.
    os.environ.setdefault("ARCHIVE_CACHE_DIR", str(base / "cache"))
    os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive holding jfk.flac (tiny.en), made once per test module; tests copy it."""
    from tests.helpers.evidence import template
    return template(tmp_path_factory.mktemp, shared("jfk.flac"))


@pytest.fixture()
def arch(base: Path, tmp_path: Path) -> Path:
    """A private copy of ``base`` that a test may change."""
    from tests.helpers.evidence import clone
    return clone(base, tmp_path / "arch")


@pytest.fixture(scope="session")
def jfk_pcm():
    """jfk.flac decoded to 16 kHz mono float32 (the issue's word-onset reference)."""
    from archive.speech.audio import decode
    return decode(shared("jfk.flac"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def built_archive(tmp_path_factory: pytest.TempPathFactory):
    """An archive holding jfk.flac, the project's commander voice note, the WhatsApp note and
    the stereo call, built once with the default model and diarization.

    Tests that use it must not modify it (use `fresh_archive` for that).
    """
    from archive.library import Archive
    jfk = shared("jfk.flac")
    root = tmp_path_factory.mktemp("built") / "arch"
    a = Archive.init(root)
    from archive.ingest.pipeline import AddOptions
    a.add(jfk, AddOptions(title="JFK inaugural", source="public domain", tags=("speech",)))
    a.add(SAMPLES / "audio_2022-03-14_21-07-33.ogg",
          AddOptions(title="Commander voice note", source="Telegram channel",
                     tags=("leak", "military")))
    a.add(SAMPLES / "PTT-20220405-WA0001.opus", AddOptions(source="WhatsApp source"))
    a.add(SAMPLES / "leaked_call.m4a", AddOptions(title="Intercepted call", tags=("call",),
                                                  recorded="2022-05-02"))
    return a


@pytest.fixture()
def fresh_archive(tmp_path: Path):
    """A new, empty archive in a temporary folder."""
    from archive.library import Archive
    return Archive.init(tmp_path / "arch")


@pytest.fixture()
def copy_of(tmp_path: Path):
    """Copy a file into tmp under a given name (so tests never touch the originals)."""
    def _copy(src: Path, name: str | None = None) -> Path:
        dest = tmp_path / "in" / (name or src.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return dest
    return _copy
