"""The CLI's progress bar: its columns, and the ETA a batch of files brings."""

from __future__ import annotations

import io

from rich.console import Console

from archive.cli.render import progress_bar


def _drawn(**task) -> str:
    out = io.StringIO()
    con = Console(file=out, force_terminal=True, width=100, color_system=None)
    bar = progress_bar(con, enabled=True, label="adding")
    with bar:
        t = bar.add_task("x", total=10, **task)
        bar.update(t, advance=4)
        bar.refresh()
    return out.getvalue()


def test_progress_bar_shows_percentage_and_the_batch_eta():
    text = _drawn(eta="2:05:00")
    assert "adding" in text and "40%" in text and "ETA" in text and "2:05:00" in text


def test_progress_bar_falls_back_to_rich_eta():
    text = _drawn()
    assert "40%" in text and "2:05:00" not in text and "ETA" in text


def test_disabled_progress_bar_draws_nothing():
    out = io.StringIO()
    bar = progress_bar(Console(file=out, force_terminal=True), enabled=False)
    with bar:
        bar.update(bar.add_task("x", total=2), advance=1)
    assert out.getvalue() == ""
