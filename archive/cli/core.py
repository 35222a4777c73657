"""Commands for the evidence store: init, add, list, show, export, log, verify, rm."""

from __future__ import annotations

import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import click

from . import Ctx, err_console, fail, main, note_interrupted, out_console

pass_ctx = click.make_pass_decorator(Ctx)


@main.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.pass_context
def init(ctx: click.Context, path: str | None) -> None:
    """Create an archive folder (default: --archive, $ARCHIVE_DIR or the per-user folder)."""
    from ..library import Archive
    a = Archive.init(path or ctx.obj.archive_path)
    click.echo(f"archive ready at {a.root}")


def _progress_callbacks(enabled: bool):
    """A rich progress bar with ETA per file; returns (progress, callback, on_wait)."""
    from .render import progress_bar
    console = err_console()
    prog = progress_bar(console, enabled=enabled)
    tasks: dict[tuple[Path, str], Any] = {}

    def callback(path: Path, stage: str, done: float, total: float) -> None:
        from .render import clean
        key = (path, stage)
        if key not in tasks:
            tasks[key] = prog.add_task(f"{stage:>10} {clean(path.name)[:40]}",
                                       total=max(total, 1e-9))
        prog.update(tasks[key], completed=done, total=max(total, 1e-9))

    def on_wait(holder: str) -> None:
        from .render import clean
        console.print(f"waiting for another archive process ({clean(holder)}) to finish "
                      "writing…", markup=False)
    return prog, callback, on_wait


def _echo_above(prog: Any, show: bool):
    """click.echo, except that a line for the terminal the bars are drawn on goes through
    their console, above them (written past it, it would be drawn over)."""
    def echo(text: str, err: bool = False) -> None:
        if show and (sys.stderr if err else sys.stdout).isatty():
            prog.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(text, err=err)
    return echo


def _overall_bar(prog: Any):
    """A callback drawing one bar for a batch: files done, hours of audio done, and the
    batch's own ETA (rich's per-bar estimate knows nothing of the files still queued)."""
    task: list[Any] = []

    def overall(b: Any) -> None:
        if b.files_total < 2:
            return
        text = (f"{b.files_done}/{b.files_total} files, {_clock(b.seconds_done)}/"
                f"{_clock(b.seconds_total)} of audio")
        eta = "-:--:--" if b.eta is None else _clock(b.eta)
        if not task:
            task.append(prog.add_task(text, total=max(b.seconds_total, 1e-9), eta=eta))
        prog.update(task[0], description=text, completed=b.seconds_done, eta=eta)
    return overall


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False))
@click.option("--title", help="Title (default: the file name).")
@click.option("--source", help="Who or where it came from.")
@click.option("--recorded", metavar="DATE", help="When it was recorded (YYYY-MM-DD[ hh:mm]).")
@click.option("--tag", "tags", multiple=True, help="A tag; repeat for more.")
@click.option("--note", help="A free note kept with the recording.")
@click.option("--language", metavar="CODE", help="Force the language (e.g. en, de, uk, ru).")
@click.option("--model", metavar="NAME|PATH",
              help="Speech model (default: the embedded Whisper base; tiny.en; a local "
                   "CTranslate2 folder; or a faster-whisper name already in the local cache).")
@click.option("--diarize/--no-diarize", default=True, show_default=True,
              help="Split the transcript by speaker.")
@click.option("--speakers", type=click.IntRange(1, 20), help="Exact number of speakers.")
@click.option("--min-speakers", type=click.IntRange(1, 20), help="At least this many speakers.")
@click.option("--max-speakers", type=click.IntRange(1, 20), help="At most this many speakers.")
@click.option("--hotwords", metavar="TEXT",
              help="Names and terms to favour, e.g. \"Khakassia, Navalny, Chernihiv\".")
@click.option("--translate", is_flag=True, help="Also store an English translation.")
@click.option("--max-duration", "max_duration", metavar="TIME", default="12h",
              show_default=True,
              help="Refuse recordings longer than this (e.g. 12h, 90m, 3600, 1:30:00).")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Analyse this many files at once, in worker processes.")
@click.option("--cluster", metavar="tcp://HOST:8786", envvar="ARCHIVE_CLUSTER",
              help="Hand transcription and diarization to the workers of this Dask scheduler "
                   "(needs archive[cluster]; default: $ARCHIVE_CLUSTER).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"], case_sensitive=False),
              help="Where the models run (default: $ARCHIVE_DEVICE, else auto: a CUDA GPU "
                   "when there is one).")
@click.option("--compute-type", metavar="TYPE",
              help="CTranslate2 compute type (default: float16 on a GPU, int8 on the CPU).")
@click.option("--batch-size", type=click.IntRange(1, 256), metavar="N",
              help="Speech chunks decoded at once (default: 1 on the CPU, 16 on a GPU; "
                   "1 decodes one window after another).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@pass_ctx
def add(obj: Ctx, paths: tuple[str, ...], title: str | None, source: str | None,
        recorded: str | None, tags: tuple[str, ...], note: str | None, language: str | None,
        model: str | None, diarize: bool, speakers: int | None, min_speakers: int | None,
        max_speakers: int | None, hotwords: str | None, translate: bool, max_duration: str,
        jobs: int, cluster: str | None, device: str | None, compute_type: str | None,
        batch_size: int | None, quiet: bool) -> None:
    """Add recordings (files or folders, walked recursively) to the archive."""
    from ..ingest.pipeline import AddOptions, check_device
    from ..evidence.provenance import parse_user_date
    from .render import clean
    limit = _duration_option(max_duration)
    if recorded:
        try:
            recorded = parse_user_date(recorded)
        except ValueError as e:
            fail(str(e), 2)
    if min_speakers and max_speakers and min_speakers > max_speakers:
        fail("--min-speakers is larger than --max-speakers", 2)
    # Before the archive or any file is touched: one error, not one per file.
    check_device(AddOptions(device=device, compute_type=compute_type))
    obj.archive(create=True)
    vocab = _vocabulary(obj, hotwords)
    opts = AddOptions(title=title, source=source, recorded=recorded, tags=tags, note=note,
                      language=language, model=model, diarize=diarize, speakers=speakers,
                      min_speakers=min_speakers, max_speakers=max_speakers, hotwords=vocab,
                      translate=translate, max_duration=limit, device=device,
                      compute_type=compute_type, batch_size=batch_size)
    a = obj.archive()
    show = not quiet and sys.stderr.isatty()
    prog, callback, on_wait = _progress_callbacks(show)
    echo = _echo_above(prog, show)
    added = dups = errors = 0
    shown = len(a.recovered)
    batch = a.add_many([Path(p) for p in paths], opts, progress=callback, on_wait=on_wait,
                       jobs=jobs, cluster=cluster or None,
                       overall=_overall_bar(prog) if show else None)
    # closing(): on Ctrl-C the batch stops its workers now, not at interpreter exit.
    with prog, closing(batch):
        for r in batch:
            for line in a.recovered[shown:]:
                echo(f"recovered: {clean(line)}", err=True)
            shown = len(a.recovered)
            if r.recording is not None:
                added += 1
                rec = r.recording
                lang = clean(rec.language) if rec.language else "no speech detected"
                echo(f"added {rec.short_id}  {clean(rec.title)}  ({rec.duration:.1f} s, "
                     f"{lang}{_date_note(rec)}){_gaps_note(rec)}")
            elif r.duplicate_of:
                dups += 1
                echo(f"already archived: {clean(r.path.name)} is {r.duplicate_of[:10]}")
            else:
                errors += 1
                echo(f"archive: error: {clean(str(r.error))}", err=True)
    total = added + dups + errors
    if total == 0:
        fail("no audio files found in the given paths", 1)
    if total > 1:
        click.echo(f"{added} added, {dups} already archived, {errors} failed")
    if errors:
        sys.exit(1)


def _duration_option(text: str) -> float:
    """``--max-duration``: 12h, 90m, 45s, 3600 or 1:30:00, as seconds (one-line error)."""
    import math
    from ..errors import ArchiveError
    from ..timecode import parse_time
    t = text.strip().lower()
    unit = {"h": 3600.0, "m": 60.0, "s": 1.0}.get(t[-1:], 0.0)
    try:
        value = float(t[:-1]) * unit if unit else parse_time(t)
    except (ValueError, ArithmeticError, ArchiveError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        fail(f"--max-duration: {text!r} is not a positive duration (e.g. 12h, 90m, 3600)", 2)
    return value


def _gaps_note(rec: Any) -> str:
    """What could not be decoded, for the add line: ``; could not decode 9.4-9.6 s``."""
    if not rec.gaps:
        return ""
    spans = [f"{a:.1f}-{b:.1f} s" if b > a else f"at {a:.1f} s (length unknown)"
             for a, b in rec.gaps[:5]]
    more = f" and {len(rec.gaps) - 5} more" if len(rec.gaps) > 5 else ""
    return f"; damaged: could not decode {', '.join(spans)}{more} (kept as silence)"


def _date_note(rec: Any) -> str:
    if rec.recorded and rec.recorded_inferred:
        return f", recorded {rec.recorded} (inferred from {rec.recorded_basis})"
    if rec.recorded:
        return f", recorded {rec.recorded}"
    return ""


def _vocabulary(obj: Ctx, hotwords: str | None) -> str | None:
    """Hotwords from the option plus the archive-wide vocabulary file, if any."""
    parts = [hotwords] if hotwords else []
    try:
        vocab = obj.archive().root / "vocabulary.txt"
        if vocab.exists():
            words = [w.strip() for line in vocab.read_text("utf-8").splitlines()
                     if not line.lstrip().startswith("#") for w in line.split(",")]
            parts.extend(w for w in words if w)
    except OSError:
        pass
    return ", ".join(parts) if parts else None


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def list_(obj: Ctx, as_json: bool) -> None:
    """List the recordings in the archive."""
    recs = obj.archive().recordings()
    note_interrupted(obj.archive())
    if as_json:
        from .render import safe_json
        click.echo(safe_json([r.to_json() for r in recs]))
        return
    if not recs:
        click.echo("the archive is empty; add recordings with `archive add FILE`")
        return
    from .render import recordings_table
    counts: dict[str, int] = {}
    for rid, _label, _name, _vp in obj.archive().store.voiceprints():
        counts[rid] = counts.get(rid, 0) + 1
    out_console().print(recordings_table(recs, counts))


@main.command()
@click.argument("ref")
@click.option("--revision", type=int, help="Show an older revision.")
@click.option("--translation", is_flag=True, help="Show the English translation alongside.")
@pass_ctx
def show(obj: Ctx, ref: str, revision: int | None, translation: bool) -> None:
    """Show a transcript with [mm:ss.s] times, speakers and confidence marks."""
    from .render import transcript_view
    a = obj.archive()
    t = a.transcript(ref, revision=revision)
    tr = None
    if translation:
        tr = a.translation(ref)
        if tr is None:
            fail(f"{t.recording.short_id} has no translation; run `archive translate "
                 f"{t.recording.short_id}`")
    out_console().print(transcript_view(t, translation=tr))


@main.command()
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["txt", "srt", "vtt", "json", "rttm"]),
              default="txt", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to a file (`-`: standard output); never inside the archive.")
@click.option("--revision", type=int, help="Export an older revision.")
@pass_ctx
def export(obj: Ctx, ref: str, fmt: str, output: str | None, revision: int | None) -> None:
    """Export a transcript as txt, srt, vtt, json or rttm."""
    a = obj.archive()
    text = a.export(ref, fmt, revision=revision)
    if output and output != "-":  # `-o -` is stdout
        from .render import clean
        where = a.write_output(Path(output), text.encode("utf-8"))
        click.echo(f"wrote {clean(where)}", err=True)
    else:
        if sys.stdout.isatty():  # text typed by people may hold escape sequences
            from .render import clean_block
            text = clean_block(text)
        click.echo(text, nl=False)


@main.command()
@click.argument("ref", required=False)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def log(obj: Ctx, ref: str | None, as_json: bool) -> None:
    """Show the custody log, for one recording or the whole archive."""
    events = obj.archive().log(ref)
    if as_json:
        from .render import safe_json
        click.echo(safe_json(events))
        return
    from .render import events_table
    out_console().print(events_table(events))


@main.command()
@click.option("--repair", is_flag=True,
              help="Fix what can be fixed from the transcripts (never touches originals).")
@pass_ctx
def verify(obj: Ctx, repair: bool) -> None:
    """Re-hash every original and check catalog, transcripts, index and custody log."""
    from .render import clean
    a = obj.archive(lenient=True)
    _, _, on_wait = _progress_callbacks(False)
    rep = a.verify(repair=repair, on_wait=on_wait)
    for line in rep.recovered:
        click.echo(f"recovered: {clean(line)}")
    for line in rep.repaired:
        click.echo(f"repaired: {clean(line)}")
    for line in rep.problems:
        click.echo(f"PROBLEM: {clean(line)}")
    for line in rep.unverifiable:
        click.echo(f"unverifiable: {clean(line)}")
    if rep.ok and rep.unverifiable:
        click.echo(f"unverifiable: {rep.checked} originals verified by SHA-256 and no damage "
                   f"found, but {len(rep.unverifiable)} file(s) predate the custody log's "
                   "digests, so changes to them cannot be seen; `archive verify --repair` "
                   "records their digests now")
    elif rep.ok:
        click.echo(f"ok: {rep.checked} originals verified by SHA-256; catalog, transcripts, "
                   "index and custody log agree")
    else:
        click.echo(f"{len(rep.problems)} problem(s) found"
                   + ("" if repair else "; `archive verify --repair` fixes what the "
                      "transcripts can rebuild"), err=True)
        sys.exit(1)


@main.command()
@click.argument("ref")
@click.option("--reason", required=True, help="Why it is removed (kept in the custody log).")
@click.option("--purge", is_flag=True, help="Delete the original for good (no quarantine).")
@pass_ctx
def rm(obj: Ctx, ref: str, reason: str, purge: bool) -> None:
    """Remove a recording; its original moves to quarantine/ unless --purge."""
    from .render import clean
    a = obj.archive()
    rec = a.get(ref)
    _, _, on_wait = _progress_callbacks(False)
    q = a.remove(rec.id, reason=reason, purge=purge, on_wait=on_wait)
    for line in a.recovered:
        click.echo(f"recovered: {clean(line)}", err=True)
    where = f"original quarantined at {clean(q)}" if q else "original purged"
    click.echo(f"removed {rec.short_id} ({clean(rec.title)}); {where}")
