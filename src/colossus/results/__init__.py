"""Simulation results as tables: Parquet files, a JSON summary and a DuckDB file per run.

>>> from colossus.results import write_result, read_result      # doctest: +SKIP
>>> paths = write_result(result, "runs/memphis-seed1")             # doctest: +SKIP
>>> again = read_result(paths.root)                                # doctest: +SKIP

A results folder (written all-or-nothing, the report included, by one writer at a time; see ``store``)::

    <out_dir>/
        timeseries.parquet   one row per telemetry sample (SimResult.timeseries)
        events.parquet       the event log (SimResult.events)
        jobs.parquet         the job table (SimResult.jobs)
        summary.json         SimResult.summary as strict JSON
        results.duckdb       tables summary, timeseries, events, jobs (see ``duck``)
"""

from colossus.results.paths import (
    FILES,
    FORMAT_VERSION,
    REPORT,
    ResultPaths,
    ResultsError,
    check_out_dir,
    safe_name,
    source_tree,
)
from colossus.results.store import (
    Claim,
    claim_folder,
    clean_stale,
    export_csv,
    open_store,
    read_result,
    write_result,
)

__all__ = [
    "FILES",
    "FORMAT_VERSION",
    "REPORT",
    "Claim",
    "ResultPaths",
    "ResultsError",
    "check_out_dir",
    "claim_folder",
    "clean_stale",
    "export_csv",
    "open_store",
    "read_result",
    "safe_name",
    "source_tree",
    "write_result",
]
