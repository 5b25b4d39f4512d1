"""Failure rates per published fleet, checkpoint and restart cost, optimal interval, goodput
(closed form and Monte Carlo), recovery policies and spare pools of a training job.

Typical use::

    an = analyse(JobInput(model, num_gpus=16384, gpus_per_server=8, fabric=default_fabric(),
                          tokens_per_s=..., train_tokens=..., fleet="llama3-h100"))
    mc = simulate_job(an, num_runs=1000, rng=np.random.default_rng(seed))
    document(an, mc)
"""

from colossus.reliability.assumptions import Assumptions, default_assumptions
from colossus.reliability.checkpoint import (
    MODES,
    Checkpoint,
    checkpoint_size_bytes,
    daly_interval_s,
    effective_stall_s,
    mode_of,
    num_writers,
    optimal_interval_s,
    plan_checkpoint,
    young_interval_s,
)
from colossus.reliability.fleets import (
    Fleet,
    FleetSpread,
    Observation,
    alternative_fleets,
    catalog_fleets,
    default_fabric,
    default_fleet_name,
    fleet,
    fleet_causes,
    fleet_document,
    fleet_names,
    fleet_spread,
    reference_footprint,
    sample_rate_multipliers,
)
from colossus.reliability.goodput import Goodput, cycle_wall_s, ettr, goodput
from colossus.reliability.job import (
    Allocation,
    Analysis,
    JobInput,
    analyse,
    auto_interval_s,
    causes_arrays,
    document,
    job_footprint,
    plan_allocation,
    rates_document,
    simulate_job,
    tokens_per_s_from_mfu,
)
from colossus.reliability.job import (
    job_rates as job_cause_rates,
)
from colossus.reliability.montecarlo import POLICIES, Causes, History, MonteCarlo, simulate
from colossus.reliability.rates import (
    CAUSES,
    CauseRate,
    Footprint,
    JobRate,
    by_cause_per_day,
    calibration_footprint,
    catalog_causes,
    domain_causes,
    footprint,
    for_generation,
    hardware_share,
    job_rates,
    log_causes,
    mttf_unplanned_s,
    mtti_s,
    total_per_s,
)
from colossus.reliability.restart import (
    PHASES,
    Restart,
    RestartProfile,
    plan_restart,
    profile_names,
    restart_profile,
    with_overrides,
)
from colossus.reliability.spares import SparePool, mean_in_repair, p_spare_ready, size_spares

__all__ = [
    "CAUSES", "MODES", "PHASES", "POLICIES", "Allocation", "Analysis", "Assumptions", "CauseRate", "Causes",
    "Checkpoint", "Fleet", "FleetSpread", "Footprint", "Goodput", "History", "JobInput", "JobRate", "MonteCarlo",
    "Observation", "Restart", "RestartProfile", "SparePool", "alternative_fleets", "analyse", "auto_interval_s",
    "by_cause_per_day", "calibration_footprint", "catalog_causes", "catalog_fleets", "causes_arrays",
    "checkpoint_size_bytes", "cycle_wall_s", "daly_interval_s", "default_assumptions", "default_fabric",
    "default_fleet_name", "document", "domain_causes", "effective_stall_s", "ettr", "fleet", "fleet_causes",
    "fleet_document", "fleet_names", "fleet_spread", "footprint", "for_generation", "goodput", "hardware_share",
    "job_cause_rates", "job_footprint", "job_rates", "log_causes", "mean_in_repair", "mode_of", "mttf_unplanned_s",
    "mtti_s", "num_writers", "optimal_interval_s", "p_spare_ready", "plan_allocation", "plan_checkpoint",
    "plan_restart", "profile_names", "rates_document", "reference_footprint", "restart_profile",
    "sample_rate_multipliers", "simulate", "simulate_job", "size_spares", "tokens_per_s_from_mfu", "total_per_s",
    "with_overrides", "young_interval_s",
]
