"""Quote offsets on synthetic calls: LibriSpeech utterances concatenated with pauses, so the
true start of every utterance is known exactly. Searching an utterance's first words must
land within 0.2 s of its true start for at least 95% of utterances.

The words searched for come from transcribing the first seconds of each utterance on its own
(so they are independent of the call's transcript); the call itself is added with `archive add`.
"""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np
import pytest

from archive.ingest.pipeline import AddOptions
from archive.library import Archive

synth = pytest.importorskip("tests.helpers.synth")

SEEDS = (101, 202, 303)  # not the seeds diarization was tuned on
HEAD = 4.0  # seconds of an utterance transcribed alone: about eight words, enough to search six


def _wav(path: Path, x: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.mark.slow
def test_first_words_of_each_utterance_land_on_its_true_start(tmp_path: Path):
    if not synth.available():
        pytest.skip("../shared/audio/librispeech is absent")
    from archive.speech import transcribe
    model = transcribe.resolve_model(None)
    a = Archive.init(tmp_path / "arch")
    errors: list[float] = []
    missed: list[str] = []
    for seed in SEEDS:
        call = synth.make_call(seed, n_speakers=2 + seed % 2, n_turns=6)
        rec = a.add(_wav(tmp_path / f"call{seed}.wav", call.audio),
                    AddOptions(title=f"call {seed}", model="base"))
        for u in call.truth:
            head = synth.load_utterance(u.utterance_id).audio[:int(HEAD * 16000)]
            alone = transcribe.transcribe(head, model)
            first = [w for w in re.findall(r"[\w']+", alone.text)][:3]
            if len(first) < 2:
                continue
            phrase = '"' + " ".join(first) + '"'
            hits = a.search(f"recording:{rec.id[:12]} {phrase}", limit=10)
            if not hits:  # recognised differently in context: a quote search still finds it
                hits = [h for h in a.quote(" ".join(first + alone.text.split()[3:6]), limit=10)
                        if h.recording_id == rec.id]
            if not hits:
                missed.append(f"{seed}:{u.utterance_id} {' '.join(first)}")
                continue
            best = min(hits[:3], key=lambda h: abs(h.start - u.start))
            errors.append(abs(best.start - u.start))
            if errors[-1] > 0.2:
                missed.append(f"{seed}:{u.utterance_id} {' '.join(first)!r} at {u.start:.2f} "
                              f"found {best.text!r} at {best.start:.2f}")
    n = len(errors) + sum("found" not in m for m in missed)
    within = sum(e <= 0.2 for e in errors)
    assert n >= 15
    assert within / n >= 0.95, (within, n, missed)
