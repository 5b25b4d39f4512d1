"""The DuckDB copy of a result: one file an analyst can open and query with SQL.

Tables (every one a real table, not a view over the Parquet files, so that the
``.duckdb`` file stands alone and still works after its folder is moved or
copied; the time series costs a few MB more that way):

* ``summary``: one row; the key scalars as columns (``scenario``, ``seed``,
  ``days``, counts, energy, CO2, deficit, failures) and the whole summary as
  JSON text in ``summary_json`` (query it with DuckDB's ``->>`` operators);
* ``timeseries``: one row per telemetry sample, the columns of ``SimResult.timeseries``;
* ``events``: the event log; ``jobs``: the job table.

Column names are those of the Parquet files, so ``"tokens:grok-3"`` needs
double quotes in SQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from colossus.results.paths import ResultsError


def _get(summary: dict[str, Any], *keys: str) -> Any:
    value: Any = summary
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def summary_row(identity: dict[str, Any], summary: dict[str, Any], counts: dict[str, int], text: str) -> pa.Table:
    """The one-row ``summary`` table; a key the summary lacks becomes NULL."""
    row: dict[str, tuple[pa.DataType, Any]] = {
        "scenario": (pa.string(), identity["scenario"]),
        "seed": (pa.int64(), identity["seed"]),
        "days": (pa.float64(), identity["days"]),
        "num_samples": (pa.int64(), counts["timeseries"]),
        "num_events": (pa.int64(), counts["events"]),
        "num_jobs": (pa.int64(), counts["jobs"]),
        "events_processed": (pa.int64(), _get(summary, "events_processed")),
        "energy_used_j": (pa.float64(), _get(summary, "energy_j", "used")),
        "energy_grid_j": (pa.float64(), _get(summary, "energy_j_by_source", "grid")),
        "energy_generators_j": (pa.float64(), _get(summary, "energy_j_by_source", "generators")),
        "energy_battery_j": (pa.float64(), _get(summary, "energy_j_by_source", "battery")),
        "co2_kg": (pa.float64(), _get(summary, "emissions", "co2_kg")),
        "peak_demand_w": (pa.float64(), _get(summary, "power", "peak_demand_w")),
        "mean_demand_w": (pa.float64(), _get(summary, "power", "mean_demand_w")),
        "deficit_hours": (pa.float64(), _get(summary, "deficit_hours")),
        "throughput_lost_to_deficit_frac": (pa.float64(), _get(summary, "throughput_lost_to_deficit_frac")),
        "num_failures": (pa.int64(), _get(summary, "failures", "count")),
        "summary_json": (pa.string(), text),
    }
    return pa.table({name: pa.array([value], type=kind) for name, (kind, value) in row.items()})


def write_store(path: Path, tables: dict[str, pa.Table]) -> None:
    """Create the DuckDB file at ``path`` (which must not exist) with one table per entry."""
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise ResultsError(path, f"cannot create the DuckDB file ({exc})") from exc
    try:
        for name, table in tables.items():
            con.register("_incoming", table)
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _incoming')
            con.unregister("_incoming")
        con.execute("CHECKPOINT")
    except (duckdb.Error, RuntimeError) as exc:
        if is_interrupt(exc):  # Ctrl-C or SIGTERM during a query: an interrupt, not a DuckDB failure
            raise KeyboardInterrupt from None
        raise
    finally:
        con.close()


def is_interrupt(exc: BaseException) -> bool:
    """DuckDB reports a signal that arrived during a query as its own error: ``InterruptException``, a plain
    ``RuntimeError: Query interrupted``, or, when the signal landed in Python code DuckDB was calling back
    (counting the rows of a registered Arrow table), its error carrying the ``KeyboardInterrupt``'s name
    (``Invalid Input Error: counting the rows of the object registered as '_incoming' failed:
    KeyboardInterrupt:``). Each is still the user's Ctrl-C (or SIGTERM)."""
    if isinstance(exc, duckdb.InterruptException):
        return True
    if not isinstance(exc, (duckdb.Error, RuntimeError)):
        return False
    text = str(exc).strip()
    return text.startswith(DUCKDB_INTERRUPTED) or "KeyboardInterrupt" in text


#: The text of the ``RuntimeError`` DuckDB raises when a signal arrives during a query.
DUCKDB_INTERRUPTED = "Query interrupted"


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a stored result's DuckDB file."""
    if not path.is_file():
        raise ResultsError(path, "no such DuckDB file (not a colossus results folder?)")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ResultsError(path, f"cannot open the DuckDB file ({exc})") from exc
