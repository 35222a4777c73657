"""Probe and decode audio with PyAV (the FFmpeg bindings faster-whisper already uses).

Everything downstream works on 16 kHz float32 numpy arrays; this module is the only one that
opens media containers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from ..errors import AudioDecodeError, AudioTooShort, InputError, UnsupportedFormat

SAMPLE_RATE = 16000

#: Extensions accepted by ``add`` (audio, and the audio track of video containers).
AUDIO_EXTENSIONS = frozenset({
    ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp3", ".wav", ".flac", ".amr", ".webm",
    ".mp4", ".mov", ".3gp", ".wma", ".mka",
})

#: Shortest recording worth transcribing, in seconds.
MIN_DURATION = 0.3


@dataclass(frozen=True)
class Probe:
    """What a media file holds, read without decoding it all.

    Attributes:
        codec: Audio codec name (``opus``, ``aac``...).
        channels: Number of channels of the first audio stream.
        sample_rate: Native sample rate in Hz.
        duration: Duration in seconds (container's estimate).
        container: Container format name.
        tags: Container and stream tags, lower-cased keys.
    """

    codec: str
    channels: int
    sample_rate: int
    duration: float
    container: str
    tags: Mapping[str, str] = field(default_factory=dict)


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


def probe(path: str | os.PathLike[str], *, name: str | None = None) -> Probe:
    """Read codec, channels, rate, duration and tags.

    Args:
        path: Media file.
        name: File name to use in error messages (default: the path's name).

    Raises:
        InputError: If the file is empty or unreadable.
        AudioDecodeError: If it holds no audio stream.
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
            s = streams[0]
            tags = {str(k).lower(): str(v) for k, v in dict(c.metadata).items()}
            for k, v in dict(s.metadata).items():
                tags.setdefault(str(k).lower(), str(v))
            duration = 0.0
            if s.duration is not None and s.time_base is not None:
                duration = float(s.duration * s.time_base)
            elif c.duration is not None:
                duration = c.duration / 1_000_000
            ctx = s.codec_context
            return Probe(codec=ctx.name or "", channels=int(ctx.channels or 0),
                         sample_rate=int(ctx.sample_rate or 0), duration=duration,
                         container=c.format.name, tags=tags)
    except InputError:
        raise
    except PermissionError:
        raise InputError(f"{shown}: permission denied") from None
    except Exception as e:  # PyAV raises many FFmpeg error classes
        raise AudioDecodeError(f"{shown}: not a readable audio file ({_short(e)})") from None


def _short(e: BaseException) -> str:
    # FFmpeg errors carry the path in str(e); strerror alone is the reason.
    text = getattr(e, "strerror", None) or (str(e).splitlines() or [""])[0] \
        or type(e).__name__
    return str(text)[:120]


def _frames(path: str, layout: str) -> Iterator[np.ndarray]:
    av = _av()
    # Planar: each frame is (channels, samples), written straight into per-channel rows.
    resampler = av.audio.resampler.AudioResampler(format="s16p", layout=layout,
                                                  rate=SAMPLE_RATE)
    with av.open(path, mode="r", metadata_errors="ignore") as c:
        for frame in c.decode(audio=0):
            for out in resampler.resample(frame):
                yield out.to_ndarray()
        for out in resampler.resample(None):
            yield out.to_ndarray()


def decode(path: str | os.PathLike[str], *, stereo: bool = False,
           name: str | None = None, expected: float | None = None) -> np.ndarray:
    """Decode to 16 kHz float32.

    The samples are written into one growing float32 buffer, so a two-hour recording needs
    little more than its final array (460 MB mono) rather than several copies of it.

    Args:
        path: Media file.
        stereo: Return shape (2, n) with left and right channels instead of mono (n,).
            Mono sources give two identical channels.
        name: File name to use in error messages (default: the path's name).
        expected: Duration the container announces, in seconds: the buffer is sized for it.

    Returns:
        The samples, in [-1, 1].

    Raises:
        AudioDecodeError: If the audio cannot be decoded.
        AudioTooShort: If it holds less than :data:`MIN_DURATION` seconds.
    """
    p = Path(path)
    shown = name or p.name
    ch = 2 if stereo else 1
    cap = max(int((expected or 0) * SAMPLE_RATE) + SAMPLE_RATE, SAMPLE_RATE * 60)
    buf = np.empty((ch, cap), dtype=np.float32)
    n = 0
    try:
        for arr in _frames(str(p), "stereo" if stereo else "mono"):
            m = arr.shape[-1]
            if n + m > buf.shape[1]:
                grown = np.empty((ch, max(2 * buf.shape[1], n + m)), dtype=np.float32)
                grown[:, :n] = buf[:, :n]
                buf = grown
            np.multiply(arr.reshape(ch, m), 1 / 32768.0, out=buf[:, n:n + m], casting="unsafe")
            n += m
    except Exception as e:
        if not n:
            raise AudioDecodeError(f"{shown}: cannot decode audio ({_short(e)})") from None
        # A truncated tail: keep what decoded, as players do.
    if not n:
        raise AudioDecodeError(f"{shown}: no audio could be decoded")
    # Keep a view when the unused tail is small; copy rather than hold a large slack.
    pcm = buf[:, :n] if buf.shape[1] - n < SAMPLE_RATE * 60 else buf[:, :n].copy()
    del buf
    if not stereo:
        pcm = pcm[0]
    if pcm.shape[-1] < MIN_DURATION * SAMPLE_RATE:
        raise AudioTooShort(f"{shown}: only {pcm.shape[-1] / SAMPLE_RATE:.2f} s of audio; "
                            f"at least {MIN_DURATION} s is needed")
    return pcm


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
