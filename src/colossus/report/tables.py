"""The key numbers of a result as small tables of display strings.

Built from ``SimResult.summary`` alone (the simulation's own totals; nothing
is recomputed here, so the report and the summary cannot disagree), as plain
data so that the HTML report and the web dashboard render the same numbers.
A key the summary lacks shows as an em dash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from colossus.report import format as fmt
from colossus.sim.result import SOURCES, SimResult


@dataclass(frozen=True)
class Table:
    """A titled table; ``numeric`` marks the columns to right-align."""

    name: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]


def _get(tree: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def _table(name: str, title: str, header: tuple[str, ...], rows: list[tuple[str, ...]],
           numeric: tuple[bool, ...] | None = None) -> Table:
    """A table whose first column is a label and the rest numbers, unless ``numeric`` says otherwise."""
    return Table(name, title, header, tuple(rows), numeric or tuple(i > 0 for i in range(len(header))))


def headline(result: SimResult) -> list[tuple[str, str]]:
    """(label, value) pairs for the cards at the top of the report."""
    s = result.summary
    return [
        ("energy used", fmt.energy(_get(s, "energy_j", "used"))),
        ("peak demand", fmt.power(_get(s, "power", "peak_demand_w"))),
        ("mean demand", fmt.power(_get(s, "power", "mean_demand_w"))),
        ("CO\u2082", fmt.mass(_get(s, "emissions", "co2_kg"))),
        ("deficit", fmt.hours(_get(s, "deficit_hours"))),
        ("throughput lost to deficit", fmt.percent(_get(s, "throughput_lost_to_deficit_frac"))),
        ("failures", fmt.count(_get(s, "failures", "count"))),
        ("GPUs installed at end", fmt.count(_get(s, "gpus", "installed_end"))),
    ]


def named_jobs(result: SimResult) -> Table:
    rows = []
    for job in _get(result.summary, "jobs") or []:
        if not isinstance(job, dict):
            continue
        finished = job.get("finished_at_s")
        rows.append((
            str(job.get("name", "")), fmt.count(job.get("num_gpus")), str(job.get("pool") or fmt.MISSING),
            str(job.get("layout") or fmt.MISSING),
            f"{fmt.tokens(job.get('tokens_trained'))} / {fmt.tokens(job.get('train_tokens'))}"
            f" ({fmt.percent(job.get('progress_frac'))})",
            fmt.day(finished) if finished is not None else "not finished",
            fmt.percent(job.get("goodput")), fmt.count(job.get("restarts")), fmt.count(job.get("preemptions")),
            fmt.count(job.get("interruptions")), fmt.energy(job.get("energy_j")), fmt.mass(job.get("co2_kg")),
        ))
    header = ("job", "GPUs", "pool", "layout", "tokens trained / target", "finished", "goodput",
              "restarts", "preemptions", "interruptions", "energy", "CO\u2082")
    numeric = tuple(h not in ("job", "pool", "layout") for h in header)
    return _table("jobs", "Named jobs", header, rows, numeric)


def energy_and_power(result: SimResult) -> Table:
    s = result.summary
    by_source = _get(s, "energy_j_by_source") or {}
    total = sum(float(v) for v in by_source.values() if isinstance(v, (int, float))) or None
    rows = []
    for source in SOURCES:
        e = by_source.get(source)
        share = None if e is None or total is None else float(e) / total
        rows.append((source, fmt.energy(e), fmt.percent(share),
                     fmt.power(_get(s, "power", "peak_w_by_source", source)),
                     fmt.power(_get(s, "power", "mean_w_by_source", source))))
    rows.append(("site demand served", fmt.energy(_get(s, "energy_j", "used")), fmt.MISSING,
                 fmt.power(_get(s, "power", "peak_demand_w")), fmt.power(_get(s, "power", "mean_demand_w"))))
    charge, loss = _get(s, "energy_j", "battery_charge"), _get(s, "energy_j", "battery_loss")
    rows.append(("battery charging / losses", f"{fmt.energy(charge)} / {fmt.energy(loss)}",
                 fmt.MISSING, fmt.MISSING, fmt.MISSING))
    header = ("source", "energy", "share", "peak power", "mean power")
    return _table("energy", "Energy and power by source", header, rows)


def environment_and_deficit(result: SimResult) -> Table:
    s = result.summary
    rows = [
        ("CO\u2082", fmt.mass(_get(s, "emissions", "co2_kg"))),
        ("NO\u2093", fmt.mass(_get(s, "emissions", "nox_kg"))),
        ("cooling water", fmt.volume_l(_get(s, "emissions", "water_l"))),
        ("hours in power deficit", fmt.hours(_get(s, "deficit_hours"))),
        ("training throughput lost to the deficit", fmt.percent(_get(s, "throughput_lost_to_deficit_frac"))),
        ("GPUs installed: at end / mean", f"{fmt.count(_get(s, 'gpus', 'installed_end'))} / "
                                          f"{fmt.count(_get(s, 'gpus', 'installed_mean'))}"),
        ("GPUs usable (mean)", fmt.count(_get(s, "gpus", "usable_mean"))),
        ("events processed", fmt.count(_get(s, "events_processed"))),
    ]
    return _table("environment", "Emissions, deficit and GPUs", ("quantity", "value"), rows)


def failures(result: SimResult) -> Table:
    f = _get(result.summary, "failures") or {}
    by_cause = f.get("by_cause") or {}
    rows = [(str(cause), fmt.count(n)) for cause, n in sorted(by_cause.items(), key=lambda kv: (-(kv[1] or 0), kv[0]))]
    rows.append(("all causes", fmt.count(f.get("count"))))
    rows.append(("repairs completed", fmt.count(f.get("repairs"))))
    return _table("failures", "Failures by cause", ("cause", "count"), rows)


def fillers(result: SimResult) -> Table | None:
    f = _get(result.summary, "fillers")
    if not isinstance(f, dict) or f.get("source") in (None, "none"):
        return None
    rows = [(label, fmt.count(f.get(key))) for label, key in
            (("submitted", "submitted"), ("started", "started"), ("finished", "finished"), ("GPU-hours", "gpu_hours"))]
    return _table("fillers", f"Filler jobs (source: {f.get('source')})", ("", "jobs"), rows)


def queue_delay(result: SimResult) -> Table | None:
    """Quantiles of the filler jobs' queueing delay in the simulation and in the replayed trace."""
    delays = _get(result.summary, "fillers", "queue_delay")
    if not isinstance(delays, dict):
        return None
    rows = []
    for label, key in (("simulated", "replay"), ("trace", "trace")):
        q = delays.get(key)
        if isinstance(q, dict) and q.get("count"):
            rows.append((label, fmt.count(q.get("count")), fmt.duration(q.get("mean_s")), fmt.duration(q.get("p50_s")),
                         fmt.duration(q.get("p90_s")), fmt.duration(q.get("p99_s"))))
    if not rows:
        return None
    return _table("queue_delay", "Queueing delay of filler jobs", ("", "jobs", "mean", "p50", "p90", "p99"), rows)


def summary_tables(result: SimResult) -> list[Table]:
    """The report's tables in order; the filler tables only when the run had filler jobs."""
    tables = [named_jobs(result), energy_and_power(result), environment_and_deficit(result), failures(result),
              fillers(result), queue_delay(result)]
    return [t for t in tables if t is not None]
