"""``colossus serve``: the web dashboard on this machine (http://127.0.0.1:8000 by default)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from colossus.cli.app import app, console, within
from colossus.errors import SpecError

if TYPE_CHECKING:  # the models load when a command runs, not when the CLI starts
    pass

TOKEN_HELP = ("access token the server requires (needed with a --host beyond loopback); default: the"
              " environment variable COLOSSUS_TOKEN. Open http://HOST:PORT/?token=TOKEN once in the browser")
ALLOW_HOST_HELP = "another Host name to answer to (a DNS name of this machine), repeatable"


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(
        "--host", help="address to bind; the default is reachable from this machine only")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port")] = 8000,
    scenarios: Annotated[Path, typer.Option("--scenarios", help="folder of scenario YAML files the page offers")]
    = Path("scenarios"),
    runs: Annotated[Path, typer.Option("--runs", help="folder of stored runs and sweeps (created if missing)")]
    = Path("runs"),
    max_concurrent: Annotated[int, typer.Option("--max-concurrent", help="simulations running at once",
                                                callback=within("whole", ge=1, le=256))] = 2,
    max_queued: Annotated[int, typer.Option("--max-queued", help="simulations waiting; more are refused (429)",
                                            callback=within("whole", ge=0, le=10_000))] = 8,
    token: Annotated[str | None, typer.Option("--token", help=TOKEN_HELP)] = None,
    allow_host: Annotated[list[str] | None, typer.Option("--allow-host", help=ALLOW_HOST_HELP)] = None,
) -> None:
    """Serve the dashboard: choose a scenario, turn the knobs, simulate, compare stored runs and sweeps.

    The JSON API is under /api; its OpenAPI spec is /openapi.json. Beyond
    loopback (--host 0.0.0.0) the server needs an access token and still
    answers only to this machine's own names (no DNS rebinding).
    """
    from rich.markup import escape  # noqa: PLC0415

    from colossus.web import serve  # noqa: PLC0415 (FastAPI and uvicorn load only for this command)

    token = token if token is not None else os.environ.get("COLOSSUS_TOKEN") or None

    if not scenarios.is_dir():
        raise SpecError(f"--scenarios: no such folder '{scenarios}'")
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"--runs: cannot create the runs folder '{runs}' ({exc.strerror or exc})") from None
    where = host if ":" not in host else f"[{host}]"

    def announce() -> None:
        console.print(f"colossus dashboard on [bold]http://{escape(where)}:{port}[/]"
                      f"  (scenarios: {escape(str(scenarios))}, runs: {escape(str(runs))}; Ctrl-C stops)",
                      soft_wrap=True)

    extra: dict[str, Any] = {"token": token} if token is not None else {}
    if allow_host:
        extra["allowed_hosts"] = tuple(allow_host)
    serve(host=host, port=port, scenarios_dir=scenarios, runs_dir=runs, max_concurrent=max_concurrent,
          max_queued=max_queued, announce=announce, **extra)
