"""The ``archive`` command. Converts library errors into one-line messages and exit codes,
in one place (:class:`ArchiveGroup`), and draws all progress and tables."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import ArchiveError


def err_console() -> Any:
    """The rich console on stderr (progress, notes)."""
    from .render import console
    return console(stderr=True)


def out_console() -> Any:
    """The rich console on stdout (tables, transcripts)."""
    from .render import console
    return console(stderr=False)


def fail(message: str, code: int = 1) -> None:
    """Print ``archive: error: …`` on one line to stderr and exit."""
    from .render import clean
    click.echo(f"archive: error: {clean(message)}", err=True)
    sys.exit(code)


def note_interrupted(archive: Any) -> None:
    """Tell a reader that a crashed writer left something unfinished (on stderr)."""
    pending = archive.interrupted()
    if pending:
        click.echo(f"note: an interrupted write was found ({', '.join(pending)}); the next "
                   "command that writes to the archive (e.g. `archive verify`) finishes or "
                   "undoes it", err=True)


class ArchiveGroup(click.Group):
    """A click group that turns ArchiveError (and interruptions) into clean exits, and
    click's own usage errors (bad option values, unknown commands) into the same one line
    instead of its multi-line usage text."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:  # bare `archive`: the help text
            e.show()
            sys.exit(e.exit_code)
        except click.UsageError as e:
            where = f"; see `{e.ctx.command_path} --help`" if e.ctx is not None else ""
            fail(f"{e.format_message().rstrip('. ')}{where}", e.exit_code)
        except click.ClickException as e:
            fail(e.format_message(), e.exit_code)
        except click.Abort:
            fail("aborted; nothing was changed", 1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArchiveError as e:
            fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            fail("interrupted; nothing was half-written (the next run cleans up)", 130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except OSError as e:  # last resort: an unexpected file-system failure, on one line
            where = f" ({e.filename})" if getattr(e, "filename", None) else ""
            fail(f"{e.strerror or e}{where}", 1)
        except sqlite3.Error as e:
            fail(f"catalog.sqlite: {e} (run `archive verify`)", 1)


class Ctx:
    """Per-invocation state: which archive, opened lazily."""

    def __init__(self, archive_path: str | None) -> None:
        self.archive_path = archive_path
        self._archive = None

    def archive(self, *, create: bool = False, lenient: bool = False) -> Any:
        """The archive; with ``create``, a new one is made where none exists yet; with
        ``lenient``, opened despite a damaged archive.json (verify reports it)."""
        if self._archive is None:
            from ..library import Archive
            from ..paths import default_archive
            root = Path(self.archive_path) if self.archive_path else default_archive()
            if create and not (root / "archive.json").exists() and \
                    (not root.exists() or not any(root.iterdir())):
                self._archive = Archive.init(root)
                click.echo(f"created a new archive at {self._archive.root}", err=True)
            else:
                self._archive = Archive(root, lenient=lenient)
        return self._archive


@click.group(cls=ArchiveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--archive", "archive_path", metavar="PATH", envvar="ARCHIVE_DIR",
              help="Archive folder (default: $ARCHIVE_DIR or ~/.local/share/archive).")
@click.version_option(package_name="archive", prog_name="archive",
                      message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context, archive_path: str | None) -> None:
    """Keep leaked recordings as evidence; find, hear and cite every quote.

    Recordings are stored byte-for-byte, transcribed offline, split by speaker and indexed.
    """
    # Belt and braces: nothing below may reach a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ctx.obj = Ctx(archive_path)


from . import core, search, speakers, edit, serve  # noqa: E402,F401  (registers commands)
