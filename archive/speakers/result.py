"""What diarization finds: speaker turns, overlapped speech, and how sure each frame is.

Plain values shared by :mod:`archive.speakers.diarize` (which makes them) and
:mod:`archive.speakers.assign` (which lays them on a transcript's words).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np


@dataclass(frozen=True)
class Turn:
    """A stretch of time attributed to one speaker."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Frames:
    """Frame-by-frame speaker posteriors over the speech regions (50 ms frames).

    Attributes:
        starts: Frame starts, seconds, in time order.
        ends: Frame ends, seconds.
        labels: The speaker label of each column of ``posterior``.
        posterior: (frames, speakers) probabilities; each row sums to 1.
    """

    starts: np.ndarray
    ends: np.ndarray
    labels: tuple[str, ...]
    posterior: np.ndarray

    def confidence(self, start: float, end: float, label: str) -> float | None:
        """Mean posterior of ``label`` over the frames overlapping [start, end], weighted by
        overlap; the nearest frame within 0.3 s when none overlaps; None when none is near
        or the label is unknown."""
        if label not in self.labels or not len(self.starts):
            return None
        col = self.labels.index(label)
        lo = int(np.searchsorted(self.ends, start, side="right"))
        hi = int(np.searchsorted(self.starts, end, side="left"))
        if hi > lo:
            w = np.minimum(self.ends[lo:hi], end) - np.maximum(self.starts[lo:hi], start)
            w = np.maximum(w, 1e-6)
            return float(np.sum(self.posterior[lo:hi, col] * w) / np.sum(w))
        near = [i for i in (lo - 1, lo) if 0 <= i < len(self.starts)]
        dist = [max(self.starts[i] - end, start - self.ends[i]) for i in near]
        if not near or min(dist) > 0.3:
            return None
        return float(self.posterior[near[int(np.argmin(dist))], col])


@dataclass(frozen=True)
class Diarization:
    """Result of diarization.

    Attributes:
        turns: Turns in time order (they may overlap only for per-channel recordings).
        voiceprints: Speaker label -> L2-normalised mean embedding.
        method: How the turns were found: ``ge2e-spectral`` or ``channels``.
        overlaps: Stretches where a second voice was heard over the turn's speaker; each
            is labelled with that second voice.
        frames: Frame posteriors, for each word's speaker confidence (None: certain by
            construction, as for one party per channel).
        settings: The options and seeds that shaped the result, for the transcript.
    """

    turns: tuple[Turn, ...]
    voiceprints: Mapping[str, tuple[float, ...]]
    method: str
    overlaps: tuple[Turn, ...] = ()
    frames: Frames | None = field(default=None, compare=False, repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def speakers(self) -> tuple[str, ...]:
        """Speaker labels in order of first appearance."""
        return tuple(dict.fromkeys(t.speaker for t in self.turns))
