"""Speech energy of a recording: levels of 10 ms frames and the local noise floor under them.

Energy is measured in 10 ms frames above 150 Hz (hum and rumble count less; fricatives stay),
against a noise floor that follows the recording (low percentile over a few seconds). Both
:mod:`archive.speech.refine` (word edges) and :mod:`archive.speech.screen` (text over silence) read speech
from this envelope. numpy only.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
#: Frame hop of the energy envelope, seconds.
FRAME = 0.01
_FLOOR_DB = -120.0

#: Noise floors below this (digital silence) are raised to it, dBFS: -80 dBFS is not speech.
MIN_FLOOR_DB = -75.0


def frame_levels(audio: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Energy of 10 ms frames above 150 Hz, in dB relative to full scale.

    Args:
        audio: Mono samples at ``sample_rate``.
        sample_rate: Sampling rate in Hz.

    Returns:
        One level per frame (frame ``i`` covers ``[i * FRAME, (i + 1) * FRAME)``), at least
        -120 dB.
    """
    hop = int(sample_rate * FRAME)
    n = len(audio) // hop
    out = np.full(n, _FLOOR_DB)
    window = np.hanning(hop)
    freqs = np.fft.rfftfreq(hop, 1 / sample_rate)
    band = (freqs >= 150) & (freqs <= 7800)
    # The window halves the power; scale so a full-scale sine in band reads about -3 dB.
    scale = 2.0 / (hop * np.sum(window ** 2))
    step = 6000  # frames per chunk: keeps memory flat on hour-long recordings
    for a in range(0, n, step):
        b = min(n, a + step)
        frames = np.asarray(audio[a * hop:b * hop], dtype=np.float64).reshape(b - a, hop)
        power = (np.abs(np.fft.rfft(frames * window, axis=1)) ** 2)[:, band].sum(axis=1)
        out[a:b] = np.maximum(10 * np.log10(power * scale + 1e-12), _FLOOR_DB)
    return out


def noise_floor(levels: np.ndarray, *, block: float = 1.0, span: float = 3.0) -> np.ndarray:
    """Local noise floor per frame: the quietest 1 s block's 10th percentile within ±3 s.

    Args:
        levels: From :func:`frame_levels`.
        block: Block length, seconds.
        span: Half-width of the neighbourhood searched, seconds.
    """
    n = len(levels)
    if n == 0:
        return levels.copy()
    per = max(1, int(round(block / FRAME)))
    nb = -(-n // per)
    padded = np.concatenate([levels, np.full(nb * per - n, np.nan)])
    blocks = np.nanpercentile(padded.reshape(nb, per), 10, axis=1)
    k = int(round(span / block))
    lo = np.array([blocks[max(0, i - k):i + k + 1].min() for i in range(nb)])
    return np.repeat(lo, per)[:n]
