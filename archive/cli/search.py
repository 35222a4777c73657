"""Commands to find and use quotes: search, cite, play, reindex."""

from __future__ import annotations

import shlex
import subprocess
import sys

import click

from . import Ctx, fail, main, note_interrupted, out_console

pass_ctx = click.make_pass_decorator(Ctx)


@main.command()
@click.argument("query", nargs=-1)
@click.option("--quote", "quote", metavar="TEXT",
              help="Find a quote as published, tolerating misheard words.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--sort", type=click.Choice(["score", "time"]), default="score",
              show_default=True)
@click.option("--translation", is_flag=True, help="Search English translations only.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def search(obj: Ctx, query: tuple[str, ...], quote: str | None, limit: int, sort: str,
           translation: bool, as_json: bool) -> None:
    """Search transcripts.

    \b
    Query forms:
      предателями                  a word in any of its forms (предатель, предателей...)
      Navalny  Chernihiv           a name in either alphabet (Навальный, Чернигов)
      =трусы  ="трусы и предатели" exactly this form (no other forms or alphabets)
      "cowards and traitors"       phrase, word by word in any form
      cowards AND traitors, OR, NOT
      traitor*  traitor~  traitor~2 wildcard, fuzzy
      speaker:Commander  recording:3fa4  title:call  lang:uk  tag:leak  source:anon
      recorded:2022-03..2022-04    recording-date range
    Hits in exactly the typed form come first; others are marked [other form] or
    [transliteration]. Stop words (и, в, the, der...) do not rank hits.
    """
    a = obj.archive()
    note_interrupted(a)
    text = " ".join(query).strip()
    if quote:
        hits = a.quote(quote, limit=limit)
    elif text:
        hits = a.search(text, limit=limit, sort=sort, translation=translation or None)
    else:
        fail("give a query, or --quote \"…\"", 2)
        return
    a.remember_hits(hits)
    if as_json:
        from .render import safe_json
        click.echo(safe_json([h.to_json() for h in hits]))
        return
    if not quote:
        exact = a.exact_only_languages()
        if exact:
            click.echo(f"note: no word forms known for {', '.join(exact)}: "
                       f"exact forms only there", err=True)
    if not hits:
        click.echo("no hits")
        hint = a.quote_words(text) if not (quote or translation) else None
        if hint:  # a phrase pasted from a web page may carry escape sequences
            from .render import clean
            click.echo(f"note: the model may have misheard a word; a quote search tolerates "
                       f"that: archive search --quote {shlex.quote(clean(hint))}", err=True)
        return
    from .render import hits_table
    out_console().print(hits_table(hits, quote=bool(quote)))
    click.echo("cite a hit with `archive cite N`; hear it with `archive play N`")


@main.command()
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True)
@click.option("--clip", is_flag=True, help="Also export the quote's audio.")
@click.option("--padding", type=click.FloatRange(0, 30), default=1.0, show_default=True,
              help="Seconds of audio kept around the quote in the clip.")
@click.option("--clip-format", type=click.Choice(["ogg", "mp3", "wav"]), default="ogg",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the clip (default: the archive's clips/ folder; `-`: "
                   "standard output, the citation then goes to stderr).")
@pass_ctx
def cite(obj: Ctx, ref: str, fmt: str, clip: bool, padding: float, clip_format: str,
         output: str | None) -> None:
    """Cite hit N of the last search, or ID@START-END (e.g. 3fa4@1:12.4-1:16.1)."""
    a = obj.archive()
    c = a.cite(ref)
    to_stdout = clip and output == "-"  # the clip's bytes go to stdout, the citation to stderr
    if output and not clip:
        fail("-o/--output is where the clip goes: add --clip", 2)
    if to_stdout:
        import tempfile
        from dataclasses import replace
        from pathlib import Path
        with tempfile.TemporaryDirectory(prefix="archive-clip-") as tmp:
            c = a.clip(c, padding=padding, fmt=clip_format,
                       dest=Path(tmp) / f"clip.{clip_format}")
            sys.stdout.buffer.write(Path(c.clip_path or "").read_bytes())
            sys.stdout.flush()
        c = replace(c, clip_path="-")
    elif clip:
        from pathlib import Path
        c = a.clip(c, padding=padding, fmt=clip_format,
                   dest=Path(output) if output else None)
    click.echo(a.citation_text(c, fmt), nl=False, err=to_stdout)


@main.command()
@click.argument("ref")
@pass_ctx
def play(obj: Ctx, ref: str) -> None:
    """Play hit N or ID@START-END from its offset (ffplay), or print the command."""
    from ..citing.clips import play_command
    a = obj.archive()
    rid, start, end = a.span_for(ref)
    path = a.store.original_path(a.store.get(rid))
    cmd = play_command(path, start, end)
    if cmd is None:
        click.echo(f"no ffplay found; play it with:\n  ffplay -ss {start:.1f} -autoexit "
                   f"{shlex.quote(str(path))}\n  or open {path.as_uri()}#t={start:.1f},{end:.1f}")
        return
    if not sys.stdout.isatty():
        click.echo(shlex.join(cmd))
        return
    subprocess.run(cmd, check=False)


@main.command()
@pass_ctx
def reindex(obj: Ctx) -> None:
    """Rebuild the search index from the transcripts alone."""
    n = obj.archive().reindex()
    click.echo(f"index rebuilt: {n} documents")
