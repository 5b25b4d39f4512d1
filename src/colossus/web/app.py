"""The dashboard application: ``create_app`` builds it, ``serve`` runs it with uvicorn.

What a request meets before a route (why each is here):

* a **Host check**: only this server's own names (loopback by default), so
  a web page on the internet cannot reach it through DNS rebinding (a name
  that resolves to 127.0.0.1 after the page loaded), also when it listens
  beyond loopback;
* an **Origin check** on every request that changes state (POST, DELETE):
  one sent by a page of another origin is refused (403), so a site the
  planner happens to visit cannot start simulations here;
* an **access token** when the server listens beyond loopback (``serve``
  refuses to start without one): 401 without it;
* a body over ``MAX_BODY_BYTES`` is refused (413): by its Content-Length
  before it is read, or, chunked, as soon as the bytes read pass the limit;
* every response carries ``nosniff`` and no-referrer; the page gets a
  Content-Security-Policy that allows nothing outside this server (plotly.js
  is served from here, from the installed plotly package).

Errors (every status is in the OpenAPI spec): a body or parameter that breaks
the schema is a 422 (``detail`` lists ``loc``, ``msg``, ``type``; NaN and
infinities are refused, never echoed as invalid JSON); a valid request the
scenario rejects (an override it cannot take, an invalid scenario file, an
infeasible job) is a 409 in the same shape (``type: spec_error`` or
``infeasible``; ``loc`` the override); a job or pool the scenario lacks is a
404; a stored result that cannot be read or drawn is a 409; anything else is
a 500 whose body says only that the server log has the details. No message
carries an absolute path of the server (``folders.scrub``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources
import ipaddress
import json
import logging
import math
from pathlib import Path
import re
import secrets
import socket
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
import plotly.offline

import colossus
from colossus.errors import ColossusError, InfeasibleError, SpecError, one_line
from colossus.report import ReportError
from colossus.results import ResultsError, clean_stale
from colossus.web.api import WebState, router
from colossus.web.folders import Folders, scrub
from colossus.web.jobs import JobManager
from colossus.web.models import ErrorBody
from colossus.web.overrides import OverrideError

log = logging.getLogger(__name__)

#: Host names the server answers to by default: the loopback interface (tests add their client's name).
LOCAL_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The largest request body accepted; the biggest real one (every knob set) is about 2 KB.
MAX_BODY_BYTES = 64 * 1024
#: Longest rejected input echoed back in a 422, characters; and most errors listed in one.
MAX_ECHO_CHARS = 200
MAX_ERRORS = 20
#: The cookie that carries the access token for the page (set by ``/?token=TOKEN``).
TOKEN_COOKIE = "colossus_token"
#: Environment variable ``colossus serve`` reads the token from (so it stays out of ``ps``).
TOKEN_ENV = "COLOSSUS_TOKEN"
MIN_TOKEN_CHARS = 16
#: Statuses any route may answer, besides its own (documented in the OpenAPI spec).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "the Host header is not this server's, or the body is not JSON"},
    403: {"model": ErrorBody, "description": "a cross-origin request that would change something"},
    413: {"model": ErrorBody, "description": "the request body is over 64 KiB"},
    500: {"model": ErrorBody, "description": "a bug; the server log has the details"},
}
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}

DESCRIPTION = """
The web API of the colossus digital twin: list and read scenarios, run the quick analyses
(estimate, plan, power, reliability: about a second each, answered at once), simulate in the
background (POST returns a job, 202; poll `GET /api/jobs/{id}` for status and progress), and
read stored runs and sweeps from the runs folder.

**Knobs** (`overrides` in every scenario request) edit the scenario file's document, which is then
validated as a whole; a value the scenario rejects is a 422 naming the override and the field.

**Simulations**: at most `max_concurrent` run at once, each in its own worker process; up to
`max_queued` more wait (status `queued`, cancellable with DELETE); beyond that POST answers 429
with `Retry-After`. Results are written to `<runs>/<run_id>/` with `report.html` and `request.json`.

Units: SI with the unit in every name (`_w`, `_j`, `_s`), except the knobs, which use the scenario
file's units (`_mw`, `_min`, `days`).
"""


def _host_name(host_header: str) -> str:
    """The host of a Host header without its port (``[::1]:8000`` -> ``::1``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cache
def _plotly_js() -> bytes:
    return plotly.offline.get_plotlyjs().encode("utf-8")


@cache
def _static(name: str) -> bytes:
    return resources.files("colossus.web").joinpath("static", name).read_bytes()


def _error(status: int, detail: object, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _problem(status: int, loc: Sequence[str | int], msg: str, kind: str) -> JSONResponse:
    """An error in the shape of FastAPI's 422 (``detail``: a list of ``loc``, ``msg``, ``type``), paths scrubbed."""
    return _error(status, [{"loc": list(loc), "msg": scrub(one_line(msg)), "type": kind}])


def _spec_error(exc: SpecError) -> JSONResponse:
    """A scenario the request's overrides make invalid, or a scenario file that is invalid: 409.

    The request itself was valid (FastAPI checked it against the schema; a
    body that is not is FastAPI's 422): it conflicts with the scenario.
    """
    loc = list(exc.loc) if isinstance(exc, OverrideError) else ["scenario", *exc.path]
    return _problem(409, loc, str(exc), "spec_error")


def _jsonable_input(value: Any) -> Any:
    """A rejected input echoed back only when small; NaN and infinities as text (strict JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value)
        return value if len(text) <= MAX_ECHO_CHARS else f"{text[:MAX_ECHO_CHARS]}..."
    return None


def _validation_error(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 for a body or parameter that breaks the schema, always serialisable, never huge."""
    detail = []
    for err in exc.errors()[:MAX_ERRORS]:
        item: dict[str, Any] = {"loc": [p if isinstance(p, (str, int)) else str(p) for p in err.get("loc", ())],
                                "msg": scrub(one_line(str(err.get("msg", "")))), "type": str(err.get("type", ""))}
        shown = _jsonable_input(err.get("input"))
        if shown is not None:
            item["input"] = shown
        detail.append(item)
    return _error(422, detail)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_error(exc)

    @app.exception_handler(SpecError)
    async def spec_error(_: Request, exc: SpecError) -> JSONResponse:
        return _spec_error(exc)

    @app.exception_handler(InfeasibleError)
    async def infeasible(_: Request, exc: InfeasibleError) -> JSONResponse:
        return _problem(409, ["scenario"], str(exc), "infeasible")

    @app.exception_handler(ResultsError)
    async def unreadable(_: Request, exc: ResultsError) -> JSONResponse:
        return _error(409, scrub(one_line(f"the stored result cannot be read: {exc.message}")))

    @app.exception_handler(ReportError)
    async def undrawable(_: Request, exc: ReportError) -> JSONResponse:
        return _error(409, scrub(one_line(f"the stored result cannot be drawn: {exc}")))

    @app.exception_handler(ColossusError)
    async def colossus_error(_: Request, exc: ColossusError) -> JSONResponse:
        return _problem(409, ["scenario"], str(exc), "colossus_error")

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal error; the server log has the details")


class BodyLimit:
    """Refuse a request body over ``limit`` bytes (413), counting the bytes read, chunked or not.

    A ``Content-Length`` over the limit is refused before a byte is read; a
    body without one (chunked) is counted as it arrives and refused as soon as
    it passes the limit, so a client cannot make the server hold more than
    ``limit`` bytes of it, whatever it sends.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > self.limit):
            await _send_json(send, 413, {"detail": self.message})
            return
        received = 0
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:  # closing the connection stops the client's sending too
                    raise HTTPException(413, self.message, headers={"Connection": "close"})
            return message

        async def watched_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message.get("type") == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except HTTPException as exc:  # raised where no exception handler runs (a middleware's read)
            if exc.status_code != 413 or started:
                raise
            await _send_json(send, 413, {"detail": self.message})

    @property
    def message(self) -> str:
        return f"request body over {self.limit // 1024} KiB"


async def _send_json(send: Any, status: int, document: dict[str, Any]) -> None:
    body = json.dumps(document).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI spec documents at ``path`` (Starlette's 405 names only the first route's)."""
    methods: set[str] = set()
    for template, item in app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in item if m.lower() in _HTTP_METHODS}
    return sorted(methods)


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(TOKEN_COOKIE)


def _install_guards(app: FastAPI, allowed_hosts: Sequence[str], token: str | None) -> None:
    allow_any = "*" in allowed_hosts
    allowed = {h.lower() for h in allowed_hosts}

    @app.middleware("http")
    async def guard(request: Request, call_next):  # noqa: ANN001, ANN202 (Starlette's middleware signature)
        host_header = request.headers.get("host", "")
        if not allow_any and _host_name(host_header) not in allowed:
            return _error(400, "this server does not answer to that host name (Host header refused)")
        if request.method not in _SAFE_METHODS:
            origin = request.headers.get("origin")
            if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host_header.lower()):
                return _error(403, "cross-origin requests may not change anything here")
            if request.headers.get("sec-fetch-site") == "cross-site":
                return _error(403, "cross-site requests may not change anything here")
        if token is not None and not _public(request.url.path):
            given = request.query_params.get("token") if request.url.path == "/" else None
            given = given or _token_of(request)
            if given is None or not secrets.compare_digest(given.encode(), token.encode()):
                return _error(401, "this server needs its access token: open /?token=TOKEN once, or send"
                                   " 'Authorization: Bearer TOKEN'", headers={"WWW-Authenticate": "Bearer"})
        response: Response = await call_next(request)
        if response.status_code == 405:
            response.headers["Allow"] = ", ".join(_allowed_methods(app, request.url.path))
        if token is not None and request.url.path == "/" and request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


def _public(path: str) -> bool:
    """Static files hold nothing of the server's; everything else needs the token when one is set."""
    return path.startswith("/static/")


def _install_page(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(_static("index.html"), headers={"Content-Security-Policy": PAGE_CSP,
                                                            "Cache-Control": "no-cache"})

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        return Response(_plotly_js(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404, f"no static file '{name}'")
        return Response(_static(name), media_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"})


def create_app(scenarios_dir: Path | str, runs_dir: Path | str, max_concurrent: int = 2, *, max_queued: int = 8,
               allowed_hosts: Sequence[str] = LOCAL_HOSTS, token: str | None = None) -> FastAPI:
    """The dashboard app over ``scenarios_dir`` (read) and ``runs_dir`` (read and write; created if missing).

    ``max_concurrent`` simulations run at once, ``max_queued`` more wait;
    ``allowed_hosts`` are the Host names answered (``"*"``: any; kept for
    tests and proxies, ``serve`` never uses it); ``token``, when given, is
    required on every request but static files (``Authorization: Bearer``, or
    the cookie ``/?token=TOKEN`` sets for the page).
    """
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise SpecError(f"--token: at least {MIN_TOKEN_CHARS} characters (got {len(token)})")
    if max_concurrent < 1:
        raise ValueError(f"max_concurrent must be >= 1 (got {max_concurrent})")
    state = WebState(folders=Folders.of(scenarios_dir, runs_dir),
                     jobs=JobManager(max_concurrent=max_concurrent, max_queued=max_queued))
    cleaned = clean_stale(state.folders.runs)  # runs a stopped server's workers were writing
    if cleaned:
        log.info("removed what interrupted writers left of %d run(s)", len(cleaned))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.jobs.open()
        yield
        state.jobs.close()  # waiting jobs are cancelled, running ones stopped: a shutdown does not wait

    # No /docs or /redoc: FastAPI's pages load Swagger UI and ReDoc from a CDN, and this server makes
    # no external requests; the spec itself is at /openapi.json.
    responses = dict(COMMON_RESPONSES)
    if token is not None:
        responses[401] = {"model": ErrorBody, "description": "the access token is missing or wrong"}
    app = FastAPI(title="colossus dashboard", version=colossus.__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None, responses=responses)
    app.state.web = state
    _install_errors(app)
    # Added first, so it sits inside the guard: the route calls its receive directly, and the 413 it
    # raises reaches FastAPI's handlers (behind the guard's task group it would arrive wrapped, as a 400).
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    _install_guards(app, allowed_hosts, token)
    app.include_router(router)
    _install_page(app)
    return app


def listen_hosts(host: str) -> tuple[str, ...]:
    """The Host names a server bound to ``host`` answers to: loopback, plus this machine's names and
    addresses when it listens beyond loopback (never any name: DNS rebinding stays refused)."""
    if is_loopback(_host_name(host)):
        return LOCAL_HOSTS
    names = {*LOCAL_HOSTS, _host_name(host)}
    for name in (socket.gethostname(), socket.getfqdn()):
        names.add(name.lower())
        try:
            names |= {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
        except OSError:
            continue
    names.discard("0.0.0.0")
    names.discard("::")
    return tuple(sorted(names))


def check_bind(host: str, port: int) -> None:
    """``SpecError`` in one line if ``host:port`` cannot be listened on (a bad address, a port in use)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise SpecError(f"--host: cannot listen on '{host}' ({getattr(exc, 'strerror', None) or exc})") from None
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise SpecError(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def serve(*, host: str = "127.0.0.1", port: int = 8000, scenarios_dir: Path | str = "scenarios",
          runs_dir: Path | str = "runs", max_concurrent: int = 2, max_queued: int = 8, token: str | None = None,
          allowed_hosts: Sequence[str] = (), announce: Callable[[], None] | None = None) -> None:
    """Run the dashboard with uvicorn until interrupted (the ``colossus serve`` command).

    Beyond loopback a ``token`` is required: anyone who can reach the address
    could otherwise run simulations. The Host check stays on: the server answers
    to this machine's names and addresses and to ``allowed_hosts``. Every check
    (token, address, port) runs before ``announce`` is called and the server starts.
    """
    import uvicorn  # noqa: PLC0415 (only serving needs it)

    loopback = is_loopback(_host_name(host))
    if not loopback and token is None:
        raise SpecError(f"--host {host}: listening beyond this machine needs an access token (--token, or the"
                        f" environment variable {TOKEN_ENV}); anyone who reaches the address could run simulations")
    check_bind(host, port)
    hosts = (*listen_hosts(host), *(h.lower() for h in allowed_hosts))
    app = create_app(scenarios_dir, runs_dir, max_concurrent, max_queued=max_queued, allowed_hosts=hosts,
                     token=token)
    if announce is not None:
        announce()
    uvicorn.run(app, host=host, port=port, log_level="info")
