"""The library facade the CLI calls: one :class:`Archive` per archive folder.

It never prints or exits. Long work takes a progress callback; failures raise
:class:`~archive.errors.ArchiveError` subclasses.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from .errors import AlreadyArchived, ArchiveError, BadReference, InputError
from .export import export as render_export
from .fsutil import atomic_write_text
from .models import Citation, Hit, Recording, Transcript, Word
from .paths import cache_dir, default_archive
from .store import CustodyLog, Store
from .timecode import parse_ref

if TYPE_CHECKING:
    from .corrections import EditResult, Mark, RevisionInfo
    # ingest pulls in numpy; searching and listing must not pay for it.
    from .ingest import AddOptions, AddResult, Ingest, Progress


class Archive:
    """An evidence archive in a folder.

    Args:
        root: The archive folder; defaults to ``$ARCHIVE_DIR`` or the per-user data folder.
        create: Create the archive if it does not exist.

    Raises:
        ArchiveNotFound: If there is no archive there and ``create`` is False.
    """

    def __init__(self, root: Path | str | None = None, *, create: bool = False) -> None:
        self.store = Store(Path(root) if root else default_archive(), create=create)
        self.root = self.store.root
        self.custody = CustodyLog(self.root / "custody.log")
        self._index: Any = None
        #: What recovery of interrupted writes did in this process, for the caller to show.
        self.recovered: list[str] = []

    @classmethod
    def init(cls, root: Path | str | None = None) -> "Archive":
        """Create (or open) an archive and record its creation in the custody log."""
        path = Path(root) if root else default_archive()
        fresh = not (path / "archive.json").exists()
        a = cls(path, create=True)
        if fresh:
            with a.store.write_lock():
                a.index()  # made now, under the lock, not by the first reader
                a.custody.append("init", None, path=str(a.root))
        return a

    # ------------------------------------------------------------ components
    def index(self) -> Any:
        """The search index (opened lazily; whoosh is imported only then)."""
        if self._index is None:
            from .index import Index
            self._index = Index(self.store.index_dir)
        return self._index

    def _ingest(self) -> Ingest:
        from .ingest import Ingest
        return Ingest(self.store, self.index, self._recover_locked)

    def _recover_locked(self) -> list[str]:
        from .recovery import recover
        actions = recover(self.store, self.index, self.custody)
        if actions:
            self._index = None
            self.recovered.extend(actions)
        return actions

    def _read_index(self, fn: Callable[[Any], Any]) -> Any:
        """Run a read on the index, reopening it if a writer's commit replaced files under it.

        A commit by another process deletes the segment files it merged; a reader that
        opened the index just before sees them vanish. That is not damage: reopen and retry.
        Only an error that persists on a fresh, unchanged index is reported.
        """
        from .errors import IndexCorrupt
        for attempt in range(6):
            try:
                return fn(self.index())
            except IndexCorrupt:
                if attempt == 5:
                    raise
                self._index = None
                time.sleep(0.05 * (attempt + 1))

    def recover(self, *, on_wait: Callable[[str], None] | None = None) -> list[str]:
        """Finish or roll back writes that a crash interrupted. Returns what was done."""
        with self.store.write_lock(on_wait=on_wait):
            return self._recover_locked()

    def interrupted(self) -> list[str]:
        """Writes that a process began and did not finish because it died (not those of a
        process still running), e.g. ``["add of 3fa4c1d2e0"]``. Readers cannot finish them;
        the next command that writes (``archive verify`` is one) does."""
        from .fsutil import pid_alive
        out = []
        for j in self.store.journal():
            pid = j.get("pid")
            if isinstance(pid, int) and pid != os.getpid() and pid_alive(pid):
                continue
            out.append(f"{j.get('op')} of {str(j.get('id'))[:10]}")
        return out

    # ------------------------------------------------------------ lookup
    def resolve(self, ref: str) -> str:
        """Full recording id for an id or unique prefix."""
        return self.store.resolve(ref)

    def get(self, ref: str) -> Recording:
        """The recording for an id or prefix."""
        return self.store.get(self.resolve(ref))

    def recordings(self) -> list[Recording]:
        """Every recording, oldest first."""
        return self.store.recordings()

    def transcript(self, ref: str, *, revision: int | None = None) -> Transcript:
        """The current transcript (or a given revision) of a recording."""
        return self.store.read_transcript(self.resolve(ref), revision)

    def translation(self, ref: str) -> Transcript | None:
        """The English translation of a recording, or None."""
        return self.store.read_translation(self.resolve(ref))

    def original_path(self, ref: str) -> Path:
        """Path of the stored original."""
        return self.store.original_path(self.get(ref))

    def export(self, ref: str, fmt: str, *, revision: int | None = None) -> str:
        """A transcript rendered as txt, srt, vtt, json or rttm."""
        return render_export(self.transcript(ref, revision=revision), fmt)

    def log(self, ref: str | None = None) -> list[dict[str, Any]]:
        """Custody events, for one recording or the whole archive."""
        rid = self.resolve(ref) if ref else None
        return self.custody.events(rid)

    # ------------------------------------------------------------ add
    def add(self, path: Path | str, opts: AddOptions | None = None, *,
            progress: Progress | None = None,
            on_wait: Callable[[str], None] | None = None) -> Recording:
        """Add one recording. See :meth:`archive.ingest.Ingest.add`."""
        from .ingest import AddOptions
        return self._ingest().add(Path(path), opts or AddOptions(), progress=progress,
                                  on_wait=on_wait)

    def add_many(self, paths: Iterable[Path | str], opts: AddOptions | None = None, *,
                 progress: Callable[[Path, str, float, float], None] | None = None,
                 on_wait: Callable[[str], None] | None = None) -> Iterator[AddResult]:
        """Add files and folders (walked recursively); one bad file does not stop the rest.

        Yields:
            One :class:`AddResult` per file, as each finishes.
        """
        ingest = self._ingest()
        from .ingest import AddOptions, AddResult, walk
        opts = opts or AddOptions()
        for p in walk(Path(x) for x in paths):
            def prog(stage: str, done: float, total: float, p: Path = p) -> None:
                if progress:
                    progress(p, stage, done, total)
            try:
                rec = ingest.add(p, opts, progress=prog, on_wait=on_wait)
            except AlreadyArchived as e:
                yield AddResult(p, duplicate_of=e.recording_id)
            except ArchiveError as e:
                yield AddResult(p, error=e)
            except OSError as e:
                yield AddResult(p, error=InputError(f"{p.name}: {e.strerror or e}"))
            else:
                yield AddResult(p, recording=rec)

    # ------------------------------------------------------------ search
    def search(self, query: str, *, limit: int = 20, sort: str = "score",
               translation: bool | None = None) -> list[Hit]:
        """Hits for a query in the archive's query language (see index.py)."""
        return self._read_index(
            lambda ix: ix.search(query, limit=limit, sort=sort, translation=translation))

    def quote(self, text: str, *, limit: int = 5, min_similarity: float = 0.5) -> list[Hit]:
        """Passages matching a quote as published, even where recognition misheard words.

        Candidates come from the index by the quote's rarer words (fuzzily); each candidate
        recording's words are then aligned with the quote word by word (see quote.py), so
        the hit spans exactly the passage and lists the words that differ.
        """
        import re

        from .quote import best_passages, normalize

        if not normalize(text):
            raise BadReference("the quote has no words")
        raw = re.findall(r"\w[\w'’]*", text)
        candidates = self.index().candidates(raw, limit=50)
        transcripts: dict[tuple[str, bool], Transcript] = {}
        for c in candidates:
            key = (c.recording_id, c.translation)
            if key in transcripts:
                continue
            try:
                t = (self.store.read_translation(c.recording_id) if c.translation
                     else self.store.read_transcript(c.recording_id))
            except ArchiveError:
                continue
            if t is not None:
                transcripts[key] = t
        found = best_passages(text, ((k, t.words) for k, t in transcripts.items()),
                              limit=limit, min_similarity=min_similarity)
        hits = []
        for key, al in found:
            t = transcripts[key]
            hits.append(self._hit_from_words(t, t.words, al.start_index, al.end_index,
                                             score=al.similarity, similarity=al.similarity,
                                             differences=tuple(al.differences)))
        return hits

    def _hit_from_words(self, t: Transcript, words: Sequence[Word], i: int, j: int,
                        **kw: Any) -> Hit:
        span = words[i:j]
        seg_id = 0
        for s in t.segments:
            if s.words and s.words[0].start <= span[0].start <= s.words[-1].end:
                seg_id = s.id
                break
        return Hit(recording_id=t.recording.id, title=t.recording.title,
                   speaker=t.speaker_name(span[0].speaker), start=span[0].start,
                   end=span[-1].end, text=" ".join(w.text for w in span),
                   before=" ".join(w.text for w in words[max(0, i - 6):i]),
                   after=" ".join(w.text for w in words[j:j + 6]),
                   segment_id=seg_id, revision=t.revision, language=t.language,
                   translation=t.task == "translate", **kw)

    def _last_path(self) -> Path:
        key = hashlib.sha256(str(self.root).encode()).hexdigest()[:16]
        return cache_dir() / f"last-search-{key}.json"

    def remember_hits(self, hits: Sequence[Hit]) -> None:
        """Keep the hits of the last search so ``cite N`` can refer to them."""
        path = self._last_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps([h.to_json() for h in hits]))
        except (OSError, ArchiveError):
            pass  # a read-only home must not break searching

    def last_hit(self, n: int) -> Hit:
        """Hit number ``n`` (from 1) of the last search."""
        try:
            data = json.loads(self._last_path().read_text("utf-8"))
        except (OSError, ValueError):
            raise BadReference("no previous search to refer to; run `archive search` first") \
                from None
        if not 1 <= n <= len(data):
            raise BadReference(f"hit {n} is not in the last search (it had {len(data)} hits)")
        d = data[n - 1]
        d["differences"] = tuple(tuple(p) for p in d.get("differences", ()))
        return Hit(**d)

    # ------------------------------------------------------------ cite
    def span_for(self, ref: str) -> tuple[str, float, float]:
        """(full id, start, end) for a hit number or ``ID@START-END``."""
        if ref.isdigit():
            h = self.last_hit(int(ref))
            return h.recording_id, h.start, h.end
        prefix, start, end = parse_ref(ref)
        return self.resolve(prefix), start, end

    def cite(self, ref: str) -> Citation:
        """A citation for a hit number from the last search, or ``ID@START-END``."""
        rid, start, end = self.span_for(ref)
        t = self.store.read_transcript(rid)
        rec = t.recording
        if start >= rec.duration:
            raise BadReference(f"{start:.1f} s is past the end of {rec.short_id} "
                               f"({rec.duration:.1f} s)")
        end = min(end, rec.duration)
        words = [w for w in t.words if w.end > start + 0.02 and w.start < end - 0.02]
        speaker = t.speaker_name(words[0].speaker) if words else None
        path = self.store.original_path(rec)
        ver = self.verification(rid, start, end)
        translation = None
        tr = self.store.read_translation(rid)
        if tr is not None:
            tw = [w.text for w in tr.words if w.end > start and w.start < end]
            translation = " ".join(tw) or None
        return Citation(
            recording_id=rid, title=rec.title, speaker=speaker, start=start, end=end,
            words=" ".join(w.text for w in words), revision=t.revision,
            url=f"{path.as_uri()}#t={start:.1f},{end:.1f}", original_path=str(path),
            recorded=rec.recorded, language=t.language,
            verified=ver is not None, verified_revision=ver["revision"] if ver else None,
            verified_by=ver["by"] if ver else None, translation=translation)

    def clip(self, c: Citation, *, padding: float = 1.0, fmt: str = "ogg",
             dest: Path | None = None) -> Citation:
        """Export the cited span's audio (with padding) and a sidecar manifest.

        Returns:
            The citation with ``clip_path`` and ``clip_sha256`` filled in.
        """
        from dataclasses import replace as dc_replace

        from .clips import export_clip, write_manifest
        rec = self.store.get(c.recording_id)
        if dest is None:
            self.store.clips_dir.mkdir(exist_ok=True)
            dest = self.store.clips_dir / (
                f"{rec.short_id}_{c.start:08.1f}-{c.end:08.1f}.{fmt}".replace(" ", "0"))
        res = export_clip(self.store.original_path(rec), c.start, c.end, Path(dest),
                          padding=padding, fmt=fmt,
                          metadata={"title": rec.title, "comment": f"archive {rec.id}"})
        write_manifest(res, parent_sha256=rec.id, recording_title=rec.title, quote=c.words,
                       speaker=c.speaker, revision=c.revision)
        if self.store.root in Path(res.path).resolve().parents:
            with self.store.write_lock():
                self.custody.append("clip", rec.id, start=res.start, end=res.end,
                                    clip=str(Path(res.path).name), sha256=res.sha256)
        return dc_replace(c, clip_path=str(res.path), clip_sha256=res.sha256)

    def verification(self, rid: str, start: float, end: float) -> dict[str, Any] | None:
        """The latest check-by-ear covering [start, end], or None."""
        row = self.store.connect().execute(
            "SELECT revision, by, at, note FROM verified WHERE recording_id=? AND start<=? "
            "AND end>=? ORDER BY id DESC LIMIT 1", (rid, start + 0.05, end - 0.05)).fetchone()
        if row is None:
            return None
        return {"revision": row[0], "by": row[1], "at": row[2], "note": row[3]}

    # ------------------------------------------------------------ index
    def reindex(self, *, progress: Callable[[float, float], None] | None = None) -> int:
        """Rebuild the search index from the transcripts alone. Returns documents indexed."""
        from .index import Index

        def transcripts() -> Iterator[Transcript]:
            for rid in sorted(self.store.ids()):
                yield self.store.read_transcript(rid)
                tr = self.store.read_translation(rid)
                if tr is not None:
                    yield tr

        with self.store.write_lock():
            n = Index.rebuild_at(self.store.index_dir, transcripts(),
                                 total=len(self.store.ids()), progress=progress)
            self._index = None
            self.custody.append("reindex", None, recordings=len(self.store.ids()))
        return n

    # ------------------------------------------------------------ speakers
    def rename_speaker(self, ref: str, who: str, name: str | None, *,
                       on_wait: Callable[[str], None] | None = None) -> tuple[Transcript, list]:
        """Name speaker ``who`` (label or current name); returns the new revision and
        likely same-voice speakers in other recordings (suggestions, never applied)."""
        from . import speakers
        return speakers.rename(self.store, self.index, self.custody, self.resolve(ref), who,
                               name, recover=self._recover_locked, on_wait=on_wait)

    def merge_speakers(self, ref: str, src: str, dst: str, *,
                       on_wait: Callable[[str], None] | None = None) -> Transcript:
        """Fold speaker ``src`` into ``dst`` as a new revision."""
        from . import speakers
        return speakers.merge(self.store, self.index, self.custody, self.resolve(ref), src,
                              dst, recover=self._recover_locked, on_wait=on_wait)

    def match_speaker(self, ref: str, who: str, *, limit: int = 10) -> list:
        """Other recordings' speakers ranked by voice similarity to ``who``."""
        from . import speakers
        return speakers.matches(self.store, self.transcript(ref), who, limit=limit)

    # ------------------------------------------------------------ integrity
    def verify(self, *, repair: bool = False,
               progress: Callable[[float, float], None] | None = None,
               on_wait: Callable[[str], None] | None = None) -> Any:
        """Re-hash every original and check catalog, transcripts, index and custody log.

        On a writable archive, interrupted writes are first finished or undone (the report's
        ``recovered`` says how). With ``repair``, what the transcripts can rebuild is then
        rebuilt (never touching originals' bytes) and everything checked again.

        Raises:
            ArchiveReadOnly: With ``repair`` on a read-only archive.
        """
        from .integrity import repair as do_repair
        from .integrity import verify
        lock = self.store.write_lock(on_wait=on_wait) if self.store.writable or repair else None
        fixed: list[str] = []
        recovered: list[str] = []
        if repair:
            with self.store.write_lock(on_wait=on_wait):
                recovered = self._recover_locked()
                fixed = do_repair(self.store, self.index, self.custody)
                self._index = None
        rep = verify(self.store, self.index, self.custody, lock=lock,
                     recover_fn=self._recover_locked, progress=progress)
        rep.recovered[:0] = recovered
        rep.repaired.extend(fixed)
        return rep

    def remove(self, ref: str, *, reason: str, purge: bool = False,
               on_wait: Callable[[str], None] | None = None) -> Path | None:
        """Remove a recording explicitly; its original goes to quarantine (or is purged)."""
        from .integrity import remove
        if not reason.strip():
            raise BadReference("a removal needs a --reason")
        rec = self.get(ref)
        with self.store.write_lock(on_wait=on_wait):
            self._recover_locked()
            q = remove(self.store, self.index, self.custody, rec, reason=reason, purge=purge)
            self._index = None
        return q

    # ------------------------------------------------------------ corrections (revisions.py)
    # Annotations name classes of archive.corrections (EditResult, RevisionInfo, Mark).
    def edit_text(self, ref: str) -> tuple[str, int]:
        """The current transcript as editable text, and the revision it shows."""
        from .corrections import edit_text
        t = self.transcript(ref)
        return edit_text(t), t.revision

    def edit(self, ref: str, text: str, *, base_revision: int | None = None,
             note: str | None = None, align: bool = True,
             on_wait: Callable[[str], None] | None = None) -> "EditResult":
        """Apply an edited text as a new revision (nothing is written if nothing changed).

        Changed words are placed by forced alignment on the original (``align``), else in
        proportion to length; unchanged words keep their timings. Raises EditError.
        """
        from . import revisions
        return revisions.edit(self.store, self.index, self.custody, self.resolve(ref), text,
                              base_revision=base_revision, note=note, align=align,
                              recover=self._recover_locked, on_wait=on_wait)

    def history(self, ref: str) -> list["RevisionInfo"]:
        """Every revision of a transcript, oldest (the machine's) first."""
        from . import revisions
        return revisions.history(self.store, self.resolve(ref))

    def revision_diff(self, ref: str, a: int, b: int) -> str:
        """Unified diff between two revisions of a transcript."""
        from . import revisions
        return revisions.revision_diff(self.store, self.resolve(ref), a, b)

    def marks(self, ref: str) -> list["Mark"]:
        """Passages of a recording verified by ear."""
        from . import revisions
        return revisions.marks(self.store, self.resolve(ref))

    def mark(self, ref: str, start: float, end: float, *, verified: bool = True,
             note: str | None = None,
             on_wait: Callable[[str], None] | None = None) -> list["Mark"]:
        """Mark [start, end] as verified by ear against the current revision (returns the
        new mark), or withdraw verification there (returns the marks withdrawn)."""
        from . import revisions
        rid = self.resolve(ref)
        if verified:
            return [revisions.mark(self.store, self.custody, rid, start, end, note=note,
                                   recover=self._recover_locked, on_wait=on_wait)]
        return revisions.unmark(self.store, self.custody, rid, start, end,
                                recover=self._recover_locked, on_wait=on_wait)

    def translate(self, ref: str, *, model: str | None = None,
                  progress: Callable[[float, float], None] | None = None,
                  on_wait: Callable[[str], None] | None = None) -> Transcript:
        """Make and store the English translation of a recording (replacing an earlier one)."""
        from . import revisions
        return revisions.translate(self.store, self.index, self.custody, self.resolve(ref),
                                   model=model, progress=progress,
                                   recover=self._recover_locked, on_wait=on_wait)

    def vocabulary(self) -> list[str]:
        """The archive-wide names vocabulary (hotwords for every ``add``)."""
        from . import revisions
        return revisions.read_vocabulary(self.store)

    def change_vocabulary(self, *, add: Iterable[str] = (), remove: Iterable[str] = (),
                          on_wait: Callable[[str], None] | None = None
                          ) -> tuple[list[str], list[str]]:
        """Add and remove vocabulary terms; returns (added, removed)."""
        from . import revisions
        return revisions.change_vocabulary(self.store, add=add, remove=remove, on_wait=on_wait)
