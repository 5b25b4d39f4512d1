"""What a simulation worker process does: validate, simulate, write the results and the report.

Runs in a separate process (see ``jobs``), so a long simulation neither
holds the server's interpreter nor takes it down if it runs out of memory.
It talks back in two ways: progress messages ``(job_id, kind, value)`` on
the queue the pool's initializer hands it, and one plain ``dict`` as the
task's return value. It never raises: every failure becomes
``{"ok": False, "message": one line}``, the expected ones (a ``SpecError``,
an ``InfeasibleError``) with their own text, anything else as an internal
error whose traceback goes to the server log, not to the client.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
import signal
from typing import Any

from colossus.errors import ColossusError
from colossus.errors import one_line as printable
from colossus.spec import Scenario, validate
from colossus.web.folders import REPORT, REQUEST, scrub
from colossus.web.jsonsafe import jsonable

log = logging.getLogger(__name__)

_queue: Any = None


def init_worker(queue: Any) -> None:
    """Pool initializer: keep the progress queue; leave Ctrl-C to the server, which stops the workers."""
    global _queue
    _queue = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _send(job_id: str, kind: str, value: Any) -> None:
    if _queue is not None:
        _queue.put((job_id, kind, value))


def one_line(exc: BaseException) -> str:
    """An error as one line for a client: printable, no server paths (see ``folders.scrub``)."""
    text = str(exc).strip().splitlines()
    return scrub(printable(text[0])) if text else type(exc).__name__


def _write_json(path: Path, document: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as out:
        json.dump(jsonable(document), out, indent=2, sort_keys=True, allow_nan=False)


def run_simulation(job_id: str, document: dict[str, Any], *, file: str, base_dir: str, out_dir: str,
                   request: dict[str, Any]) -> dict[str, Any]:
    """Simulate the scenario ``document`` and store it in ``out_dir``; the summary, or why it failed.

    The same path as ``colossus simulate``: the folder is claimed (locked)
    first, and the results, the report and ``request.json`` appear together
    when all are written (``colossus.results.claim_folder``), or not at all.
    """
    from colossus import api  # noqa: PLC0415 (the engine is only needed in the worker)

    out = Path(out_dir)
    try:
        scenario = validate(Scenario, document, file=file)
        _send(job_id, "phase", "simulating")

        def progress(frac: float) -> None:
            _send(job_id, "progress", frac)
            if frac >= 1.0:
                _send(job_id, "phase", "writing results and the report")

        run = api.simulate(scenario, out=out, progress=progress, base_dir=base_dir,
                           report_path=f"{out.name}/{REPORT}",  # relative to the runs folder
                           extras={REQUEST: lambda path: _write_json(path, request)})
        return {"ok": True, "summary": jsonable(run.result.summary)}
    except ColossusError as exc:
        message = one_line(exc)
    except MemoryError:
        message = "out of memory: simulate fewer days or a smaller cluster"
    except Exception as exc:  # a bug: keep the traceback in the server log, give the client one line
        log.exception("simulation job %s failed", job_id)
        message = f"internal error ({type(exc).__name__}); the server log has the details"
    return {"ok": False, "message": message}


def run_forecast(job_id: str, document: dict[str, Any], *, file: str, base_dir: str, out_dir: str,
                 request: dict[str, Any], job: str | None, by_day: float, runs: int,
                 seed: int | None) -> dict[str, Any]:
    """Forecast the scenario ``document`` in this worker (draws one after another: the pool's size bounds
    the server's work) into ``out_dir`` (``draws.duckdb``, ``forecast.json``, ``report.html``); the answer
    with its figures as plotly JSON, or why it failed. Never raises, like ``run_simulation``."""
    import plotly.io as pio  # noqa: PLC0415

    from colossus.forecast import forecast  # noqa: PLC0415 (the engine and DuckDB: only the worker needs them)
    from colossus.forecast.store import STORE_NAME, check_folder, write_outputs  # noqa: PLC0415
    from colossus.report.forecast import FORECAST_CAPTIONS, forecast_figures  # noqa: PLC0415

    out = Path(out_dir)
    try:
        scenario = validate(Scenario, document, file=file)
        check_folder(out)
        _send(job_id, "phase", f"simulating {runs} draws")
        result = forecast(scenario, job=job, by_day=by_day, runs=runs, seed=seed, backend="inline",
                          store=out / STORE_NAME, base_dir=base_dir,
                          progress=lambda done, total: _send(job_id, "progress", done / max(total, 1)))
        _send(job_id, "phase", "writing the answer and the report")
        write_outputs(result, out)
        _write_json(out / REQUEST, request)
        doc = jsonable({**result.as_dict(), "store": f"{out.name}/{STORE_NAME}"})  # no server path
        figures = {name: json.loads(pio.to_json(fig, validate=False)) for name, fig in forecast_figures(doc).items()}
        return {"ok": True, "summary": {**doc, "figures": figures, "captions": FORECAST_CAPTIONS}}
    except ColossusError as exc:
        message = one_line(exc)
    except MemoryError:
        message = "out of memory: ask for fewer runs or a smaller cluster"
    except Exception as exc:  # a bug: keep the traceback in the server log, give the client one line
        log.exception("forecast job %s failed", job_id)
        message = f"internal error ({type(exc).__name__}); the server log has the details"
    return {"ok": False, "message": message}
