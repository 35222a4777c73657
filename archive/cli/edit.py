"""Correction commands: edit, history, mark, translate, vocab."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from . import Ctx, err_console, fail, main, out_console

pass_ctx = click.make_pass_decorator(Ctx)


def _editor() -> list[str]:
    cmd = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
    try:
        return shlex.split(cmd)
    except ValueError:
        return [cmd]


@main.command()
@click.argument("ref")
@click.option("--note", help="Why the transcript was corrected (kept with the revision).")
@click.option("--no-align", is_flag=True,
              help="Time new words by proportion only (no forced alignment on the audio).")
@pass_ctx
def edit(obj: Ctx, ref: str, note: str | None, no_align: bool) -> None:
    """Correct a transcript in $EDITOR; saving makes a new revision.

    One line per segment, "[mm:ss.s] S1: text": change words or the speaker, keep the times.
    Words you leave alone keep their timings; new words are aligned to the audio. The
    machine's transcript stays as revision 1 (`archive history`, `show --revision 1`).
    """
    from ..errors import EditError
    from .render import clean
    a = obj.archive()
    text, base = a.edit_text(ref)
    rid = a.resolve(ref)
    fd, name = tempfile.mkstemp(prefix=f"archive-edit-{rid[:10]}-r{base}-", suffix=".txt")
    path = Path(name)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    try:
        rc = subprocess.run([*_editor(), str(path)], check=False).returncode
    except OSError as e:
        path.unlink(missing_ok=True)
        fail(f"cannot run the editor {_editor()[0]!r} ({e.strerror}); set $EDITOR")
        return
    if rc != 0:
        path.unlink(missing_ok=True)
        fail(f"the editor exited with status {rc}; nothing was changed")
    edited = path.read_text("utf-8", errors="replace")
    try:
        res = a.edit(rid, edited, base_revision=base, note=note, align=not no_align)
    except EditError as e:
        fail(f"{e}; nothing was changed (your text is kept in {path})")
        return
    path.unlink(missing_ok=True)
    if not res.changed:
        click.echo(f"no changes; {rid[:10]} stays at revision {base}")
        return
    timing = {"aligned": "new words aligned to the audio",
              "proportional": "new words timed by proportion",
              "mixed": "new words aligned where possible"}.get(res.timing, "")
    click.echo(f"revision {res.revision} of {rid[:10]}: {clean(res.note)}"
               + (f" ({timing})" if timing else ""))
    for m in res.stale_marks:
        click.echo(f"note: {_span(m.start, m.end)} was verified by ear against revision "
                   f"{m.revision} and its words changed; listen again and `archive mark "
                   f"{rid[:10]} {m.start:.1f}-{m.end:.1f} --verified`", err=True)


def _span(start: float, end: float) -> str:
    from ..timecode import mss
    return f"{mss(start)}–{mss(end)}"


@main.command()
@click.argument("ref")
@click.option("--diff", "show_diff", is_flag=True, help="Show what each revision changed.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def history(obj: Ctx, ref: str, show_diff: bool, as_json: bool) -> None:
    """List the revisions of a transcript and the passages verified by ear."""
    from dataclasses import asdict
    a = obj.archive()
    revs = a.history(ref)
    marks = a.marks(ref)
    if as_json:
        from .render import safe_json  # C1 and bidi controls escaped, never raw
        click.echo(safe_json({"revisions": [asdict(r) for r in revs],
                              "verified": [asdict(m) for m in marks]}))
        return
    from .render import diff_text, history_tables
    con = out_console()
    for table in history_tables(revs, marks, _span):
        con.print(table)
    if show_diff:
        for prev, r in zip(revs, revs[1:]):
            con.print(diff_text(a.revision_diff(ref, prev.revision, r.revision)))


@main.command()
@click.argument("ref")
@click.argument("span", required=False)
@click.option("--verified/--unverified", default=None,
              help="Checked by ear against the current revision, or withdraw that.")
@click.option("--note", help="A note kept with the mark (e.g. how it was checked).")
@pass_ctx
def mark(obj: Ctx, ref: str, span: str | None, verified: bool | None,
         note: str | None) -> None:
    """Mark a passage as verified by ear: ID START-END, ID@START-END or hit N."""
    from ..timecode import parse_span
    if verified is None:
        fail("say --verified or --unverified", 2)
    a = obj.archive()
    if span is not None:
        start, end = parse_span(span)
        rid = a.resolve(ref)
    else:
        rid, start, end = a.span_for(ref)
    marks = a.mark(rid, start, end, verified=bool(verified), note=note)
    if verified:
        m = marks[0]
        click.echo(f"verified {rid[:10]} {_span(m.start, m.end)} by ear against revision "
                   f"{m.revision} ({m.by})")
    else:
        click.echo(f"withdrew {len(marks)} verification(s) overlapping {_span(start, end)} "
                   f"of {rid[:10]}")


@main.command()
@click.argument("ref")
@click.option("--model", metavar="NAME|PATH", help="Speech model (default: the transcript's).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@pass_ctx
def translate(obj: Ctx, ref: str, model: str | None, quiet: bool) -> None:
    """Store an English translation with its own timestamps (`show --translation`)."""
    from .render import clean, progress_bar
    a = obj.archive()
    rec = a.get(ref)
    had = a.translation(rec.id) is not None
    prog = progress_bar(err_console(), enabled=not quiet and sys.stderr.isatty(),
                        label="translate")
    task = prog.add_task("translate", total=max(rec.duration, 1e-9))

    def progress(done: float, total: float) -> None:
        prog.update(task, completed=done, total=max(total, 1e-9))
    with prog:
        tr = a.translate(rec.id, model=model, progress=progress)
    words = sum(len(s.words) for s in tr.segments)
    click.echo(f"{'replaced the' if had else 'stored an'} English translation of "
               f"{rec.short_id} ({clean(rec.language)}): {len(tr.segments)} segments, "
               f"{words} words; see `archive show {rec.short_id} --translation`")
    if rec.language == "en":
        click.echo("note: the recording was detected as English; only parts in other "
                   "languages read differently", err=True)


@main.group()
def vocab() -> None:
    """The archive's names vocabulary, favoured by recognition in every `add`."""


def _split(terms: tuple[str, ...]) -> list[str]:
    return [x.strip() for t in terms for x in t.split(",") if x.strip()]


@vocab.command("add")
@click.argument("terms", nargs=-1, required=True)
@pass_ctx
def vocab_add(obj: Ctx, terms: tuple[str, ...]) -> None:
    """Add names or terms (quote multi-word terms; commas separate too)."""
    from .render import clean
    added, _ = obj.archive().change_vocabulary(add=_split(terms))
    for t in _split(terms):
        if t not in added:
            click.echo(f"already in the vocabulary: {clean(t)}")
    if added:
        click.echo("added: " + ", ".join(clean(t) for t in added))


@vocab.command("remove")
@click.argument("terms", nargs=-1, required=True)
@pass_ctx
def vocab_remove(obj: Ctx, terms: tuple[str, ...]) -> None:
    """Remove names or terms."""
    from .render import clean
    _, removed = obj.archive().change_vocabulary(remove=_split(terms))
    low = {r.casefold() for r in removed}
    missing = [t for t in _split(terms) if " ".join(t.split()).casefold() not in low]
    if removed:
        click.echo("removed: " + ", ".join(clean(t) for t in removed))
    if missing:
        fail("not in the vocabulary: " + ", ".join(missing))


@vocab.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def vocab_list(obj: Ctx, as_json: bool) -> None:
    """List the vocabulary."""
    from .render import clean
    terms: list[Any] = obj.archive().vocabulary()
    if as_json:
        from .render import safe_json
        click.echo(safe_json(terms))
    elif not terms:
        click.echo("the vocabulary is empty; add names with `archive vocab add NAME...`")
    else:
        for t in terms:
            click.echo(clean(t))
