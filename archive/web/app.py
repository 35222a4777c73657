"""The ASGI application (the only module that imports Starlette).

Routes are thin: each one calls :class:`.views.Views` on the archive thread and returns its
data as JSON, or the page's static HTML shell whose script fetches that same JSON (the JSON
twin: a ``.json`` suffix or ``Accept: application/json``). Data never goes into markup on the
server; the scripts put it into the page with ``textContent``.

Why Starlette: it answers HTTP Range requests for files (``FileResponse``: 206 and
``Content-Range``, which Chromium needs to seek), has a trusted-host middleware, and is plain
ASGI, as Datasette is, served by uvicorn; it is small, typed and well kept.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (FileResponse, HTMLResponse, JSONResponse, PlainTextResponse,
                                 RedirectResponse, Response)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import (AmbiguousId, ArchiveError, ArchiveNotFound, ArchiveReadOnly, EditConflict,
                      LockTimeout, QueryError, RecordingNotFound, SpeakerNotFound, UsageError)
from . import security

STATIC = Path(__file__).resolve().parent / "static"
#: Largest JSON body a write accepts (an edited segment is a few KB).
MAX_BODY = 1 << 20


class _Headers:
    """The security headers on every response, refusals and errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in security.HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in security.HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_secured)


class _Guard:
    """The launch secret, the session cookie and the checks on writes (inside the Host check)."""

    def __init__(self, app: ASGIApp, token: str, cookie: str) -> None:
        self.app, self.token, self.cookie = app, token, cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self._check(scope) if scope["type"] == "http" else None
        if response is not None:
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                          keep_blank_values=True)
        given = [v for k, v in query if k == "token"]
        if given:
            if not security.same_secret(given[-1], self.token):
                return _refuse(403, "wrong or stale secret: use the URL `archive serve` printed "
                                    "this time", scope)
            # Swap the secret for a cookie and take it out of the address bar and history.
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            r = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), status_code=303)
            r.set_cookie(self.cookie, self.token, httponly=True, samesite="strict", path="/")
            return r
        cookie = _cookies(headers.get("cookie", "")).get(self.cookie)
        if cookie is None:
            return _refuse(401, "no session: open the URL that `archive serve` printed", scope)
        if not security.same_secret(cookie, self.token):
            return _refuse(403, "stale session: open the URL that `archive serve` printed "
                                "this time", scope)
        if scope["method"] not in ("GET", "HEAD"):
            why = security.write_refusal({k.lower(): v for k, v in headers.items()},
                                         "http://" + headers.get("host", ""))
            if why:
                return _refuse(403, why, scope)
        return None


def _cookies(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k:
            out.setdefault(k, v)
    return out


def _wants_json(scope: Scope) -> bool:
    path = scope.get("path", "")
    if path.endswith(".json") or path.startswith("/api/"):
        return True
    accept = Headers(scope=scope).get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _refuse(status: int, message: str, scope: Scope) -> Response:
    if _wants_json(scope):
        return JSONResponse({"error": message}, status_code=status)
    return PlainTextResponse(message + "\n", status_code=status)


_STATUS: list[tuple[type[ArchiveError], int]] = [
    (EditConflict, 409), (RecordingNotFound, 404), (SpeakerNotFound, 404),
    (ArchiveNotFound, 404), (AmbiguousId, 400), (QueryError, 400), (UsageError, 400),
    (ArchiveReadOnly, 403), (LockTimeout, 503)]


def _error(request: Request, exc: Exception) -> Response:
    status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 500)
    if isinstance(exc, ArchiveError):
        msg = " ".join(str(exc).split())
    else:  # a bug or an OS failure: say so on one line, never a traceback to the page
        msg = f"internal error ({type(exc).__name__}); see the server's terminal"
    body = {"error": msg, "conflict": isinstance(exc, EditConflict)}
    if _wants_json(request.scope):
        return JSONResponse(body, status_code=status)
    return PlainTextResponse(msg + "\n", status_code=status)


def create_app(root: Path, token: str, port: int, *, hosts: list[str] | None = None,
               archive_factory: Callable[[], Any] | None = None) -> Starlette:
    """The web application for the archive at ``root``.

    Args:
        root: The archive folder.
        token: This launch's secret (see :func:`.security.new_token`).
        port: The port served on (the session cookie is named after it).
        hosts: Host header values to accept (default: the loopback names).
        archive_factory: Makes the :class:`~archive.library.Archive` (default: open ``root``).

    Every archive call runs on one worker thread: the catalog's SQLite connection belongs to
    the thread that opened it.
    """
    from .views import Views, full_id
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive")
    state: dict[str, Any] = {}

    def views() -> Views:
        if "views" not in state:
            if archive_factory is not None:
                state["views"] = Views(archive_factory())
            else:
                from ..library import Archive
                state["views"] = Views(Archive(root))
        return state["views"]

    async def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(worker, lambda: fn(views(), *args, **kw))

    def page(name: str) -> Response:
        return HTMLResponse((STATIC / f"{name}.html").read_text("utf-8"))

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise UsageError("request body too large")
        try:
            data = json.loads(raw or b"null")
        except ValueError:
            raise UsageError("the body is not JSON") from None
        if not isinstance(data, dict):
            raise UsageError("the body must be a JSON object")
        return data

    def twin(request: Request) -> bool:
        return request.url.path.endswith(".json") or _wants_json(request.scope)

    async def home(request: Request) -> Response:
        return RedirectResponse("/recordings", status_code=303)

    async def recordings(request: Request) -> Response:
        if twin(request):
            return JSONResponse(await call(Views.recordings))
        return page("recordings")

    async def search(request: Request) -> Response:
        if not twin(request):
            return page("search")
        p = request.query_params
        try:
            limit = int(p.get("limit") or 20)
        except ValueError:
            raise UsageError("limit must be a number") from None
        return JSONResponse(await call(Views.search, p.get("q", ""), p.get("quote", ""),
                                       limit=limit, sort=p.get("sort") or "score",
                                       translation=p.get("translation") in ("1", "on", "true")))

    async def recording(request: Request) -> Response:
        rid = request.path_params["rid"]
        as_json = rid.endswith(".json")
        rid = full_id(rid.removesuffix(".json"))
        data = await call(Views.recording, rid)
        if as_json or _wants_json(request.scope):
            return JSONResponse(data)
        return page("recording")

    async def audio(request: Request) -> Response:
        rid = full_id(request.path_params["rid"])
        path, mime, _ = await call(lambda v: v.a.playback_audio(rid))
        return FileResponse(path, media_type=mime, content_disposition_type="inline")

    async def cite(request: Request) -> Response:
        return JSONResponse(await call(Views.cite, request.query_params.get("ref", "")))

    async def clip(request: Request) -> Response:
        d = await body(request)
        return JSONResponse(await call(Views.clip, str(d.get("ref", "")),
                                       padding=_num(d.get("padding", 1.0)),
                                       fmt=str(d.get("format", "ogg"))))

    async def clip_file(request: Request) -> Response:
        manifest = request.url.path.endswith("/manifest")
        p = await call(Views.clip_file, request.path_params["sha"], manifest)
        return FileResponse(p, filename=p.name, media_type="application/json" if manifest
                            else "application/octet-stream")

    async def edit(request: Request) -> Response:
        d = await body(request)
        return JSONResponse(await call(Views.edit_segment, str(d.get("id", "")),
                                       int(_num(d.get("base_revision"))),
                                       int(_num(d.get("segment"))), str(d.get("text", ""))))

    async def mark(request: Request) -> Response:
        d = await body(request)
        return JSONResponse(await call(Views.mark, str(d.get("id", "")), _num(d.get("start")),
                                       _num(d.get("end")), bool(d.get("verified", True)),
                                       d.get("note") or None))

    async def speaker(request: Request) -> Response:
        d = await body(request)
        name = d.get("name")
        return JSONResponse(await call(Views.rename_speaker, str(d.get("id", "")),
                                       str(d.get("speaker", "")),
                                       None if name is None else str(name)))

    async def verify(request: Request) -> Response:
        await body(request)
        return JSONResponse(await call(Views.verify))

    routes = [
        Route("/", home), Route("/recordings", recordings), Route("/recordings.json", recordings),
        Route("/search", search), Route("/search.json", search),
        Route("/r/{rid}", recording), Route("/r/{rid}/audio", audio),
        Route("/api/cite", cite), Route("/api/clip", clip, methods=["POST"]),
        Route("/api/edit", edit, methods=["POST"]), Route("/api/mark", mark, methods=["POST"]),
        Route("/api/speaker", speaker, methods=["POST"]),
        Route("/api/verify", verify, methods=["POST"]),
        Route("/clips/{sha}", clip_file), Route("/clips/{sha}/manifest", clip_file),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [  # outermost first: headers on everything, then Host, then the secret
        Middleware(_Headers),
        Middleware(TrustedHostMiddleware, allowed_hosts=hosts or list(security.LOOPBACK_HOSTS),
                   www_redirect=False),
        Middleware(_Guard, token=token, cookie=security.cookie_name(port)),
    ]
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={Exception: _error, ArchiveError: _error})
    app.state.worker = worker
    app.state.token = token  # for in-process callers (tests); never logged
    return app


def _num(value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"not a number: {str(value)[:20]!r}") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise UsageError("not a finite number")
    return x
