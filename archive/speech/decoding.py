"""The packet loop behind :func:`archive.speech.audio.decode_full`.

A packet that cannot be decoded is skipped as players skip it; the time it held is kept as
silence and reported as a gap, so that every later time still matches the original's. Where
the loss shows: a jump of the frames' timestamps (containers time their packets), or, in raw
streams (MP3, ADTS) that time packets by counting the frames that parse, the bytes lost at
the bitrate seen so far. A change of rate or layout gets a new resampler. Every sample goes
into one growing buffer, checked against the maximum duration as it grows. PyAV is passed
in by audio.py (the one module that imports it).
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ..errors import AudioDecodeError, AudioTooLong

SAMPLE_RATE = 16000
#: Native sample rates outside this range are not speech audio (a 1 Hz WAV would take
#: minutes to resample into hours of nothing).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4000, 768000
#: The buffer is sized from the container's claim only up to this many seconds.
_PREALLOC = 2 * 3600.0
#: A timestamp jump larger than this is a broken timestamp, not lost audio: not filled.
_MAX_FILL = 600.0
#: Raw elementary streams: their packets are timed by counting frames.
_RAW = ("mp3", "aac", "ac3", "eac3", "amr", "mp2")


def describe(seconds: float) -> str:
    """A duration for a message: ``90.0 s``, ``10.0 min`` or ``24.0 h``."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def check_rate(rate: int, shown: str) -> None:
    """Raise AudioDecodeError for a native sample rate that is not speech audio."""
    if rate and not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioDecodeError(f"{shown}: a sample rate of {rate} Hz is not speech audio "
                               f"(accepted: {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)")


def short_error(e: BaseException) -> str:
    """The reason of an FFmpeg error, short and without the path."""
    # FFmpeg errors carry the path in str(e); strerror alone is the reason.
    text = getattr(e, "strerror", None) or (str(e).splitlines() or [""])[0] \
        or type(e).__name__
    return str(text)[:120]


class Sink:
    """One growing float32 buffer, checked against the maximum duration as it grows."""

    def __init__(self, ch: int, expected: float | None, limit: float, shown: str) -> None:
        self.ch, self.limit, self.shown = ch, limit, shown
        self.max_n = int(min(limit, 1e8) * SAMPLE_RATE)
        first = min(expected or 0.0, _PREALLOC, limit) + 1.0
        self.buf = np.empty((ch, max(int(first * SAMPLE_RATE), SAMPLE_RATE * 60)), np.float32)
        self.n = 0

    @property
    def seconds(self) -> float:
        """Seconds written so far: the time line position of the next sample."""
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
        """Append planar int16 samples, shape (channels, m)."""
        m = arr.shape[-1]
        self._room(m)
        np.multiply(arr.reshape(self.ch, m), 1 / 32768.0, out=self.buf[:, self.n:self.n + m],
                    casting="unsafe")
        self.n += m

    def silence(self, seconds: float) -> None:
        """Append ``seconds`` of silence (audio that was lost)."""
        m = int(round(seconds * SAMPLE_RATE))
        self._room(m)
        self.buf[:, self.n:self.n + m] = 0.0
        self.n += m

    def result(self) -> np.ndarray:
        """The samples, shape (channels, n); the sink lets go of its buffer."""
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


class Link:
    """Decodes one container (a file, or one link of a chained Ogg file) into a sink."""

    def __init__(self, sink: Sink, layout: str, gaps: list[list[float]], shown: str) -> None:
        self.sink, self.layout, self.gaps, self.shown = sink, layout, gaps, shown
        self.resampler: Any = None
        self.key: tuple[Any, ...] | None = None

    def gap(self, start: float, end: float) -> None:
        """Record lost audio at ``start..end`` (merged with a gap that ends just before)."""
        if self.gaps and start - self.gaps[-1][1] < 0.05:
            self.gaps[-1][1] = max(self.gaps[-1][1], end)
        else:
            self.gaps.append([start, end])

    def _emit(self, frame: Any, av: Any) -> None:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        if key != self.key:
            self._flush()
            check_rate(frame.sample_rate, self.shown)
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
                    except (av.error.FFmpegError, ValueError):
                        # A frame the resampler cannot take (a damaged layout): lost too.
                        self.resampler, self.key = None, None
                        self.lost = True
                        self.lost_time += fr.samples / fr.sample_rate if fr.sample_rate else 0.0
                        continue
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
