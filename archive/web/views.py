"""What each page shows, as JSON-ready data built from :class:`archive.library.Archive` alone.

This is the JSON twin of every page: the browser's scripts render exactly this, and scripts
or tests can read it without a browser. No web framework is imported here; :mod:`.app` maps
routes onto these functions and the errors they raise onto HTTP statuses.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import BadReference, EditConflict, EditError, RecordingNotFound, UsageError
from ..library import Archive
from ..models import LOW_CONFIDENCE, Citation, Transcript
from ..timecode import mss, parse_ref

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Speaker colour classes in the stylesheet (each speaker also has its name shown as text).
COLOURS = 8


def full_id(rid: str) -> str:
    """Check that ``rid`` is a full lower-case SHA-256 (the server never takes prefixes or paths).

    Raises:
        RecordingNotFound: If it is not.
    """
    if not _SHA256.match(rid or ""):
        raise RecordingNotFound("recordings are addressed by their full SHA-256")
    return rid


def link(rid: str, start: float | None = None, end: float | None = None) -> str:
    """The recording page's address, with a W3C media fragment for a span."""
    if start is None:
        return f"/r/{rid}"
    frag = f"{start:.2f}" + (f",{end:.2f}" if end is not None else "")
    return f"/r/{rid}#t={frag}"


class Views:
    """Page data for one archive. Calls into the archive are serialised by one lock (the
    server is for one reporter; whoosh readers and lazy loading are not shared safely)."""

    def __init__(self, archive: Archive) -> None:
        self.a = archive
        self.lock = threading.RLock()
        #: Clip files made in this process, by their SHA-256 (what may be downloaded).
        self.clips: dict[str, Path] = {}
        #: Result of the last verify run in this process, or None.
        self.last_verify: dict[str, Any] | None = None

    # ------------------------------------------------------------ list
    def recordings(self) -> dict[str, Any]:
        """The recording list: titles, dates (inferred marked), languages, speakers, custody."""
        with self.lock:
            recs = self.a.recordings()
            events = self.a.log()
            out = []
            for r in recs:
                try:
                    t = self.a.transcript(r.id)
                    speakers = [{"label": s.label, "name": s.name} for s in t.speakers]
                    revision = t.revision
                except Exception as e:  # one damaged transcript must not hide the list
                    speakers, revision = [], None
                    problem = str(e)
                else:
                    problem = None
                d = r.to_json()
                d.update(short_id=r.short_id, speakers=speakers, revision=revision,
                         link=link(r.id), problem=problem,
                         custody=[_event(e) for e in events if e.get("recording") == r.id])
                out.append(d)
            return {"recordings": out, "verify": self.last_verify,
                    "archive_custody": [_event(e) for e in events if not e.get("recording")]}

    def verify(self) -> dict[str, Any]:
        """Re-hash every original and check the archive; per-recording status."""
        with self.lock:
            rep = self.a.verify()
            recs = self.a.recordings()
        per = {}
        for r in recs:
            mine = [p for p in rep.problems if p.startswith(r.short_id)]
            per[r.id] = {"ok": not mine, "problems": mine}
        self.last_verify = {"checked": rep.checked, "ok": rep.ok, "problems": rep.problems,
                            "unverifiable": rep.unverifiable,  # no custody digest (old files)
                            "recovered": rep.recovered, "recordings": per,
                            "at": _now()}
        return self.last_verify

    # ------------------------------------------------------------ search
    def search(self, q: str = "", quote: str = "", *, limit: int = 20, sort: str = "score",
               translation: bool = False) -> dict[str, Any]:
        """Hits for a query or a quote, as ``archive search`` finds them."""
        q, quote = q.strip(), quote.strip()
        if sort not in ("score", "time"):
            raise UsageError("sort is score or time")
        limit = max(1, min(int(limit), 1000))
        with self.lock:
            if quote:
                hits = self.a.quote(quote, limit=limit)
            elif q:
                hits = self.a.search(q, limit=limit, sort=sort, translation=translation or None)
            else:
                hits = []
        rows = []
        for n, h in enumerate(hits, 1):
            d = h.to_json()
            d.update(n=n, short_id=h.short_id, link=link(h.recording_id, h.start, h.end),
                     ref=f"{h.recording_id}@{h.start:.3f}-{h.end:.3f}")
            rows.append(d)
        retry = self.a.quote_words(q) if q and not (quote or translation or rows) else None
        return {"q": q, "quote": quote, "limit": limit, "sort": sort,
                "translation": translation, "hits": rows, "retry_quote": retry}

    # ------------------------------------------------------------ recording
    def recording(self, rid: str) -> dict[str, Any]:
        """Everything the recording page shows."""
        rid = full_id(rid)
        with self.lock:
            rec = self.a.get(rid)
            if rec.id != rid:
                raise RecordingNotFound(f"no recording {rid[:10]}")
            t = self.a.transcript(rid)
            marks = self.a.marks(rid)
            history = self.a.history(rid)
            events = self.a.log(rid)
            _, mime, derived = self.a.playback_audio(rid, make=False)
        return {
            "recording": rec.to_json() | {"short_id": rec.short_id},
            "transcript": transcript_data(t),
            "marks": [asdict(m) for m in marks],
            "history": [asdict(h) for h in history],
            "custody": [_event(e) for e in events],
            "audio": {"url": f"/r/{rid}/audio", "derived": derived,
                      "type": mime},
            "low_confidence": LOW_CONFIDENCE,
        }

    # ------------------------------------------------------------ cite
    def cite(self, ref: str) -> dict[str, Any]:
        """The citation of ``ID@START-END`` in the three forms ``archive cite`` prints."""
        rid, start, end = _span(ref)
        with self.lock:
            c = self.a.cite(f"{rid}@{start}-{end}")
            return self._citation(c)

    def clip(self, ref: str, *, padding: float = 1.0, fmt: str = "ogg") -> dict[str, Any]:
        """``archive cite --clip``: write the clip and its manifest; offer both for download."""
        rid, start, end = _span(ref)
        if fmt not in ("ogg", "mp3", "wav"):
            raise UsageError("clip format is ogg, mp3 or wav")
        padding = float(padding)
        if not 0 <= padding <= 30:
            raise UsageError("padding is 0 to 30 seconds")
        with self.lock:
            c = self.a.clip(self.a.cite(f"{rid}@{start}-{end}"), padding=padding, fmt=fmt)
            out = self._citation(c)
        if c.clip_path and c.clip_sha256:
            self.clips[c.clip_sha256] = Path(c.clip_path)
            out["download"] = {"clip": f"/clips/{c.clip_sha256}",
                               "manifest": f"/clips/{c.clip_sha256}/manifest"}
        return out

    def _citation(self, c: Citation) -> dict[str, Any]:
        return {"citation": c.to_json(), "text": self.a.citation_text(c, "text"),
                "markdown": self.a.citation_text(c, "markdown"),
                "json": self.a.citation_text(c, "json"),
                "ref": f"{c.recording_id}@{c.start:.3f}-{c.end:.3f}",
                "link": link(c.recording_id, c.start, c.end)}

    def clip_file(self, sha: str, manifest: bool = False) -> Path:
        """A clip made by this server (by its SHA-256), or its manifest."""
        p = self.clips.get(sha) if _SHA256.match(sha or "") else None
        if p is None:
            raise RecordingNotFound("no such clip made by this server")
        return p.with_name(p.name + ".json") if manifest else p

    # ------------------------------------------------------------ corrections
    def edit_segment(self, rid: str, base_revision: int, segment: int,
                     text: str) -> dict[str, Any]:
        """Replace one segment's words, through the same path as ``archive edit``."""
        rid = full_id(rid)
        words = " ".join(str(text).split())
        with self.lock:
            full, current = self.a.edit_text(rid)
            if current != int(base_revision):
                raise EditConflict(f"not saved: the transcript was changed meanwhile (it is "
                                   f"now revision {current}, the page showed revision "
                                   f"{base_revision}); your text is kept here; reload to see "
                                   "the new revision, then apply your change to it")
            t = self.a.transcript(rid)
            if not 0 <= int(segment) < len(t.segments):
                raise UsageError(f"no segment {segment}")
            seg = t.segments[int(segment)]
            lines = full.split("\n")
            body = [i for i, ln in enumerate(lines)
                    if ln.strip() and not ln.lstrip().startswith("#")]
            if len(body) != len(t.segments):
                raise EditError("the edit text does not have one line per segment")
            who = f"{seg.speaker}: " if seg.speaker else ""
            lines[body[int(segment)]] = f"[{mss(seg.start)}] {who}{words}"
            res = self.a.edit(rid, "\n".join(lines), base_revision=current,
                              note="edited in the browser")
        return {"changed": res.changed, "revision": res.revision, "note": res.note,
                "timing": res.timing, "words_changed": res.words_changed,
                "stale_marks": [asdict(m) for m in res.stale_marks]}

    def mark(self, rid: str, start: float, end: float, verified: bool,
             note: str | None = None) -> dict[str, Any]:
        """Mark a passage verified by ear (or withdraw that), as ``archive mark`` does."""
        rid = full_id(rid)
        start, end = float(start), float(end)
        if not 0 <= start < end:
            raise BadReference("a passage needs 0 <= start < end")
        with self.lock:
            marks = self.a.mark(rid, start, end, verified=bool(verified), note=note or None)
        return {"marks": [asdict(m) for m in marks]}

    def rename_speaker(self, rid: str, speaker: str, name: str | None) -> dict[str, Any]:
        """Name a speaker (a new revision); the name shows everywhere the speaker does."""
        rid = full_id(rid)
        name = " ".join(str(name).split()) if name is not None else None
        with self.lock:
            t, _ = self.a.rename_speaker(rid, speaker, name or None)
        return {"revision": t.revision,
                "speakers": [{"label": s.label, "name": s.name} for s in t.speakers]}


def transcript_data(t: Transcript) -> dict[str, Any]:
    """The transcript compactly: words as ``[start, end, text, probability]``."""
    order = {s.label: i % COLOURS for i, s in enumerate(t.speakers)}
    return {
        "revision": t.revision, "language": t.language, "author": t.author,
        "created": t.created, "model": t.model, "note": t.note,
        "speakers": [{"label": s.label, "name": s.name, "display": s.display,
                      "talk_time": round(s.talk_time, 2), "turns": s.turns,
                      "colour": order[s.label]} for s in t.speakers],
        "segments": [{"start": round(s.start, 3), "end": round(s.end, 3),
                      "speaker": s.speaker, "flags": list(s.flags),
                      "words": [[round(w.start, 3), round(w.end, 3), w.text,
                                 round(w.probability, 3)] for w in s.words]
                      if s.words else [[round(s.start, 3), round(s.end, 3), s.text.strip(), 1.0]]}
                     for s in t.segments],
    }


def _span(ref: str) -> tuple[str, float, float]:
    prefix, start, end = parse_ref(str(ref))
    return full_id(prefix), start, end


def _event(e: dict[str, Any]) -> dict[str, Any]:
    details = dict(e.get("details") or {})
    details.pop("diff", None)  # long; `archive history --diff` shows it
    return {"seq": e.get("seq"), "time": e.get("time"), "user": e.get("user"),
            "event": e.get("event"), "recording": e.get("recording"), "details": details}


def _now() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
