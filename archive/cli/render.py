"""Rich renderables, consoles and progress bars: the only module of ours that imports rich.

Every string that came from a user or a file (titles, tags, names, transcript text) passes
through :func:`clean` and is put into :class:`rich.text.Text` objects, never into markup, so
control characters and escape sequences cannot reach the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..citing.cite import citation_text  # noqa: F401  (re-exported: the CLI's `cite`)
from ..citing.cite import speaker_doubt
from ..models import LOW_CONFIDENCE, Hit, Recording, Speaker, Transcript
from ..text import clean, clean_block, safe_json  # noqa: F401  (re-exported)
from ..timecode import hms, mss

if TYPE_CHECKING:
    from rich.progress import Progress


def recordings_table(recs: Sequence[Recording],
                     speakers: dict[str, int] | None = None) -> Table:
    """The ``archive list`` table; inferred dates are marked with ``~``; empty optional
    columns (tags, source) are left out so titles get the room."""
    rows, inferred = [], False
    for r in recs:
        date = clean(r.recorded or "").replace("T", " ")[:16]
        if r.recorded and r.recorded_inferred:
            date, inferred = "~" + date, True
        n = (speakers or {}).get(r.id)
        rows.append([Text(clean(r.short_id)), Text(clean(r.title)), Text(date), mss(r.duration),
                     Text(clean(r.language or "")), str(n) if n else "",
                     Text(clean(", ".join(r.tags))), Text(clean(r.source or ""))])
    cols = [("id", dict(no_wrap=True, style="cyan")),
            ("title", dict(overflow="fold", ratio=3, min_width=16)),
            ("recorded", dict(no_wrap=True)), ("length", dict(no_wrap=True, justify="right")),
            ("lang", dict(no_wrap=True)), ("spk", dict(no_wrap=True, justify="right")),
            ("tags", dict(overflow="fold", ratio=1)), ("source", dict(overflow="fold", ratio=1))]
    keep = [i for i, (name, _) in enumerate(cols)
            if name not in ("tags", "source") or any(str(row[i]) for row in rows)]
    t = Table(header_style="bold", caption_justify="left")
    for i in keep:
        t.add_column(cols[i][0], **cols[i][1])
    for row in rows:
        t.add_row(*[row[i] for i in keep])
    if inferred:
        t.caption = "~ date inferred from the file name or container tags"
    return t


def transcript_view(t: Transcript, *, translation: Transcript | None = None) -> Group:
    """A transcript with ``[mm:ss.s]`` times; suspect segments and low-confidence words marked.

    Low-confidence words are underlined and dim; segments flagged as likely hallucinations are
    shown in red with their flags.
    """
    r = t.recording
    head = Text()
    head.append(clean(r.title), style="bold")
    head.append(f"  {clean(r.short_id)}  rev {t.revision}  {clean(t.language or '?')}  "
                f"{mss(r.duration)}", style="dim")
    lines: list[Any] = [head]
    tr_segs = translation.segments if translation else ()
    marked = False
    for s in (piece for seg in t.segments for piece in seg.split_at_pauses()):
        line = Text()
        line.append(f"[{mss(s.start)}] ", style="cyan")
        who = t.speaker_name(s.speaker)
        words = s.words or ()
        if who:
            unsure = bool(words) and all(w.speaker_uncertain for w in words)
            line.append(f"{clean(who)}{'?' if unsure else ''}: ", style="bold magenta")
        style_seg = "red" if s.flags else ""
        if words:
            for i, w in enumerate(words):
                st = style_seg
                if w.probability < LOW_CONFIDENCE:
                    st = (st + " underline dim").strip()
                if w.speaker_uncertain:
                    st = (st + " italic").strip()
                    marked = True
                line.append(clean(w.text) + ("≈" if w.overlap else ""), style=st or None)
                if i < len(words) - 1:
                    line.append(" ")
        else:
            line.append(clean(s.text.strip()), style=style_seg or None)
        if s.flags:
            line.append(f"  ⚠ suspect: {clean(', '.join(s.flags))}", style="bold red")
        lines.append(line)
        if tr_segs:
            en = " ".join(x.text.strip() for x in tr_segs
                          if x.end > s.start and x.start < s.end)
            if en:
                lines.append(Text(f"         en: {clean(en)}", style="green"))
    legend = Text("low-confidence words are underlined; ⚠ marks text the model may have "
                  "invented", style="dim italic")
    if marked:
        legend.append("; italic words may be another speaker's (≈: spoken while another "
                      "voice was heard; ?: speaker uncertain)")
    lines.append(legend)
    return Group(*lines)


def hits_table(hits: Sequence[Hit], *, quote: bool = False) -> Table:
    """The ``archive search`` table, matched words highlighted."""
    t = Table(header_style="bold", show_lines=True)
    t.add_column("#", justify="right", no_wrap=True)
    t.add_column("recording", overflow="fold", max_width=22)
    t.add_column("speaker", overflow="fold", max_width=14)
    t.add_column("time", no_wrap=True)
    t.add_column("text", overflow="fold", ratio=3)
    t.add_column("match" if quote else "score", justify="right", no_wrap=True)
    for n, h in enumerate(hits, 1):
        rec = Text(clean(h.title))
        rec.append(f"\n{clean(h.short_id)}", style="cyan")
        snippet = Text()
        if h.before:
            snippet.append("…" + clean(h.before) + " ", style="dim")
        snippet.append(clean(h.text), style="bold yellow")
        if h.after:
            snippet.append(" " + clean(h.after) + "…", style="dim")
        if quote and h.differences:
            diffs = "; ".join(f"{clean(q) or '∅'} → {clean(w) or '∅'}"
                              for q, w in h.differences)
            snippet.append(f"\ndiffers: {diffs}", style="red")
        if h.translation:
            snippet.append("  [en translation]", style="green")
        if h.match in ("form", "transliteration"):  # the words as spoken differ from the query's
            snippet.append(f"  [{'other form' if h.match == 'form' else 'transliteration'}]",
                           style="magenta")
        score = f"{h.similarity:.0%}" if quote and h.similarity is not None else f"{h.score:.2f}"
        who = Text(clean(h.speaker or ""))
        if h.speaker_uncertain:
            who.append("\n" + speaker_doubt(h.speaker_confidence, h.overlap), style="yellow")
        t.add_row(str(n), rec, who,
                  f"[{hms(h.start)}–\n {hms(h.end)}]", snippet, score)
    return t


def speakers_table(t: Transcript) -> Table:
    """The ``archive speakers ID`` table with talk time, turns and a sample line."""
    tab = Table(header_style="bold")
    for col in ("label", "name", "talk time", "turns", "sample"):
        tab.add_column(col, overflow="fold")
    for sp in t.speakers:
        sample = next((s.text.strip() for s in t.segments
                       if s.speaker == sp.label and len(s.words) >= 4), "")
        tab.add_row(Text(clean(sp.label)), Text(clean(sp.name or "")), mss(sp.talk_time), str(sp.turns),
                    Text(clean(sample[:80])))
    return tab


def matches_table(rows: Iterable[tuple[Recording, Speaker, float]]) -> Table:
    """Ranked voice matches from other recordings."""
    tab = Table(header_style="bold")
    for col in ("recording", "title", "speaker", "similarity"):
        tab.add_column(col)
    for rec, sp, score in rows:
        tab.add_row(Text(clean(rec.short_id), style="cyan"), Text(clean(rec.title)),
                    Text(clean(sp.display)), f"{score:.3f}")
    return tab


def events_table(events: Sequence[dict[str, Any]]) -> Table:
    """Custody events."""
    tab = Table(header_style="bold")
    for col in ("#", "time", "user", "event", "recording", "details"):
        tab.add_column(col, overflow="fold")
    for e in events:
        det = ", ".join(f"{k}={clean(v)}" for k, v in (e.get("details") or {}).items())
        # every cell a Text: a plain str cell is parsed as markup (a user named "[/]" would
        # crash the table, "[link=…]" would emit a hyperlink)
        tab.add_row(*(Text(clean(x)) for x in (
            e.get("seq"), e.get("time"), e.get("user"), e.get("event"),
            str(e.get("recording") or "")[:10])), Text(det))
    return tab


def console(*, stderr: bool) -> Console:
    """A console for stdout (tables, transcripts) or stderr (progress, notes)."""
    if stderr:
        return Console(stderr=True, highlight=False)
    return Console(highlight=False, soft_wrap=False)


def progress_bar(con: Console, *, enabled: bool, label: str | None = None) -> Progress:
    """A transient progress bar: one task per line labelled ``label`` (or each task's own
    description), with percentage, elapsed time and ETA."""
    # imported here: only commands that draw a bar need it (~9 ms of a search's start-up)
    from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    class Remaining(TimeRemainingColumn):
        """Rich's own ETA, unless the task brings one (a batch of files knows its hours
        left)."""

        def render(self, task: Any) -> Any:
            eta = task.fields.get("eta")
            return super().render(task) if eta is None else Text(eta, "progress.remaining")

    first = TextColumn(label) if label else TextColumn("{task.description}")
    return Progress(first, BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(), TextColumn("ETA"), Remaining(),
                    console=con, transient=True, disable=not enabled)


def history_tables(revs: Sequence[Any], marks: Sequence[Any],
                   span: Callable[[float, float], str]) -> list[Table]:
    """A recording's revisions, and its passages verified by ear when there are any."""
    tab = Table(header_style="bold")
    for col in ("rev", "author", "time", "words changed", "speakers changed", "note"):
        tab.add_column(col, overflow="fold")
    for r in revs:
        tab.add_row(f"{r.revision}{' *' if r.current else ''}", Text(clean(r.author)),
                    Text(clean(r.created)), "—" if r.revision == 1 else str(r.words_changed),
                    "—" if r.revision == 1 else str(r.speakers_changed),
                    Text(clean(r.note or ("machine transcript" if r.author == "machine"
                                          else ""))))
    tables = [tab]
    if marks:
        vt = Table(header_style="bold", title="verified by ear")
        for col in ("span", "revision", "by", "at", "note"):
            vt.add_column(col, overflow="fold")
        for m in marks:
            vt.add_row(span(m.start, m.end), str(m.revision), Text(clean(m.by)), Text(clean(m.at)),
                       Text(clean(m.note or "")))
        tables.append(vt)
    return tables


def diff_text(diff: str) -> Text:
    """A unified diff with added lines green and removed lines red."""
    def style(line: str) -> str | None:
        return "green" if line.startswith("+") else "red" if line.startswith("-") else None
    return Text("\n").join(Text(clean(line), style=style(line)) for line in diff.splitlines())
