"""Probe and decode audio with PyAV (the FFmpeg bindings faster-whisper already uses).

Everything downstream works on 16 kHz float32 numpy arrays; this module is the only one that
opens media containers. Decoding is done the way players do it: a packet that cannot be
decoded is skipped, and the time it held is kept as silence and reported as a *gap*; a change
of sample rate or channel layout mid-stream gets a new resampler; each link of a chained Ogg
file (voice notes joined with ``cat``) is decoded on its own. Nothing a header announces is
trusted: the buffer grows as samples arrive, and the maximum duration is checked while
decoding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import (ArchiveError, AudioDecodeError, AudioTooShort, InputError,
                      UnsupportedFormat, UsageError)
from ..models import Recording
from . import ogg
from .decoding import (MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, SAMPLE_RATE, Link, Sink,  # noqa: F401
                       check_rate, describe, short_error)

#: Extensions accepted by ``add`` (audio, and the audio track of video containers).
AUDIO_EXTENSIONS = frozenset({
    ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp3", ".wav", ".flac", ".amr", ".webm",
    ".mp4", ".mov", ".3gp", ".wma", ".mka",
})

#: Shortest recording worth transcribing, in seconds.
MIN_DURATION = 0.3
#: Longest recording one add accepts by default, in seconds (``--max-duration``).
MAX_DURATION = 12 * 3600.0
#: Containers whose announced duration comes from the stream itself, not from a bitrate guess.
_RELIABLE = ("ogg", "flac", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "asf")


@dataclass(frozen=True)
class Probe:
    """What a media file holds, read without decoding it all.

    Attributes:
        codec: Audio codec name (``opus``, ``aac``...).
        channels: Number of channels of the audio stream probed.
        sample_rate: Native sample rate in Hz.
        duration: Duration in seconds (container's estimate).
        container: Container format name.
        tags: Container and stream tags, lower-cased keys.
        audio_streams: Number of audio streams in the file.
        stream: Which audio stream this describes (0 = the first).
        duration_reliable: True when ``duration`` is read from the stream (Ogg granule, FLAC
            STREAMINFO, MP4 header, an MP3 Xing/VBRI frame count), not guessed from the
            bitrate or a RIFF size.
    """

    codec: str
    channels: int
    sample_rate: int
    duration: float
    container: str
    tags: Mapping[str, str] = field(default_factory=dict)
    audio_streams: int = 1
    stream: int = 0
    duration_reliable: bool = False


@dataclass(frozen=True)
class Decoded:
    """Decoded samples and what could not be decoded.

    Attributes:
        samples: 16 kHz float32 in [-1, 1], shape (n,) or (2, n).
        gaps: ``(start, end)`` seconds of audio lost to damage, on the samples' time line
            (the lost time is kept as silence, so later times match the original's); a
            gap whose length cannot be known has ``start == end``.
        links: Number of chained streams decoded (1 for an ordinary file).
        stream: The audio stream decoded (0 = the first).
    """

    samples: np.ndarray
    gaps: tuple[tuple[float, float], ...] = ()
    links: int = 1
    stream: int = 0

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return self.samples.shape[-1] / SAMPLE_RATE


def _av():
    import av  # PyAV is imported here only.
    import av.logging
    av.logging.set_level(av.logging.PANIC)
    return av


def check_extension(path: Path) -> None:
    """Raise UnsupportedFormat unless the file's extension is one ``add`` accepts."""
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise UnsupportedFormat(
            f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; accepted: "
            + " ".join(sorted(AUDIO_EXTENSIONS)))


def _mp3_counted_seconds(path: Path) -> float | None:
    """The duration an MP3's Xing, Info or VBRI frame counts, or None if it has none."""
    with open(path, "rb") as f:
        head = f.read(10)
        skip = 0
        if head[:3] == b"ID3" and len(head) == 10:
            skip = 10 + ((head[6] & 127) << 21 | (head[7] & 127) << 14 | (head[8] & 127) << 7
                         | (head[9] & 127))
        f.seek(skip)
        d = f.read(4096)
    i = next((k for k in range(len(d) - 3) if d[k] == 0xFF and d[k + 1] & 0xE0 == 0xE0
              and (d[k + 1] >> 1) & 3 and (d[k + 2] >> 2) & 3 != 3), -1)
    if i < 0:
        return None
    version, layer = (d[i + 1] >> 3) & 3, (d[i + 1] >> 1) & 3  # version 3 = MPEG-1
    rate = (44100, 48000, 32000)[(d[i + 2] >> 2) & 3] >> {3: 0, 2: 1, 0: 2}.get(version, 1)
    spf = 384 if layer == 3 else 1152 if layer == 2 or version == 3 else 576
    frames = None
    x = max(d.find(b"Xing", i, i + 64), d.find(b"Info", i, i + 64))
    if x >= 0 and len(d) >= x + 12 and d[x + 7] & 1:
        frames = int.from_bytes(d[x + 8:x + 12], "big")
    elif d[i + 36:i + 40] == b"VBRI" and len(d) >= i + 54:
        frames = int.from_bytes(d[i + 50:i + 54], "big")
    return frames * spf / rate if frames else None


def probe(path: str | os.PathLike[str], *, name: str | None = None, stream: int = 0) -> Probe:
    """Read codec, channels, rate, duration and tags.

    Args:
        path: Media file.
        name: File name to use in error messages (default: the path's name).
        stream: Which audio stream to describe (0 = the first).

    Raises:
        InputError: If the file is empty or unreadable.
        AudioDecodeError: If it holds no audio stream, or one at an absurd sample rate.
    """
    p = Path(path)
    shown = name or p.name
    try:
        if p.stat().st_size == 0:
            raise InputError(f"{shown}: file is empty")
    except OSError as e:
        raise InputError(f"{shown}: cannot read: {e.strerror or e}") from None
    av = _av()
    try:
        with av.open(str(p), mode="r", metadata_errors="ignore") as c:
            streams = [s for s in c.streams if s.type == "audio"]
            if not streams:
                raise AudioDecodeError(f"{shown}: no audio stream")
            s = streams[min(max(stream, 0), len(streams) - 1)]
            tags = {str(k).lower(): str(v) for k, v in dict(c.metadata).items()}
            for k, v in dict(s.metadata).items():
                tags.setdefault(str(k).lower(), str(v))
            duration = 0.0
            if s.duration is not None and s.time_base is not None:
                duration = float(s.duration * s.time_base)
            elif c.duration is not None:
                duration = c.duration / 1_000_000
            ctx = s.codec_context
            rate = int(ctx.sample_rate or 0)
            fmt = c.format.name
            reliable = duration > 0 and fmt in _RELIABLE
            if duration > 0 and fmt == "mp3":
                # FFmpeg guesses from the bitrate where the Xing count disagrees with the
                # file's size (joined files): only a duration from the count is a claim.
                counted = _mp3_counted_seconds(p)
                reliable = counted is not None and abs(counted - duration) <= max(
                    0.5, 0.02 * counted)
            info = Probe(codec=ctx.name or "", channels=int(ctx.channels or 0),
                         sample_rate=rate, duration=duration, container=fmt, tags=tags,
                         audio_streams=len(streams), stream=streams.index(s),
                         duration_reliable=reliable)
    except ArchiveError:
        raise
    except PermissionError:
        raise InputError(f"{shown}: permission denied") from None
    except MemoryError as e:
        if not isinstance(e, av.error.FFmpegError):
            raise
        # FFmpeg's ENOMEM: a damaged header asked for an absurd allocation, not a full machine
        raise AudioDecodeError(f"{shown}: not a readable audio file (its header asks for more "
                               "memory than any recording needs)") from None
    except Exception as e:  # PyAV raises many FFmpeg error classes
        raise AudioDecodeError(f"{shown}: not a readable audio file ({short_error(e)})") from None
    check_rate(info.sample_rate, shown)
    return info


def decode_full(path: str | os.PathLike[str], *, stereo: bool = False,
                name: str | None = None, expected: float | None = None,
                max_duration: float = MAX_DURATION, stream: int = 0) -> Decoded:
    """Decode to 16 kHz float32, past damage, and say what could not be decoded.

    The samples are written into one growing float32 buffer, so a two-hour recording needs
    little more than its final array (460 MB mono) rather than several copies of it.

    Args:
        path: Media file.
        stereo: Return shape (2, n) with left and right channels instead of mono (n,).
            Mono sources give two identical channels.
        name: File name to use in error messages (default: the path's name).
        expected: Duration the container announces, in seconds: the buffer is sized for it
            (up to two hours; it grows past that as samples arrive).
        max_duration: Refuse the file as soon as it decodes to more than this many seconds.
        stream: Which audio stream to decode (0 = the first).

    Raises:
        AudioDecodeError: If the audio cannot be decoded.
        AudioTooShort: If it holds less than :data:`MIN_DURATION` seconds.
        AudioTooLong: If it holds more than ``max_duration`` seconds.
    """
    p = Path(path)
    shown = name or p.name
    if not max_duration > 0:
        raise UsageError(f"the maximum duration must be a positive number of seconds, not "
                         f"{max_duration!r}")
    av = _av()
    sink = Sink(2 if stereo else 1, expected, max_duration, shown)
    gaps: list[list[float]] = []
    with open(p, "rb") as f:
        magic = f.read(4)
    spans = ogg.links(p) if magic == b"OggS" else [(0, 0)]
    first_error: BaseException | None = None
    for k, (a, b) in enumerate(spans):
        link = Link(sink, "stereo" if stereo else "mono", gaps, shown)
        start = sink.seconds
        try:
            if len(spans) == 1:
                link.run(str(p), stream, av)
            else:
                with open(p, "rb") as f:
                    link.run(ogg.Window(f, a, b), stream, av)
        except Exception as e:
            ours = isinstance(e, ArchiveError)
            if ours or (isinstance(e, MemoryError) and not isinstance(e, av.error.FFmpegError)):
                if isinstance(e, AudioDecodeError) and k > 0 and \
                        "sample rate" not in str(e):
                    link.gap(start, start)
                    continue
                raise
            # FFmpeg's many error classes, its ENOMEM from a damaged header among them: the
            # rest of this link is lost
            if k == 0 and not sink.n:
                first_error = e
            link.gap(sink.seconds, sink.seconds)
            if len(spans) == 1:
                break
    if not sink.n:
        why = f" ({short_error(first_error)})" if first_error is not None else ""
        raise AudioDecodeError(f"{shown}: cannot decode audio{why}" if why
                               else f"{shown}: no audio could be decoded")
    pcm = sink.result()
    if not stereo:
        pcm = pcm[0]
    if pcm.shape[-1] < MIN_DURATION * SAMPLE_RATE:
        raise AudioTooShort(f"{shown}: only {pcm.shape[-1] / SAMPLE_RATE:.2f} s of audio; "
                            f"at least {MIN_DURATION} s is needed")
    return Decoded(pcm, tuple((round(x, 3), round(y, 3)) for x, y in gaps), len(spans),
                   stream)


def decode(path: str | os.PathLike[str], *, stereo: bool = False,
           name: str | None = None, expected: float | None = None,
           max_duration: float = MAX_DURATION, stream: int = 0) -> np.ndarray:
    """Decode to 16 kHz float32 samples in [-1, 1]; see :func:`decode_full` (which also
    reports the gaps that could not be decoded)."""
    return decode_full(path, stereo=stereo, name=name, expected=expected,
                       max_duration=max_duration, stream=stream).samples


def decode_original(path: str | os.PathLike[str], rec: Recording, *,
                    stereo: bool = False) -> np.ndarray:
    """Decode an archived original as it was decoded when it was added: the same audio
    stream, and no lower length limit than the one it passed."""
    return decode(path, stereo=stereo, stream=rec.audio_stream,
                  max_duration=max(MAX_DURATION, rec.duration + 60.0))


def is_distinct_stereo(stereo: np.ndarray, threshold: float = 0.98) -> bool:
    """True when a (2, n) signal's channels carry different content (a call layout).

    Channels that are copies or near-copies of each other (correlation above ``threshold``)
    are treated as mono.
    """
    if stereo.ndim != 2 or stereo.shape[0] != 2:
        return False
    left, right = stereo[0].astype(np.float64), stereo[1].astype(np.float64)
    el, er = float(np.dot(left, left)), float(np.dot(right, right))
    if el < 1e-6 or er < 1e-6:
        return False
    corr = float(np.dot(left, right)) / np.sqrt(el * er)
    return corr < threshold
