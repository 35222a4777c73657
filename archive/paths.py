"""Where things live by default: the archive folder and the per-user cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _home_dir(xdg_var: str, fallback: str, mac: str) -> Path:
    if os.environ.get(xdg_var):
        return Path(os.environ[xdg_var])
    if sys.platform == "darwin":
        return Path.home() / "Library" / mac
    return Path.home() / fallback


def default_archive() -> Path:
    """``$ARCHIVE_DIR``, else the per-user data folder (``~/.local/share/archive``)."""
    if os.environ.get("ARCHIVE_DIR"):
        return Path(os.environ["ARCHIVE_DIR"]).expanduser()
    return _home_dir("XDG_DATA_HOME", ".local/share", "Application Support") / "archive"


def cache_dir() -> Path:
    """``$ARCHIVE_CACHE_DIR``, else the per-user cache folder (``~/.cache/archive``)."""
    if os.environ.get("ARCHIVE_CACHE_DIR"):
        return Path(os.environ["ARCHIVE_CACHE_DIR"]).expanduser()
    return _home_dir("XDG_CACHE_HOME", ".cache", "Caches") / "archive"
