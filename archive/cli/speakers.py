"""Speaker commands: list, rename, merge, match."""

from __future__ import annotations

import json

import click

from . import Ctx, main, out_console

pass_ctx = click.make_pass_decorator(Ctx)


class _SpeakersGroup(click.Group):
    """`archive speakers ID` lists; `archive speakers rename|merge|match …` act."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@main.group(cls=_SpeakersGroup, invoke_without_command=False)
def speakers() -> None:
    """Who speaks in a recording: `speakers ID`, rename, merge, match."""


@speakers.command("list")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def list_speakers(obj: Ctx, ref: str, as_json: bool) -> None:
    """List S1…Sn with talk time, turns and a sample line."""
    t = obj.archive().transcript(ref)
    if as_json:
        from .render import safe_json
        click.echo(safe_json([{k: v for k, v in s.to_json().items() if k != "voiceprint"}
                              for s in t.speakers]))
        return
    if not t.speakers:
        click.echo(f"{t.recording.short_id} has no speakers (added with --no-diarize)")
        return
    from .render import speakers_table
    out_console().print(speakers_table(t))


@speakers.command()
@click.argument("ref")
@click.argument("who")
@click.argument("name")
@pass_ctx
def rename(obj: Ctx, ref: str, who: str, name: str) -> None:
    """Name speaker WHO (a label like S1, or its current name) as NAME."""
    from .render import clean
    t, suggestions = obj.archive().rename_speaker(ref, who, name)
    from ..text import strip_bidi
    sp = next(s for s in t.speakers if s.name == " ".join(strip_bidi(name).split()))
    click.echo(f"{t.recording.short_id}: {sp.label} is now {clean(sp.name)} "
               f"(revision {t.revision})")
    for m in suggestions:
        click.echo(f"  possibly the same voice: {m.recording.short_id} {clean(m.speaker.label)} "
                   f"({clean(m.speaker.display)}) in {clean(m.recording.title)}, similarity "
                   f"{m.score:.2f}; to name it: archive speakers rename "
                   f"{m.recording.short_id} {clean(m.speaker.label)} "
                   f"{clean(json.dumps(sp.name))}")


@speakers.command()
@click.argument("ref")
@click.argument("src")
@click.argument("dst")
@pass_ctx
def merge(obj: Ctx, ref: str, src: str, dst: str) -> None:
    """Fold speaker SRC into DST (they are one person)."""
    from .render import clean
    t = obj.archive().merge_speakers(ref, src, dst)
    click.echo(f"{t.recording.short_id}: merged {clean(src)} into {clean(dst)} (revision "
               f"{t.revision}); "
               f"speakers now: {clean(', '.join(s.display for s in t.speakers))}")


@speakers.command()
@click.argument("ref")
@click.argument("who")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def match(obj: Ctx, ref: str, who: str, limit: int, as_json: bool) -> None:
    """Rank other recordings' speakers by voice similarity to WHO."""
    rows = obj.archive().match_speaker(ref, who, limit=limit)
    if as_json:
        from .render import safe_json
        click.echo(safe_json([{"recording": m.recording.id, "title": m.recording.title,
                               "speaker": m.speaker.label, "name": m.speaker.name,
                               "score": round(m.score, 4)} for m in rows]))
        return
    if not rows:
        click.echo("no other recording has a voiceprint to compare")
        return
    from .render import matches_table
    out_console().print(matches_table((m.recording, m.speaker, m.score) for m in rows))
    click.echo("similarity is cosine of GE2E voiceprints; ≥ 0.80 is likely the same voice")
