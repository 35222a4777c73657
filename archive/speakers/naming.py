"""Who said it: the pure side of naming, merging and matching speakers across recordings.

:func:`renamed` and :func:`merged` compute a transcript's new speakers; writing them as a new
revision is :mod:`archive.editing.speakers`. Voice matches elsewhere are only ever
*suggested* (:func:`matches`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import SpeakerNotFound, UsageError
from ..models import Recording, Speaker, Transcript
from ..text import strip_bidi
from ..evidence.store import Store

#: Cosine similarity of GE2E voiceprints above which another recording's speaker is
#: suggested as the same voice (same-speaker pairs on LibriSpeech score ~0.8–0.9,
#: different speakers ~0.5–0.75).
SUGGEST_THRESHOLD = 0.80


@dataclass(frozen=True)
class VoiceMatch:
    """A speaker in another recording, ranked by voice similarity.

    Attributes:
        recording: The other recording.
        speaker: The speaker there.
        score: Cosine similarity of the voiceprints, -1..1.
    """

    recording: Recording
    speaker: Speaker
    score: float


def find_speaker(t: Transcript, who: str) -> Speaker:
    """The speaker with this label (``S1``) or name (case-insensitive).

    Raises:
        SpeakerNotFound: If none matches, or a name matches several speakers.
    """
    for sp in t.speakers:
        if sp.label.lower() == who.strip().lower():
            return sp
    named = [sp for sp in t.speakers if sp.name and sp.name.casefold() == who.strip().casefold()]
    if len(named) == 1:
        return named[0]
    labels = ", ".join(sp.display for sp in t.speakers) or "none"
    if len(named) > 1:
        raise SpeakerNotFound(f"{who!r} names several speakers; use a label ({labels})")
    raise SpeakerNotFound(f"no speaker {who!r} in {t.recording.short_id} (speakers: {labels})")


def _clean_name(name: str) -> str:
    name = strip_bidi(name)  # U+202E and kin would make the name read reversed everywhere
    n = " ".join(name.split())
    if not n or len(n) > 80 or any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c in "\u2028\u2029"
                                   for c in name):
        raise UsageError("a speaker name must be 1–80 printable characters")
    return n


def renamed(t: Transcript, who: str, name: str | None) -> tuple[Speaker, tuple[Speaker, ...]]:
    """The speakers of ``t`` with one (re)named; ``name`` None removes the name."""
    sp = find_speaker(t, who)
    new = replace(sp, name=_clean_name(name) if name is not None else None)
    return new, tuple(new if s.label == sp.label else s for s in t.speakers)


def merged(t: Transcript, src: str, dst: str) -> tuple[tuple, tuple[Speaker, ...]]:
    """Segments and speakers of ``t`` with speaker ``src`` folded into ``dst``."""
    a, b = find_speaker(t, src), find_speaker(t, dst)
    if a.label == b.label:
        raise UsageError("cannot merge a speaker into itself")
    segs = tuple(replace(s, speaker=b.label,
                         words=tuple(replace(w, speaker=b.label) if w.speaker == a.label else w
                                     for w in s.words))
                 if s.speaker == a.label else s for s in t.segments)
    va, vb = np.asarray(a.voiceprint), np.asarray(b.voiceprint)
    vp = b.voiceprint
    if va.size and vb.size and va.shape == vb.shape:
        v = va * a.talk_time + vb * b.talk_time
        n = np.linalg.norm(v)
        vp = tuple(float(x) for x in (v / n)) if n > 0 else b.voiceprint
    turns, prev = 0, None
    for s in segs:
        if s.speaker == b.label and prev != b.label:
            turns += 1
        prev = s.speaker
    joined = replace(b, talk_time=a.talk_time + b.talk_time, turns=turns, voiceprint=vp,
                     name=b.name or a.name)
    speakers = tuple(joined if s.label == b.label else s for s in t.speakers
                     if s.label != a.label)
    return segs, speakers


def matches(store: Store, t: Transcript, who: str, *, limit: int = 10) -> list[VoiceMatch]:
    """Other recordings' speakers ranked by similarity to one speaker's voiceprint."""
    sp = find_speaker(t, who)
    if not sp.voiceprint:
        raise SpeakerNotFound(f"{sp.display} in {t.recording.short_id} has no voiceprint "
                              "(added with --no-diarize?)")
    me = np.asarray(sp.voiceprint, dtype=np.float64)
    me /= np.linalg.norm(me) or 1.0
    out: list[tuple[str, str, float]] = []
    for rid, label, _name, vp in store.voiceprints():
        if rid == t.recording.id or not vp or len(vp) != len(me):
            continue
        v = np.asarray(vp, dtype=np.float64)
        score = float(me @ v / (np.linalg.norm(v) or 1.0))
        out.append((rid, label, score))
    out.sort(key=lambda x: -x[2])
    result = []
    for rid, label, score in out[:limit]:
        other = store.read_transcript(rid)
        s = other.speaker(label)
        if s is not None:
            result.append(VoiceMatch(other.recording, s, score))
    return result
