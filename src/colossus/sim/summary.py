"""From a finished engine to a ``SimResult``: time series, event log, job table and summary.

The summary answers the questions of the issue in one JSON-able document:
when each named job finishes (or how far it got), its goodput, tokens,
energy and emissions; energy, peak and mean power by source; GPUs usable
against installed; hours with a power deficit and the throughput lost to it;
failures by cause; the queueing delays of replayed filler jobs against the
trace's own; the plant (units, fuel, starts, permits against their limits,
reserve, battery cycling); what it all cost (``power.cost``). Goodput here is
useful training time (GPU-time at full speed that ended in a checkpoint or the
finish) over wall time since the job first started: it folds in failures, lost work, restarts, checkpoint stalls, power
caps and waiting for GPUs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from colossus import units
from colossus.power.cost import FleetTime, cost_breakdown, monthly_peaks_w, prices
from colossus.power.deficit import capped_step
from colossus.power.mitigation import SwingSetup, study
from colossus.power.profile import from_estimate
from colossus.sim.result import GPU_STATES, USABLE_STATES, SimResult
from colossus.sim.telemetry import STATE_COLUMNS, energy_j, resample
from colossus.sim.workload import delay_summary

if TYPE_CHECKING:
    from colossus.power.assumptions import PowerAssumptions
    from colossus.sim.cluster import Layout
    from colossus.sim.dispatch import SiteDispatch
    from colossus.sim.jobs import Job, NamedRates
    from colossus.sim.sitepower import SitePower
    from colossus.sim.telemetry import Recorder
    from colossus.sim.workload import FillerJobs
    from colossus.spec import Scenario, SimulationSpec


class History(Protocol):
    """What the summary reads of a finished run (``sim.engine.Engine`` is one): no import of the engine here,
    so the engine builds its result and the summary knows only this."""

    scenario: Scenario
    spec: SimulationSpec
    seed: int
    days: float
    end_s: float
    jobs: list[Job]
    events: dict[str, list[Any]]
    totals: dict[str, float]
    job_gpu_s: list[float]
    pa: PowerAssumptions
    rates: NamedRates
    layout: Layout
    site: SiteDispatch
    power: SitePower
    recorder: Recorder
    fillers: FillerJobs
    num_failures: int
    num_repairs: int
    failures_by_cause: dict[str, int]
    events_processed: int


def _none_if_nan(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _job_table(eng: History) -> dict[str, np.ndarray]:
    jobs = eng.jobs
    named = len(eng.scenario.jobs)

    def col(f, dtype=float):
        return np.array([f(j) for j in jobs], dtype=dtype)

    start = col(lambda j: j.first_start_s)
    delay = np.where(np.isnan(start), np.nan, start - col(lambda j: j.submit_s))
    return {
        "name": col(lambda j: j.name, object),
        "kind": np.array(["named"] * named + ["filler"] * (len(jobs) - named), dtype=object),
        "priority": col(lambda j: j.priority, np.int64),
        "num_gpus": col(lambda j: j.want_servers * (eng.layout.gpus_per_server[j.pools[0]]), np.int64),
        "submit_s": col(lambda j: j.submit_s),
        "start_s": start,
        "finished_at_s": col(lambda j: j.finish_s),
        "work_total": col(lambda j: j.work_total),
        "work_done": col(lambda j: j.work_ckpt if j.status != 2 else j.work_total),
        "tokens_trained": np.array([j.work_ckpt if j.named else 0.0 for j in jobs]),
        "goodput": np.array([_goodput(j, eng.end_s) for j in jobs]),
        "restarts": col(lambda j: j.restarts, np.int64),
        "preemptions": col(lambda j: j.preemptions, np.int64),
        "lost_work": col(lambda j: j.lost_work),
        "queue_delay_s": delay,
        "trace_delay_s": col(lambda j: j.trace_delay_s),
    }


def _goodput(job, end_s: float) -> float:
    if math.isnan(job.first_start_s):
        return math.nan
    wall = (job.finish_s if math.isfinite(job.finish_s) else end_s) - job.first_start_s
    if wall <= 0 or job.rate <= 0:
        return math.nan
    done = job.work_total if math.isfinite(job.finish_s) else job.work_ckpt
    return float(min(1.0, done / job.rate / wall)) if job.named else float(min(1.0, done / wall))


def _named_summary(eng: History) -> list[dict[str, Any]]:
    out = []
    for j in eng.jobs[:len(eng.scenario.jobs)]:
        done = j.work_total if math.isfinite(j.finish_s) else j.work_ckpt
        assert j.spec is not None  # the named jobs
        out.append({
            "name": j.name,
            "num_gpus": j.spec.num_gpus,
            "gpus_last": j.num_gpus,
            "pool": j.spec.pool,
            "layout": j.layout or None,
            "tokens_per_s": j.rate if j.rate > 0 else None,
            "train_tokens": j.work_total,
            "tokens_trained": done,
            "progress_frac": done / j.work_total,
            "start_s": _none_if_nan(j.first_start_s),
            "finished_at_s": _none_if_nan(j.finish_s),
            "finished_at_days": _none_if_nan(j.finish_s / units.DAY),
            "goodput": _none_if_nan(_goodput(j, eng.end_s)),
            "restarts": j.restarts,
            "interruptions": j.interruptions,
            "preemptions": j.preemptions,
            "tokens_lost": j.lost_work,
            "checkpoints": j.num_ckpts,
            "energy_j": j.energy_j,
            "co2_kg": j.co2_kg,
        })
    return out


def build_result(eng: History) -> SimResult:
    rec = eng.recorder
    ts = resample(rec, end_s=eng.end_s, interval_s=eng.spec.telemetry_interval_min * units.MINUTE)
    e = energy_j(rec, eng.end_s)
    jobs = _job_table(eng)
    events = {
        "time_s": np.array(eng.events["time_s"], dtype=float),
        "kind": np.array(eng.events["kind"], dtype=object),
        "job": np.array(eng.events["job"], dtype=object),
        "detail": np.array(eng.events["detail"], dtype=object),
        "value": np.array(eng.events["value"], dtype=float),
    }
    order = np.argsort(events["time_s"], kind="stable")
    events = {k: v[order] for k, v in events.items()}
    t, power, states, _, dt = rec.arrays(eng.end_s)
    peak = {"grid": float(power[:, 0].max()), "generators": float(power[:, 1].max()),
            "battery": float(power[:, 2].max())}
    by_source = {"grid": e["grid_w"], "generators": e["generators_w"], "battery": e["battery_discharge_w"]}
    filler = jobs["kind"] == "filler"
    tot = eng.totals
    plant = eng.site.summary(eng.end_s)
    installed = states[:, STATE_COLUMNS.index("gpus_installed")]
    mean = _time_means(states, dt, eng.end_s)
    usable_mean = sum(mean[k] for k in USABLE_STATES)
    named_tokens = sum(
        (j.work_total if math.isfinite(j.finish_s) else j.work_ckpt) for j in eng.jobs[: len(eng.scenario.jobs)]
    )
    cost = _cost(eng, ts, e, plant, installed_gpu_s=float(installed @ dt), tokens=named_tokens)
    summary: dict[str, Any] = {
        "scenario": eng.scenario.name,
        "seed": eng.seed,
        "days": eng.days,
        "jobs": _named_summary(eng),
        "fillers": {
            "source": eng.fillers.source,
            "submitted": int(filler.sum()),
            "started": int(np.isfinite(jobs["start_s"][filler]).sum()),
            "finished": int(np.isfinite(jobs["finished_at_s"][filler]).sum()),
            "gpu_hours": float((jobs["work_done"][filler] * jobs["num_gpus"][filler]).sum() / units.HOUR),
            "queue_delay": {"replay": delay_summary(jobs["queue_delay_s"][filler]),
                            "trace": delay_summary(jobs["trace_delay_s"][filler])},
        },
        "energy_j_by_source": by_source,
        "energy_j": {"used": e["demand_w"], "battery_charge": e["battery_charge_w"],
                     "battery_loss": e["battery_charge_w"] * (1.0 - eng.site.plant.battery.rte),
                     "unserved": e["unserved_w"], "dumped": e["dumped_w"], "fuel": e["fuel_w"]},
        "emissions": {"co2_kg": eng.site.totals["co2_kg"], "nox_kg": eng.site.totals["nox_kg"],
                      "nox_kg_by_fleet": {f["name"]: f["nox_kg"] for f in plant["fleets"]},
                      "nox_kg_grid": plant["grid_nox_kg"],
                      "water_l": tot["it_j"] / units.KWH * eng.scenario.power.cooling.wue_l_per_kwh},
        "dispatch": plant,
        "swings": _swings(eng, e),
        "cost": cost,
        "power": {"peak_w_by_source": peak,
                  "mean_w_by_source": {k: v / eng.end_s for k, v in by_source.items()},
                  "peak_demand_w": float(power[:, 5].max()), "mean_demand_w": e["demand_w"] / eng.end_s},
        "gpus": {"total": int(eng.scenario.cluster.num_gpus), "installed_end": int(installed[-1]),
                 "installed_mean": float(installed @ dt / eng.end_s), "usable_mean": usable_mean,
                 **{state: mean[state] for state in GPU_STATES},
                 "at_end": {state: int(ts[f"gpus_{state}"][-1]) for state in GPU_STATES},
                 "powered_off_max": int(ts["gpus_powered_off"].max())},
        "deficit_hours": tot["deficit_s"] / units.HOUR,
        "throughput_lost_to_deficit_frac": tot["lost_gpu_s"] / tot["train_gpu_s"] if tot["train_gpu_s"] else 0.0,
        "failures": {"count": eng.num_failures, "by_cause": dict(sorted(eng.failures_by_cause.items())),
                     "repairs": eng.num_repairs},
        "events_processed": eng.events_processed,
        "report_path": None,
    }
    return SimResult(eng.scenario.name, eng.seed, eng.days, ts, events, jobs, _finite(summary))


def _time_means(states: np.ndarray, dt: np.ndarray, end_s: float) -> dict[str, float]:
    """Time-weighted mean count of GPUs in each state, from the exact event rows."""
    col = {name: k for k, name in enumerate(STATE_COLUMNS)}
    return {state: float(states[:, col[f"gpus_{state}"]] @ dt / end_s) for state in GPU_STATES}


def _swings(eng: History, e: dict[str, float]) -> dict[str, Any] | None:
    """The swing study (``power.mitigation``) of the flagship job at its largest allocation, uncapped.

    The simulation's events are minutes apart; the sub-second waveform comes from the
    job's step profile (perf's step breakdown, as the run planned it) and the site as it
    ran: generators take the swing if they generated, the grid if it delivered.
    """
    named = eng.jobs[:len(eng.scenario.jobs)]
    if not named:
        return None
    flagship = max(named, key=lambda j: j.priority)
    cached = [(k, est) for k, est in eng.rates._estimates.items() if k[0] == flagship.name]
    if not cached:
        return None
    (_, pool_name, num_gpus), est = max(cached, key=lambda kv: kv[0][2])
    pool = eng.scenario.cluster.pool(pool_name)
    assert flagship.spec is not None
    profile = from_estimate(flagship.spec.model_copy(update={"num_gpus": num_gpus, "pool": pool_name}), pool.gpu,
                            est, eng.pa)
    curve = eng.rates.curve
    step = capped_step(profile, curve, pool.gpu.tdp_w)
    a, opts = eng.pa, eng.scenario.power.swings
    p = eng.layout.pool_index(pool_name)
    pw = eng.power
    floor = opts.gpu_power_floor_frac * pool.gpu.tdp_w if opts.gpu_power_floor_frac is not None else None
    plant = eng.site.plant
    gens_ran = e["generators_w"] > 0 and not a.get("events.swings.grid_follows_swings")
    stall = "checkpoint_stall_s" if flagship.spec.checkpoint.asynchronous else "sync_checkpoint_stall_s"
    setup = SwingSetup(
        num_gpus=num_gpus,
        phase_times_s=step.phase_times_s,
        phase_draws_w=step.phase_draws_w,
        idle_w=pool.gpu.idle_w,
        it_gain=float(pw.gain_it[p]),
        site_gain=float(pw.gain_site[p]),
        mean_site_w=e["demand_w"] / eng.end_s,
        power_step_s=a.f("events.swings.power_step_s"),
        samples_per_power_step=int(a.f("events.swings.samples_per_power_step")),
        window_s=a.f("events.swings.window_s"),
        stall_s=a.f(f"events.swings.{stall}"),
        band_hz=(a.f("events.swings.band_low_hz"), a.f("events.swings.band_high_hz")),
        floor_w=floor,
        gpu_ramp_w_per_s=opts.gpu_ramp_frac_per_s * pool.gpu.tdp_w if opts.gpu_ramp_frac_per_s is not None else None,
        battery_power_w=plant.battery.power_w if opts.battery_smoothing else 0.0,
        battery_energy_j=plant.battery.energy_j if opts.battery_smoothing else 0.0,
        grid_limit_w_per_s=opts.grid_ramp_limit_mw_per_s * units.MW
        if opts.grid_ramp_limit_mw_per_s is not None
        else None,
        generator_ramp_w_per_s=sum(f.count * f.ramp_w_per_s for f in plant.fleets) if gens_ran else 0.0,
        generators_follow=gens_ran,
        grid_connected=e["grid_w"] > 0,
    )
    doc = study(setup).as_dict()
    doc["job"] = flagship.name
    doc["floor_energy_j_run"] = eng.totals["floor_j"]
    return doc


def _cost(eng: History, ts: dict[str, np.ndarray], e: dict[str, float], plant: dict[str, Any], *,
          installed_gpu_s: float, tokens: float) -> dict[str, Any]:
    """What the run cost (``power.cost``): energy and fuel as dispatched, fixed costs for the time on site."""
    p = prices(eng.scenario, eng.pa)
    fleets = []
    for f in eng.site.plant.fleets:
        on_site = max(0.0, min(f.until_s, eng.end_s) - min(f.from_s, eng.end_s))
        fleets.append(FleetTime(f.kind, f.rating_w, f.count, on_site, f.scr))
    busy = float(np.sum(np.diff(ts["time_s"]) * (ts["gpus_busy"][:-1] + ts["gpus_capped"][:-1])))
    doc = cost_breakdown(p, fuel_j=e["fuel_w"], generators_j=e["generators_w"], grid_j=e["grid_w"],
                         demand_peaks=monthly_peaks_w(ts["time_s"], ts["grid_w"], p), fleets=fleets,
                         battery_energy_j=eng.site.plant.battery.energy_j, duration_s=eng.end_s,
                         gpu_s=installed_gpu_s, floor_j=eng.totals.get("floor_j", 0.0), tokens=tokens, busy_gpu_s=busy)
    _attribute(eng, doc, e)
    doc.pop("inputs")  # the summary stays numbers (sweeps flatten it); the definitions are in power.cost
    doc["prices"] = dict(p.quoted)
    return doc


def _attribute(eng: History, doc: dict[str, Any], e: dict[str, float]) -> None:
    """Each named job's share of the cost: its GPU-hours of the GPUs' cost, its energy share of the rest.

    ``usd_per_million_tokens`` is then the named jobs' cost over their tokens (the cost of the training
    output); ``usd_per_million_tokens_all_in`` carries the whole site's cost over the same tokens.
    """
    gpus_usd = doc["usd_by_item"]["gpus"]
    power_usd = doc["usd_total"] - gpus_usd
    used_j = e["demand_w"]
    installed_s = doc["gpu_hours"] * units.HOUR
    jobs: list[dict[str, Any]] = []
    for k, j in enumerate(eng.jobs[:len(eng.scenario.jobs)]):
        tokens = j.work_total if math.isfinite(j.finish_s) else j.work_ckpt
        usd = (gpus_usd * eng.job_gpu_s[k] / installed_s if installed_s else 0.0) \
            + (power_usd * j.energy_j / used_j if used_j else 0.0)
        jobs.append({"name": j.name, "usd": usd, "gpu_hours": eng.job_gpu_s[k] / units.HOUR, "tokens": tokens,
                     "usd_per_million_tokens": usd / (tokens / 1e6) if tokens > 0 else None})
    doc["jobs"] = jobs
    tokens = sum(j["tokens"] for j in jobs)
    usd = sum(j["usd"] for j in jobs)
    doc["usd_per_million_tokens_all_in"] = doc["usd_per_million_tokens"]
    doc["usd_per_million_tokens"] = usd / (tokens / 1e6) if tokens > 0 else None



def _finite(doc: Any) -> Any:
    """The summary with NaN and infinities as None, so that it is strict JSON."""
    if isinstance(doc, dict):
        return {k: _finite(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_finite(v) for v in doc]
    if isinstance(doc, float) and not math.isfinite(doc):
        return None
    return doc
