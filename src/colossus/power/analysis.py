"""``analyse(scenario)``: demand, supply, deficit response, swings and environment in one result.

The one place that composes the power modules for a scenario; the CLI and
other callers use it and ``power_document`` (the JSON form, with each figure's
inputs beside it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from colossus import units
from colossus.errors import ColossusError, SpecError
from colossus.perf.jobs import job_perf, job_pool
from colossus.power.assumptions import PowerAssumptions, scenario_assumptions
from colossus.power.capping import CapCurve, cap_curve
from colossus.power.deficit import CapTable, Deficit, JobPower, cap_table, capped_step, job_power, respond
from colossus.power.demand import LoadPoint, PoolLoad, SiteDemand, load_fractions, site_demand
from colossus.power.environment import Footprint, footprint
from colossus.power.profile import StepProfile, default_profile, from_estimate
from colossus.power.supply import Supply, supply_summary
from colossus.power.swings import Smoothing, event_params, event_waveform, smoothing, step_dt_s, step_waveform
from colossus.spec import JobSpec, Scenario
from colossus.topology import ClusterInventory, cluster_inventory

#: The reports' figures (MISSION.md F5) the default scenario is compared with.
REPORTED_GPUS_W = 70e6
REPORTED_SITE_W = 150e6


def job_profile(scenario: Scenario, job: JobSpec, a: PowerAssumptions) -> tuple[StepProfile, list[str]]:
    """The job's step profile from the perf model (its layout, or the planner's best)."""
    pool = job_pool(scenario.cluster, job)
    try:
        perf = job_perf(scenario.cluster, job)
    except ColossusError as exc:
        return default_profile(job, pool.gpu, a), [f"perf could not estimate job '{job.name}' ({exc}); defaults used"]
    notes = []
    if perf.planned:
        notes.append(f"job '{job.name}' has no layout: the planner chose {perf.estimate.layout.label}")
    return from_estimate(job, pool.gpu, perf.estimate, a), notes


@dataclass(frozen=True)
class PowerAnalysis:
    scenario: Scenario
    assumptions: PowerAssumptions
    inventory: ClusterInventory
    curve: CapCurve
    profile: StepProfile
    job: JobSpec
    job_pool: str
    demand: dict[LoadPoint, SiteDemand]
    supply: Supply
    supply_w: float
    supply_overridden: bool
    job_power: JobPower
    table: CapTable
    deficit: Deficit
    step_swing: Smoothing
    event_swing: Smoothing
    day: Footprint
    run: Footprint
    run_tokens: float
    notes: list[str] = field(default_factory=list)


def demand_points(scenario: Scenario, inv: ClusterInventory, training_gpu_w: float, a: PowerAssumptions) -> dict[LoadPoint, SiteDemand]:
    """Site demand at idle, at training load (every GPU at ``training_gpu_w``) and at nameplate."""
    idle = load_fractions(LoadPoint.IDLE, a)
    out = {}
    for point, gpu_w in ((LoadPoint.IDLE, None), (LoadPoint.TRAINING, training_gpu_w), (LoadPoint.NAMEPLATE, 0.0)):
        loads = [PoolLoad(p.name, 0, 0.0, p.num_gpus) if gpu_w is None
                 else PoolLoad(p.name, p.num_gpus, gpu_w or p.gpu.tdp_w) for p in scenario.cluster.pools]
        out[point] = site_demand(scenario, inv, loads, busy=load_fractions(point, a), idle=idle, a=a)
    return out


def analyse(scenario: Scenario, *, supply_w: float | None = None, day: float = 0.0, file: str | None = None) -> PowerAnalysis:
    """The power analysis of ``scenario``; ``supply_w`` replaces the supply's firm capacity."""
    if supply_w is not None and supply_w < 0:
        raise SpecError(f"supply must be >= 0 MW (got {supply_w / units.MW:g})", path=["supply_mw"])
    if not scenario.jobs:
        raise SpecError("the power analysis needs a training job (jobs is empty)", file=file, path=["jobs"])
    a = scenario_assumptions(scenario)
    inv = cluster_inventory(scenario.cluster)
    curve = cap_curve(a)
    job = max(scenario.jobs, key=lambda j: j.priority)
    profile, notes = job_profile(scenario, job, a)
    pool = job.pool or scenario.cluster.pools[0].name
    at_tdp = capped_step(profile, curve, profile.gpu.tdp_w)
    demand = demand_points(scenario, inv, at_tdp.mean_gpu_w, a)
    supply = supply_summary(scenario.power.supply, day=day)
    budget_w = supply.firm_w if supply_w is None else supply_w
    jp = job_power(scenario, inv, profile, pool, a)
    table = cap_table(profile, curve, a)
    deficit = respond(profile, table, jp, budget_w)
    step_swing, event_swing = _swings(profile, curve, jp, deficit, supply, job, a)
    day_fp, run_fp, tokens = _environment(scenario, supply, deficit, profile, job, demand[LoadPoint.TRAINING].pue, a)
    return PowerAnalysis(scenario, a, inv, curve, profile, job, pool, demand, supply, budget_w, supply_w is not None,
                         jp, table, deficit, step_swing, event_swing, day_fp, run_fp, tokens, notes)


def _swings(profile: StepProfile, curve: CapCurve, jp: JobPower, deficit: Deficit, supply: Supply, job: JobSpec,
            a: PowerAssumptions) -> tuple[Smoothing, Smoothing]:
    chosen = deficit.chosen
    n = max(chosen.num_gpus_running, 0)
    cap_w = chosen.gpu_cap_w or profile.gpu.tdp_w
    step = capped_step(profile, curve, cap_w)
    labels = tuple(p.name for p in profile.phases)
    rate = supply.generator_ramp_w_per_s
    change_s = a.f("events.swings.power_step_s")
    wave = step_waveform(step, labels, n, jp)
    step_sm = smoothing(wave, rate, change_s=change_s, dt_s=step_dt_s(step))
    train_w = float(jp.site_w(n, step.mean_gpu_w))
    stalled_w = float(jp.site_w(n, profile.gpu.idle_w))
    interval_s = job.checkpoint.interval_min * units.MINUTE
    ev = event_waveform(train_w, stalled_w, **event_params(a, interval_s, job.checkpoint.asynchronous))
    event_sm = smoothing(ev, rate, change_s=change_s, dt_s=1.0, start_w=train_w)
    return step_sm, event_sm


def _environment(scenario: Scenario, supply: Supply, deficit: Deficit, profile: StepProfile, job: JobSpec,
                 pue: float, a: PowerAssumptions) -> tuple[Footprint, Footprint, float]:
    """Footprint of a day and of the whole run at the chosen operating point (IT = site / PUE)."""
    chosen = deficit.chosen
    site_w = chosen.site_w
    it_share = 1.0 / pue
    wue = scenario.power.cooling.wue_l_per_kwh
    day = footprint(supply, site_w=site_w, it_w=site_w * it_share, duration_s=units.DAY, wue_l_per_kwh=wue, a=a)
    tokens_per_s = profile.tokens_per_s * chosen.throughput_kept_frac
    run_s = job.train_tokens / tokens_per_s if tokens_per_s > 0 else 0.0
    run = footprint(supply, site_w=site_w, it_w=site_w * it_share, duration_s=run_s, wue_l_per_kwh=wue, a=a)
    return day, run, job.train_tokens if tokens_per_s > 0 else 0.0
