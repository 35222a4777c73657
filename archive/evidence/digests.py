"""Tamper evidence for what is not an original: transcript revisions, translations and
catalog rows, checked against the digests the hash-chained custody log recorded.

The custody log's chain makes its own lines tamper-evident; these digests extend that to the
files it describes. The ``add`` event records the SHA-256 of the machine transcript
(``transcript_sha256``), of the translation if one was made (``translation_sha256``), and of
the catalog row (``catalog_sha256``, see :func:`record_digest`); every later revision's event
(``edit``, ``speaker-rename``, ``speaker-merge``...) records its ``revision`` and ``sha256``,
``translate`` the translation's ``sha256``. :func:`check` recomputes them all.

Archives made before these digests existed have events without them: those files are
reported as *unverifiable*, never as sound. ``verify --repair`` can then record their present
digests in an ``attest`` event, which says that it vouches only for changes made after it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..models import Recording, Transcript
from .fsutil import sha256_path

#: Event written by ``verify --repair`` for files that had no digest in the log.
ATTEST = "attest"
ATTEST_NOTE = ("digests recorded late, by `archive verify --repair`, for files made before the "
               "custody log held digests: they show changes made after this event only")



def record_digest(rec: Recording) -> str:
    """SHA-256 of a catalog row's fields (its recording, as canonical JSON)."""
    body = json.dumps(rec.to_json(), ensure_ascii=False, sort_keys=True, allow_nan=False,
                      separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def text_digest(text: str) -> str:
    """SHA-256 of a file's text as the store writes it (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_digests(rec: Recording, transcript_text: str,
                translation_text: str | None = None) -> dict[str, str]:
    """The digests an ``add`` custody event records (keyword arguments for it)."""
    out = {"transcript_sha256": text_digest(transcript_text),
           "catalog_sha256": record_digest(rec)}
    if translation_text is not None:
        out["translation_sha256"] = text_digest(translation_text)
    return out


@dataclass
class Ledger:
    """What the custody log says one recording's files should hash to.

    Attributes:
        revisions: Revision number -> SHA-256 of its file.
        catalog: SHA-256 of the catalog row (:func:`record_digest`), or None.
        translation: SHA-256 of the translation file, or None.
        attested: Keys (``r1``, ``catalog``, ``translation``) whose digest came from an
            ``attest`` event rather than from the event that wrote the file.
    """

    revisions: dict[int, str] = field(default_factory=dict)
    catalog: str | None = None
    translation: str | None = None
    attested: set[str] = field(default_factory=set)


def _sha(v: Any) -> str | None:
    return v if isinstance(v, str) and len(v) == 64 else None


def _rev(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else None


def ledgers(events: Iterable[Mapping[str, Any]]) -> dict[str, Ledger]:
    """Replay custody events into one :class:`Ledger` per recording id."""
    out: dict[str, Ledger] = {}
    for e in events:
        rid, ev = e.get("recording"), e.get("event")
        d = e.get("details")
        if not isinstance(rid, str) or not isinstance(d, Mapping):
            continue
        if ev == "add":
            out[rid] = led = Ledger()
            if _sha(d.get("transcript_sha256")):
                led.revisions[_rev(d.get("revision")) or 1] = d["transcript_sha256"]
            led.catalog = _sha(d.get("catalog_sha256"))
            led.translation = _sha(d.get("translation_sha256"))
            continue
        led = out.setdefault(rid, Ledger())
        if ev == "rm":
            out.pop(rid, None)
        elif ev == "translate":
            led.translation = _sha(d.get("sha256")) or led.translation
        elif ev == ATTEST:
            for k, v in (d.get("revisions") or {}).items():
                if str(k).isdigit() and _sha(v) and int(k) not in led.revisions:
                    led.revisions[int(k)] = v
                    led.attested.add(f"r{int(k)}")
            if led.catalog is None and _sha(d.get("catalog_sha256")):
                led.catalog = d["catalog_sha256"]
                led.attested.add("catalog")
            if led.translation is None and _sha(d.get("translation_sha256")):
                led.translation = d["translation_sha256"]
                led.attested.add("translation")
        elif _rev(d.get("revision")) and _sha(d.get("sha256")):
            led.revisions[d["revision"]] = d["sha256"]
    return out


@dataclass
class Findings:
    """What :func:`check` found: problems (tampering) and files that cannot be checked."""

    problems: list[str] = field(default_factory=list)
    unverifiable: list[str] = field(default_factory=list)
    #: What an ``attest`` event would record: rid -> {"revisions", "catalog_sha256", ...}.
    missing: dict[str, dict[str, Any]] = field(default_factory=dict)


_FIELDS = ("title", "source", "recorded", "tags", "note", "filename", "added", "added_by",
           "duration", "language", "recorded_inferred", "recorded_basis", "size", "model")


def _changed_fields(a: Recording, b: Recording) -> list[str]:
    ja, jb = a.to_json(), b.to_json()
    named = [k for k in _FIELDS if ja.get(k) != jb.get(k)]
    return named or [k for k in ja if ja.get(k) != jb.get(k)]


def check(store: Any, rec: Recording, current: Transcript | None, led: Ledger | None,
          out: Findings) -> None:
    """Compare one recording's revisions, translation and catalog row with its ledger.

    Args:
        store: The archive's store.
        rec: The recording as the catalog has it.
        current: Its current transcript, when readable (to name changed catalog fields).
        led: Its ledger from the custody log (None: no events at all).
        out: Where problems and unverifiable files are added.
    """
    led = led or Ledger()
    sid = rec.short_id
    miss: dict[str, Any] = {}
    for rev in store.revisions(rec.id):
        path = store.history_dir(rec.id) / f"r{rev:04d}.json"
        try:
            got = sha256_path(path)
        except OSError as e:
            out.problems.append(f"{sid}: revision {rev} unreadable ({e.strerror})")
            continue
        want = led.revisions.get(rev)
        if want is None:
            out.unverifiable.append(f"{sid}: revision {rev} has no digest in the custody log")
            miss.setdefault("revisions", {})[str(rev)] = got
        elif got != want:
            out.problems.append(
                f"{sid}: revision {rev} CHANGED since the custody log recorded it "
                f"(history/{rec.id[:10]}…/r{rev:04d}.json hashes to {got[:12]}…, the log "
                f"says {want[:12]}…)")
    have = set(store.revisions(rec.id))
    for rev in sorted(set(led.revisions) - have):
        out.problems.append(f"{sid}: revision {rev}, recorded in the custody log, is missing "
                            "from history/")
    digest = record_digest(rec)
    if led.catalog is None:
        out.unverifiable.append(f"{sid}: its catalog row has no digest in the custody log")
        miss["catalog_sha256"] = digest
    elif digest != led.catalog:
        what = ""
        if current is not None and current.recording != rec:
            what = " (" + ", ".join(_changed_fields(current.recording, rec)) + \
                   " differ from the transcript's)"
        out.problems.append(f"{sid}: its catalog row CHANGED since it was added{what}")
    tpath = store.translation_path(rec.id)
    if tpath.exists():
        got = sha256_path(tpath)
        if led.translation is None:
            out.unverifiable.append(f"{sid}: its translation has no digest in the custody log")
            miss["translation_sha256"] = got
        elif got != led.translation:
            out.problems.append(f"{sid}: its translation CHANGED since the custody log "
                                "recorded it")
    if miss:
        out.missing[rec.id] = miss


def check_speakers(store: Any, t: Transcript) -> list[str]:
    """The catalog's speaker rows must be the current transcript's speakers."""
    rows = store._rows("SELECT label, name, voiceprint FROM speakers WHERE recording_id=?",
                       (t.recording.id,))
    want = {s.label: (s.name, [round(x, 5) for x in s.voiceprint]) for s in t.speakers}
    got = {}
    for label, name, vp in rows:
        try:
            v = [round(float(x), 5) for x in json.loads(vp)]
        except (ValueError, TypeError):
            v = None
        got[label] = (name, v)
    if got != want:
        return [f"{t.recording.short_id}: the catalog's speakers differ from the transcript's "
                "(`archive verify --repair` rewrites them from the transcript)"]
    return []


def check_marks(store: Any, rid: str, events: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every passage marked verified in the catalog must be backed by a ``verify-passage``
    custody event for that revision whose span covers it."""
    spans = []
    for e in events:
        d = e.get("details")
        if e.get("recording") == rid and e.get("event") == "verify-passage" and \
                isinstance(d, Mapping):
            spans.append((d.get("start"), d.get("end"), d.get("revision")))
    out = []
    for start, end, rev in store._rows(
            "SELECT start, end, revision FROM verified WHERE recording_id=?", (rid,)):
        if not any(isinstance(a, (int, float)) and isinstance(b, (int, float)) and r == rev
                   and a - 0.01 <= start and end <= b + 0.01 for a, b, r in spans):
            out.append(f"{rid[:10]}: a passage marked verified by ear ({start}-{end} s, "
                       f"revision {rev}) has no verification in the custody log")
    return out


__all__ = ["ATTEST", "ATTEST_NOTE", "Findings", "add_digests", "Ledger", "check", "check_marks",
           "check_speakers", "ledgers", "record_digest", "text_digest"]
