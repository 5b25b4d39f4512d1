"""``colossus serve``: the web dashboard on this machine (http://127.0.0.1:8000 by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from colossus.cli.app import app, console
from colossus.errors import SpecError


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(
        "--host", help="address to bind; the default is reachable from this machine only")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port")] = 8000,
    scenarios: Annotated[Path, typer.Option("--scenarios", help="folder of scenario YAML files the page offers")]
    = Path("scenarios"),
    runs: Annotated[Path, typer.Option("--runs", help="folder of stored runs and sweeps (created if missing)")]
    = Path("runs"),
    max_concurrent: Annotated[int, typer.Option("--max-concurrent", min=1, help="simulations running at once")] = 2,
    max_queued: Annotated[int, typer.Option("--max-queued", min=0, help="simulations waiting; more are refused (429)")]
    = 8,
) -> None:
    """Serve the dashboard: choose a scenario, turn the knobs, simulate, compare stored runs and sweeps.

    The JSON API is under /api; its OpenAPI spec is /openapi.json.
    """
    from colossus.web import serve  # noqa: PLC0415 (FastAPI and uvicorn load only for this command)

    if not scenarios.is_dir():
        raise SpecError(f"--scenarios: no such folder '{scenarios}'")
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"--runs: cannot create the runs folder '{runs}' ({exc.strerror or exc})") from None
    console.print(f"colossus dashboard on [bold]http://{host if ':' not in host else f'[{host}]'}:{port}[/]"
                  f"  (scenarios: {scenarios}, runs: {runs}; Ctrl-C stops)")
    serve(host=host, port=port, scenarios_dir=scenarios, runs_dir=runs, max_concurrent=max_concurrent,
          max_queued=max_queued)
