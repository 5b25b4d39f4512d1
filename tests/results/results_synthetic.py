"""A synthetic ``SimResult`` built to the contract of ``colossus.sim.result``, for results and report tests.

Not a simulation: plausible shapes (a build-out ramp, a grid contract
arriving mid-run, generator-backed supply with a deficit, a battery, failures
by cause, two named jobs and a stream of filler jobs) made with numpy from
one seed, so the tests do not depend on the simulator being finished.
"""

from __future__ import annotations

import numpy as np

from colossus.sim.result import GPU_STATES, SimResult

DAY_S = 86400.0
CAUSES = ("gpu", "hbm", "nic", "switch", "host", "software")


def _timeseries(rng: np.random.Generator, *, days: float, interval_s: float, num_gpus: int,
                named: dict[str, float], batteries: bool) -> dict[str, np.ndarray]:
    t = np.arange(1, int(round(days * DAY_S / interval_s)) + 1, dtype=np.float64) * interval_s
    frac = t / (days * DAY_S)
    installed = np.minimum(num_gpus, np.floor(num_gpus * np.minimum(frac / 0.2, 1.0))).astype(np.int64)
    burn_in = np.minimum(installed, (0.05 * num_gpus * (frac < 0.25))).astype(np.int64)
    failed = np.minimum(installed - burn_in, rng.poisson(30, t.size))
    repair = np.minimum(installed - burn_in - failed, rng.poisson(60, t.size))
    usable = installed - burn_in - failed - repair
    busy = np.floor(usable * (0.85 + 0.1 * np.sin(2 * np.pi * t / DAY_S))).astype(np.int64)
    idle = usable - busy
    cap_w = np.full(t.size, 700.0)
    gpus_w_unc = busy * 700.0 + (idle + burn_in) * 90.0
    it_other_unc = 0.35 * gpus_w_unc + 2e6 * (installed > 0)
    facility_unc = 0.2 * (gpus_w_unc + it_other_unc)
    unconstrained = gpus_w_unc + it_other_unc + facility_unc
    grid_cap = np.where(frac < 0.4, 8e6, 150e6)
    gen_cap = 14 * 2.5e6 * (1.0 - 0.15 * (rng.random(t.size) < 0.02))
    bat_p = 20e6 if batteries else 0.0
    bat_e = 40e6 * 3600 if batteries else 0.0
    soc = np.zeros(t.size)
    discharge = np.zeros(t.size)
    charge = np.zeros(t.size)
    level = bat_e
    supply = grid_cap + gen_cap
    for i in range(t.size):  # the battery has state; a loop of ~10^5 is fast enough for a fixture
        gap = unconstrained[i] - supply[i]
        if gap > 0 and level > 0:
            discharge[i] = min(gap, bat_p, level / interval_s)
            level -= discharge[i] * interval_s
        elif gap < 0 and level < bat_e:
            charge[i] = min(-gap, bat_p, (bat_e - level) / interval_s)
            level += 0.9 * charge[i] * interval_s
        soc[i] = level
    available = supply + np.where(soc > 0, bat_p, 0.0)
    demand = np.minimum(unconstrained, supply + discharge)
    shed = unconstrained - demand
    scale = np.where(unconstrained > 0, demand / np.maximum(unconstrained, 1.0), 1.0)
    deficit = shed > 0
    parked = np.where(deficit, np.floor(busy * (1 - scale) * 0.5), 0).astype(np.int64)
    cap_w = np.where(deficit, np.maximum(200.0, 700.0 * scale), cap_w)
    grid = np.minimum(demand + charge, grid_cap)
    generators = demand + charge - grid - discharge
    ts: dict[str, np.ndarray] = {
        "time_s": t, "grid_w": grid, "generators_w": np.maximum(generators, 0.0),
        "battery_discharge_w": discharge, "battery_charge_w": charge, "battery_soc_j": soc,
        "supply_available_w": available, "demand_w": demand, "demand_unconstrained_w": unconstrained,
        "shed_w": shed, "gpus_w": gpus_w_unc * scale, "it_other_w": it_other_unc * scale,
        "facility_w": facility_unc * scale,
    }
    powered_off = np.where(deficit, idle // 2, 0).astype(np.int64)  # half the idle GPUs switched off when short
    capped = np.where(cap_w < 700.0, busy - parked, 0).astype(np.int64)
    states = {"not_installed": num_gpus - installed, "burn_in": burn_in, "idle": idle - powered_off,
              "powered_off": powered_off, "busy": busy - parked - capped, "capped": capped, "parked": parked,
              "failed": failed, "repair": repair}
    assert tuple(states) == GPU_STATES
    ts["unserved_w"] = np.zeros(t.size)
    ts["dumped_w"] = np.zeros(t.size)
    ts["fuel_w"] = generators * 2.6
    ts["generators_running"] = np.ceil(generators / 2.5e6).astype(np.int64)
    ts.update({f"gpus_{k}": v for k, v in states.items()})
    ts["gpus_installed"] = installed
    ts["gpu_cap_w"] = cap_w
    ts["gpus_parked"] = parked
    for k, (name, target) in enumerate(named.items()):
        rate = target / (days * DAY_S * (0.7 + 0.2 * k)) * interval_s
        ts[f"tokens:{name}"] = np.minimum(target, np.cumsum(rate * scale * (installed > 0)))
    ts["filler_running"] = rng.poisson(40, t.size)
    ts["filler_queued"] = rng.poisson(12, t.size)
    ts["filler_busy_gpus"] = ts["filler_running"] * 64
    return ts


def _events(rng: np.random.Generator, *, days: float, num_events: int, named: list[str],
            fillers: list[str]) -> dict[str, np.ndarray]:
    horizon = days * DAY_S
    n_fail = max(num_events // 50, 3)
    kinds: list[np.ndarray] = [np.full(n_fail, "failure")]
    jobs: list[np.ndarray] = [rng.choice(np.array(named + [""]), n_fail)]
    details: list[np.ndarray] = [rng.choice(np.array(CAUSES), n_fail, p=[0.4, 0.2, 0.1, 0.1, 0.1, 0.1])]
    times: list[np.ndarray] = [rng.uniform(0, horizon, n_fail)]
    values: list[np.ndarray] = [np.full(n_fail, 8.0)]
    n_filler = min(len(fillers), max(0, (num_events - n_fail) // 3))
    for kind in ("submit", "start", "finish"):
        kinds.append(np.full(n_filler, kind))
        jobs.append(np.array(fillers[:n_filler], dtype=object))
        details.append(np.full(n_filler, "any"))
        times.append(rng.uniform(0, horizon, n_filler))
        values.append(np.full(n_filler, 64.0))
    rest = num_events - n_fail - 3 * n_filler
    if rest > 0:
        kinds.append(rng.choice(np.array(["checkpoint", "power_cap", "park", "unpark", "build"]), rest))
        jobs.append(rng.choice(np.array(named + [""]), rest))
        details.append(np.full(rest, ""))
        times.append(rng.uniform(0, horizon, rest))
        values.append(rng.uniform(0, 1e3, rest))
    time_s = np.concatenate(times)
    order = np.argsort(time_s, kind="stable")
    return {
        "time_s": time_s[order],
        "kind": np.concatenate(kinds).astype(object)[order],
        "job": np.concatenate(jobs).astype(object)[order],
        "detail": np.concatenate(details).astype(object)[order],
        "value": np.concatenate(values)[order],
    }


def _jobs(rng: np.random.Generator, *, days: float, named: dict[str, float], ts: dict[str, np.ndarray],
          num_fillers: int) -> dict[str, np.ndarray]:
    n = len(named) + num_fillers
    names = list(named) + [f"philly-{i:05d}" for i in range(num_fillers)]
    submit = np.concatenate([np.zeros(len(named)), rng.uniform(0, days * DAY_S, num_fillers)])
    delay = np.concatenate([np.zeros(len(named)), rng.lognormal(6.0, 1.5, num_fillers)])
    trace = np.concatenate([np.full(len(named), np.nan), rng.lognormal(6.3, 1.8, num_fillers)])
    work_total = np.concatenate([np.array(list(named.values())), rng.uniform(1e3, 1e6, num_fillers)])
    done_named = np.array([ts[f"tokens:{k}"][-1] for k in named])
    work_done = np.concatenate([done_named, work_total[len(named):] * rng.uniform(0.5, 1.0, num_fillers)])
    finished = np.where(work_done >= work_total * 0.999, submit + delay + 3600.0, np.nan)
    for k, name in enumerate(named):
        col = ts[f"tokens:{name}"]
        hit = np.flatnonzero(col >= named[name] * 0.999)
        finished[k] = ts["time_s"][hit[0]] if hit.size else np.nan
    return {
        "name": np.array(names, dtype=object),
        "kind": np.array(["named"] * len(named) + ["filler"] * num_fillers, dtype=object),
        "priority": np.concatenate([np.full(len(named), 10), np.zeros(num_fillers, dtype=np.int64)]),
        "num_gpus": np.concatenate([np.full(len(named), 20000), rng.choice([8, 16, 64, 256], num_fillers)]),
        "submit_s": submit, "start_s": submit + delay, "finished_at_s": finished,
        "work_total": work_total, "work_done": work_done,
        "tokens_trained": np.concatenate([done_named, np.zeros(num_fillers)]),
        "goodput": rng.uniform(0.8, 0.99, n), "restarts": rng.poisson(2, n), "preemptions": rng.poisson(0.3, n),
        "lost_work": rng.uniform(0, 1e3, n), "queue_delay_s": delay, "trace_delay_s": trace,
    }


def _quantiles(x: np.ndarray) -> dict[str, float]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"count": 0, "mean_s": None, "p50_s": None, "p90_s": None, "p99_s": None}
    p50, p90, p99 = np.quantile(x, [0.5, 0.9, 0.99])
    return {"count": int(x.size), "mean_s": float(x.mean()), "p50_s": float(p50), "p90_s": float(p90),
            "p99_s": float(p99)}


def _summary(scenario: str, seed: int, days: float, ts: dict[str, np.ndarray], ev: dict[str, np.ndarray],
             jobs: dict[str, np.ndarray], named: dict[str, float], interval_s: float) -> dict:
    e = {k: float(ts[c].sum() * interval_s) for k, c in
         (("grid", "grid_w"), ("generators", "generators_w"), ("battery", "battery_discharge_w"))}
    fail = ev["kind"] == "failure"
    causes, counts = np.unique(ev["detail"][fail].astype(str), return_counts=True)
    filler = jobs["kind"] == "filler"
    job_rows = []
    for k, name in enumerate(named):
        fin = jobs["finished_at_s"][k]
        job_rows.append({
            "name": name, "num_gpus": int(jobs["num_gpus"][k]), "pool": "h100", "layout": "tp8-pp16-dp156",
            "tokens_per_s": 2.5e7, "train_tokens": named[name], "tokens_trained": float(jobs["tokens_trained"][k]),
            "progress_frac": float(jobs["tokens_trained"][k] / named[name]),
            "finished_at_s": None if np.isnan(fin) else float(fin), "start_s": 0.0,
            "goodput": float(jobs["goodput"][k]), "restarts": int(jobs["restarts"][k]),
            "preemptions": int(jobs["preemptions"][k]), "interruptions": int(jobs["restarts"][k]) + 1,
            "energy_j": 0.4 * sum(e.values()), "co2_kg": 1.2e6,
        })
    return {
        "scenario": scenario, "seed": seed, "days": days, "jobs": job_rows,
        "fillers": {"source": "philly", "submitted": int(filler.sum()), "started": int(filler.sum()),
                    "finished": int(np.isfinite(jobs["finished_at_s"][filler]).sum()), "gpu_hours": 1.5e6,
                    "queue_delay": {"replay": _quantiles(jobs["queue_delay_s"][filler]),
                                    "trace": _quantiles(jobs["trace_delay_s"][filler])}},
        "energy_j_by_source": e,
        "energy_j": {"used": float(ts["demand_w"].sum() * interval_s),
                     "battery_charge": float(ts["battery_charge_w"].sum() * interval_s), "battery_loss": 1e9},
        "emissions": {"co2_kg": 2.5e7, "nox_kg": 3.1e4, "water_l": 4.2e8},
        "power": {"peak_w_by_source": {"grid": float(ts["grid_w"].max()), "generators": float(ts["generators_w"].max()),
                                       "battery": float(ts["battery_discharge_w"].max())},
                  "mean_w_by_source": {"grid": float(ts["grid_w"].mean()),
                                       "generators": float(ts["generators_w"].mean()),
                                       "battery": float(ts["battery_discharge_w"].mean())},
                  "peak_demand_w": float(ts["demand_w"].max()), "mean_demand_w": float(ts["demand_w"].mean())},
        "gpus": {"installed_end": int(ts["gpus_installed"][-1]), "usable_mean": 80000.5, "installed_mean": 90000.25,
                 **{state: float(ts[f"gpus_{state}"].mean()) for state in GPU_STATES}},
        "cost": {"usd_total": 4.2e8, "usd_per_gpu_hour": 1.61, "usd_per_million_tokens": 3.3, "usd_power": 6.1e7,
                 "usd_power_per_gpu_hour": 0.23, "usd_by_item": {"fuel": 2.1e7, "grid_energy": 2.9e7, "gpus": 3.59e8}},
        "deficit_hours": float((ts["shed_w"] > 0).sum() * interval_s / 3600.0),
        "throughput_lost_to_deficit_frac": 0.042,
        "failures": {"count": int(fail.sum()), "by_cause": {str(c): int(n) for c, n in zip(causes, counts)},
                     "repairs": int(fail.sum()) - 3},
        "events_processed": int(ev["time_s"].size * 3),
        "report_path": None,
    }


def make_result(*, days: float = 3.0, interval_s: float = 600.0, num_gpus: int = 100_000,
                num_events: int = 600, num_fillers: int = 150, seed: int = 7, batteries: bool = True,
                named: dict[str, float] | None = None, scenario: str = "synthetic-memphis") -> SimResult:
    """A ``SimResult`` of ``days`` at one sample per ``interval_s``, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    named = dict(named) if named is not None else {"grok-3": 2.0e12, "llama-405b": 1.5e12}
    ts = _timeseries(rng, days=days, interval_s=interval_s, num_gpus=num_gpus, named=named, batteries=batteries)
    fillers = [f"philly-{i:05d}" for i in range(num_fillers)]
    ev = _events(rng, days=days, num_events=num_events, named=list(named), fillers=fillers)
    jobs = _jobs(rng, days=days, named=named, ts=ts, num_fillers=num_fillers)
    summary = _summary(scenario, seed, days, ts, ev, jobs, named, interval_s)
    return SimResult(scenario=scenario, seed=seed, days=days, timeseries=ts, events=ev, jobs=jobs, summary=summary)


def assert_same_result(a: SimResult, b: SimResult) -> None:
    """Field-by-field equality (dataclass ``==`` cannot compare numpy arrays); NaN equals NaN."""
    assert (a.scenario, a.seed, a.days) == (b.scenario, b.seed, b.days)
    assert a.summary == b.summary
    for table in ("timeseries", "events", "jobs"):
        left, right = getattr(a, table), getattr(b, table)
        assert list(left) == list(right), table
        for name in left:
            x, y = np.asarray(left[name]), np.asarray(right[name])
            assert x.shape == y.shape, (table, name)
            if x.dtype.kind in "fc":
                assert x.dtype == y.dtype, (table, name)
                np.testing.assert_array_equal(x, y, err_msg=f"{table}.{name}")
            elif x.dtype.kind in "iub":
                assert x.dtype == y.dtype, (table, name)
                assert np.array_equal(x, y), (table, name)
            else:
                assert [str(v) for v in x] == [str(v) for v in y], (table, name)
