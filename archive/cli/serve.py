"""``archive serve``: the local web viewer (listen, read, cite and correct in a browser)."""

from __future__ import annotations

import sys

import click

from . import Ctx, fail, main

pass_ctx = click.make_pass_decorator(Ctx)


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Port to listen on (default: a free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --allow-remote.")
@click.option("--allow-remote", is_flag=True,
              help="Allow a non-loopback --host: anyone who can reach it and learns the URL "
                   "can read the archive.")
@click.option("--no-browser", is_flag=True, help="Print the URL only; do not open a browser.")
@pass_ctx
def serve(obj: Ctx, port: int, host: str, allow_remote: bool, no_browser: bool) -> None:
    """Open the archive in a browser: search, listen word by word, cite, clip and correct.

    The server listens on 127.0.0.1 only. The URL it prints carries a secret for this launch
    only; the page swaps it for a cookie. Stop it with Ctrl-C.
    """
    from ..web.server import Server, is_loopback
    if not is_loopback(host) and not allow_remote:
        fail(f"{host} is not a loopback address; the archive holds evidence. Pass "
             "--allow-remote to listen there anyway", 2)
    a = obj.archive()  # fails here, in one line, when there is no archive
    root = a.root
    srv = Server(root, host=host, port=port)
    if not is_loopback(host):
        click.echo(f"warning: listening on {host}, not loopback: anyone who can reach this "
                   "machine and learns the URL can read and change the archive; the traffic "
                   "is not encrypted", err=True)
    click.echo(f"archive serve: {root}")
    click.echo(f"open {srv.url}")
    click.echo("(the URL holds this launch's secret; press Ctrl-C to stop)")
    sys.stdout.flush()
    if not no_browser:
        import webbrowser
        try:
            webbrowser.open(srv.url)
        except Exception:  # no browser: the printed URL is enough
            pass
    try:
        srv.run()
    except KeyboardInterrupt:
        pass
