"""The speech-energy envelope: frame levels of a known signal."""

from __future__ import annotations

import numpy as np

from archive.speech.energy import FRAME, frame_levels

SR = 16000


def test_frame_levels_follow_the_signal():
    t = np.arange(SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    x = np.concatenate([np.zeros(SR, np.float32), tone, 0.5 * np.sin(2 * np.pi * 50 * t)])
    lv = frame_levels(x.astype(np.float32))
    assert len(lv) == 300 and FRAME == 0.01
    assert lv[:100].max() <= -100
    assert -12 < np.median(lv[100:200]) < 0  # a loud in-band tone
    assert np.median(lv[200:]) < np.median(lv[100:200]) - 15  # hum counts less
