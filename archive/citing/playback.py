"""Audio a browser can play: the original where it can, else a derived copy made once.

Browsers play Ogg (Opus, Vorbis, FLAC), MP3, WAV, FLAC, AAC in MP4 and WebM; they do not play
AMR (Android voice recorders, old phones), WMA, 3GP or Matroska. For those, a lossless FLAC
copy of the decoded audio is written once into the per-user cache (never into the archive
folder, never beside the original) and reused. FLAC is lossless and has no encoder delay, so
second ``t`` of the copy is second ``t`` of the original: a quote heard in the browser is the
quote cited. The copy is named by the original's SHA-256 and carries it in a sidecar.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from ..errors import ClipError
from ..evidence.fsutil import atomic_write_text, fsync_dir, sha256_path
from ..models import Recording
from ..paths import cache_dir

#: (extension, codec) pairs that Chromium, Firefox and Safari all play as they are.
_PLAYABLE: dict[str, frozenset[str]] = {
    ".ogg": frozenset({"opus", "vorbis", "flac"}), ".oga": frozenset({"opus", "vorbis", "flac"}),
    ".opus": frozenset({"opus"}), ".mp3": frozenset({"mp3", "mp3float"}),
    ".wav": frozenset({"pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_u8"}),
    ".flac": frozenset({"flac"}), ".m4a": frozenset({"aac"}), ".mp4": frozenset({"aac"}),
    ".aac": frozenset({"aac"}), ".webm": frozenset({"opus", "vorbis"}),
}

_MIME = {".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".mp3": "audio/mpeg",
         ".wav": "audio/wav", ".flac": "audio/flac", ".m4a": "audio/mp4", ".mp4": "audio/mp4",
         ".aac": "audio/aac", ".webm": "audio/webm"}

#: Version of the copy's recipe; a change makes new copies.
RECIPE = 1


def browser_playable(rec: Recording) -> bool:
    """True when browsers play the original as it is."""
    return rec.codec in _PLAYABLE.get(rec.ext.lower(), frozenset())


def mime_type(path: Path) -> str:
    """The MIME type to serve a playable file with."""
    return _MIME.get(path.suffix.lower(), "application/octet-stream")


def copy_dir() -> Path:
    """Where derived playback copies are cached."""
    return cache_dir() / "playback"


def playback_copy(original: Path, rec: Recording, *, folder: Path | None = None) -> Path:
    """The derived FLAC copy of ``original`` (made now if absent; the original is only read).

    Raises:
        ClipError: If ffmpeg is missing or cannot decode the original.
    """
    folder = folder or copy_dir()
    dest = folder / f"{rec.id}.r{RECIPE}.flac"
    side = dest.with_name(dest.name + ".json")
    if dest.is_file() and side.is_file():
        return dest
    folder.mkdir(parents=True, exist_ok=True)
    from .clips import find_ffmpeg  # clips loads the decoder (numpy); a page view must not
    ffmpeg = find_ffmpeg()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{rec.id[:16]}.", suffix=".flac", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    # Native rate and channels: nothing is resampled, so sample n of the copy is sample n
    # of the decoded original.
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(original),
           "-map", "0:a:0", "-vn", "-c:a", "flac", "-fflags", "+bitexact",
           "-flags:a", "+bitexact", "-map_metadata", "-1", "-f", "flac", str(tmp)]
    try:
        proc = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, timeout=3600)
    except (OSError, subprocess.SubprocessError) as e:
        tmp.unlink(missing_ok=True)
        raise ClipError(f"{rec.short_id}: cannot make a playback copy: {e}") from None
    if proc.returncode != 0 or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ClipError(f"{rec.short_id}: cannot make a playback copy: "
                        f"{msg[-1] if msg else proc.returncode}")
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)
    atomic_write_text(side, json.dumps({
        "derived_from_sha256": rec.id, "original_name": rec.filename, "codec": "flac",
        "recipe": RECIPE, "sha256": sha256_path(dest),
        "purpose": "playback in a browser only; cite and clip from the original"},
        indent=2) + "\n")
    fsync_dir(folder)
    return dest
