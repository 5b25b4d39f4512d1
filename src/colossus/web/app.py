"""The dashboard application: ``create_app`` builds it, ``serve`` runs it with uvicorn.

What a request meets before a route (why each is here):

* a **Host check**: only loopback names by default, so a web page on the
  internet cannot reach this server through DNS rebinding (a name that
  resolves to 127.0.0.1 after the page loaded);
* an **Origin check** on every request that changes state (POST, DELETE):
  one sent by a page of another origin is refused (403), so a site the
  planner happens to visit cannot start simulations here;
* a body over ``MAX_BODY_BYTES`` is refused (413) before it is read;
* every response carries ``nosniff`` and no-referrer; the page gets a
  Content-Security-Policy that allows nothing outside this server (plotly.js
  is served from here, from the installed plotly package).

Errors: a bad body or parameter is FastAPI's own 422 (``detail`` lists
``loc``, ``msg``, ``type``); a scenario that the overrides make invalid is a
422 in the same shape (``type: spec_error``, ``loc`` the override, ``msg``
the scenario file, field path and rule); an infeasible job is a 422 with
``type: infeasible``; a stored result that cannot be read or drawn is a 409; anything
else is a 500 whose body says only that the server log has the details.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources
import ipaddress
import logging
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
import plotly.offline

import colossus
from colossus.errors import ColossusError, InfeasibleError, SpecError
from colossus.report import ReportError
from colossus.results import ResultsError
from colossus.web.api import WebState, router
from colossus.web.folders import Folders
from colossus.web.jobs import JobManager
from colossus.web.overrides import OverrideError

log = logging.getLogger(__name__)

#: Host names the server answers to by default: the loopback interface (tests add their client's name).
LOCAL_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The largest request body accepted; the biggest real one (every knob set) is about 2 KB.
MAX_BODY_BYTES = 64 * 1024
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


def _error(status: int, detail: object) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _spec_error(exc: SpecError) -> JSONResponse:
    loc = list(exc.loc) if isinstance(exc, OverrideError) else ["scenario", *exc.path]
    return _error(422, [{"loc": loc, "msg": str(exc), "type": "spec_error"}])


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(SpecError)
    async def spec_error(_: Request, exc: SpecError) -> JSONResponse:
        return _spec_error(exc)

    @app.exception_handler(InfeasibleError)
    async def infeasible(_: Request, exc: InfeasibleError) -> JSONResponse:
        return _error(422, [{"loc": ["scenario"], "msg": str(exc), "type": "infeasible"}])

    @app.exception_handler(ResultsError)
    async def unreadable(_: Request, exc: ResultsError) -> JSONResponse:
        return _error(409, f"the stored result cannot be read: {exc.message}")

    @app.exception_handler(ReportError)
    async def undrawable(_: Request, exc: ReportError) -> JSONResponse:
        return _error(409, f"the stored result cannot be drawn: {exc}")

    @app.exception_handler(ColossusError)
    async def colossus_error(_: Request, exc: ColossusError) -> JSONResponse:
        return _error(422, [{"loc": ["scenario"], "msg": str(exc), "type": "colossus_error"}])

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal error; the server log has the details")


def _install_guards(app: FastAPI, allowed_hosts: Sequence[str]) -> None:
    allow_any = "*" in allowed_hosts
    allowed = {h.lower() for h in allowed_hosts}

    @app.middleware("http")
    async def guard(request: Request, call_next):  # noqa: ANN001, ANN202 (Starlette's middleware signature)
        host_header = request.headers.get("host", "")
        if not allow_any and _host_name(host_header) not in allowed:
            return _error(400, "this server answers only to its loopback address (Host header refused)")
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return _error(413, f"request body over {MAX_BODY_BYTES // 1024} KiB")
        if request.method not in _SAFE_METHODS:
            origin = request.headers.get("origin")
            if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host_header.lower()):
                return _error(403, "cross-origin requests may not change anything here")
            if request.headers.get("sec-fetch-site") == "cross-site":
                return _error(403, "cross-site requests may not change anything here")
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


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
               allowed_hosts: Sequence[str] = LOCAL_HOSTS) -> FastAPI:
    """The dashboard app over ``scenarios_dir`` (read) and ``runs_dir`` (read and write; created if missing).

    ``max_concurrent`` simulations run at once, ``max_queued`` more wait;
    ``allowed_hosts`` are the Host names answered (``"*"``: any, for a
    server bound to a network interface on purpose).
    """
    if max_concurrent < 1:
        raise ValueError(f"max_concurrent must be >= 1 (got {max_concurrent})")
    state = WebState(folders=Folders.of(scenarios_dir, runs_dir),
                     jobs=JobManager(max_concurrent=max_concurrent, max_queued=max_queued))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.jobs.open()
        yield
        state.jobs.close()  # waiting jobs are cancelled, running ones stopped: a shutdown does not wait

    # No /docs or /redoc: FastAPI's pages load Swagger UI and ReDoc from a CDN, and this server makes
    # no external requests; the spec itself is at /openapi.json.
    app = FastAPI(title="colossus dashboard", version=colossus.__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.web = state
    _install_errors(app)
    _install_guards(app, allowed_hosts)
    app.include_router(router)
    _install_page(app)
    return app


def serve(*, host: str = "127.0.0.1", port: int = 8000, scenarios_dir: Path | str = "scenarios",
          runs_dir: Path | str = "runs", max_concurrent: int = 2, max_queued: int = 8) -> None:
    """Run the dashboard with uvicorn until interrupted (the ``colossus serve`` command)."""
    import uvicorn  # noqa: PLC0415 (only serving needs it)

    hosts: Sequence[str] = LOCAL_HOSTS if is_loopback(_host_name(host)) else ("*",)
    if hosts == ("*",):
        log.warning("serving on %s: anyone who can reach this address can run simulations (no authentication)", host)
    app = create_app(scenarios_dir, runs_dir, max_concurrent, max_queued=max_queued, allowed_hosts=hosts)
    uvicorn.run(app, host=host, port=port, log_level="info")
