"""Naming and merging speakers, written as new transcript revisions.

Names are part of the transcript, so the machine's labels are never lost and the custody log
says who named whom; the pure computation is :mod:`archive.speakers.naming`.
"""

from __future__ import annotations

from typing import Any, Callable

from ..evidence.store import CustodyLog, Store
from ..models import Transcript
from ..speakers.naming import SUGGEST_THRESHOLD, VoiceMatch, find_speaker, matches, merged, renamed
from .revisions import write_revision


def rename(store: Store, index_factory: Callable[[], Any], custody: CustodyLog,
           rid: str, who: str, name: str | None, *, recover: Any = None,
           on_wait: Any = None) -> tuple[Transcript, list[VoiceMatch]]:
    """Name a speaker (new revision); returns it and likely same-voice speakers elsewhere
    that do not carry that name yet (suggestions only, nothing applied)."""
    t = store.read_transcript(rid)
    sp, speakers = renamed(t, who, name)
    new = write_revision(store, index_factory, custody, t, t.segments, speakers,
                         event="speaker-rename",
                         note=f"{sp.label} named {sp.name!r}" if sp.name
                         else f"{sp.label} name removed",
                         details={"speaker": sp.label, "name": sp.name},
                         recover=recover, on_wait=on_wait)
    suggestions = []
    if sp.name and sp.voiceprint:
        for m in matches(store, new, sp.label):
            if m.score >= SUGGEST_THRESHOLD and (m.speaker.name or "") != sp.name:
                suggestions.append(m)
    return new, suggestions


def merge(store: Store, index_factory: Callable[[], Any], custody: CustodyLog, rid: str,
          src: str, dst: str, *, recover: Any = None, on_wait: Any = None) -> Transcript:
    """Fold speaker ``src`` into ``dst`` (they are one person) as a new revision."""
    t = store.read_transcript(rid)
    a, b = find_speaker(t, src), find_speaker(t, dst)
    segs, speakers = merged(t, src, dst)
    return write_revision(store, index_factory, custody, t, segs, speakers,
                          event="speaker-merge", note=f"{a.label} merged into {b.label}",
                          details={"from": a.label, "into": b.label},
                          recover=recover, on_wait=on_wait)
