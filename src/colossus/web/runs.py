"""Stored runs and sweeps read back for the dashboard: summaries, figures, series, events, comparisons.

Everything here reads what ``colossus.results`` and ``colossus sweep``
wrote; nothing is recomputed, so the page shows the numbers of the report
and of the CLI. Reads are cheap where they can be (a run's summary is one
JSON file, a series a few Parquet columns, an events page one SQL query);
figures need the whole result, so they are cached per run (results are
written once and never change in place; the cache key includes the
summary's modification time for a folder a CLI run replaced).
"""

from __future__ import annotations

from collections import OrderedDict
import json
import math
from pathlib import Path
import threading
from typing import Any

import duckdb
import numpy as np
import plotly.io as pio
import pyarrow as pa
import pyarrow.parquet as pq

from colossus import metrics
from colossus.report import CAPTIONS, bucket_last, bucket_mean, build_figures, headline, summary_tables
from colossus.results import REPORT, ResultPaths, ResultsError, open_store, read_result
from colossus.sim.result import SimResult
from colossus.web.folders import REQUEST, SWEEP_STORE
from colossus.web.jsonsafe import jsonable
from colossus.web.models import (
    ComparedRun,
    Comparison,
    EventPage,
    EventRow,
    Metric,
    RunDetail,
    RunItem,
    Series,
    SweepItem,
    SweepRows,
    TableModel,
)

#: Table of the sweep store (``colossus.sweep.store.TABLE``; read here without importing the sweep package).
SWEEP_TABLE = "runs"


def read_summary(run_dir: Path) -> dict[str, Any]:
    """A run's summary; its ``report_path`` relative to the runs folder (a CLI run may have stored an
    absolute one, which is not the client's business)."""
    path = ResultPaths.of(run_dir).summary
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(path, f"cannot read the summary ({exc.__class__.__name__})") from None
    if not isinstance(summary, dict):
        raise ResultsError(path, "must hold a JSON object")
    if summary.get("report_path") is not None:
        summary["report_path"] = f"{run_dir.name}/{REPORT}"
    return summary


def read_request(run_dir: Path) -> dict[str, Any] | None:
    """What the dashboard asked for (scenario, overrides), if the dashboard made the run."""
    try:
        request = json.loads((run_dir / REQUEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return request if isinstance(request, dict) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def run_item(run_id: str, run_dir: Path) -> RunItem:
    summary = read_summary(run_dir)
    seed = summary.get("seed")
    request = read_request(run_dir)
    return RunItem(
        id=run_id, scenario=summary.get("scenario") if isinstance(summary.get("scenario"), str) else None,
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None, days=_number(summary.get("days")),
        created_s=ResultPaths.of(run_dir).summary.stat().st_mtime, has_report=(run_dir / "report.html").is_file(),
        overrides=request.get("overrides") if request else None,
    )


def _summary_only(summary: dict[str, Any]) -> SimResult:
    """A result with only its summary: what ``headline`` and ``summary_tables`` read."""
    days = _number(summary.get("days")) or 0.0
    seed = summary["seed"] if isinstance(summary.get("seed"), int) else 0
    return SimResult(scenario=str(summary.get("scenario", "")), seed=seed, days=days,
                     timeseries={}, events={}, jobs={}, summary=summary)


def run_detail(run_id: str, run_dir: Path) -> RunDetail:
    summary = read_summary(run_dir)
    result = _summary_only(summary)
    tables = [TableModel(name=t.name, title=t.title, header=list(t.header), rows=[list(r) for r in t.rows],
                         numeric=list(t.numeric)) for t in summary_tables(result)]
    return RunDetail(id=run_id, summary=jsonable(summary), headline=headline(result), tables=tables,
                     request=read_request(run_dir), has_report=(run_dir / "report.html").is_file())


# --- figures ------------------------------------------------------------------------------

_FIGURES: OrderedDict[tuple[str, int, int], str] = OrderedDict()
_FIGURES_LOCK = threading.Lock()
_FIGURES_KEPT = 8


def figures_json(run_dir: Path, max_points: int) -> str:
    """``{"names": [...], "captions": {...}, "figures": {name: plotly JSON}}`` as one JSON text."""
    key = (str(run_dir), ResultPaths.of(run_dir).summary.stat().st_mtime_ns, max_points)
    with _FIGURES_LOCK:
        if key in _FIGURES:
            _FIGURES.move_to_end(key)
            return _FIGURES[key]
    figures = build_figures(read_result(run_dir), max_points)
    parts = ",".join(f"{json.dumps(name)}:{pio.to_json(fig, validate=False)}" for name, fig in figures.items())
    captions = {name: CAPTIONS.get(name, "") for name in figures}
    text = f'{{"names":{json.dumps(list(figures))},"captions":{json.dumps(captions)},"figures":{{{parts}}}}}'
    with _FIGURES_LOCK:
        _FIGURES[key] = text
        while len(_FIGURES) > _FIGURES_KEPT:
            _FIGURES.popitem(last=False)
    return text


# --- time series and events ----------------------------------------------------------------


def _floats(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).tolist()]


def series(run_id: str, run_dir: Path, columns: list[str] | None, max_points: int) -> Series:
    """Columns of the time series, thinned to ``max_points`` as the report thins them.

    Power (``*_w``) is an interval mean, so a bucket takes the mean; counts and
    the time axis take a bucket's last sample (see ``colossus.report.downsample``).
    A ``ValueError`` names an unknown column and lists the known ones.
    """
    path = ResultPaths.of(run_dir).timeseries
    try:
        available = [n for n in pq.read_schema(path).names if n]
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(path, f"cannot read the Parquet file ({exc})") from None
    wanted = list(dict.fromkeys(["time_s", *(columns or available)]))
    unknown = [c for c in wanted if c not in available]
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(map(repr, unknown))}; this run has: {', '.join(available)}")
    try:
        table = pq.read_table(path, columns=wanted)
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(path, f"cannot read the Parquet file ({exc})") from None
    out: dict[str, list[float | None]] = {}
    n = table.num_rows
    for name in wanted:
        values = table.column(name).to_numpy(zero_copy_only=False)
        if not np.issubdtype(values.dtype, np.number):
            continue  # the contract has only numeric series; skip anything else rather than fail
        thin = bucket_mean(values, max_points) if name.endswith("_w") else bucket_last(values, max_points)
        out[name] = _floats(thin)
    return Series(run=run_id, num_samples=n, num_points=len(out["time_s"]), columns=out, available=available)


def events(run_id: str, run_dir: Path, *, offset: int, limit: int, kind: str | None, job: str | None) -> EventPage:
    """One page of the event log in time order, optionally of one kind and/or one job."""
    where, params = [], []
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    if job is not None:
        where.append("job = ?")
        params.append(job)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    con = open_store(run_dir)
    try:
        total = _count(con, f"SELECT count(*) FROM events{clause}", params)
        rows = con.execute(
            f"SELECT time_s, kind, job, detail, value FROM events{clause} ORDER BY time_s, rowid LIMIT ? OFFSET ?",
            [*params, limit, offset]).fetchall()
    except duckdb.Error as exc:
        raise ResultsError(ResultPaths.of(run_dir).duckdb, f"cannot read the events ({exc})") from None
    finally:
        con.close()
    page = [EventRow(time_s=float(t), kind=str(k), job=str(j or ""), detail=str(d or ""), value=_number(v))
            for t, k, j, d, v in rows]
    return EventPage(run=run_id, total=total, offset=offset, limit=limit, events=page)


# --- comparison ---------------------------------------------------------------------------

#: The key numbers set side by side, and a named job's: the one registry (``colossus.metrics``).
METRICS, JOB_METRICS = metrics.METRICS, metrics.JOB_METRICS


def _count(con: Any, sql: str, params: Any = None) -> int:
    """The one number a ``SELECT count(*)`` answers."""
    row = con.execute(sql, params).fetchone() if params is not None else con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _get(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(key)
    return tree


def compare(runs: list[tuple[str, Path]]) -> Comparison:
    """The key numbers of several runs side by side; a job's rows for every named job any run has."""
    summaries = [(run_id, run_dir, read_summary(run_dir)) for run_id, run_dir in runs]
    shown = [Metric(key=m.key, label=m.label, unit=m.unit, display_unit=m.display_unit,
                    display_scale=m.display_scale) for m in METRICS]
    job_names: list[str] = []
    for _, _, summary in summaries:
        for job in summary.get("jobs") or []:
            if isinstance(job, dict) and isinstance(job.get("name"), str) and job["name"] not in job_names:
                job_names.append(job["name"])
    for name in job_names:
        shown += [Metric(key=f"job:{name}:{m.key}", label=f"{name}: {m.label}", unit=m.unit,
                         display_unit=m.display_unit, display_scale=m.display_scale) for m in JOB_METRICS]
    compared = []
    for run_id, run_dir, summary in summaries:
        values = {m.key: _number(metrics.si_value(m, summary)) for m in METRICS}
        jobs = {j.get("name"): j for j in summary.get("jobs") or [] if isinstance(j, dict)}
        for name in job_names:
            for m in JOB_METRICS:
                values[f"job:{name}:{m.key}"] = _number(metrics.si_value(m, jobs.get(name) or {}))
        request = read_request(run_dir)
        seed = summary.get("seed")
        compared.append(ComparedRun(
            id=run_id, scenario=summary.get("scenario") if isinstance(summary.get("scenario"), str) else None,
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            days=_number(summary.get("days")), overrides=request.get("overrides") if request else None,
            values=values))
    return Comparison(metrics=shown, runs=compared)


# --- sweeps -------------------------------------------------------------------------------


def _connect_sweep(store: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(store), read_only=True)
    except duckdb.Error as exc:  # e.g. a sweep is writing it right now (DuckDB locks the file)
        raise ResultsError(store, f"cannot open the sweep store now ({str(exc).splitlines()[0]})") from None


def sweep_item(sweep_id: str, store: Path, plots: list[str]) -> SweepItem:
    try:
        con = _connect_sweep(store)
    except ResultsError as exc:
        return SweepItem(id=sweep_id, rows=None, scenarios=[], kinds=[], plots=plots, error=exc.message)
    try:
        rows = _count(con, f"SELECT count(*) FROM {SWEEP_TABLE}")
        scenarios = [r[0] for r in con.execute(f"SELECT DISTINCT scenario FROM {SWEEP_TABLE} ORDER BY 1").fetchall()]
        kinds = [r[0] for r in con.execute(f"SELECT DISTINCT kind FROM {SWEEP_TABLE} ORDER BY 1").fetchall()]
    except duckdb.Error as exc:
        return SweepItem(id=sweep_id, rows=None, scenarios=[], kinds=[], plots=plots,
                         error=f"not a sweep store ({str(exc).splitlines()[0]})")
    finally:
        con.close()
    return SweepItem(id=sweep_id, rows=rows, scenarios=[str(s) for s in scenarios], kinds=[str(k) for k in kinds],
                     plots=plots)


def sweep_rows(sweep_id: str, store: Path, *, offset: int, limit: int) -> SweepRows:
    """One page of a sweep's table (one row per run: inputs, outputs, error), in key order."""
    con = _connect_sweep(store)
    try:
        total = _count(con, f"SELECT count(*) FROM {SWEEP_TABLE}")
        cur = con.execute(f"SELECT * FROM {SWEEP_TABLE} ORDER BY content_hash, seed, kind, days LIMIT ? OFFSET ?",
                          [limit, offset])
        columns = [d[0] for d in cur.description]
        types = [str(d[1]) for d in cur.description]
        rows = [jsonable(list(r)) for r in cur.fetchall()]
    except duckdb.Error as exc:
        raise ResultsError(store, f"not a sweep store ({str(exc).splitlines()[0]})") from None
    finally:
        con.close()
    return SweepRows(id=sweep_id, total=total, offset=offset, limit=limit, columns=columns, types=types, rows=rows)


__all__ = ["JOB_METRICS", "METRICS", "SWEEP_STORE", "compare", "events", "figures_json", "run_detail", "run_item",
           "series", "sweep_item", "sweep_rows"]
