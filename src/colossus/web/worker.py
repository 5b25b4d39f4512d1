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
import os
from pathlib import Path
import shutil
import signal
import tempfile
from typing import Any

from colossus.errors import ColossusError
from colossus.report import write_report
from colossus.results import write_result
from colossus.spec import Scenario, validate
from colossus.web.folders import REPORT, REQUEST
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
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _write_json(path: Path, document: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(jsonable(document), out, indent=2, sort_keys=True, allow_nan=False)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def run_simulation(job_id: str, document: dict[str, Any], *, file: str, base_dir: str, out_dir: str,
                   request: dict[str, Any]) -> dict[str, Any]:
    """Simulate the scenario ``document`` and store it in ``out_dir``; the summary, or why it failed."""
    from colossus.sim import simulate  # noqa: PLC0415 (the engine is only needed in the worker)

    out = Path(out_dir)
    written = False
    try:
        scenario = validate(Scenario, document, file=file)
        _send(job_id, "phase", "simulating")
        result = simulate(scenario, progress=lambda frac: _send(job_id, "progress", frac), base_dir=Path(base_dir))
        _send(job_id, "phase", "writing results")
        result.summary["report_path"] = str(out / REPORT)
        write_result(result, out)
        written = True
        _send(job_id, "phase", "writing the report")
        write_report(result, out / REPORT)
        _write_json(out / REQUEST, request)
        return {"ok": True, "summary": jsonable(result.summary)}
    except ColossusError as exc:
        message = one_line(exc)
    except MemoryError:
        message = "out of memory: simulate fewer days or a smaller cluster"
    except Exception as exc:  # a bug: keep the traceback in the server log, give the client one line
        log.exception("simulation job %s failed", job_id)
        message = f"internal error ({type(exc).__name__}: {one_line(exc)}); the server log has the details"
    if written:  # a run without its report or request is not one the dashboard lists as complete
        shutil.rmtree(out, ignore_errors=True)
    return {"ok": False, "message": message}
