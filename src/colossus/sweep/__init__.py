"""Many runs of a scenario: the cartesian product of varied fields times seeds, locally or on Ray.

A sweep is planned and validated in full (``plan_sweep``), then run on a
backend (``LocalBackend``: a process pool; ``RayBackend``: Ray tasks) by
``run_sweep``, which stores one row per run in a DuckDB table as each
finishes (``RunStore``; a sweep started again skips stored runs) and draws
the main output against each varied field (``figure``/``write_html``).
``run_one`` is the unit of work: one scenario, one seed, one flat row.

Only this package imports Ray (a test checks it), and only when a Ray
backend runs.
"""

from __future__ import annotations

from colossus.sweep.backends import BACKENDS, Backend, LocalBackend, RayBackend, make_backend
from colossus.sweep.engine import SweepInterrupted, SweepOutcome, main_output, run_sweep
from colossus.sweep.paths import ALIASES, Target, assign, parse_path, resolve
from colossus.sweep.plan import KINDS, Point, SweepPlan, Task, content_hash, plan_sweep
from colossus.sweep.plot import figure, write_html
from colossus.sweep.run import KEY_COLUMNS, VOLATILE_COLUMNS, flatten_summary, run_one, run_task
from colossus.sweep.store import TABLE, RunStore
from colossus.sweep.values import Vary, parse_values, parse_vary

__all__ = [
    "ALIASES",
    "BACKENDS",
    "KEY_COLUMNS",
    "KINDS",
    "TABLE",
    "VOLATILE_COLUMNS",
    "Backend",
    "LocalBackend",
    "Point",
    "RayBackend",
    "RunStore",
    "SweepInterrupted",
    "SweepOutcome",
    "SweepPlan",
    "Target",
    "Task",
    "Vary",
    "assign",
    "content_hash",
    "figure",
    "flatten_summary",
    "main_output",
    "make_backend",
    "parse_path",
    "parse_values",
    "parse_vary",
    "plan_sweep",
    "resolve",
    "run_one",
    "run_sweep",
    "run_task",
    "write_html",
]

# colossus.sweep(...) runs a sweep (colossus.api.sweep); the subpackage stays importable as before
import colossus as _colossus  # noqa: E402

_colossus.callable_module(__name__)
