"""``analyse(scenario)``: demand, supply, deficit response, dispatch, swings, environment and cost in one result.

The one place that composes the power modules for a scenario; the CLI and
other callers use it and ``power_document`` (the JSON form, with each figure's
inputs beside it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from colossus import units
from colossus.errors import ColossusError, SpecError
from colossus.perf.jobs import job_perf, job_pool
from colossus.power.assumptions import PowerAssumptions, scenario_assumptions
from colossus.power.capping import CapCurve, cap_curve
from colossus.power.cost import FleetTime, Prices, cost_breakdown, prices
from colossus.power.deficit import CapTable, Deficit, JobPower, cap_table, capped_step, job_power, respond
from colossus.power.demand import LoadPoint, PoolLoad, SiteDemand, load_fractions, site_demand
from colossus.power.dispatch import Commitment, Plant, build_plant, commit
from colossus.power.environment import Footprint, footprint
from colossus.power.mitigation import SwingSetup, SwingStudy, study
from colossus.power.profile import StepProfile, default_profile, from_estimate
from colossus.power.supply import Supply, supply_summary
from colossus.spec import JobSpec, Scenario
from colossus.topology import ClusterInventory, cluster_inventory

#: The reports' figures (MISSION.md F5) for the cluster they describe: 100,000 H100.
REPORTED_GPUS_W = 70e6
REPORTED_SITE_W = 150e6
REPORTED_NUM_GPUS = 100_000
REPORTED_GPU_PREFIX = "h100"


def reported_applies(scenario: Scenario) -> bool:
    """The reports' 70 MW / 150 MW describe 100,000 H100: compare only a cluster that is that."""
    pools = scenario.cluster.pools
    return (scenario.cluster.num_gpus == REPORTED_NUM_GPUS
            and all(p.gpu.name.lower().startswith(REPORTED_GPU_PREFIX) for p in pools))


def job_profile(scenario: Scenario, job: JobSpec, a: PowerAssumptions) -> tuple[StepProfile, list[str]]:
    """The job's step profile from the perf model (its layout, or the planner's best)."""
    pool = job_pool(scenario.cluster, job)
    try:
        perf = job_perf(scenario.cluster, job)
    except ColossusError as exc:
        return default_profile(job, pool.gpu, a), [f"perf could not estimate job '{job.name}' ({exc}); defaults used"]
    notes = []
    if perf.planned:
        notes.append(f"job '{job.name}' has no layout: the planner chose {perf.estimate.layout_label}")
    return from_estimate(job, pool.gpu, perf.estimate, a), notes


@dataclass(frozen=True, kw_only=True)
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
    plant: Plant
    prices: Prices
    commitment: Commitment
    swings: SwingStudy
    day: Footprint
    run: Footprint
    run_tokens: float
    floor_w: float
    cost_day: dict
    cost_run: dict
    battery_bridge_s: float | None  # how long the batteries carry the unconstrained job (None: no deficit)
    notes: list[str] = field(default_factory=list)


def demand_points(
    scenario: Scenario, inv: ClusterInventory, training_gpu_w: float, a: PowerAssumptions
) -> dict[LoadPoint, SiteDemand]:
    """Site demand at idle, at training load (every GPU at ``training_gpu_w``) and at nameplate."""
    idle = load_fractions(LoadPoint.IDLE, a)
    out = {}
    for point, gpu_w in ((LoadPoint.IDLE, None), (LoadPoint.TRAINING, training_gpu_w), (LoadPoint.NAMEPLATE, 0.0)):
        loads = [PoolLoad(p.name, 0, 0.0, p.num_gpus) if gpu_w is None
                 else PoolLoad(p.name, p.num_gpus, gpu_w or p.gpu.tdp_w) for p in scenario.cluster.pools]
        out[point] = site_demand(scenario, inv, loads, busy=load_fractions(point, a), idle=idle, a=a)
    return out


def analyse(
    scenario: Scenario, *, supply_w: float | None = None, day: float = 0.0, file: str | None = None
) -> PowerAnalysis:
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
    floor_frac = scenario.power.swings.gpu_power_floor_frac
    floor_w = floor_frac * profile.gpu.tdp_w if floor_frac is not None else 0.0
    at_tdp = capped_step(profile, curve, profile.gpu.tdp_w, floor_w)
    demand = demand_points(scenario, inv, at_tdp.mean_gpu_w, a)
    supply = supply_summary(scenario.power.supply, day=day)
    budget_w = supply.firm_w if supply_w is None else supply_w
    jp = job_power(scenario, inv, profile, pool, a)
    table = cap_table(profile, curve, a, floor_w)
    deficit = respond(profile, table, jp, budget_w)
    price = prices(scenario, a)
    plant = build_plant(scenario.power.supply, scenario.power.dispatch, price, a)
    avail = [f.count for f in supply.fleets]
    chosen = deficit.chosen
    # the batteries full: they count as reserve; any discharge means a supply beyond the plant (--supply-mw)
    dc = commit(plant, load_w=chosen.site_w, grid_avail_w=supply.grid_w, avail=avail, soc_j=plant.battery.soc_max_j)
    swing = _swings(scenario, profile, curve, jp, deficit, supply, dc, floor_w, a)
    pue = demand[LoadPoint.TRAINING].pue
    day_fp, run_fp, tokens = _environment(scenario, plant, dc, deficit, profile, job, pue, a)
    cost_day = _cost(price, plant, day_fp, scenario, supply, units.DAY, 0.0, swing)
    cost_run = _cost(price, plant, run_fp, scenario, supply, run_fp.duration_s, tokens, swing)
    bridge = _bridge_s(supply, deficit)
    return PowerAnalysis(
        scenario=scenario, assumptions=a, inventory=inv, curve=curve, profile=profile, job=job, job_pool=pool,
        demand=demand, supply=supply, supply_w=budget_w, supply_overridden=supply_w is not None, job_power=jp,
        table=table, deficit=deficit, plant=plant, prices=price, commitment=dc, swings=swing, day=day_fp,
        run=run_fp, run_tokens=tokens, floor_w=floor_w, cost_day=cost_day, cost_run=cost_run,
        battery_bridge_s=bridge, notes=notes)


def _bridge_s(supply: Supply, deficit: Deficit) -> float | None:
    """Seconds the batteries carry the job unconstrained before the response must cut (None: no deficit)."""
    short = deficit.demand_w - deficit.supply_w
    if short <= 0:
        return None
    if supply.battery_energy_j <= 0 or short > supply.battery_power_w:
        return 0.0
    return supply.battery_energy_j / short


def _swings(scenario: Scenario, profile: StepProfile, curve: CapCurve, jp: JobPower, deficit: Deficit, supply: Supply,
            dc: Commitment, floor_w: float, a: PowerAssumptions) -> SwingStudy:
    chosen = deficit.chosen
    n = max(chosen.num_gpus_running, 0)
    cap_w = chosen.gpu_cap_w or profile.gpu.tdp_w
    step = capped_step(profile, curve, cap_w)  # natural draws; the floor is applied in the study
    opts = scenario.power.swings
    gens_run = dc.generators_w > 0 and not a.get("events.swings.grid_follows_swings")
    stall = "checkpoint_stall_s" if profile_job_async(scenario, profile) else "sync_checkpoint_stall_s"
    ramp = sum(f.count * f.ramp_w_per_s for f in supply.fleets)
    setup = SwingSetup(
        num_gpus=n,
        phase_times_s=step.phase_times_s,
        phase_draws_w=step.phase_draws_w,
        idle_w=profile.gpu.idle_w,
        it_gain=jp.it_gain,
        site_gain=jp.gain,
        mean_site_w=float(jp.site_w(n, capped_step(profile, curve, cap_w, floor_w).mean_gpu_w)) if n else jp.base_w,
        power_step_s=a.f("events.swings.power_step_s"),
        samples_per_power_step=int(a.f("events.swings.samples_per_power_step")),
        window_s=a.f("events.swings.window_s"),
        stall_s=a.f(f"events.swings.{stall}"),
        band_hz=(a.f("events.swings.band_low_hz"), a.f("events.swings.band_high_hz")),
        floor_w=floor_w or None,
        gpu_ramp_w_per_s=opts.gpu_ramp_frac_per_s * profile.gpu.tdp_w if opts.gpu_ramp_frac_per_s is not None else None,
        battery_power_w=supply.battery_power_w if opts.battery_smoothing else 0.0,
        battery_energy_j=supply.battery_energy_j if opts.battery_smoothing else 0.0,
        grid_limit_w_per_s=opts.grid_ramp_limit_mw_per_s * units.MW
        if opts.grid_ramp_limit_mw_per_s is not None
        else None,
        generator_ramp_w_per_s=ramp if gens_run else 0.0,
        generators_follow=gens_run,
        grid_connected=supply.grid_w > 0,
    )
    return study(setup)


def profile_job_async(scenario: Scenario, profile: StepProfile) -> bool:
    job = next(j for j in scenario.jobs if j.name == profile.job)
    return job.checkpoint.asynchronous


def _environment(scenario: Scenario, plant: Plant, dc: Commitment, deficit: Deficit, profile: StepProfile, job: JobSpec,
                 pue: float, a: PowerAssumptions) -> tuple[Footprint, Footprint, float]:
    """Footprint of a day and of the whole run at the chosen operating point (IT = site / PUE)."""
    chosen = deficit.chosen
    it_w = chosen.site_w / pue
    wue = scenario.power.cooling.wue_l_per_kwh
    day = footprint(plant, dc, it_w=it_w, duration_s=units.DAY, wue_l_per_kwh=wue, a=a)
    tokens_per_s = profile.tokens_per_s * chosen.throughput_kept_frac
    run_s = job.train_tokens / tokens_per_s if tokens_per_s > 0 else 0.0
    run = footprint(plant, dc, it_w=it_w, duration_s=run_s, wue_l_per_kwh=wue, a=a)
    return day, run, job.train_tokens if tokens_per_s > 0 else 0.0


def _cost(p: Prices, plant: Plant, fp: Footprint, scenario: Scenario, supply: Supply, duration_s: float, tokens: float,
          swing: SwingStudy) -> dict:
    """The cost of holding the operating point for ``duration_s`` (the demand charge at its grid import)."""
    fleets = [FleetTime(f.kind, f.rating_w, s.count, duration_s, f.scr) for f, s in zip(plant.fleets, supply.fleets)]
    months = duration_s / p.month_s
    peaks = [(fp.grid_j / fp.duration_s if fp.duration_s else 0.0, months)]
    return cost_breakdown(p, fuel_j=fp.fuel_j, generators_j=sum(fp.generator_j.values()),
                          grid_j=fp.grid_j + fp.unassigned_j,
                          demand_peaks=peaks, fleets=fleets, battery_energy_j=supply.battery_energy_j,
                          duration_s=duration_s, gpu_s=scenario.cluster.num_gpus * duration_s,
                          floor_j=swing.metrics["floor_w"] * duration_s, tokens=tokens)
