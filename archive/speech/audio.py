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
from typing import Any, Iterator, Mapping

import numpy as np

from ..errors import (ArchiveError, AudioDecodeError, AudioTooLong, AudioTooShort, InputError,
                      UnsupportedFormat, UsageError)
from ..models import Recording
from . import ogg

SAMPLE_RATE = 16000

#: Extensions accepted by ``add`` (audio, and the audio track of video containers).
AUDIO_EXTENSIONS = frozenset({
    ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp3", ".wav", ".flac", ".amr", ".webm",
    ".mp4", ".mov", ".3gp", ".wma", ".mka",
})

#: Shortest recording worth transcribing, in seconds.
MIN_DURATION = 0.3
#: Longest recording one add accepts by default, in seconds (``--max-duration``).
MAX_DURATION = 12 * 3600.0
#: Native sample rates outside this range are not speech audio (a 1 Hz WAV would take
#: minutes to resample into hours of nothing).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4000, 768000
#: The buffer is sized from the container's claim only up to this many seconds.
_PREALLOC = 2 * 3600.0
#: A timestamp jump larger than this is a broken timestamp, not lost audio: not filled.
_MAX_FILL = 600.0
#: Containers whose announced duration comes from the stream itself, not from a bitrate guess.
_RELIABLE = ("ogg", "flac", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "asf")
#: Raw elementary streams: their packets are timed by counting frames.
_RAW = ("mp3", "aac", "ac3", "eac3", "amr", "mp2")


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


def describe(seconds: float) -> str:
    """A duration for a message: ``90.0 s``, ``10.0 min`` or ``24.0 h``."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


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


def _check_rate(rate: int, shown: str) -> None:
    if rate and not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioDecodeError(f"{shown}: a sample rate of {rate} Hz is not speech audio "
                               f"(accepted: {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)")


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
    except MemoryError:
        raise
    except Exception as e:  # PyAV raises many FFmpeg error classes
        raise AudioDecodeError(f"{shown}: not a readable audio file ({_short(e)})") from None
    _check_rate(info.sample_rate, shown)
    return info


def _short(e: BaseException) -> str:
    # FFmpeg errors carry the path in str(e); strerror alone is the reason.
    text = getattr(e, "strerror", None) or (str(e).splitlines() or [""])[0] \
        or type(e).__name__
    return str(text)[:120]


class _Sink:
    """One growing float32 buffer, checked against the maximum duration as it grows."""

    def __init__(self, ch: int, expected: float | None, limit: float, shown: str) -> None:
        self.ch, self.limit, self.shown = ch, limit, shown
        self.max_n = int(min(limit, 1e8) * SAMPLE_RATE)
        first = min(expected or 0.0, _PREALLOC, limit) + 1.0
        self.buf = np.empty((ch, max(int(first * SAMPLE_RATE), SAMPLE_RATE * 60)), np.float32)
        self.n = 0

    @property
    def seconds(self) -> float:
        return self.n / SAMPLE_RATE

    def _room(self, m: int) -> None:
        if self.n + m > self.max_n:
            raise AudioTooLong(
                f"{self.shown}: longer than the maximum of {describe(self.limit)} (raise it "
                "with --max-duration); nothing was added")
        if self.n + m > self.buf.shape[1]:
            size = min(max(2 * self.buf.shape[1], self.n + m), self.max_n)
            grown = np.empty((self.ch, size), dtype=np.float32)
            grown[:, :self.n] = self.buf[:, :self.n]
            self.buf = grown

    def write(self, arr: np.ndarray) -> None:
        m = arr.shape[-1]
        self._room(m)
        np.multiply(arr.reshape(self.ch, m), 1 / 32768.0, out=self.buf[:, self.n:self.n + m],
                    casting="unsafe")
        self.n += m

    def silence(self, seconds: float) -> None:
        m = int(round(seconds * SAMPLE_RATE))
        self._room(m)
        self.buf[:, self.n:self.n + m] = 0.0
        self.n += m

    def result(self) -> np.ndarray:
        # Keep a view when the unused tail is small; copy rather than hold a large slack.
        buf, n = self.buf, self.n
        self.buf = np.empty((self.ch, 0), np.float32)
        return buf[:, :n] if buf.shape[1] - n < SAMPLE_RATE * 60 else buf[:, :n].copy()


def _packets(c: Any, s: Any, av: Any) -> Iterator[Any]:
    """The stream's packets; None for each demuxing error (reading goes on after it, as
    FFmpeg resyncs on the next packet it can find), until errors repeat without progress."""
    failures = 0
    while failures < 8:
        try:
            for pkt in c.demux(s):
                failures = 0
                yield pkt
            return
        except (av.error.FFmpegError, ValueError, OSError) as e:
            if isinstance(e, av.error.EOFError):
                return
            failures += 1
            yield None


def _is_tag(data: bytes) -> bool:
    # Joined MP3 files carry their ID3/APE tags mid-stream: not audio, nothing lost.
    return data[:3] in (b"ID3", b"TAG") or data[:8] == b"APETAGEX"


class _Link:
    """Decodes one container (a file, or one link of a chained Ogg file) into a sink."""

    def __init__(self, sink: _Sink, layout: str, gaps: list[list[float]], shown: str) -> None:
        self.sink, self.layout, self.gaps, self.shown = sink, layout, gaps, shown
        self.resampler: Any = None
        self.key: tuple[Any, ...] | None = None

    def gap(self, start: float, end: float) -> None:
        if self.gaps and start - self.gaps[-1][1] < 0.05:
            self.gaps[-1][1] = max(self.gaps[-1][1], end)
        else:
            self.gaps.append([start, end])

    def _emit(self, frame: Any, av: Any) -> None:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        if key != self.key:
            self._flush()
            _check_rate(frame.sample_rate, self.shown)
            # Planar: each frame is (channels, samples), written straight into channel rows.
            self.resampler = av.audio.resampler.AudioResampler(
                format="s16p", layout=self.layout, rate=SAMPLE_RATE)
            self.key = key
        for out in self.resampler.resample(frame):
            self.sink.write(out.to_ndarray())

    def _flush(self) -> None:
        if self.resampler is not None:
            for out in self.resampler.resample(None):
                self.sink.write(out.to_ndarray())
            self.resampler, self.key = None, None

    def run(self, src: Any, stream: int, av: Any) -> int:
        """Decode ``src`` (a path or file object); returns the audio stream count."""
        with av.open(src, mode="r", metadata_errors="ignore") as c:
            streams = [s for s in c.streams if s.type == "audio"]
            if not streams:
                raise AudioDecodeError(f"{self.shown}: no audio stream")
            s = streams[min(stream, len(streams) - 1)]
            # Raw streams (MP3, ADTS...) time packets by counting the frames that parse, so
            # a lost stretch shows only in its bytes; containers time packets themselves.
            self.raw = c.format.name in _RAW
            tb = float(s.time_base) if s.time_base else 0.0
            zero = s.start_time * tb if s.start_time is not None and tb else None
            base = self.sink.seconds
            self.shift: float | None = None  # time line position = frame time + shift
            self.lost = self.unknown = self.resync = False
            self.lost_bytes, self.lost_time, self.ok_bytes, self.ok_time = 0, 0.0, 0, 0.0
            for pkt in _packets(c, s, av):
                if pkt is None:  # a demuxing error: data skipped, its length unknown
                    self.lost = self.unknown = True
                    continue
                try:
                    frames = pkt.decode()
                except (av.error.FFmpegError, ValueError) as e:
                    if isinstance(e, av.error.EOFError):
                        continue
                    if pkt.size and _is_tag(bytes(pkt)):
                        self.resync = True  # its time slot held no audio: nothing lost
                        continue
                    self.lost = True
                    self.lost_bytes += pkt.size
                    self.lost_time += pkt.duration * tb if pkt.duration and tb else 0.0
                    continue
                for fr in frames:
                    t = fr.pts * float(fr.time_base) if fr.pts is not None and fr.time_base \
                        else None
                    if self.shift is None:
                        ref = zero if zero is not None and t is not None and \
                            0 <= t - zero <= _MAX_FILL else t
                        self.shift = base - (ref or 0.0)
                    self._place(t)
                    try:
                        self._emit(fr, av)
                    except (av.error.FFmpegError, ValueError) as e:
                        raise AudioDecodeError(f"{self.shown}: cannot convert the audio "
                                               f"({_short(e)})") from None
                    self.ok_time += fr.samples / fr.sample_rate if fr.sample_rate else 0.0
                self.ok_bytes += pkt.size if frames else 0
            self._flush()
            if self.lost:  # the stream ended in damage
                now = self.sink.seconds
                self.gap(now, now + min(self._estimate(), _MAX_FILL))
            return len(streams)

    def _estimate(self) -> float:
        """Seconds held by the packets lost since the last good frame."""
        by_bytes = self.lost_bytes * self.ok_time / self.ok_bytes \
            if self.raw and self.ok_bytes else 0.0
        return max(self.lost_time, by_bytes)

    def _place(self, t: float | None) -> None:
        """Before a decoded frame at time ``t``: fill lost time with silence, as a gap."""
        now = self.sink.seconds
        assert self.shift is not None
        jump = t + self.shift - now if t is not None else 0.0
        fill = 0.0
        if jump > _MAX_FILL:  # a broken timestamp: where the audio resumes is unknown
            self.gap(now, now)
        elif self.lost:
            fill = min(max(jump, self._estimate()), _MAX_FILL)
        elif self.resync:
            pass
        elif jump > 0.03:  # a stretch missing without an error (a page dropped)
            fill = jump
        if fill >= 0.02:
            self.gap(now, now + fill)
            self.sink.silence(fill)
        elif self.unknown:
            self.gap(now, now)
        if t is not None and (fill or self.lost or self.resync or jump > _MAX_FILL
                              or jump < -0.1):
            self.shift = self.sink.seconds - t  # overlapping times too: go on from here
        self.lost = self.unknown = self.resync = False
        self.lost_bytes, self.lost_time = 0, 0.0


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
    sink = _Sink(2 if stereo else 1, expected, max_duration, shown)
    gaps: list[list[float]] = []
    with open(p, "rb") as f:
        magic = f.read(4)
    spans = ogg.links(p) if magic == b"OggS" else [(0, 0)]
    first_error: BaseException | None = None
    for k, (a, b) in enumerate(spans):
        link = _Link(sink, "stereo" if stereo else "mono", gaps, shown)
        start = sink.seconds
        try:
            if len(spans) == 1:
                link.run(str(p), stream, av)
            else:
                with open(p, "rb") as f:
                    link.run(ogg.Window(f, a, b), stream, av)
        except (ArchiveError, MemoryError) as e:
            if isinstance(e, AudioDecodeError) and k > 0 and "sample rate" not in str(e):
                link.gap(start, start)
                continue
            raise
        except Exception as e:  # FFmpeg's many error classes: this link is unreadable
            if k == 0 and not sink.n:
                first_error = e
            link.gap(start, sink.seconds)
            if len(spans) == 1:
                break
    if not sink.n:
        why = f" ({_short(first_error)})" if first_error is not None else ""
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
