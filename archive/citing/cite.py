"""Finding a quote and citing it: quote hits, citations, clips and the last search's hits.

Functions here take the archive's store (and index or custody log) rather than an
:class:`~archive.library.Archive`; the facade delegates to them. Nothing heavy is imported
at module level: ``archive search`` and ``archive cite`` load this module, so the quote
aligner and the audio clipper are imported only inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from ..errors import ArchiveError, BadReference, OutputRefused
from ..evidence.fsutil import atomic_write_text
from ..models import Citation, Hit, Transcript, Word, speaker_certainty
from ..validation import loads_strict
from ..paths import cache_dir
from ..evidence.store import CustodyLog, Store
from ..text import clean, safe_json
from ..timecode import hms


# ------------------------------------------------------------------ quotes
def quote_hits(store: Store, index: Any, text: str, *, limit: int = 5,
               min_similarity: float = 0.5) -> list[Hit]:
    """Passages matching a quote as published, even where recognition misheard words.

    Candidates come from the index by the quote's rarer words (fuzzily); each candidate
    recording's words are then aligned with the quote word by word (see quote.py), so
    the hit spans exactly the passage and lists the words that differ.

    Args:
        store: The archive's store, to read candidate transcripts.
        index: The open search index (:class:`archive.search.index.Index`).
        text: The quote.
        limit: Most hits returned.
        min_similarity: Least word similarity of a passage to the quote.

    Raises:
        BadReference: If the quote has no words.
    """
    import re

    from ..search.quote import best_passages, normalize

    if not normalize(text):
        raise BadReference("the quote has no words")
    raw = re.findall(r"\w[\w'’]*", text)
    candidates = index.candidates(raw, limit=50)
    transcripts: dict[tuple[str, bool], Transcript] = {}
    for c in candidates:
        key = (c.recording_id, c.translation)
        if key in transcripts:
            continue
        try:
            t = (store.read_translation(c.recording_id) if c.translation
                 else store.read_transcript(c.recording_id))
        except ArchiveError:
            continue
        if t is not None:
            transcripts[key] = t
    found = best_passages(text, ((k, t.words) for k, t in transcripts.items()),
                          limit=limit, min_similarity=min_similarity)
    hits = []
    for key, al in found:
        t = transcripts[key]
        hits.append(hit_from_words(t, t.words, al.start_index, al.end_index,
                                   score=al.similarity, similarity=al.similarity,
                                   differences=tuple(al.differences)))
    return hits


def with_speaker_certainty(store: Store, hits: Sequence[Hit]) -> list[Hit]:
    """Hits with the speaker confidence and overlap mark of their words, read from each
    recording's transcript (once per recording): an index hit names a speaker, and a guess
    must not read as fact. Hits in translations, or whose transcript cannot be read, are
    returned as they are."""
    cache: dict[str, Transcript | None] = {}
    out = []
    for h in hits:
        if h.translation or h.speaker is None:
            out.append(h)
            continue
        if h.recording_id not in cache:
            try:
                cache[h.recording_id] = store.read_transcript(h.recording_id)
            except ArchiveError:
                cache[h.recording_id] = None
        t = cache[h.recording_id]
        if t is None:
            out.append(h)
            continue
        span = [w for w in t.words if w.start >= h.start - 1e-3 and w.end <= h.end + 1e-3]
        conf, overlap = speaker_certainty(span)
        out.append(replace(h, speaker_confidence=conf, overlap=overlap))
    return out


def hit_from_words(t: Transcript, words: Sequence[Word], i: int, j: int, **kw: Any) -> Hit:
    """The hit spanning ``words[i:j]`` of a transcript, with six words of context each side.

    Args:
        t: The transcript (or translation) the words belong to.
        words: Its words.
        i: Index of the first word of the hit.
        j: Index after the last word of the hit.
        **kw: Further :class:`~archive.models.Hit` fields (score, similarity, differences).
    """
    span = words[i:j]
    seg_id = 0
    for s in t.segments:
        if s.words and s.words[0].start <= span[0].start <= s.words[-1].end:
            seg_id = s.id
            break
    conf, overlap = speaker_certainty(span)
    kw.setdefault("speaker_confidence", conf)
    kw.setdefault("overlap", overlap)
    return Hit(recording_id=t.recording.id, title=t.recording.title,
               speaker=t.speaker_name(span[0].speaker), start=span[0].start,
               end=span[-1].end, text=" ".join(w.text for w in span),
               before=" ".join(w.text for w in words[max(0, i - 6):i]),
               after=" ".join(w.text for w in words[j:j + 6]),
               segment_id=seg_id, revision=t.revision, language=t.language,
               translation=t.task == "translate", **kw)


# ------------------------------------------------------------------ the last search
def last_search_path(root: Path) -> Path:
    """Where the hits of the last search in the archive at ``root`` are kept (per user)."""
    key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return cache_dir() / f"last-search-{key}.json"


def remember_hits(root: Path, hits: Sequence[Hit]) -> None:
    """Keep the hits of the last search so ``cite N`` can refer to them (best effort)."""
    path = last_search_path(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps([h.to_json() for h in hits]))
    except (OSError, ArchiveError):
        pass  # a read-only home must not break searching


def last_hit(root: Path, n: int) -> Hit:
    """Hit number ``n`` (from 1) of the last search in the archive at ``root``.

    Raises:
        BadReference: If there was no search or it had fewer hits.
    """
    try:
        data = loads_strict(last_search_path(root).read_bytes())
    except FileNotFoundError:
        raise BadReference("no previous search to refer to; run `archive search` first") \
            from None
    except (OSError, ValueError):
        data = None
    if not isinstance(data, list):
        raise BadReference("the last search's saved hits are damaged; run the search again")
    if not 1 <= n <= len(data):
        raise BadReference(f"hit {n} is not in the last search (it had {len(data)} hits)")
    try:
        return _saved_hit(data[n - 1])
    except (ValueError, TypeError, KeyError):
        raise BadReference(f"hit {n} of the last search is damaged; run the search again") \
            from None


def _saved_hit(d: Any) -> Hit:
    """A hit as :func:`remember_hits` saved it, every field checked (the file is the user's
    and may be stale, edited or damaged)."""
    import math
    if not isinstance(d, dict):
        raise ValueError("not an object")
    known = set(Hit.__dataclass_fields__)
    d = {k: v for k, v in d.items() if k in known}
    rid = d.get("recording_id")
    if not (isinstance(rid, str) and len(rid) == 64
            and all(c in "0123456789abcdef" for c in rid)):
        raise ValueError("bad recording id")
    for k in ("start", "end"):
        v = d.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or not 0 <= v <= 1e7:
            raise ValueError(f"bad {k}")
    if d["end"] < d["start"]:
        raise ValueError("ends before it starts")
    d["differences"] = tuple((str(a), str(b)) for a, b in d.get("differences", ()))
    sc = d.get("speaker_confidence")
    if sc is not None and (isinstance(sc, bool) or not isinstance(sc, (int, float))
                           or not 0 <= sc <= 1):
        raise ValueError("bad speaker confidence")
    d["overlap"] = d.get("overlap") is True
    h = Hit(**d)
    if not isinstance(h.title, str) or not isinstance(h.text, str):
        raise ValueError("bad text")
    return h


# ------------------------------------------------------------------ citations
def cite(store: Store, rid: str, start: float, end: float) -> Citation:
    """A citation of [start, end] of the current revision of recording ``rid``.

    Raises:
        BadReference: If ``start`` is past the end of the recording.
    """
    t = store.read_transcript(rid)
    rec = t.recording
    if start >= rec.duration:
        raise BadReference(f"{start:.1f} s is past the end of {rec.short_id} "
                           f"({rec.duration:.1f} s)")
    end = min(end, rec.duration)
    words = [w for w in t.words if w.end > start + 0.02 and w.start < end - 0.02]
    speaker = t.speaker_name(words[0].speaker) if words else None
    conf, overlap = speaker_certainty(words)
    path = store.original_path(rec)
    ver = verification(store, rid, start, end)
    translation = None
    tr = store.read_translation(rid)
    if tr is not None:
        tw = [w.text for w in tr.words if w.end > start and w.start < end]
        translation = " ".join(tw) or None
    return Citation(
        recording_id=rid, title=rec.title, speaker=speaker, start=start, end=end,
        words=" ".join(w.text for w in words), revision=t.revision,
        url=f"{path.as_uri()}#t={start:.1f},{end:.1f}", original_path=str(path),
        recorded=rec.recorded, language=t.language,
        verified=ver is not None, verified_revision=ver["revision"] if ver else None,
        verified_by=ver["by"] if ver else None, translation=translation,
        speaker_confidence=conf, overlap=overlap)


def verification(store: Store, rid: str, start: float, end: float) -> dict[str, Any] | None:
    """The latest check-by-ear covering [start, end] (revision, by, at, note), or None."""
    row = store.connect().execute(
        "SELECT revision, by, at, note FROM verified WHERE recording_id=? AND start<=? "
        "AND end>=? ORDER BY id DESC LIMIT 1", (rid, start + 0.05, end - 0.05)).fetchone()
    if row is None:
        return None
    return {"revision": row[0], "by": row[1], "at": row[2], "note": row[3]}


def clip(store: Store, custody: CustodyLog, c: Citation, *, padding: float = 1.0,
         fmt: str = "ogg", dest: Path | None = None) -> Citation:
    """Export the cited span's audio (with padding) and a sidecar manifest.

    A clip written inside the archive is recorded in the custody log.

    Args:
        store: The archive's store.
        custody: Its custody log.
        c: The citation.
        padding: Audio kept on each side of the span, seconds.
        fmt: Audio format of the clip (``ogg``, ``wav``, ...).
        dest: The clip's path; by default a file in the archive's clips folder.

    Returns:
        The citation with ``clip_path`` and ``clip_sha256`` filled in.
    """
    from dataclasses import replace as dc_replace

    from ..evidence.outputs import check_output, inside, write_into
    from .clips import export_clip, manifest_path, write_manifest
    rec = store.get(c.recording_id)
    name = f"{rec.short_id}_{c.start:08.1f}-{c.end:08.1f}.{fmt}".replace(" ", "0")
    if dest is None:
        store.clips_dir.mkdir(exist_ok=True)
        dest = store.clips_dir / name
    # Never over the archive's own files; a symbolic link is followed, not replaced.
    target = check_output(Path(dest), store.root)
    cut = dict(padding=padding, fmt=fmt,
               metadata={"title": rec.title, "comment": f"archive {rec.id}"})
    if target.special:  # /dev/null, a FIFO...: written into, with no manifest beside it
        import tempfile
        with tempfile.TemporaryDirectory(prefix="archive-clip-") as tmp:
            res = export_clip(store.original_path(rec), c.start, c.end, Path(tmp) / name, **cut)
            write_into(target.path, res.path.read_bytes())
        res = dc_replace(res, path=target.path)
    else:
        side = check_output(manifest_path(target.path), store.root)
        if side.special or side.path != manifest_path(target.path):
            raise OutputRefused(f"{manifest_path(target.path)} exists and is not a regular "
                                "file; it would be the clip's manifest: choose another path")
        res = export_clip(store.original_path(rec), c.start, c.end, target.path, **cut)
        write_manifest(res, parent_sha256=rec.id, recording_title=rec.title, quote=c.words,
                       speaker=c.speaker, revision=c.revision)
    if inside(target.path, store.root):
        with store.write_lock():
            custody.append("clip", rec.id, start=res.start, end=res.end,
                           clip=str(Path(res.path).name), sha256=res.sha256)
    return dc_replace(c, clip_path=str(res.path), clip_sha256=res.sha256)


def speaker_doubt(confidence: float | None, overlap: bool) -> str:
    """Why a speaker shown is uncertain, in a few words."""
    if overlap:
        return "overlapping voices: speaker may be mis-attributed"
    return f"speaker uncertain ({confidence:.0%})" if confidence is not None else \
        "speaker uncertain"


def citation_text(c: Citation, fmt: str = "text") -> str:
    """A citation as ``archive cite --format FMT`` prints it: ``text``, ``markdown`` or
    ``json`` (the browser viewer gives the same strings). A speaker who is a guess (low
    confidence, or overlapping voices) is said to be one."""
    if fmt == "json":
        return safe_json(c.to_json()) + "\n"
    who = clean(c.speaker) or "unknown speaker"
    if c.speaker_uncertain:
        who += f" ({speaker_doubt(c.speaker_confidence, c.overlap)})"
    span = f"{hms(c.start)}–{hms(c.end)}"
    ver = (f"verified by ear by {clean(c.verified_by)} against revision {c.verified_revision}"
           if c.verified else "not verified by ear")
    words, title = clean(c.words), clean(c.title)
    if fmt == "markdown":
        out = [f"> “{words}”", ">", f"> — **{who}**, *{title}*, [{span}]({clean(c.url)})", "",
               f"- recording SHA-256: `{c.recording_id}`",
               f"- transcript revision: {c.revision} ({ver})"]
        if c.recorded:
            out.append(f"- recorded: {clean(c.recorded)}")
        if c.translation:
            out.append(f"- English: “{clean(c.translation)}”")
        if c.clip_path:
            out.append(f"- clip: `{clean(c.clip_path)}` (SHA-256 `{c.clip_sha256}`)")
        return "\n".join(out) + "\n"
    out = [f"“{words}”", f"  — {who}, “{title}”, {span}",
           f"  recording SHA-256 {c.recording_id}", f"  transcript revision {c.revision}; {ver}",
           f"  {clean(c.url)}"]
    if c.recorded:
        out.insert(3, f"  recorded {clean(c.recorded)}")
    if c.translation:
        out.append(f"  English: “{clean(c.translation)}”")
    if c.clip_path:
        out.append(f"  clip {clean(c.clip_path)} (SHA-256 {c.clip_sha256})")
    return "\n".join(out) + "\n"
