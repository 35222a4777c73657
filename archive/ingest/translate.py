"""English translations made after a recording was added (Whisper's translate task).

Decoding and translation run before the write lock is taken, like ``add``; the commit is
journalled, indexed and logged in custody like an edit.
"""

from __future__ import annotations

from typing import Any, Callable

from ..editing.corrections import transcript_sha256
from ..editing.revisions import OnWait, Recover, reindex
from ..evidence.store import CustodyLog, Store
from ..models import Transcript
from .pipeline import Ingest


def translate(store: Store, index_factory: Callable[[], Any], custody: CustodyLog, rid: str, *,
              model: str | None = None, progress: Callable[[float, float], None] | None = None,
              recover: Recover = None, on_wait: OnWait = None) -> Transcript:
    """Make and store the English translation of a recording (Whisper's translate task),
    timed on its own; replaces an earlier translation.

    Raises:
        ModelError: If the model cannot be found (pass ``model``).
        InputError: If the original cannot be decoded.
    """
    from ..speech import audio, transcribe

    t = store.read_transcript(rid)
    pcm = audio.decode_original(store.original_path(t.recording), t.recording)
    if pcm.ndim == 2:
        pcm = pcm.mean(axis=0)
    m = transcribe.resolve_model(model or t.model or None)
    stage = (lambda _s, d, total: progress(d, total)) if progress else None
    tr = Ingest(store, index_factory).translate_audio(pcm, t, m, stage)
    with store.write_lock(on_wait=on_wait):
        if recover is not None:
            recover()
        replaced = store.translation_path(rid).exists()
        journal = store.journal_begin("translate", rid)
        store.write_translation(tr)
        reindex(store, index_factory, store.read_transcript(rid), tr)
        custody.append("translate", rid, model=m.name, model_sha256=m.sha256,
                       source_language=t.language, segments=len(tr.segments),
                       sha256=transcript_sha256(tr), replaced=replaced)
        store.journal_end(journal)
    return tr
