"""Export a quote as a short audio clip, with a manifest that ties it to its original.

Decoding goes through ffmpeg directly with ``-ss``/``-t``, so that only the clip's window is
read (a two-hour recording is not loaded to cut ten seconds) and ffprobe is never needed
(pydub's ``from_file`` calls ffprobe whenever no input codec is given, and imageio-ffmpeg ships
no ffprobe): with the ffmpeg bundled by imageio-ffmpeg a pip-only install works. pydub
(imported here only, lazily) holds the window, trims it to the millisecond and writes it as WAV
in memory; ffmpeg encodes that into the clip. Times are float seconds everywhere; milliseconds
exist only at the pydub edge, here.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from .. import __version__
from ..speech.audio import probe
from ..errors import ArchiveError, ClipError
from ..evidence.fsutil import atomic_write_bytes, fsync_dir, sha256_path

#: Clip formats, with the file suffixes accepted for each.
FORMATS: Mapping[str, tuple[str, ...]] = {
    "ogg": (".ogg", ".opus", ".oga"), "mp3": (".mp3",), "wav": (".wav",)}

#: A requested end this far past the recording's end is clamped; beyond it is an error.
END_TOLERANCE = 0.5

#: Longest quote a clip may hold, seconds (the window is decoded in memory).
MAX_CLIP = 900.0

#: Version of the manifest's JSON layout.
MANIFEST_FORMAT = 1

_CODEC_OPTIONS = {"libopus": ["-b:a", "64k"], "libvorbis": ["-q:a", "5"],
                  "libmp3lame": ["-b:a", "128k"], "pcm_s16le": []}
# Bit-exact output: no encoder version string and a fixed Ogg stream serial, so that the
# same clip exported twice by the same ffmpeg has the same SHA-256.
_BITEXACT = ["-fflags", "+bitexact", "-flags:a", "+bitexact"]
# mkstemp creates files 0600; clips and manifests are meant to be shared.
_FILE_MODE = 0o644
_TAG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ClipResult:
    """An exported clip.

    Attributes:
        path: The clip file.
        start: Where the clip starts in the original, seconds (padding included).
        end: Where it ends in the original, seconds (padding included).
        duration: Length of the clip's audio, seconds.
        sha256: SHA-256 of the clip file, hex.
        requested_start: Start asked for, before padding.
        requested_end: End asked for, before padding (clamped to the recording).
        padding: Padding asked for on each side, seconds.
        format: ``ogg``, ``mp3`` or ``wav``.
        codec: Encoder used (``libopus``, ``libvorbis``, ``libmp3lame``, ``pcm_s16le``).
        source: The original it was cut from.
    """

    path: Path
    start: float
    end: float
    duration: float
    sha256: str
    requested_start: float = 0.0
    requested_end: float = 0.0
    padding: float = 0.0
    format: str = "ogg"
    codec: str = ""
    source: Path | None = None


def find_ffmpeg() -> str:
    """The ffmpeg on PATH, else the binary bundled with imageio-ffmpeg.

    Raises:
        ClipError: If neither exists.
    """
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg  # imported here only: the pip-only fallback

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        if exe and os.path.isfile(exe):
            return exe
    except Exception:  # not installed, or no binary for this platform
        pass
    raise ClipError("ffmpeg not found: install ffmpeg (e.g. apt install ffmpeg) or "
                    "pip install imageio-ffmpeg")


def find_ffplay() -> str | None:
    """The ffplay on PATH, or beside the ffmpeg in use, or None."""
    found = shutil.which("ffplay")
    if found:
        return found
    try:
        ffmpeg = Path(find_ffmpeg())
    except ClipError:
        return None
    candidate = ffmpeg.with_name("ffplay" + ffmpeg.suffix)
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def play_command(path: Path, start: float = 0.0, end: float | None = None) -> list[str] | None:
    """The command that plays ``path`` from ``start`` (to ``end``) without a window.

    Returns:
        The argument list, or None when no ffplay is installed.
    """
    ffplay = find_ffplay()
    if ffplay is None:
        return None
    cmd = [ffplay, "-hide_banner", "-loglevel", "error", "-nodisp", "-autoexit",
           "-ss", f"{max(0.0, start):.3f}"]
    if end is not None and end > start:
        cmd += ["-t", f"{end - max(0.0, start):.3f}"]
    return cmd + [str(path)]


@lru_cache(maxsize=8)
def _encoders(ffmpeg: str) -> frozenset[str]:
    try:
        out = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True,
                             text=True, timeout=30, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise ClipError(f"cannot run {ffmpeg}: {e}") from None
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] == "A":
            names.add(parts[1])
    return frozenset(names)


def _codec_for(fmt: str, ffmpeg: str) -> str:
    enc = _encoders(ffmpeg)
    wanted = {"ogg": ("libopus", "libvorbis"), "mp3": ("libmp3lame",),
              "wav": ("pcm_s16le",)}[fmt]
    for codec in wanted:
        if codec in enc:
            return codec
    raise ClipError(f"this ffmpeg ({ffmpeg}) cannot encode {fmt}: it lacks "
                    + " and ".join(wanted))


def _pydub(ffmpeg: str) -> Any:
    with warnings.catch_warnings():
        # pydub warns at import when no ffmpeg is on PATH, and Python 3.11 warns that its
        # audioop is deprecated; neither matters once the converter is set below.
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
    AudioSegment.converter = ffmpeg
    return AudioSegment


def _decode_window(ffmpeg: str, source: Path, start: float, length: float, channels: int,
                   rate: int) -> bytes:
    """Signed 16-bit PCM of ``length`` seconds from ``start`` (accurate seek: decode+discard)."""
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
           "-ss", f"{start:.6f}", "-i", str(source), "-t", f"{length:.6f}",
           "-map", "0:a:0", "-vn", "-f", "s16le", "-acodec", "pcm_s16le",
           "-ac", str(channels), "-ar", str(rate), "pipe:1"]
    try:
        proc = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        raise ClipError(f"{source.name}: ffmpeg failed: {e}") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ClipError(f"{source.name}: cannot decode: {msg[-1] if msg else proc.returncode}")
    return proc.stdout


def _check_range(start: float, end: float, padding: float) -> tuple[float, float, float]:
    try:
        start, end, padding = float(start), float(end), float(padding)
    except (TypeError, ValueError):
        raise ClipError(f"bad clip range {start!r}-{end!r} (padding {padding!r})") from None
    if not all(math.isfinite(x) for x in (start, end, padding)):
        raise ClipError(f"bad clip range {start!r}-{end!r} (padding {padding!r})")
    if start < 0 or end <= start:
        raise ClipError(f"bad clip range {start:.3f}-{end:.3f}: need 0 <= start < end")
    if end - start > MAX_CLIP:
        raise ClipError(f"clip of {end - start:.0f} s is too long (at most {MAX_CLIP:.0f} s)")
    if padding < 0:
        raise ClipError(f"bad padding {padding}: must be >= 0")
    return start, end, padding


def export_clip(source: Path, start: float, end: float, dest: Path, *, padding: float = 1.0,
                fmt: str = "ogg", metadata: Mapping[str, str] | None = None) -> ClipResult:
    """Cut ``[start - padding, end + padding]`` out of a recording and encode it.

    The padding is clamped to the recording's bounds. The clip is written to a temporary
    file beside ``dest``, synced, then renamed into place, so ``dest`` is either complete or
    absent.

    Args:
        source: The original recording.
        start: Start of the quote, seconds.
        end: End of the quote, seconds.
        dest: Clip file to write; its suffix must suit ``fmt``. Parent folders are created.
        padding: Seconds of context on each side.
        fmt: ``ogg`` (Opus, or Vorbis when ffmpeg lacks libopus), ``mp3`` or ``wav``.
        metadata: Tags written into the clip (``title``, ``comment``...).

    Returns:
        What was written.

    Raises:
        ClipError: Bad range (including one longer than :data:`MAX_CLIP`), format or tag,
            unreadable source, or an unwritable destination.
    """
    source, dest = Path(source), Path(dest)
    if fmt not in FORMATS:
        raise ClipError(f"unknown clip format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if dest.suffix.lower() not in FORMATS[fmt]:
        raise ClipError(f"{dest.name}: a {fmt} clip needs the suffix {FORMATS[fmt][0]}")
    start, end, padding = _check_range(start, end, padding)
    tags = {str(k): str(v) for k, v in (metadata or {}).items()}
    for k, v in tags.items():
        if not _TAG_KEY.match(k) or "\x00" in v:
            raise ClipError(f"bad clip tag {k!r}")
    ffmpeg = find_ffmpeg()
    codec = _codec_for(fmt, ffmpeg)
    try:
        info = probe(source)
    except ArchiveError as e:
        raise ClipError(f"cannot cut a clip: {e}") from None
    total = info.duration if info.duration > 0 else math.inf
    if start >= total:
        raise ClipError(f"clip start {start:.3f} s is past the end of {source.name} "
                        f"({total:.3f} s)")
    if end > total + END_TOLERANCE:
        raise ClipError(f"clip end {end:.3f} s is past the end of {source.name} "
                        f"({total:.3f} s)")
    end = min(end, total)
    channels = 1 if info.channels <= 1 else 2
    rate = info.sample_rate or 48000
    padded_start = max(0.0, start - padding)
    want = min(end + padding, total) - padded_start
    pcm = _decode_window(ffmpeg, source, padded_start, want, channels, rate)

    AudioSegment = _pydub(ffmpeg)
    seg = AudioSegment(data=pcm[: len(pcm) - len(pcm) % (2 * channels)], sample_width=2,
                       frame_rate=rate, channels=channels)
    seg = seg[: int(round(want * 1000))]  # the ms edge: trim any frame ffmpeg ran over
    got = seg.frame_count() / rate
    if start >= padded_start + got:
        raise ClipError(f"clip start {start:.3f} s is past the audio of {source.name}")
    padded_end = padded_start + got

    # pydub gives the window as WAV in memory; ffmpeg encodes it straight into a temporary
    # file beside dest. pydub's own export is not used: it stages the audio in two
    # NamedTemporaryFile(delete=False) in $TMPDIR and leaves both behind when ffmpeg fails,
    # which would scatter copies of confidential recordings.
    wav = io.BytesIO()
    seg.export(wav, format="wav")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.close(fd)
    except OSError as e:
        raise ClipError(f"cannot write in {dest.parent}: {e.strerror or e}") from None
    try:
        os.chmod(tmp, _FILE_MODE)
        _encode(ffmpeg, wav.getvalue(), Path(tmp), fmt, codec, tags)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        digest = sha256_path(Path(tmp))
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ClipError(f"cannot write {dest}: {e.strerror or e}") from None
        raise
    return ClipResult(dest, round(padded_start, 6), round(padded_end, 6), round(got, 6), digest,
                      float(start), float(end), float(padding), fmt, codec, source)


def _encode(ffmpeg: str, wav: bytes, out: Path, fmt: str, codec: str,
            tags: Mapping[str, str]) -> None:
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "wav", "-i", "pipe:0",
           "-map_metadata", "-1", "-c:a", codec, *_CODEC_OPTIONS[codec]]
    for k, v in tags.items():
        cmd += ["-metadata", f"{k}={v}"]
    cmd += [*_BITEXACT, "-f", fmt, str(out)]
    try:
        proc = subprocess.run(cmd, input=wav, capture_output=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        raise ClipError(f"cannot encode {fmt} clip: {e}") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ClipError(f"cannot encode {fmt} clip: {msg[-1] if msg else proc.returncode}")


def manifest_path(clip_path: Path) -> Path:
    """Where a clip's manifest lives: ``<clip file name>.json`` beside it."""
    clip_path = Path(clip_path)
    return clip_path.with_name(clip_path.name + ".json")


def write_manifest(clip: ClipResult, *, parent_sha256: str, recording_title: str,
                   quote: str | None = None, speaker: str | None = None,
                   revision: int | None = None, words: str | None = None,
                   created: str | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write the clip's sidecar JSON manifest atomically.

    Args:
        clip: The exported clip.
        parent_sha256: SHA-256 of the original recording (its id).
        recording_title: Title of the recording.
        quote: The quote as searched or published.
        speaker: Speaker display name.
        revision: Transcript revision the offsets come from.
        words: The transcript's words over the quote.
        created: ISO 8601 time to record; now (UTC) when None.
        extra: More JSON-serialisable fields, kept under ``extra``.

    Returns:
        The manifest's path.

    Raises:
        ClipError: If the manifest cannot be written.
        DiskFull: If the disk fills up.
        ArchiveReadOnly: If the folder cannot be written.
    """
    doc: dict[str, Any] = {
        "manifest_format": MANIFEST_FORMAT,
        "clip": {"file": clip.path.name, "sha256": clip.sha256, "format": clip.format,
                 "codec": clip.codec, "duration": round(clip.duration, 3)},
        "parent": {"sha256": parent_sha256, "title": recording_title, "revision": revision},
        "quote": quote,
        "words": words,
        "speaker": speaker,
        "requested": {"start": round(clip.requested_start, 3),
                      "end": round(clip.requested_end, 3)},
        "padded": {"start": round(clip.start, 3), "end": round(clip.end, 3),
                   "padding": clip.padding},
        "created": created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tool": {"name": "archive", "version": __version__},
    }
    if extra:
        doc["extra"] = dict(extra)
    path = manifest_path(clip.path)
    try:
        data = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    except (TypeError, ValueError) as e:
        raise ClipError(f"manifest is not JSON-serialisable: {e}") from None
    try:
        atomic_write_bytes(path, data, mode=_FILE_MODE)
    except OSError as e:
        raise ClipError(f"cannot write {path}: {e.strerror or e}") from None
    return path
