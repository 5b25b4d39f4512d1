"""The key numbers of a result as small tables of display strings.

Built from ``SimResult.summary`` alone (the simulation's own totals; nothing
is recomputed here, so the report and the summary cannot disagree), as plain
data so that the HTML report and the web dashboard render the same numbers.
A key the summary lacks shows as an em dash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from colossus.report import format as fmt
from colossus.sim.result import GPU_STATES, SOURCES, USABLE_STATES, SimResult


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


def _table(name: str, title: str, header: tuple[str, ...], rows: Sequence[tuple[str, ...]],
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
        ("GPUs powered off (mean)", fmt.count(_get(s, "gpus", "powered_off"))),
        ("cost per million tokens", fmt.usd(_get(s, "cost", "usd_per_million_tokens"))),
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
    if _get(s, "energy_j", "unserved") is not None:
        rows.append(("unserved while units started or ramped", fmt.energy(_get(s, "energy_j", "unserved")),
                     fmt.MISSING, fmt.MISSING, fmt.MISSING))
        rows.append(("dumped at minimum load", fmt.energy(_get(s, "energy_j", "dumped")), fmt.MISSING, fmt.MISSING,
                     fmt.MISSING))
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
        ("GPUs usable: healthy, installed and powered (mean)", fmt.count(_get(s, "gpus", "usable_mean"))),
        ("GPUs powered off for lack of power (mean / most)",
         f"{fmt.count(_get(s, 'gpus', 'powered_off'))} / {fmt.count(_get(s, 'gpus', 'powered_off_max'))}"),
        ("events processed", fmt.count(_get(s, "events_processed"))),
    ]
    return _table("environment", "Emissions, deficit and GPUs", ("quantity", "value"), rows)


def gpu_states(result: SimResult) -> Table | None:
    """Mean and final count of GPUs in each state (one state each; powered off is not idle)."""
    g = _get(result.summary, "gpus")
    if not isinstance(g, dict) or not any(state in g for state in GPU_STATES):
        return None
    end = g.get("at_end") or {}
    labels = {"powered_off": "powered off (lack of power)", "capped": "capped (training under a cap)",
              "parked": "parked (paused for lack of power)", "idle": "idle (powered, no work)",
              "busy": "busy (running, uncapped)", "not_installed": "not installed", "burn_in": "burn-in"}
    rows = [(labels.get(state, state.replace("_", " ")) + (" *" if state in USABLE_STATES else ""),
             fmt.count(g.get(state)), fmt.count(end.get(state))) for state in GPU_STATES]
    rows.append(("usable * (healthy, installed, powered)", fmt.count(g.get("usable_mean")),
                 fmt.count(sum(end.get(k, 0) or 0 for k in USABLE_STATES)) if end else fmt.MISSING))
    return _table("gpus", "GPUs by state", ("state", "mean", "at end"), rows)


def plant(result: SimResult) -> Table | None:
    """What each generator fleet did, and each permit against its limits."""
    d = _get(result.summary, "dispatch")
    if not isinstance(d, dict) or not d.get("fleets"):
        return None
    rows = []
    for f in d["fleets"]:
        rows.append((str(f.get("name")), fmt.count(f.get("count")), fmt.energy(f.get("energy_j")),
                     fmt.count(f.get("heat_rate_btu_per_kwh")), fmt.count(f.get("unit_hours")),
                     fmt.count(f.get("starts")), fmt.mass(f.get("nox_kg")), str(f.get("emission_control") or ""),
                     str(f.get("permit") or fmt.MISSING)))
    header = ("fleet", "units", "energy", "heat rate Btu/kWh", "unit-hours", "starts", "NOₓ", "control", "permit")
    return _table("plant", "Generators (merit order: " + " > ".join(map(str, d.get("merit_order") or [])) + ")",
                  header, rows, tuple(h not in ("fleet", "control", "permit") for h in header))


def permits(result: SimResult) -> Table | None:
    """Each permit's worst permit year against its limits: NOₓ, run hours, starts."""
    d = _get(result.summary, "dispatch")
    if not isinstance(d, dict) or not d.get("permits"):
        return None
    rows = []
    for p in d["permits"]:
        lim, used, ok = p.get("limits_per_year") or {}, p.get("most_used_in_a_year") or {}, p.get("within") or {}
        for key, label, show in (("nox_kg", "NOₓ", fmt.mass), ("run_unit_hours", "unit run hours", fmt.count),
                                 ("starts", "starts", fmt.count)):
            if lim.get(key) is None:
                continue
            rows.append((f"{p.get('name')}: {label}", show(used.get(key)), show(lim.get(key)),
                         "within" if ok.get(key) else "EXCEEDED"))
    if not rows:
        return None
    return _table("permits", "Permits: most used in a permit year against the limit",
                  ("permit and limit", "used", "limit", "check"), rows, (False, True, True, False))


def cost(result: SimResult) -> Table | None:
    c = _get(result.summary, "cost")
    if not isinstance(c, dict) or c.get("usd_total") is None:
        return None
    rows = [(k.replace("_", " "), fmt.usd(v)) for k, v in (c.get("usd_by_item") or {}).items()]
    rows += [("total", fmt.usd(c.get("usd_total"))),
             ("per GPU-hour (installed)", fmt.usd(c.get("usd_per_gpu_hour"))),
             ("power and plant per GPU-hour", fmt.usd(c.get("usd_power_per_gpu_hour"))),
             ("per million tokens", fmt.usd(c.get("usd_per_million_tokens"))),
             ("energy lost to the GPU power floor", f"{fmt.energy(c.get('floor_energy_j'))} "
                                                     f"({fmt.usd(c.get('usd_floor_energy'))})")]
    return _table("cost", "Cost", ("item", "USD"), rows)


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
    tables = [named_jobs(result), energy_and_power(result), environment_and_deficit(result), gpu_states(result),
              plant(result), permits(result), cost(result), failures(result), fillers(result), queue_delay(result)]
    return [t for t in tables if t is not None]
