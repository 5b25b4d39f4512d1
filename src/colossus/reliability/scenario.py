"""A scenario job as the reliability model sees it (``JobInput``), with its throughput's source.

The one adapter from a scenario to ``reliability.analyse``, shared by the CLI
and the web service: the job's tokens/s is the perf model's (its layout or the
planner's best) unless given; when perf cannot estimate the job, the MFU
assumption (``reliability_assumptions.toml``) stands in, and the source says so.
"""

from __future__ import annotations

import math
from typing import Any

from colossus import units
from colossus.errors import ColossusError, SpecError
from colossus.perf.jobs import job_perf, job_pool
from colossus.reliability.assumptions import default_assumptions
from colossus.reliability.fleets import default_fleet_name, fleet
from colossus.reliability.job import JobInput, tokens_per_s_from_mfu
from colossus.reliability.restart import RestartProfile, restart_profile, with_overrides
from colossus.spec import JobSpec, Scenario


def pick_job(scenario: Scenario, name: str | None) -> JobSpec:
    """The job called ``name``, or the scenario's first; ``SpecError`` naming the choices if none."""
    if not scenario.jobs:
        raise SpecError("the scenario has no jobs", path=["jobs"])
    if name is None:
        return scenario.jobs[0]
    for job in scenario.jobs:
        if job.name == name:
            return job
    raise SpecError(f"no job '{name}'; the scenario has: {', '.join(j.name for j in scenario.jobs)}", path=["jobs"])


def scenario_job_input(scenario: Scenario, job: JobSpec, *, tokens_per_s: float | None = None,
                       mfu: float | None = None, train_tokens: float | None = None) -> tuple[JobInput, str]:
    """``job`` of ``scenario`` as a ``JobInput``, and where its tokens/s came from (for the report)."""
    pool = job_pool(scenario.cluster, job)
    layout = job.layout
    note = ""
    if tokens_per_s is not None:
        rate, source = tokens_per_s, "given tokens/s"
    else:
        rate = None
        if mfu is None:
            try:
                perf = job_perf(scenario.cluster, job)
            except ColossusError as exc:
                note = f" (perf could not estimate the job: {exc})"
            else:
                rate, layout = perf.tokens_per_s, perf.estimate.layout
                how = "planner's best layout" if perf.planned else "job's layout"
                source = f"perf model, {how}: {perf.estimate.layout_label}"
        if rate is None:
            share = default_assumptions().mfu if mfu is None else mfu
            rate = tokens_per_s_from_mfu(job.model, pool.gpu, num_gpus=job.num_gpus, mfu=share)
            what = "given MFU" if mfu is not None else "MFU assumption (reliability_assumptions.toml)"
            source = f"{what} = {share:g}{note}"
    assert rate is not None  # the perf model's, the one given, or from the MFU
    ck = job.checkpoint
    job_input = JobInput(
        model=job.model, num_gpus=job.num_gpus, gpus_per_server=pool.server.gpus_per_server,
        fabric=scenario.cluster.fabric, tokens_per_s=rate,
        train_tokens=job.train_tokens if train_tokens is None else train_tokens, layout=layout,
        storage_write_bytes_per_s=scenario.storage.write_bytes_per_s,
        storage_read_bytes_per_s=scenario.storage.read_bytes_per_s,
        interval_s=None if ck.auto_interval else ck.interval_min * units.MINUTE, asynchronous=ck.asynchronous,
        in_memory=ck.in_memory, gpu_arch=pool.gpu.architecture,
        **reliability_inputs(scenario, servers_per_rack=pool.rack.servers_per_rack),
    )
    return job_input, source


def scenario_restart_profile(scenario: Scenario) -> RestartProfile:
    """The scenario's restart profile (its own, else its fleet's) with its phase overrides."""
    r = scenario.reliability
    name = r.restart.profile or fleet(r.fleet or default_fleet_name()).restart
    return with_overrides(restart_profile(name), r.restart.overrides())


def reliability_inputs(scenario: Scenario, *, servers_per_rack: int) -> dict[str, Any]:
    """The ``JobInput`` fields a scenario's ``reliability`` block sets."""
    r = scenario.reliability
    return {"fleet": r.fleet, "rate_scale": r.rate_scale, "restart": scenario_restart_profile(scenario),
            "servers_per_rack": servers_per_rack, "domain_per_rack_per_year": dict(r.domains.per_rack_per_year)}


def earliest_start_s(scenario: Scenario, job: JobSpec) -> float:
    """When the build-out has installed (and burnt in) enough servers for ``job``, at the earliest.

    Racks of a pool come online linearly over its ramp and then burn in, as the
    simulation installs them; failures, filler jobs and power are left out, so the
    simulation can only start the job later than this.
    """
    built = {b.pool: b for b in scenario.simulation.buildout}
    ready: list[tuple[float, int, int]] = []  # (time, servers, pool index)
    pools = [p for p in scenario.cluster.pools if job.pool is None or p.name == job.pool]
    for i, pool in enumerate(pools):
        b = built.get(pool.name)
        start, ramp, burn = ((b.start_day, b.ramp_days, b.burn_in_days) if b else (0.0, 0.0, 0.0))
        racks = pool.num_racks
        per = pool.rack.servers_per_rack
        for r in range(racks):
            when = (start + ramp * r / max(racks - 1, 1) + burn) * units.DAY
            ready.append((when, min(per, pool.num_servers - r * per), i))
    ready.sort()
    need = job.num_gpus // (pools[0].server.gpus_per_server if pools else 8)
    have = [0] * len(pools)
    total = 0
    for when, servers, i in ready:
        have[i] += servers
        total += servers
        if (max(have) if job.pool is not None else total) >= need:
            return max(when, job.start_day * units.DAY)
    return math.inf


def scope_document(scenario: Scenario | None, job: JobSpec | None) -> dict[str, Any]:
    """What this answer covers and what it leaves out (and where the rest is answered)."""
    doc: dict[str, Any] = {
        "includes": ["failures of the fleet (per unit and rack domains)", "checkpoint stalls", "restarts",
                     "waiting for spares or repairs"],
        "leaves_out": ["build-out and burn-in of the cluster", "power supply deficits (GPU caps, parked jobs)",
                       "queueing behind other jobs", "feeder shedding on generator trips"],
        "times_count_from": "the job's start",
        "forecast": "`colossus forecast SCENARIO --job JOB --by DAY_OR_DATE` answers with all of them (the"
                    " facility simulated over many draws of the step time's measured error, the fleets' failure"
                    " spread, build-out slip and supply availability): P(finish by the date), finish-day"
                    " P10/P50/P90 counted from day 0 of the scenario, and what drives the risk",
    }
    if job is not None:
        doc["forecast"] = doc["forecast"].replace("--job JOB", f"--job {job.name}")
    if scenario is not None and job is not None:
        start_s = earliest_start_s(scenario, job)
        doc["earliest_start_s"] = start_s if math.isfinite(start_s) else None
        if math.isfinite(start_s) and start_s > 0:
            doc["note"] = (f"in this scenario the build-out readies the GPUs of '{job.name}' on day"
                           f" {start_s / units.DAY:.1f} at the earliest; add that to every time here")
    return doc


def allocation_input(scenario: Scenario, job: JobSpec, *, pool: str, num_gpus: int, layout, tokens_per_s: float,
                     rate_scale: float = 1.0) -> JobInput:
    """``job`` as it runs on ``num_gpus`` of ``pool`` (the simulation's view of one allocation);
    ``rate_scale`` multiplies the scenario's own (the simulation's failure scaling)."""
    p = scenario.cluster.pool(pool)
    ck = job.checkpoint
    inputs = reliability_inputs(scenario, servers_per_rack=p.rack.servers_per_rack)
    inputs["rate_scale"] *= rate_scale
    return JobInput(
        model=job.model, num_gpus=num_gpus, gpus_per_server=p.server.gpus_per_server,
        fabric=scenario.cluster.fabric, tokens_per_s=tokens_per_s, train_tokens=job.train_tokens, layout=layout,
        storage_write_bytes_per_s=scenario.storage.write_bytes_per_s,
        storage_read_bytes_per_s=scenario.storage.read_bytes_per_s,
        interval_s=None if ck.auto_interval else ck.interval_min * units.MINUTE, asynchronous=ck.asynchronous,
        in_memory=ck.in_memory, gpu_arch=p.gpu.architecture, **inputs,
    )
