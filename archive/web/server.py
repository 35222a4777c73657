"""Run the web application with uvicorn (the only module that imports uvicorn).

The socket is bound here, before uvicorn starts, so that a free port can be taken without a
race and the printed URL is right. Uvicorn's access log is off: the launch secret travels in
the first request's query string and must never reach a log.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any, Callable

from ..errors import UsageError
from . import security
from .security import is_loopback  # noqa: F401  (public: `archive serve` checks --host)


def bind(host: str, port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port).

    Raises:
        UsageError: If the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_host(host: str) -> str:
    """``host`` as it is written in a URL (IPv6 in brackets)."""
    h = host.strip("[]")
    return f"[{h}]" if ":" in h else h


class Server:
    """A bound server for one archive and one launch secret.

    Args:
        root: The archive folder.
        host: Address to listen on (loopback unless the caller was told otherwise).
        port: Port, 0 for a free one.
        archive_factory: Passed to :func:`.app.create_app` (tests).
    """

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 0,
                 archive_factory: Callable[[], Any] | None = None) -> None:
        from .app import create_app
        self.sock = bind(host, port)
        self.root = Path(root)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.token = security.new_token()
        self.app = create_app(Path(root), self.token, self.port,
                              hosts=security.allowed_hosts(host),
                              archive_factory=archive_factory)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        """``http://host:port``."""
        return f"http://{url_host(self.host)}:{self.port}"

    @property
    def url(self) -> str:
        """The address to open once: it carries the launch secret."""
        return f"{self.origin}/?token={self.token}"

    def _uvicorn(self) -> Any:
        import uvicorn
        config = uvicorn.Config(self.app, access_log=False, log_level="warning",
                                lifespan="off", server_header=False, date_header=False,
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        return self._server

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C)."""
        self._uvicorn().run(sockets=[self.sock])

    def start(self) -> None:
        """Serve from a background thread (tests and benchmarks); :meth:`stop` ends it."""
        server = self._uvicorn()
        ready = threading.Event()

        def target() -> None:
            import asyncio
            asyncio.run(server.serve(sockets=[self.sock]))

        self._thread = threading.Thread(target=target, name="archive-serve", daemon=True)
        self._thread.start()
        for _ in range(200):
            if server.started:
                ready.set()
                break
            ready.wait(0.025)

    def stop(self) -> None:
        """Stop a server started with :meth:`start`."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sock.close()
        self.app.state.worker.shutdown(wait=False)
