"""From a finished engine to a ``SimResult``: time series, event log, job table and summary.

The summary answers the questions of the issue in one JSON-able document:
when each named job finishes (or how far it got), its goodput, tokens,
energy and emissions; energy, peak and mean power by source; GPUs usable
against installed; hours with a power deficit and the throughput lost to it;
failures by cause; the queueing delays of replayed filler jobs against the
trace's own. Goodput here is useful training time (GPU-time at full speed
that ended in a checkpoint or the finish) over wall time since the job first
started: it folds in failures, lost work, restarts, checkpoint stalls, power
caps and waiting for GPUs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from colossus import units
from colossus.sim.result import SimResult
from colossus.sim.telemetry import energy_j, resample
from colossus.sim.workload import delay_summary

if TYPE_CHECKING:
    from colossus.sim.engine import Engine


def _none_if_nan(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _job_table(eng: "Engine") -> dict[str, np.ndarray]:
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


def _named_summary(eng: "Engine") -> list[dict[str, Any]]:
    out = []
    for j in eng.jobs[:len(eng.scenario.jobs)]:
        done = j.work_total if math.isfinite(j.finish_s) else j.work_ckpt
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


def build_result(eng: "Engine") -> SimResult:
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
    installed = states[:, 6]
    usable = states[:, 2] + states[:, 3]  # idle + busy
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
                     "battery_loss": e["battery_charge_w"] * (1.0 - eng.supply.battery_rte)},
        "emissions": {"co2_kg": tot["co2_kg"], "nox_kg": tot["nox_kg"],
                      "water_l": tot["it_j"] / units.KWH * eng.scenario.power.cooling.wue_l_per_kwh},
        "power": {"peak_w_by_source": peak,
                  "mean_w_by_source": {k: v / eng.end_s for k, v in by_source.items()},
                  "peak_demand_w": float(power[:, 5].max()), "mean_demand_w": e["demand_w"] / eng.end_s},
        "gpus": {"total": int(eng.scenario.cluster.num_gpus), "installed_end": int(installed[-1]),
                 "installed_mean": float(installed @ dt / eng.end_s), "usable_mean": float(usable @ dt / eng.end_s)},
        "deficit_hours": tot["deficit_s"] / units.HOUR,
        "throughput_lost_to_deficit_frac": tot["lost_gpu_s"] / tot["train_gpu_s"] if tot["train_gpu_s"] else 0.0,
        "failures": {"count": eng.num_failures, "by_cause": dict(sorted(eng.failures_by_cause.items())),
                     "repairs": eng.num_repairs},
        "events_processed": eng.events_processed,
        "report_path": None,
    }
    return SimResult(eng.scenario.name, eng.seed, eng.days, ts, events, jobs, _finite(summary))


def _finite(doc: Any) -> Any:
    """The summary with NaN and infinities as None, so that it is strict JSON."""
    if isinstance(doc, dict):
        return {k: _finite(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_finite(v) for v in doc]
    if isinstance(doc, float) and not math.isfinite(doc):
        return None
    return doc
