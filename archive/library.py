"""The library facade the CLI calls: one :class:`Archive` per archive folder.

It never prints or exits. Long work takes a progress callback; failures raise
:class:`~archive.errors.ArchiveError` subclasses. Most methods delegate to the module that
does the work: quotes and citations to :mod:`archive.citing`, adding and translating to
:mod:`archive.ingest`, corrections and speaker names to :mod:`archive.editing`, search to
:mod:`archive.search`, verify and repair to :mod:`archive.evidence`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from .citing import cite as citing
from .errors import BadReference
from .citing.export import export as render_export
from .models import Citation, Hit, Recording, Transcript
from .paths import default_archive
from .evidence.store import CustodyLog, Store
from .timecode import parse_hit_number, parse_ref

if TYPE_CHECKING:
    from .editing.corrections import EditResult, Mark, RevisionInfo
    # ingest pulls in numpy; searching and listing must not pay for it.
    from .ingest.batch import BatchProgress
    from .ingest.pipeline import AddOptions, AddResult, Ingest, Progress


class Archive:
    """An evidence archive in a folder.

    Args:
        root: The archive folder; defaults to ``$ARCHIVE_DIR`` or the per-user data folder.
        create: Create the archive if it does not exist.

    Raises:
        ArchiveNotFound: If there is no archive there and ``create`` is False.
    """

    def __init__(self, root: Path | str | None = None, *, create: bool = False,
                 lenient: bool = False) -> None:
        # lenient: open despite a damaged archive.json (for verify, which reports it)
        self.store = Store(Path(root) if root else default_archive(), create=create,
                           lenient=lenient)
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
            from .search.index import Index
            self._index = Index(self.store.index_dir)
        return self._index

    def _ingest(self) -> Ingest:
        from .ingest.pipeline import Ingest
        return Ingest(self.store, self.index, self._recover_locked)

    def _recover_locked(self) -> list[str]:
        from .evidence.recovery import recover
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
        from .errors import IndexCorrupt, IndexOutdated
        for attempt in range(6):
            try:
                return fn(self.index())
            except IndexCorrupt as e:
                if attempt == 5 or isinstance(e, IndexOutdated):
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
        from .evidence.recovery import interrupted
        return interrupted(self.store)

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

    def playback_audio(self, ref: str, *, make: bool = True) -> tuple[Path, str, bool]:
        """A file a browser can play for a recording: (path, MIME type, derived).

        The original where browsers play its format; else a lossless copy cached outside
        the archive (made now when ``make``; see :mod:`archive.citing.playback`).
        """
        from .citing import playback
        rec = self.get(ref)
        path = self.store.original_path(rec)
        if playback.browser_playable(rec):
            return path, playback.mime_type(path), False
        copy = playback.playback_copy(path, rec) if make else path
        return copy, "audio/flac", True

    def export(self, ref: str, fmt: str, *, revision: int | None = None) -> str:
        """A transcript rendered as txt, srt, vtt, json or rttm."""
        return render_export(self.transcript(ref, revision=revision), fmt)

    def write_output(self, path: Path | str, data: bytes) -> Path:
        """Write an output file the user asked for (an export), never over the archive's
        own files; returns the path really written. See :mod:`archive.evidence.outputs`.

        Raises:
            OutputRefused: If the path is inside the archive (outside ``clips/``).
        """
        from .evidence.outputs import write_output
        return write_output(path, data, self.root)

    def log(self, ref: str | None = None) -> list[dict[str, Any]]:
        """Custody events, for one recording or the whole archive."""
        rid = self.resolve(ref) if ref else None
        return self.custody.events(rid)

    # ------------------------------------------------------------ add
    def add(self, path: Path | str, opts: AddOptions | None = None, *,
            progress: Progress | None = None,
            on_wait: Callable[[str], None] | None = None) -> Recording:
        """Add one recording. See :meth:`archive.ingest.pipeline.Ingest.add`."""
        from .ingest.pipeline import AddOptions
        return self._ingest().add(Path(path), opts or AddOptions(), progress=progress,
                                  on_wait=on_wait)

    def add_many(self, paths: Iterable[Path | str], opts: AddOptions | None = None, *,
                 progress: Callable[[Path, str, float, float], None] | None = None,
                 on_wait: Callable[[str], None] | None = None, jobs: int = 1,
                 cluster: str | None = None,
                 overall: Callable[[BatchProgress], None] | None = None) -> Iterator[AddResult]:
        """Add files and folders (walked recursively); one bad file does not stop the rest.

        ``jobs`` above 1 analyses that many files at once in worker processes, ``cluster``
        (``tcp://HOST:8786``) on a Dask cluster's workers; ``overall`` gets the batch's
        progress (files done, audio done, ETA). See :func:`archive.ingest.batch.add_files`.

        Yields:
            One :class:`AddResult` per file, as each finishes (in walk order).
        """
        from .ingest.batch import add_files
        from .ingest.pipeline import AddOptions
        yield from add_files(self._ingest(), paths, opts or AddOptions(), progress=progress,
                             on_wait=on_wait, jobs=jobs, cluster=cluster, overall=overall)

    # ------------------------------------------------------------ search
    def search(self, query: str, *, limit: int = 20, sort: str = "score",
               translation: bool | None = None) -> list[Hit]:
        """Hits for a query in the archive's query language (see index.py), each with the
        speaker confidence and overlap mark of its words."""
        hits = self._read_index(
            lambda ix: ix.search(query, limit=limit, sort=sort, translation=translation))
        return citing.with_speaker_certainty(self.store, hits)

    def exact_only_languages(self) -> list[str]:
        """Languages of the archive whose words are searched by exact forms only."""
        return self._read_index(lambda ix: ix.exact_only_languages())

    def quote(self, text: str, *, limit: int = 5, min_similarity: float = 0.5) -> list[Hit]:
        """Passages matching a quote as published, even where recognition misheard words.

        See :func:`archive.citing.quote_hits`.
        """
        return citing.quote_hits(self.store, self.index(), text, limit=limit,
                                 min_similarity=min_similarity)

    @staticmethod
    def quote_words(query: str) -> str | None:
        """The words of a query of plain words or phrases, to offer it as a quote search
        when it finds nothing (see :func:`archive.search.query.quote_words`)."""
        from .search.query import quote_words
        return quote_words(query)

    def remember_hits(self, hits: Sequence[Hit]) -> None:
        """Keep the hits of the last search so ``cite N`` can refer to them."""
        citing.remember_hits(self.root, hits)

    def last_hit(self, n: int) -> Hit:
        """Hit number ``n`` (from 1) of the last search."""
        return citing.last_hit(self.root, n)

    # ------------------------------------------------------------ cite (citing.py)
    def span_for(self, ref: str) -> tuple[str, float, float]:
        """(full id, start, end) for a hit number or ``ID@START-END``."""
        n = parse_hit_number(ref)
        if n is not None:
            h = self.last_hit(n)
            if not self.store.has(h.recording_id):  # a stale search: removed since
                raise BadReference(f"hit {n} of the last search is a recording no longer in "
                                   "the archive; run the search again")
            return h.recording_id, h.start, h.end
        prefix, start, end = parse_ref(ref)
        return self.resolve(prefix), start, end

    def cite(self, ref: str) -> Citation:
        """A citation for a hit number from the last search, or ``ID@START-END``."""
        return citing.cite(self.store, *self.span_for(ref))

    def clip(self, c: Citation, *, padding: float = 1.0, fmt: str = "ogg",
             dest: Path | None = None) -> Citation:
        """Export the cited span's audio (with padding) and a sidecar manifest.

        Returns:
            The citation with ``clip_path`` and ``clip_sha256`` filled in.
        """
        return citing.clip(self.store, self.custody, c, padding=padding, fmt=fmt, dest=dest)

    def citation_text(self, c: Citation, fmt: str = "text") -> str:
        """A citation as ``archive cite --format FMT`` prints it (text, markdown or json)."""
        return citing.citation_text(c, fmt)

    def verification(self, rid: str, start: float, end: float) -> dict[str, Any] | None:
        """The latest check-by-ear covering [start, end], or None."""
        return citing.verification(self.store, rid, start, end)

    # ------------------------------------------------------------ index
    def _rebuild_index(self, transcripts: Iterable[Transcript], total: int,
                       progress: Callable[[float, float], None] | None = None) -> int:
        """Build a fresh index beside the old one and swap it in (call with the lock)."""
        from .search.index import Index
        n = Index.rebuild_at(self.store.index_dir, transcripts, total=total, progress=progress)
        self._index = None
        return n

    def reindex(self, *, progress: Callable[[float, float], None] | None = None) -> int:
        """Rebuild the search index from the transcripts alone. Returns documents indexed."""
        def transcripts() -> Iterator[Transcript]:
            for rid in sorted(self.store.ids()):
                yield self.store.read_transcript(rid)
                tr = self.store.read_translation(rid)
                if tr is not None:
                    yield tr

        with self.store.write_lock():
            n = self._rebuild_index(transcripts(), len(self.store.ids()), progress)
            self.custody.append("reindex", None, recordings=len(self.store.ids()))
        return n

    # ------------------------------------------------------------ speakers
    def rename_speaker(self, ref: str, who: str, name: str | None, *,
                       on_wait: Callable[[str], None] | None = None) -> tuple[Transcript, list]:
        """Name speaker ``who`` (label or current name); returns the new revision and
        likely same-voice speakers in other recordings (suggestions, never applied)."""
        from .editing import speakers
        return speakers.rename(self.store, self.index, self.custody, self.resolve(ref), who,
                               name, recover=self._recover_locked, on_wait=on_wait)

    def merge_speakers(self, ref: str, src: str, dst: str, *,
                       on_wait: Callable[[str], None] | None = None) -> Transcript:
        """Fold speaker ``src`` into ``dst`` as a new revision."""
        from .editing import speakers
        return speakers.merge(self.store, self.index, self.custody, self.resolve(ref), src,
                              dst, recover=self._recover_locked, on_wait=on_wait)

    def match_speaker(self, ref: str, who: str, *, limit: int = 10) -> list:
        """Other recordings' speakers ranked by voice similarity to ``who``."""
        from .speakers import naming as speakers
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
        from .evidence.integrity import repair as do_repair
        from .evidence.integrity import verify
        lock = self.store.write_lock(on_wait=on_wait) if self.store.writable or repair else None
        fixed: list[str] = []
        recovered: list[str] = []
        if repair:
            with self.store.write_lock(on_wait=on_wait):
                recovered = self._recover_locked()
                fixed = do_repair(self.store, self.index, self.custody, self._rebuild_index)
                self._index = None
        rep = verify(self.store, self.index, self.custody, lock=lock,
                     recover_fn=self._recover_locked, progress=progress)
        rep.recovered[:0] = recovered
        rep.repaired.extend(fixed)
        return rep

    def remove(self, ref: str, *, reason: str, purge: bool = False,
               on_wait: Callable[[str], None] | None = None) -> Path | None:
        """Remove a recording explicitly; its original goes to quarantine (or is purged)."""
        from .evidence.integrity import remove
        if not reason.strip():
            raise BadReference("a removal needs a --reason")
        rec = self.get(ref)
        with self.store.write_lock(on_wait=on_wait):
            self._recover_locked()
            q = remove(self.store, self.index, self.custody, rec, reason=reason, purge=purge)
            self._index = None
        return q

    # ------------------------------------------------------------ corrections (revisions.py)
    # Annotations name classes of archive.editing.corrections (EditResult, RevisionInfo, Mark).
    def edit_text(self, ref: str) -> tuple[str, int]:
        """The current transcript as editable text, and the revision it shows."""
        from .editing.corrections import edit_text
        t = self.transcript(ref)
        return edit_text(t), t.revision

    def edit(self, ref: str, text: str, *, base_revision: int | None = None,
             note: str | None = None, align: bool = True,
             on_wait: Callable[[str], None] | None = None) -> "EditResult":
        """Apply an edited text as a new revision (nothing is written if nothing changed).

        Changed words are placed by forced alignment on the original (``align``), else in
        proportion to length; unchanged words keep their timings. Raises EditError.
        """
        from .editing import revisions
        return revisions.edit(self.store, self.index, self.custody, self.resolve(ref), text,
                              base_revision=base_revision, note=note, align=align,
                              recover=self._recover_locked, on_wait=on_wait)

    def history(self, ref: str) -> list["RevisionInfo"]:
        """Every revision of a transcript, oldest (the machine's) first."""
        from .editing import revisions
        return revisions.history(self.store, self.resolve(ref))

    def revision_diff(self, ref: str, a: int, b: int) -> str:
        """Unified diff between two revisions of a transcript."""
        from .editing import revisions
        return revisions.revision_diff(self.store, self.resolve(ref), a, b)

    def marks(self, ref: str) -> list["Mark"]:
        """Passages of a recording verified by ear."""
        from .editing import revisions
        return revisions.marks(self.store, self.resolve(ref))

    def mark(self, ref: str, start: float, end: float, *, verified: bool = True,
             note: str | None = None,
             on_wait: Callable[[str], None] | None = None) -> list["Mark"]:
        """Mark [start, end] as verified by ear against the current revision (returns the
        new mark), or withdraw verification there (returns the marks withdrawn)."""
        from .editing import revisions
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
        from .ingest.translate import translate
        return translate(self.store, self.index, self.custody, self.resolve(ref),
                         model=model, progress=progress,
                         recover=self._recover_locked, on_wait=on_wait)

    def vocabulary(self) -> list[str]:
        """The archive-wide names vocabulary (hotwords for every ``add``)."""
        from .editing import revisions
        return revisions.read_vocabulary(self.store)

    def change_vocabulary(self, *, add: Iterable[str] = (), remove: Iterable[str] = (),
                          on_wait: Callable[[str], None] | None = None
                          ) -> tuple[list[str], list[str]]:
        """Add and remove vocabulary terms; returns (added, removed)."""
        from .editing import revisions
        return revisions.change_vocabulary(self.store, add=add, remove=remove, on_wait=on_wait)
